"""HTTP under ASGI in one hop to a fixed pool of threads per request.

Django's own ASGIHandler runs a project of sync middleware and views through asgiref: it starts
a new thread for every request (ThreadSensitiveContext) and hops to a thread and back for
request_started, for the middleware chain and again for response.close(). On the benchmark
machine that cost 2 to 4 ms of CPU a request, more than many whole views (docs/benchmarks.md, queue
findings). Nothing on reviewportal's HTTP side is async, so this handler reads the body on the
event loop as Django does, then runs everything else in one call on a fixed pool of threads:
request_started, the middleware and view, response.close() and request_finished, which hands the
thread's database connection back to the pool before the response goes out.

Streaming responses (the audio view, static files) are iterated in that same thread, each chunk
handed to the event loop and waited for, so a slow reader holds one thread, not the whole body in
memory. Sync code that calls async code (async_to_sync: a view telling a websocket group through
the channel layer) runs it on the server's event loop, as under Django's handler, not on a new
loop with new Redis connections each time. Websockets do not come here: Channels serves them
(reviewportal.asgi).
"""

import asyncio
import contextvars
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix


class ThreadPoolHTTPHandler(ASGIHandler):
    """An ASGI app for `http` scopes; `threads` requests of one process run at once, more wait."""

    def __init__(self, threads: int):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"ThreadPoolHTTPHandler serves HTTP, not {scope['type']}")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        try:
            run = contextvars.copy_context().run
            reply = await loop.run_in_executor(self.executor, run, self._respond, scope, body_file, loop, send)
        finally:
            body_file.close()
        if reply is not None:  # a whole response, sent from here; streamed ones went out already
            start, body = reply
            await send(start)
            for chunk, last in self.chunk_bytes(body):
                await send({"type": "http.response.body", "body": chunk, "more_body": not last})

    def _respond(self, scope, body_file, loop, send):
        """In a pool thread: the request from start to finish. Returns (start message, body), or
        None when a streamed response was sent from here."""
        # What asgiref's SyncToAsync sets in its threads: async_to_sync() in this thread then runs
        # its coroutine on `loop`, the server's, instead of starting a loop of its own.
        SyncToAsync.threadlocal.main_event_loop = loop
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        try:
            start = {"type": "http.response.start", "status": response.status_code, "headers": _headers(response)}
            if not response.streaming:
                return start, response.content

            def emit(message):
                asyncio.run_coroutine_threadsafe(send(message), loop).result()

            emit(start)
            for part in response:
                for chunk, _ in self.chunk_bytes(part):
                    emit({"type": "http.response.body", "body": chunk, "more_body": True})
            emit({"type": "http.response.body", "body": b""})
            return None
        finally:
            response.close()  # request_finished, in the thread that did the work


def _headers(response) -> list[tuple[bytes, bytes]]:
    """The response's headers and cookies as ASGI wants them (as ASGIHandler.send_response builds them)."""
    headers = [
        (header.encode("ascii") if isinstance(header, str) else bytes(header), value.encode("latin1"))
        for header, value in response.items()
    ]
    cookies = response.cookies.values()
    headers.extend((b"Set-Cookie", cookie.output(header="").encode("ascii").strip()) for cookie in cookies)
    return headers
