"""A real HTTP server on 127.0.0.1 that serves a mirror directory, with scriptable faults.

``GET /<host>/<path>?<query>`` answers with the file ``mirror_path(root, "https://<host>/<path>", query)``.
Absolute URLs on the real hosts inside served bodies are rewritten to point back at this server, so
paging links come back here. Every answer carries an ``ETag`` (sha256 of the body) and
``If-None-Match`` is answered with 304. Requests are counted per path (query left out); ``count()``
and ``fail()`` take a path prefix compared case-insensitively, as CBS's own links say ``OData`` where
the connector asked for ``odata``.

Faults, queued per path prefix with ``fail()`` and used up one per request before serving normally:
``500``/``503``/... (an int: that status), ``(429, 2)`` (a status with ``Retry-After: 2``),
``"timeout"`` (answer nothing for ``stall_s`` seconds, then close) and ``"drop"`` (close at once).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from wup_pipeline.resources.mirror import mirror_path

REWRITTEN_HOSTS = ("opendata.cbs.nl", "api.pdok.nl")


class LoopbackMirror:
    def __init__(self, root: Path, stall_s: float = 2.0):
        self.root = Path(root)
        self.stall_s = stall_s  # how long a "timeout" fault keeps the client waiting
        self.requests: Counter[str] = Counter()  # request path (no query) -> number of requests
        self.log: list[tuple[str, str, int | str]] = []  # (path, query, status or fault) per request
        self.received_headers: list[dict[str, str]] = []
        self._faults: list[tuple[str, int, deque]] = []  # (path prefix, requests to let pass, faults)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.mirror = self
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> LoopbackMirror:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes stalled "timeout" handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackMirror:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------------
    def fail(self, path_prefix: str, *faults, after: int = 0) -> None:
        """Queue faults for requests whose path starts with ``path_prefix``.

        Each request takes the next fault: an int status, ``(status, retry_after_s)``, ``"timeout"`` or
        ``"drop"``. With ``after=n`` the first n matching requests are served normally (e.g. page 1).
        """
        with self._lock:
            self._faults.append((path_prefix, after, deque(faults)))

    def count(self, path_prefix: str) -> int:
        """Requests so far whose path starts with ``path_prefix`` (case-insensitive)."""
        with self._lock:
            return sum(n for path, n in self.requests.items() if path.lower().startswith(path_prefix.lower()))

    def url(self, real_url: str) -> str:
        """The loopback URL for a real ``https://host/path?query`` URL."""
        parts = urlsplit(real_url)
        return f"{self.base_url}/{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    def put(self, real_url: str, payload, params: dict | None = None) -> Path:
        """Write a payload (bytes, or anything JSON) to the mirror file for a real URL."""
        path = mirror_path(self.root, real_url, params)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        return path

    def _next_fault(self, path: str):
        with self._lock:
            for index, (prefix, after, faults) in enumerate(self._faults):
                if path.lower().startswith(prefix.lower()) and faults:
                    if after:
                        self._faults[index] = (prefix, after - 1, faults)
                        continue
                    return faults.popleft()
        return None

    def _body(self, path: str, query: str) -> bytes | None:
        host, _, rest = path.lstrip("/").partition("/")
        file = mirror_path(self.root, f"https://{host}/{rest}" + (f"?{query}" if query else ""))
        if not file.is_file():
            return None
        body = file.read_bytes()
        for real in REWRITTEN_HOSTS:
            body = body.replace(f"https://{real}/".encode(), f"{self.base_url}/{real}/".encode())
        return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # do not wait for a stalled handler on close
    mirror: LoopbackMirror


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        mirror = self.server.mirror
        parts = urlsplit(self.path)
        with mirror._lock:
            mirror.requests[parts.path] += 1
            mirror.received_headers.append(dict(self.headers))
        fault = mirror._next_fault(parts.path)
        if fault in ("timeout", "drop"):
            self._record(parts.path, parts.query, fault)  # now: a stalled answer ends after the client left
            if fault == "timeout":
                mirror._stopping.wait(mirror.stall_s)
            self.close_connection = True  # close without a response
            return
        self._answer(mirror, parts.path, parts.query, fault)

    def _record(self, path: str, query: str, outcome: int | str) -> None:
        with self.server.mirror._lock:
            self.server.mirror.log.append((path, query, outcome))

    def _answer(self, mirror: LoopbackMirror, path: str, query: str, fault) -> int:
        if isinstance(fault, tuple):
            status, retry_after = fault
            return self._send(status, b'{"title": "slow down"}', {"Retry-After": str(retry_after)})
        if fault is not None:
            return self._send(int(fault), b'{"title": "server error"}')
        body = mirror._body(path, query)
        if body is None:
            return self._send(404, json.dumps({"status": 404, "title": "Not Found", "path": path}).encode())
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", {"ETag": etag})
        return self._send(200, body, {"ETag": etag})

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> int:
        # Record before answering: the client may look at the log as soon as it has the answer.
        parts = urlsplit(self.path)
        self._record(parts.path, parts.query, status)
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 304:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        return status

    def log_message(self, format, *args) -> None:  # keep test output quiet
        pass
