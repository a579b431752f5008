"""A lean HTTP/1.1 client for the load generators, so the client's CPU stays small beside the server's.

The benchmarks run client, server and PostgreSQL on the same 2 cores. httpx spent about 3 ms of
CPU a request there (30-35 % of a core at K = 8 in bench/queue.py, a third of what the server
spent), and every millisecond it takes is one the server does not get. This sends a request as
one write and reads the answer by its Content-Length (or chunks), nothing more: no redirects, no
cookie jar (the cookies are fixed for a run), no TLS, no HTTP/2. It is for 127.0.0.1 and for the
benchmarks' own servers only.
"""

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass


class TransportError(Exception):
    """The connection failed or closed before a whole answer came back."""


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self):
        return json.loads(self.content)


class Client:
    """One reviewer's connection: kept between requests, or new for each when `fresh`."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        cookies: dict[str, str],
        fresh: bool = False,
        on_connect: Callable[[], None] | None = None,
        timeout: float = 30.0,
    ):
        self.host, self.port, self.fresh, self.timeout = host, port, fresh, timeout
        self.on_connect = on_connect or (lambda: None)
        self._fixed = (
            f"Host: {host}:{port}\r\n"
            f"Cookie: {'; '.join(f'{name}={value}' for name, value in cookies.items())}\r\n"
            f"Connection: {'close' if fresh else 'keep-alive'}\r\n"
        ).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, json_body=None
    ) -> Response:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._fixed
        extra = dict(headers or {})
        if json_body is not None:
            extra["Content-Type"] = "application/json"
        extra["Content-Length"] = str(len(body))
        head += "".join(f"{name}: {value}\r\n" for name, value in extra.items()).encode() + b"\r\n"
        try:
            return await asyncio.wait_for(self._exchange(head + body), self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as error:
            await self.close()
            raise TransportError(type(error).__name__) from error

    async def connect(self) -> None:
        """Open the connection now rather than with the first request (a no-op when it is open)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            self.on_connect()

    @property
    def local_port(self) -> int | None:
        """This end's port while connected: what tells the server's side of the connection apart."""
        return self._writer.get_extra_info("sockname")[1] if self._writer is not None else None

    async def _exchange(self, message: bytes) -> Response:
        await self.connect()
        self._writer.write(message)
        status_line, *header_lines = (await self._reader.readuntil(b"\r\n\r\n"))[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            content = await self._reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            content = await self._read_chunks()
        else:  # the body runs to the end of the connection
            content = await self._reader.read()
            headers["connection"] = "close"
        if self.fresh or headers.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, headers, content)

    async def _read_chunks(self) -> bytes:
        parts = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # no trailers are sent here
                return b"".join(parts)
            parts.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
