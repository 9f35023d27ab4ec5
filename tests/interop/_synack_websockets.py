"""synack's side of the websockets test, run as its own process (it enters the
lab's namespace, which only a fresh process should do):

    python _synack_websockets.py LAB PORT

websockets' own ``serve`` (its asyncio implementation, unmodified) over a
synack server on the lab's TUN device, through ``Stack.routing``: an echo
handler. Prints "serving" once listening, and "echoed N" (messages) after
the first connection's handler has returned, then exits.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve

from synack.apps.lab import lab_stack
from synack.net.lab import Lab

TIMEOUT = 60.0


async def main(name: str, port: int) -> None:
    stack, driver = lab_stack(Lab(name=name))
    echoed = 0
    done = asyncio.Event()

    async def echo(connection: ServerConnection) -> None:
        nonlocal echoed
        async for message in connection:
            await connection.send(message)
            echoed += 1
        done.set()

    try:
        with stack.routing():
            server = await serve(echo, None, port)
        print("serving", flush=True)
        await asyncio.wait_for(done.wait(), TIMEOUT)
        print("echoed", echoed, flush=True)
        server.close()
        await asyncio.wait_for(server.wait_closed(), TIMEOUT)
        await asyncio.sleep(0.05)
    finally:
        driver.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
