"""`linuxwasm serve`: a site folder over HTTP, with what the page needs.

Every response makes the page cross-origin isolated (COOP and COEP, for
SharedArrayBuffer), names its type (`application/wasm` for the kernel, so
that browsers may compile it while it downloads), is gzipped when the client
takes it, and carries an ETag: a reload revalidates and downloads nothing
that did not change, and what lies under `v/` (named by a hash of its
contents) is cached for good. Only files inside the root are served, to GET
and HEAD.

With a relay (`serve --net`, relay.py), a WebSocket at /net gives the
page a network card behind a NAT of its own.

The server is one asyncio event loop speaking HTTP/1.0 and 1.1 (keep-alive
included). It holds at most MAX_CONNECTIONS connections, more wait in the
listen backlog, and every wait on a client has a time limit: clients that
are slow, or that connect and send nothing, cannot hold it.
"""

import asyncio
import gzip
import hashlib
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path, PurePosixPath
from stat import S_ISREG
from urllib.parse import unquote, urlsplit

from linuxwasm import relay as relays, site
from linuxwasm.errors import LinuxWasmError

BACKLOG = 1024          # connections the kernel holds until they are accepted
MAX_CONNECTIONS = 256   # connections open at once
HEAD_TIMEOUT = 10.0     # seconds for a new connection's request head to arrive
IDLE_TIMEOUT = 15.0     # seconds for the next request on a kept-alive connection
CROWDED_TIMEOUT = 1.0   # both, while MAX_CONNECTIONS are open and another waits
WRITE_TIMEOUT = 30.0    # seconds a client may take to read a CHUNK of a response
LINGER_TIMEOUT = 2.0    # seconds to read what a client still sends after the last answer
CHUNK = 64 * 1024       # bytes written (or read) at a time
MAX_LINE = 8192         # bytes in the request line, or in one header field
MAX_HEADERS = 100

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

TOKEN = r"[-!#$%&'*+.^_`|~0-9A-Za-z]+"
REQUEST_LINE = re.compile(rf"({TOKEN}) (\S+) (HTTP/\d\.\d)")
HEADER_FIELD = re.compile(rf"({TOKEN}):[ \t]*(.*?)[ \t]*")
QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


@dataclass(frozen=True)
class Representation:
    """A file's bytes as sent, plain and gzipped, with its ETag."""
    stamp: tuple[int, int]  # the file's modification time and size when read
    plain: bytes
    gzipped: bytes | None
    etag: str


@dataclass(frozen=True)
class Request:
    method: str
    target: str
    version: str  # HTTP/1.0 or HTTP/1.1
    headers: dict[str, str]  # by lower-case name; a repeated field's values joined by ", "

    @property
    def line(self) -> str:
        return f"{self.method} {self.target} {self.version}"

    @property
    def keep_alive(self) -> bool:
        """Whether the connection may carry another request after this one's
        answer: the client wants that, and sent no body (which, unread, would
        be taken for the next request)."""
        options = {option.strip().lower() for option in self.headers.get("connection", "").split(",")}
        if "close" in options or "transfer-encoding" in self.headers or self.headers.get("content-length", "0") != "0":
            return False
        return self.version == "HTTP/1.1" or "keep-alive" in options


@dataclass
class Response:
    status: HTTPStatus
    headers: dict[str, str]
    body: bytes  # its length is the Content-Length, also of an answer to HEAD and of a 304


class Malformed(Exception):
    """A request head that gets an error status and a closed connection."""

    def __init__(self, status: HTTPStatus, why: str):
        super().__init__(why)
        self.status = status


def cache_control(url_path: str) -> str:
    """Assets named by their contents' hash (site.py) never change; the rest
    is revalidated every time, which the ETag makes cost a few hundred bytes."""
    if urlsplit(url_path).path.startswith(f"/{site.VERSIONED}/"):
        return "public, max-age=31536000, immutable"
    return "no-cache"


