"""synack's side of the Fast Open lab test, run as its own process (it enters
the lab's namespace, which only a fresh process should do):

    python _synack_fastopen.py LAB PORT COUNT

Serves COUNT connections on PORT with TCP Fast Open on (RFC 7413; Linux's
SipHash cookies), each answered "got LINE" and closed. Prints "ready" once
listening, then for each connection "conn STATE SYN_DATA": the state it was
in when its handler started (SYN-RECEIVED for one whose SYN carried data with
a valid cookie) and whether its SYN's data was taken.
"""

from __future__ import annotations

import asyncio
import sys

from synack.apps.lab import lab_stack
from synack.net.lab import Lab
from synack.tcp.config import TcpConfig

TIMEOUT = 30.0


async def main(name: str, port: int, count: int) -> None:
    lab = Lab(name=name)
    config = TcpConfig(mtu=lab.mtu, fastopen_server=True, fastopen_cookie_algorithm="siphash")
    stack, driver = lab_stack(lab, config=config)
    done = asyncio.Event()
    served = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        conn = writer.transport.conn  # type: ignore[attr-defined]
        state = conn.state
        line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        print("conn", state, conn.stats.syn_data_acked, flush=True)
        writer.write(b"got " + line)
        await writer.drain()
        writer.close()
        served += 1
        if served == count:
            done.set()

    try:
        await stack.start_server(answer, None, port, fastopen=16)
        print("ready", flush=True)
        await asyncio.wait_for(done.wait(), TIMEOUT)
        await asyncio.sleep(0.3)  # let the last FIN and ACKs go
    finally:
        driver.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
