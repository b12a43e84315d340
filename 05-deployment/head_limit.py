"""uvicorn's httptools protocol with a bound on the request head (request line + headers).

httptools keeps reading an unfinished head for as long as the client sends it: one
connection could hold hundreds of MiB and seconds of CPU. This protocol answers 431 and
closes once a head passes ``MAX_HEAD_BYTES`` without being complete. The image runs it
with ``uvicorn predict:app --http head_limit:BoundedHttpTools``.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 16 * 1024  # h11's default bound; the service's heads are ~200 bytes
REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 23\r\n"
    b"connection: close\r\n\r\nrequest head too large\n"
)


class BoundedHttpTools(HttpToolsProtocol):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.head_bytes = 0
        self.head_done = True  # until a message begins

    def on_message_begin(self) -> None:
        self.head_bytes, self.head_done = 0, False
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self.head_done = True
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # counted after parsing: a chunk that completes the head never counts, so a large
        # body sent with its head is not mistaken for one (asyncio reads ≤ 256 KiB a chunk)
        if not self.head_done and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self.transport.write(REFUSAL)
                self.transport.close()
