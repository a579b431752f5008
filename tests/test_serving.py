"""HTTP as the ASGI server serves it: reviewportal.asgi's handler, one hop to a pool thread per request.

The rest of the suite talks to Django through its test client, which skips the ASGI layer; these
go through the application uvicorn runs, with real sessions, CSRF, sign-in and a database.
"""

import asyncio
import contextlib
import contextvars
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import httpx
import psutil
import pytest
from asgiref.sync import async_to_sync
from channels.testing import HttpCommunicator
from django.core import signals

from reviewportal.handler import ThreadPoolHTTPHandler
from tests.conftest import signed_in
from tests.test_settings import KEYS, ROOT

pytestmark = pytest.mark.django_db(transaction=True)  # the handler's threads have connections of their own


def served(app, method: str, path: str, *, body: bytes = b"", headers: list | None = None) -> dict:
    """The response the ASGI app sends for one request: status, headers (lower-cased names) and body."""
    query = ""
    if "?" in path:
        path, query = path.split("?", 1)
    headers = [*(headers or []), (b"content-length", str(len(body)).encode())]
    communicator = HttpCommunicator(app, method, path, body=body, headers=headers)
    communicator.scope["query_string"] = query.encode()
    communicator.scope["client"] = ("127.0.0.1", 50123)
    response = async_to_sync(communicator.get_response)(timeout=10)
    response["headers"] = [(name.lower(), value) for name, value in response["headers"]]
    return response


def header(response: dict, name: bytes) -> list[bytes]:
    return [value for key, value in response["headers"] if key == name]


def session_headers(client) -> list[tuple[bytes, bytes]]:
    """The cookie and CSRF headers a browser signed in as the test client's user would send."""
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    token = "t" * 32
    return [
        (b"host", b"testserver"),
        (b"cookie", f"{cookies}; csrftoken={token}".encode()),
        (b"x-csrftoken", token.encode()),
        (b"content-type", b"application/json"),
    ]


@pytest.fixture
def application():
    """What reviewportal.asgi serves for HTTP, built now: middleware reads some settings (the
    https redirect) once, and the module's own instance may have been built under other tests'."""
    return ThreadPoolHTTPHandler(threads=2)


def test_the_asgi_application_serves_http_through_the_thread_pool_handler():
    from reviewportal.asgi import application

    assert isinstance(application.application_mapping["http"], ThreadPoolHTTPHandler)


def test_a_page_comes_back_with_its_headers_and_cookies(application):
    response = served(application, "GET", "/login/", headers=[(b"host", b"testserver")])

    assert response["status"] == 200
    assert b'name="username"' in response["body"]
    assert header(response, b"x-frame-options") == [b"DENY"]
    assert header(response, b"content-security-policy")
    assert any(cookie.startswith(b"csrftoken=") for cookie in header(response, b"set-cookie"))


def test_an_anonymous_api_call_is_refused_as_through_the_test_client(application):
    response = served(application, "POST", "/api/v1/queue/claim", headers=[(b"host", b"testserver")])

    assert response["status"] in {401, 403}


def test_the_review_loop_and_a_byte_range_work_through_the_served_app(application, reviewer, make_clips):
    make_clips(1, seconds=3)
    headers = session_headers(signed_in(reviewer))

    claimed = served(application, "POST", "/api/v1/queue/claim", headers=headers)
    assert claimed["status"] == 200, claimed["body"]
    clip = json.loads(claimed["body"])["clip"]
    audio_url = urlsplit(clip["audio_url"])
    ranged = [*headers, (b"range", b"bytes=10-109")]
    audio = served(application, "GET", f"{audio_url.path}?{audio_url.query}", headers=ranged)
    body = b'{"text": "hello there", "segments": [], "tags": [], "base_version": %d}' % clip["version"]
    saved = served(application, "PUT", f"/api/v1/clips/{clip['id']}/transcript", body=body, headers=headers)

    assert audio["status"] == 206
    assert len(audio["body"]) == 100
    assert header(audio, b"content-range")[0].startswith(b"bytes 10-109/")
    assert header(audio, b"cache-control") == [b"no-store"]
    assert saved["status"] == 200, saved["body"]
    assert b'"version":1' in saved["body"].replace(b" ", b"")


