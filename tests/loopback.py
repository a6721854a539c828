"""A threaded HTTP server on a free loopback port, for the stand-ins the tests talk to."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

Handle = Callable[[BaseHTTPRequestHandler, str], None]


class LoopbackServer:
    """Every GET and POST goes to ``handle(request, method)``; keep-alive, quiet logs."""

    def __init__(self, handle: Handle) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # else delayed ACKs add 40 ms to every keep-alive request

            def do_GET(self) -> None:
                handle(self, "GET")

            def do_POST(self) -> None:
                handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
