"""The kernel's side of the websockets test, run inside the lab's namespace:

    python _kernel_websockets.py HOST PORT COUNT

websockets' synchronous client over the kernel's TCP: sends COUNT messages of
varying sizes (text and binary), checks each echo, closes. Prints "ok COUNT"
and the close code.
"""

from __future__ import annotations

import random
import sys

from websockets.sync.client import connect


def main(host: str, port: int, count: int) -> None:
    rng = random.Random(7)
    url = f"ws://[{host}]:{port}/" if ":" in host else f"ws://{host}:{port}/"
    with connect(url, proxy=None, open_timeout=20, close_timeout=20) as ws:
        for i in range(count):
            size = rng.randrange(4000)
            message: str | bytes = f"{i}:" + "x" * size if i % 2 else rng.randbytes(size)
            ws.send(message)
            echo = ws.recv(timeout=20)
            if echo != message:
                sys.exit(f"message {i}: the echo differs")
    print("ok", count, flush=True)
    print("close", ws.close_code, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
