"""synack's side of the httpx test, run as its own process (it enters the lab's
namespace, which only a fresh process should do):

    python _synack_httpx.py LAB URL

Fetches URL with an unmodified ``httpx.AsyncClient`` whose transport's
connections go over synack (``synack.aio.httpcore_backend``) on the lab's
TUN device. Prints "status N", "bytes N" and "sha256 HEX".
"""

from __future__ import annotations

import asyncio
import hashlib
import sys

import httpx

from synack.aio.httpcore_backend import http_transport
from synack.apps.lab import lab_stack
from synack.net.lab import Lab

TIMEOUT = 60.0


async def main(name: str, url: str) -> None:
    stack, driver = lab_stack(Lab(name=name))
    try:
        async with httpx.AsyncClient(transport=http_transport(stack), timeout=TIMEOUT) as client:
            response = await client.get(url)
        print("status", response.status_code, flush=True)
        print("bytes", len(response.content), flush=True)
        print("sha256", hashlib.sha256(response.content).hexdigest(), flush=True)
        await asyncio.sleep(0.1)  # the close's last segments go out
    finally:
        driver.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