def test_the_request_starts_and_finishes_in_one_pool_thread_never_the_event_loop(application):
    seen = []

    def note(signal_name):
        return lambda **kwargs: seen.append((signal_name, threading.current_thread().name))

    started, finished = note("started"), note("finished")
    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        served(application, "GET", "/login/", headers=[(b"host", b"testserver")])
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)

    assert [name for name, _ in seen] == ["started", "finished"]
    assert seen[0][1] == seen[1][1]
    assert seen[0][1].startswith("http")  # the handler's pool, where connections are opened and closed


def test_async_code_called_from_a_request_runs_on_the_servers_event_loop(application):
    # A view's async_to_sync (the channel layer's group_send) should reuse the server's loop and
    # its Redis connections, as under Django's own handler, not start a loop per call.
    loops = {}

    async def note_loop():
        loops["called"] = asyncio.get_running_loop()

    def on_request(**kwargs):
        async_to_sync(note_loop)()

    communicator = HttpCommunicator(application, "GET", "/login/", headers=[(b"host", b"testserver")])

    async def serve_and_note():
        loops["server"] = asyncio.get_running_loop()
        return await communicator.get_response(timeout=10)

    signals.request_started.connect(on_request)
    try:
        response = async_to_sync(serve_and_note)()
    finally:
        signals.request_started.disconnect(on_request)

    assert response["status"] == 200
    assert loops["called"] is loops["server"]


def test_a_streamed_response_arrives_whole_in_chunks(settings):
    # WhiteNoise answers static files with a FileResponse, which the handler streams from its thread.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    handler = ThreadPoolHTTPHandler(threads=2)
    handler.chunk_size = 1024  # several chunks even for a small file

    response = served(handler, "GET", "/static/js/clip-page.js", headers=[(b"host", b"testserver")])

    from django.contrib.staticfiles import finders

    with open(finders.find("js/clip-page.js"), "rb") as source:
        expected = source.read()
    assert response["status"] == 200
    assert len(expected) > 3 * 1024
    assert response["body"] == expected


def test_the_redis_cache_shares_one_pool_and_client_per_process(settings):
    if not settings.CACHES["default"]["BACKEND"].endswith("reviewportal.cache.RedisCache"):
        pytest.skip("the embedded default has no Redis (REDIS_URL unset): the local-memory cache has no clients")
    from django.core.cache import caches

    here = caches["default"]
    here.set("serving-test", 1)
    # Each request runs in a context of its own, and Django builds a new cache backend in each.
    elsewhere = contextvars.Context().run(lambda: caches["default"])

    assert elsewhere is not here
    assert elsewhere._cache.get_client() is here._cache.get_client(write=True)
    assert elsewhere._cache._get_connection_pool(False) is here._cache._get_connection_pool(True)
    assert elsewhere.get("serving-test") == 1


# --- python -m reviewportal.serve: the production serving command -------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve(tmp_path):
    """Start `python -m reviewportal.serve` on the embedded default in tmp_path; yields (process, port)."""
    started = []

    def start(*args: str) -> tuple[subprocess.Popen, int]:
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG"}}
        env.update(VAR_DIR=str(tmp_path), SECRET_KEY="s" * 50, **KEYS)
        command = [sys.executable, "-m", "reviewportal.serve", "--port", str(port), *args]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        started.append(process)
        return process, port

    yield start
    for process in started:
        _stop_with_workers(process)


def _stop_with_workers(process: subprocess.Popen) -> None:
    """SIGTERM, which stops the workers too; then SIGKILL for whatever is left. Killing only the
    parent would leave its workers running after the test, holding their ports."""
    try:
        family = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        family = []
    if process.poll() is None:
        process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(20)
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    process.wait(10)


