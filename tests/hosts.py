"""Servers on this host's 127.0.0.1 for the network tests, the only hosts they reach."""

import http.server
import functools
import os
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# The guest's way to its gateway, which is this host's loopback with Nat(host_loopback=True).
GATEWAY = "$(ip route | awk '/^default/ {print $3}')"


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class Endless(http.server.BaseHTTPRequestHandler):
    """GET: zeros, a little at a time, until the client goes."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        try:
            while True:
                self.wfile.write(bytes(4096))
                time.sleep(0.01)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type | functools.partial) -> Iterator[int]:
    """An HTTP server on 127.0.0.1 with handler, on threads of its own; its port."""
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield server.server_address[1]
        finally:
            server.shutdown()


@contextmanager
def serving_blob(folder: Path, size: int) -> Iterator[tuple[int, bytes]]:
    """/blob, size random bytes, served from folder; the port and the blob."""
    blob = os.urandom(size)
    (folder / "blob").write_bytes(blob)
    with serving(functools.partial(_Files, directory=str(folder))) as port:
        yield port, blob
