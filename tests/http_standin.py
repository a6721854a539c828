"""A loopback HTTP server serving a fixture folder, with per-path misbehaviour for update tests.

``HttpStandIn(root)`` serves ``root/<path>`` on 127.0.0.1 (a free port) with an ETag
(sha256 of the body) and a fixed Last-Modified, answering 304 to a matching
If-None-Match / If-Modified-Since. ``standin.set(path, mode, ...)`` changes one path:

- ``body``: serve these bytes instead (invalid JSON, another type, an older version, a big file)
- ``status``: answer HTTP ``code`` the first ``times`` requests, then normally
- ``hang``: accept and never answer (until the server stops)
- ``truncate``: announce the full Content-Length, send ``sent`` bytes, close
- ``drip``: send one byte every ``interval`` seconds
- ``redirect``: 302 to ``location``
- ``unsized``: no Content-Length, body delimited by closing the connection

Every request is recorded as (method, path, conditional headers).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from loopback import LoopbackServer

LAST_MODIFIED = "Wed, 01 May 2024 00:00:00 GMT"


@dataclass
class Behaviour:
    mode: str
    body: bytes | None = None
    code: int = 503
    times: int = 1_000_000
    sent: int = 10
    interval: float = 0.1
    location: str = ""


@dataclass
class Request:
    method: str
    path: str
    if_none_match: str | None
    if_modified_since: str | None


@dataclass
class HttpStandIn:
    root: Path
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def set(self, path: str, mode: str, **options: Any) -> None:
        self.behaviours[path] = Behaviour(mode, **options)

    def clear(self) -> None:
        self.behaviours.clear()

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def __enter__(self) -> "HttpStandIn":
        self.loop = LoopbackServer(lambda request, method: self._handle(request))
        self.url = self.loop.url
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.loop.close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path.split("?", 1)[0]
        self.requests.append(Request("GET", path, request.headers.get("If-None-Match"),
                                     request.headers.get("If-Modified-Since")))
        behaviour = self.behaviours.get(path)
        if behaviour is not None and behaviour.mode == "status" and behaviour.times > 0:
            behaviour.times -= 1
            return self._send(request, behaviour.code, b'{"error": "stand-in failure"}')
        if behaviour is not None and behaviour.mode == "hang":
            self.stop.wait(30)
            request.close_connection = True
            return None
        if behaviour is not None and behaviour.mode == "redirect":
            request.send_response(302)
            request.send_header("Location", behaviour.location)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return None
        body = behaviour.body if behaviour is not None and behaviour.body is not None else self._file(path)
        if body is None:
            return self._send(request, 404, b"not found")
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if request.headers.get("If-None-Match") == etag or \
                (request.headers.get("If-Modified-Since") == LAST_MODIFIED and "If-None-Match" not in request.headers):
            request.send_response(304)
            request.send_header("ETag", etag)
            request.end_headers()
            return None
        mode = behaviour.mode if behaviour is not None else "normal"
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("ETag", etag)
        request.send_header("Last-Modified", LAST_MODIFIED)
        if mode == "unsized":
            request.send_header("Connection", "close")
        else:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        try:
            if mode == "truncate":
                request.wfile.write(body[:behaviour.sent if behaviour else 0])
                request.wfile.flush()
                request.close_connection = True
            elif mode == "drip":
                for i in range(len(body)):
                    if self.stop.wait(behaviour.interval if behaviour else 0.1):
                        break
                    request.wfile.write(body[i:i + 1])
                    request.wfile.flush()
                request.close_connection = True
            else:
                request.wfile.write(body)
                if mode == "unsized":
                    request.close_connection = True
        except OSError:   # the client gave up (timeout, size cap): expected in these tests
            request.close_connection = True
        return None

    def _file(self, path: str) -> bytes | None:
        target = (self.root / path.lstrip("/")).resolve()
        if self.root.resolve() not in target.parents or not target.is_file():
            return None
        return target.read_bytes()

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, code: int, body: bytes) -> None:
        request.send_response(code)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