def _wait_for_workers(process: subprocess.Popen, port: int, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = []
        for child in psutil.Process(process.pid).children():
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker just killed by the test
                # Besides the workers, multiprocessing starts a resource tracker.
                if "spawn_main" in " ".join(child.cmdline()):
                    workers.append(child)
        if len(workers) == count:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    return workers
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    raise TimeoutError("reviewportal.serve did not come up")


def _connections_to(worker: psutil.Process, port: int) -> int:
    return sum(1 for c in worker.net_connections() if c.status == "ESTABLISHED" and c.laddr.port == port)


def test_keep_alive_connections_are_spread_over_the_workers(serve):
    process, port = serve("--workers", "2")
    workers = _wait_for_workers(process, port, 2)

    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(24)]
    try:
        assert all(client.get("/healthz").status_code == 200 for client in clients)
        held = [_connections_to(worker, port) for worker in workers]
    finally:
        for client in clients:
            client.close()

    # uvicorn --workers gives all of them to one worker; here each has its own socket (SO_REUSEPORT).
    # The kernel hashes connections over the two: all 24 on one side has a chance of 2 in 16 million.
    assert sum(held) == 24
    assert min(held) > 0


def test_a_worker_that_dies_is_replaced_and_sigterm_stops_everything(serve):
    process, port = serve("--workers", "2", "--min-uptime", "0.5")
    first, second = _wait_for_workers(process, port, 2)
    first_cores = first.cpu_affinity()
    time.sleep(1)

    first.kill()
    replacement = next((w for w in _wait_for_workers(process, port, 2) if w.pid not in {first.pid, second.pid}), None)
    replacement_cores = replacement.cpu_affinity() if replacement is not None else None
    process.send_signal(signal.SIGTERM)

    assert replacement is not None
    assert replacement_cores == first_cores  # it takes the core of the worker it replaces
    assert process.wait(40) == 0
    assert not second.is_running() or second.status() == psutil.STATUS_ZOMBIE


def _cores_of_every_thread(worker: psutil.Process) -> set[frozenset[int]]:
    return {frozenset(os.sched_getaffinity(thread.id)) for thread in worker.threads()}


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning needs at least two cores")
def test_each_worker_runs_on_a_core_of_its_own_with_all_its_threads(serve):
    process, port = serve("--workers", "2")
    workers = _wait_for_workers(process, port, 2)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200  # its threads are up

    cores = [_cores_of_every_thread(worker) for worker in workers]

    assert all(len(worker_cores) == 1 and len(next(iter(worker_cores))) == 1 for worker_cores in cores), cores
    assert cores[0] != cores[1]


def test_with_cpu_affinity_none_the_workers_keep_every_core(serve):
    process, port = serve("--workers", "2", "--cpu-affinity", "none")
    workers = _wait_for_workers(process, port, 2)

    assert all(set(worker.cpu_affinity()) == os.sched_getaffinity(0) for worker in workers)


@pytest.mark.parametrize(
    ("usable", "affinity", "expected"),
    [
        ({0, 1}, "spread", [0, 1, 0]),  # more workers than cores: round them again
        ({2, 5, 7, 9}, "spread", [2, 5, 7]),
        ({3}, "spread", [None, None, None]),  # one core: nothing to spread
        ({0, 1}, "none", [None, None, None]),
    ],
)
def test_workers_are_given_the_usable_cores_in_turn(monkeypatch, usable, affinity, expected):
    from reviewportal import serve as serving

    monkeypatch.setattr(serving.os, "sched_getaffinity", lambda pid: usable)

    assert serving.worker_cores(3, affinity) == expected


def test_a_taken_port_is_refused_with_its_number(serve):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = subprocess.run(
            [sys.executable, "-m", "reviewportal.serve", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in process.stderr