def takes_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value (RFC 9110 §12.5.3) takes gzip: gzip or
    x-gzip, or else `*`, has a q above 0, and not below that of identity if
    the client weighs that too. No field at all means no coding."""
    weights: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, _, parameters = item.partition(";")
        weights[coding.strip()] = qvalue(parameters)

    def weight(*codings: str, unlisted: float) -> float:
        return next((weights[coding] for coding in codings if coding in weights), weights.get("*", unlisted))

    gzip_weight = weight("gzip", "x-gzip", unlisted=0.0)
    return gzip_weight > 0 and gzip_weight >= weight("identity", unlisted=0.0)


def qvalue(parameters: str) -> float:
    """The q of an Accept-Encoding item's parameters: 1 if none, 0 if malformed."""
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            value = value.strip()
            return float(value) if QVALUE.fullmatch(value) else 0.0
    return 1.0


def etag_matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match (RFC 9110 §13.1.2) compares weakly: W/"x" matches "x"."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def refusal(status: HTTPStatus, why: str) -> Response:
    """A short plain-text answer for a request that gets no file."""
    return Response(status, {"Content-Type": "text/plain; charset=utf-8"}, f"{status.value} {why}\n".encode())


async def read_line(reader: asyncio.StreamReader, too_long: HTTPStatus) -> str:
    try:
        line = await reader.readline()
    except ValueError:  # longer than the reader's limit, MAX_LINE
        raise Malformed(too_long, "line too long") from None
    if not line.endswith(b"\n"):
        raise asyncio.IncompleteReadError(line, None)
    return line.rstrip(b"\r\n").decode("latin-1")


