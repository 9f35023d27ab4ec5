"""synack's client side of the Fast Open lab test, run as its own process (it
enters the lab's namespace, which only a fresh process should do):

    python _synack_fastopen_client.py LAB HOST PORT COUNT

Makes COUNT connections with Fast Open (RFC 7413), each sending "hello N\\n"
(queued before the SYN leaves: with a cookie it rides on the SYN), reads the
answer line and closes. Prints for each "answer LINE", "syn_data X" (X: the
SYN's data was acknowledged) and "cookie HEX" (what the cache holds after).
"""

from __future__ import annotations

import asyncio
import sys
from ipaddress import ip_address

from synack.apps.lab import lab_stack
from synack.net.lab import Lab
from synack.tcp.config import TcpConfig

TIMEOUT = 20.0


async def main(name: str, host: str, port: int, count: int) -> None:
    lab = Lab(name=name)
    stack, driver = lab_stack(lab, config=TcpConfig(mtu=lab.mtu, fastopen_client=True))
    try:
        for i in range(count):
            conn = stack.host.connect(
                (host, port), driver.now(), fastopen=True, data=f"hello {i}\n".encode()
            )
            driver.flush()
            data = b""
            for _ in range(int(TIMEOUT / 0.01)):
                data += conn.receive()
                if data.endswith(b"\n"):
                    break
                await asyncio.sleep(0.01)
            print("answer", data.decode().strip(), flush=True)
            print("syn_data", int(conn.stats.syn_data_acked), flush=True)
            cookie = stack.host.fastopen_cache.cookie(ip_address(host))
            print("cookie", cookie.hex() if cookie else "-", flush=True)
            conn.close(driver.now())
            driver.flush()
            await asyncio.sleep(0.2)
    finally:
        driver.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
