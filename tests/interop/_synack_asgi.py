"""synack's side of the uvicorn test, run as its own process (it enters the
lab's namespace, which only a fresh process should do):

    python _synack_asgi.py LAB PORT SIZE

Serves ``synack.apps.asgi.demo_app`` with uvicorn's own H11Protocol over a
synack server on the lab's TUN device: ``/blob`` is SIZE bytes of
``random.Random(19).randbytes``. Prints "serving" once listening, and
"served N" after the first response's connection has ended, then exits.
"""

from __future__ import annotations

import asyncio
import random
import sys

from synack.apps.asgi import demo_app, serve_asgi
from synack.apps.lab import lab_stack
from synack.net.lab import Lab

TIMEOUT = 60.0


async def main(name: str, port: int, size: int) -> None:
    stack, driver = lab_stack(Lab(name=name))
    try:
        body = random.Random(19).randbytes(size)
        asgi = await serve_asgi(stack, demo_app({"/blob": body}), port)
        print("serving", flush=True)
        for _ in range(int(TIMEOUT / 0.01)):
            if asgi.total_requests and not asgi.server.connections:
                break
            await asyncio.sleep(0.01)
        print("served", asgi.total_requests, flush=True)
        await asgi.shutdown()
        await asyncio.sleep(0.05)  # the last ACKs go out
    finally:
        driver.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