async def read_request(reader: asyncio.StreamReader) -> Request:
    """The next request's head; IncompleteReadError if the client closes first."""
    line = await read_line(reader, HTTPStatus.REQUEST_URI_TOO_LONG)
    if not line:  # an empty line between requests is to be ignored (RFC 9112 §2.2)
        line = await read_line(reader, HTTPStatus.REQUEST_URI_TOO_LONG)
    request_line = REQUEST_LINE.fullmatch(line)
    if request_line is None:
        raise Malformed(HTTPStatus.BAD_REQUEST, "not an HTTP/1 request")
    method, target, version = request_line.groups()
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise Malformed(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, "HTTP/1.0 and HTTP/1.1 only")
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        line = await read_line(reader, HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        if not line:
            break
        field = HEADER_FIELD.fullmatch(line)
        if field is None:
            raise Malformed(HTTPStatus.BAD_REQUEST, "malformed header field")
        name, value = field[1].lower(), field[2]
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    else:
        raise Malformed(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "too many header fields")
    if version == "HTTP/1.1" and "host" not in headers:
        raise Malformed(HTTPStatus.BAD_REQUEST, "no Host")
    return Request(method, target, version, headers)


class SiteServer:
    """The files under root, answered on a listening socket.

    serve_forever() runs the server in the calling thread until shutdown()
    is called from another, or Ctrl-C; close() releases what it holds.
    """

    def __init__(self, root: Path, listener: socket.socket, verbose: bool = False,
                 relay: relays.Relay | None = None):
        self.root = root.resolve()
        self.relay = relay
        self.listener = listener
        self.server_address = listener.getsockname()
        self.verbose = verbose
        self.bytes_sent = 0  # to clients so far, headers included (for benchmarks)
        self.cache: dict[Path, Representation] = {}
        self.connections: set[asyncio.Task[None]] = set()
        # Connections waiting for a request: the deadline of each, and what
        # it becomes in a crowd (CROWDED_TIMEOUT from the start of the wait).
        self.waiting: dict[asyncio.Timeout, float] = {}
        self.crowded = False  # MAX_CONNECTIONS are open, and more wait in the backlog
        self.stopping = asyncio.Event()
        self.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        self.loop = self.runner.get_loop()

    def __enter__(self) -> "SiteServer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Answer until shutdown(), or Ctrl-C: that raises KeyboardInterrupt
        here, once every connection is closed. The event loop ends with it,
        on this thread (another thread may have an event loop running)."""
        try:
            self.runner.run(self.serve())
        finally:
            self.runner.close()

    def shutdown(self) -> None:
        """Make serve_forever(), running on another thread, return."""
        self.loop.call_soon_threadsafe(self.stopping.set)

    def close(self) -> None:
        """Close the listening socket (and the event loop, if it never served)."""
        if not self.loop.is_closed():
            self.loop.close()
        self.listener.close()

    async def serve(self) -> None:
        self.resume()
        try:
            await self.stopping.wait()
        finally:
            self.stopping.set()  # also when Ctrl-C ends this: nobody else comes in
            self.loop.remove_reader(self.listener)
            for connection in self.connections:
                connection.cancel()
            if self.connections:
                await asyncio.wait(self.connections)

    def resume(self) -> None:
        """Take connections from the backlog again."""
        self.crowded = False
        if not self.stopping.is_set():
            self.loop.add_reader(self.listener, self.accept)

    def accept(self) -> None:
        """Take a connection from the backlog, which has one."""
        if len(self.connections) >= MAX_CONNECTIONS:
            # It stays there until a connection ends. Meanwhile those that wait
            # for a request do so CROWDED_TIMEOUT at most: clients that connect
            # and send nothing, or a head ever so slowly, lock nobody out.
            self.loop.remove_reader(self.listener)
            self.crowded = True
            for deadline, crowded in self.waiting.items():
                if not deadline.expired():
                    deadline.reschedule(crowded)
            return
        try:
            client, address = self.listener.accept()
        except BlockingIOError:  # the client gave up before it was accepted
            return
        except OSError:  # out of file descriptors, say: try again in a moment
            self.loop.remove_reader(self.listener)
            self.loop.call_later(0.1, self.resume)
            return
        connection = self.loop.create_task(self.converse(client, address[0]))
        self.connections.add(connection)
        connection.add_done_callback(self.ended)

    def ended(self, connection: asyncio.Task[None]) -> None:
        self.connections.discard(connection)
        self.resume()

    async def converse(self, client: socket.socket, host: str) -> None:
        """Answer a client's requests until either side ends the connection."""
        reader, writer = await asyncio.open_connection(sock=client, limit=MAX_LINE)
        writer.transport.set_write_buffer_limits(high=0)  # drain() waits until all is sent
        try:
            patience = HEAD_TIMEOUT
            keep_alive = True
            request: Request | None
            while keep_alive:
                try:
                    request = await self.next_request(reader, patience)
                except Malformed as e:
                    request, response = None, refusal(e.status, str(e))
                else:
                    if self.relay and urlsplit(request.target).path == relays.PATH and relays.is_upgrade(request):
                        refused = self.relay.refusal(request)
                        if refused is None:
                            await self.relay.serve(request, reader, writer)
                            return
                        response = refusal(*refused)
                    else:
                        response = await self.answer(request)
                keep_alive = request is not None and request.keep_alive
                await self.send(writer, host, request, response, keep_alive)
                patience = IDLE_TIMEOUT
            # Closing a socket with data unread resets the connection, which
            # may lose the answer on its way: tell the client, let it close.
            writer.write_eof()
            async with asyncio.timeout(LINGER_TIMEOUT):
                while await reader.read(CHUNK):
                    pass
        except (OSError, asyncio.IncompleteReadError):
            pass  # the client left, or was too slow: nobody else needs to hear of it
        finally:
            writer.transport.abort()

    async def next_request(self, reader: asyncio.StreamReader, patience: float) -> Request:
        """The next request's head, which must come within patience seconds
        (CROWDED_TIMEOUT while the server is crowded)."""
        now = self.loop.time()
        crowded = now + min(patience, CROWDED_TIMEOUT)
        async with asyncio.timeout_at(crowded if self.crowded else now + patience) as deadline:
            self.waiting[deadline] = crowded
            try:
                return await read_request(reader)
            finally:
                del self.waiting[deadline]

    async def answer(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            response = refusal(HTTPStatus.METHOD_NOT_ALLOWED, "GET and HEAD only")
            response.headers["Allow"] = "GET, HEAD"
            return response
        path = self.file_for(urlsplit(request.target).path)
        if path is None:
            return refusal(HTTPStatus.FORBIDDEN, "outside the site")
        representation = await asyncio.to_thread(self.representation, path)
        if representation is None:
            return refusal(HTTPStatus.NOT_FOUND, "not found")
        gzipped = representation.gzipped is not None and takes_gzip(request.headers.get("accept-encoding", ""))
        etag = f'"{representation.etag}{"-gz" if gzipped else ""}"'
        headers = {"Cache-Control": cache_control(request.target), "Vary": "Accept-Encoding", "ETag": etag}
        body = representation.gzipped if gzipped else representation.plain
        assert body is not None
        if etag_matches(request.headers.get("if-none-match", ""), etag):
            return Response(HTTPStatus.NOT_MODIFIED, headers, body)
        headers["Content-Type"] = CONTENT_TYPES.get(path.suffix, "application/octet-stream")
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(HTTPStatus.OK, headers, body)

    async def send(self, writer: asyncio.StreamWriter, host: str, request: Request | None,
                   response: Response, keep_alive: bool) -> None:
        """Write the response, giving the client WRITE_TIMEOUT for each CHUNK."""
        headers = {
            "Date": formatdate(usegmt=True),
            "Server": "linuxwasm",
            **ISOLATION_HEADERS,
            "X-Content-Type-Options": "nosniff",
            **response.headers,
            "Content-Length": str(len(response.body)),
            "Connection": "keep-alive" if keep_alive else "close",
        }
        head = "".join([f"HTTP/1.1 {response.status.value} {response.status.phrase}\r\n",
                        *(f"{name}: {value}\r\n" for name, value in headers.items()), "\r\n"])
        head_only = response.status == HTTPStatus.NOT_MODIFIED or (request is not None and request.method == "HEAD")
        body = memoryview(b"" if head_only else response.body)
        await self.write(writer, head.encode("latin-1") + body[:CHUNK])
        for start in range(CHUNK, len(body), CHUNK):
            await self.write(writer, body[start:start + CHUNK])
        if self.verbose:
            sys.stderr.write(f'{host} "{request.line if request else "-"}" {response.status.value} {len(body)}\n')

    async def write(self, writer: asyncio.StreamWriter, data: bytes | memoryview) -> None:
        writer.write(data)
        self.bytes_sent += len(data)
        async with asyncio.timeout(WRITE_TIMEOUT):
            await writer.drain()

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

    def representation(self, path: Path) -> Representation | None:
        """The file at path as sent, read again only when it changed; None
        if it is not a file, or cannot be read."""
        try:
            status = path.stat()
            if not S_ISREG(status.st_mode):
                return None
            stamp = (status.st_mtime_ns, status.st_size)
            cached = self.cache.get(path)
            if cached is not None and cached.stamp == stamp:
                return cached
            plain = path.read_bytes()
        except OSError:  # gone, or not ours to read
            return None
        gzipped = None if path.suffix in INCOMPRESSIBLE else gzip.compress(plain, 6, mtime=0)
        fresh = self.cache[path] = Representation(stamp, plain, gzipped, hashlib.sha256(plain).hexdigest()[:32])
        return fresh


def open_server(root: Path, host: str = "127.0.0.1", port: int = 8000, verbose: bool = False,
                relay: relays.Relay | None = None) -> SiteServer:
    """A server for root, listening and ready to serve_forever(); with relay, WebSockets at /net too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as e:
        # create_server() adds the address to strerror: the errno's own words only.
        why = os.strerror(e.errno) if e.errno else str(e)
        raise LinuxWasmError(f"cannot listen on {host}:{port}: {why}") from None
    listener.setblocking(False)
    return SiteServer(root, listener, verbose, relay)


@contextmanager
def serving(root: Path, host: str = "127.0.0.1", port: int = 0,
            relay: relays.Relay | None = None) -> Iterator[SiteServer]:
    """A server for root answering on a thread of its own until the end."""
    with open_server(root, host, port, relay=relay) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield httpd
        finally:
            httpd.shutdown()
            thread.join()


def url_of(server: SiteServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{f'[{host}]' if ':' in str(host) else host}:{port}/"
