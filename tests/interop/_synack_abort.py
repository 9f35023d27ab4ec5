"""synack's side of the abort test, run as its own process (it enters the lab's
namespace, which only a fresh process should do):

    python _synack_abort.py LAB HOST PORT

Connects from synack to a kernel server over ``synack.aio`` streams on the
lab's TUN device, sends "ping\\n", waits for the answer line, then ABORTs
(``writer.transport.abort()``: a RST, at once). Reports "answer LINE" and
"aborted" on stdout.
"""

from __future__ import annotations

import asyncio
import sys

from synack.apps.lab import lab_stack
from synack.net.lab import Lab

TIMEOUT = 20.0


async def main(name: str, host: str, port: int) -> None:
    stack, driver = lab_stack(Lab(name=name))
    try:
        reader, writer = await asyncio.wait_for(stack.open_connection(host, port), TIMEOUT)
        writer.write(b"ping\n")
        await asyncio.wait_for(writer.drain(), TIMEOUT)
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        print("answer", line.decode().strip(), flush=True)
        writer.transport.abort()
        print("aborted", flush=True)
        await asyncio.sleep(0.2)  # the RST is written at once; stay a moment anyway
    finally:
        driver.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
