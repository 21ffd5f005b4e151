"""A fast loopback OpenAI-compatible upstream for gateway benchmarks.

    python benchmarks/_fast_upstream.py PORT

A raw asyncio protocol (uvloop when installed) answering every ``POST`` with the same
small ``/v1/completions`` body over HTTP/1.1 keep-alive: a stand-in for a model server that
costs nearly nothing, so what a benchmark measures through the gateway is the gateway.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import cast

BODY = json.dumps(
    {
        "id": "cmpl-upstream",
        "object": "text_completion",
        "choices": [
            {"index": 0, "text": " Boil it gently in salted water.", "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 7, "total_tokens": 16},
    }
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\n\r\n"
    + BODY
)


class Upstream(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast("asyncio.Transport", transport)  # uvloop's is not a subclass
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            length = 0
            at = head.find(b"content-length:")
            if at >= 0:
                length = int(head[at + 15 :].split(b"\r\n", 1)[0])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(RESPONSE)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(int(sys.argv[1])))
