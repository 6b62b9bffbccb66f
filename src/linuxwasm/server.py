"""`linuxwasm serve`: a site folder over HTTP, with what the page needs.

Every response makes the page cross-origin isolated (COOP and COEP, for
SharedArrayBuffer), names its type (`application/wasm` for the kernel, so
that browsers may compile it while it downloads), is gzipped when the client
takes it, and carries an ETag: a reload revalidates and downloads nothing
that did not change, and what lies under `v/` (named by a hash of its
contents) is cached for good. Only files inside the root are served.
"""

import gzip
import hashlib
import http.server
import io
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from linuxwasm import site
from linuxwasm.errors import LinuxWasmError

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".wasm": "application/wasm",
    ".gz": "application/gzip",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}

# Already compressed: gzip would only cost time.
INCOMPRESSIBLE = {".gz"}

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass(frozen=True)
class Representation:
    """A file's bytes as sent, plain and gzipped, with its ETag."""
    plain: bytes
    gzipped: bytes | None
    etag: str


def cache_control(url_path: str) -> str:
    """Assets named by their contents' hash (site.py) never change; the rest
    is revalidated every time, which the ETag makes cost a few hundred bytes."""
    if urlsplit(url_path).path.startswith(f"/{site.VERSIONED}/"):
        return "public, max-age=31536000, immutable"
    return "no-cache"


class CountingWriter(io.BufferedIOBase):
    """A response stream that adds what passes through to its server's count."""

    def __init__(self, stream: BinaryIO, server: "SiteServer"):
        self.stream = stream
        self.server = server

    def write(self, data) -> int:  # type: ignore[override]
        self.server.count_sent(len(data))
        return self.stream.write(data)

    def flush(self) -> None:
        self.stream.flush()


class SiteHandler(http.server.BaseHTTPRequestHandler):
    server: "SiteServer"
    server_version = "linuxwasm"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.wfile = CountingWriter(self.wfile, self.server)

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def respond(self, send_body: bool) -> None:
        path = self.server.file_for(urlsplit(self.path).path)
        if path is None:
            self.refuse(403, "outside the site")
            return
        if not path.is_file():
            self.refuse(404, "not found")
            return
        representation = self.server.representation(path)
        gzipped = representation.gzipped is not None and "gzip" in self.headers.get("Accept-Encoding", "")
        etag = f'"{representation.etag}{"-gz" if gzipped else ""}"'
        if etag in self.headers.get("If-None-Match", ""):
            self.send_response(304)
            self.send_common_headers(etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = representation.gzipped if gzipped else representation.plain
        assert body is not None
        self.send_response(200)
        self.send_common_headers(etag)
        self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def send_common_headers(self, etag: str) -> None:
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", cache_control(self.path))
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("ETag", etag)

    def refuse(self, status: int, why: str) -> None:
        body = f"{status} {why}\n".encode()
        self.send_response(status)
        for name, value in ISOLATION_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


class SiteServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, host: str, port: int, verbose: bool = False):
        self.root = root.resolve()
        self.verbose = verbose
        self.bytes_sent = 0
        self.lock = threading.Lock()
        self.cache: dict[tuple[Path, int, int], Representation] = {}
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), SiteHandler)

    def count_sent(self, count: int) -> None:
        """Bytes written to clients so far, headers included (for benchmarks)."""
        with self.lock:
            self.bytes_sent += count

    def file_for(self, url_path: str) -> Path | None:
        """The file a URL path names; None if it would be outside the root."""
        text = unquote(url_path)
        if "\\" in text or "\0" in text:
            return None
        parts = PurePosixPath(text).parts
        if ".." in parts:
            return None
        path = self.root.joinpath(*[part for part in parts if part != "/"])
        if path.is_dir():
            path = path / "index.html"
        # A symbolic link may point out of the root, too.
        resolved = path.resolve()
        return resolved if resolved.is_relative_to(self.root) else None

    def representation(self, path: Path) -> Representation:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        cached = self.cache.get(key)
        if cached is None:
            plain = path.read_bytes()
            gzipped = None if path.suffix in INCOMPRESSIBLE else gzip.compress(plain, 6, mtime=0)
            cached = Representation(plain, gzipped, hashlib.sha256(plain).hexdigest()[:32])
            self.cache[key] = cached
        return cached


def open_server(root: Path, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False) -> SiteServer:
    """A server for root, bound and ready to serve_forever()."""
    try:
        return SiteServer(root, host, port, verbose)
    except OSError as e:
        raise LinuxWasmError(f"cannot listen on {host}:{port}: {e.strerror}") from None


@contextmanager
def serving(root: Path, host: str = "127.0.0.1", port: int = 0) -> Iterator[SiteServer]:
    """A server for root answering on a thread of its own until the end."""
    httpd = open_server(root, host, port)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


def url_of(server: SiteServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{f'[{host}]' if ':' in str(host) else host}:{port}/"
