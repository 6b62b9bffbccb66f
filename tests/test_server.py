"""linuxwasm serve: headers, compression, caching, and no file outside the root."""

import gzip
import http.client
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from linuxwasm import server


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<!doctype html><title>t</title>" + "x" * 2000)
    (root / "kernel.wasm").write_bytes(b"\0asm\1\0\0\0" + bytes(4000))
    (root / "image.cpio.gz").write_bytes(gzip.compress(b"cpio" * 100))
    (root / "v" / "0123abcd").mkdir(parents=True)
    (root / "v" / "0123abcd" / "page.js").write_text("export {};\n")
    (tmp_path / "secret.txt").write_text("secret-outside-the-site\n")
    (root / "escape").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def address(site: Path) -> Iterator[tuple[str, int]]:
    with server.serving(site) as httpd:
        yield httpd.server_address[:2]


def get(address: tuple[str, int], path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


ISOLATION = b"\r\nCross-Origin-Opener-Policy: same-origin\r\nCross-Origin-Embedder-Policy: require-corp\r\n"


def read_all(connection: socket.socket) -> bytes:
    """What the server sends until it closes the connection."""
    answer = b""
    while chunk := connection.recv(65536):
        answer += chunk
    return answer


def exchange(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=5) as connection:
        connection.sendall(data)
        return read_all(connection)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def hung_up_on(connection: socket.socket, drip: bytes = b"") -> bool:
    """Whether the server closes the connection within 5 s, while the client
    sends drip every 0.1 s."""
    connection.settimeout(0.1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if connection.recv(1) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionResetError:
            return True
        try:
            connection.sendall(drip)
        except (BrokenPipeError, ConnectionResetError):
            return True
    return False


@contextmanager
def running(httpd: server.SiteServer) -> Iterator[None]:
    """httpd.serve_forever() on a thread of its own while the block runs."""
    thread = threading.Thread(target=httpd.serve_forever)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        thread.join()


def raw_request(address: tuple[str, int], target: str) -> bytes:
    """Send the request target byte for byte, as no HTTP client would."""
    return exchange(address, f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())


def test_page_is_cross_origin_isolated_and_typed(address):
    page = get(address, "/")
    assert page.status == 200
    assert page.getheader("Cross-Origin-Opener-Policy") == "same-origin"
    assert page.getheader("Cross-Origin-Embedder-Policy") == "require-corp"
    assert page.getheader("Content-Type").startswith("text/html")
    assert get(address, "/kernel.wasm").getheader("Content-Type") == "application/wasm"


def test_compressed_when_asked_and_not_twice(address, site):
    response = get(address, "/kernel.wasm", {"Accept-Encoding": "gzip, br"})
    assert response.getheader("Content-Encoding") == "gzip"
    assert int(response.getheader("Content-Length")) < (site / "kernel.wasm").stat().st_size
    assert get(address, "/kernel.wasm").getheader("Content-Encoding") is None
    gz = get(address, "/image.cpio.gz", {"Accept-Encoding": "gzip"})
    assert gz.getheader("Content-Encoding") is None
    assert gz.getheader("Content-Type") == "application/gzip"


def test_revalidation_sends_nothing_unchanged(address, site):
    first = get(address, "/index.html", {"Accept-Encoding": "gzip"})
    etag = first.getheader("ETag")
    assert first.getheader("Cache-Control") == "no-cache"
    assert get(address, "/index.html", {"Accept-Encoding": "gzip", "If-None-Match": etag}).status == 304
    (site / "index.html").write_text("changed")
    assert get(address, "/index.html", {"Accept-Encoding": "gzip", "If-None-Match": etag}).status == 200


def test_hash_named_assets_are_cached_for_good(address):
    assert get(address, "/v/0123abcd/page.js").getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert get(address, "/index.html").getheader("Cache-Control") == "no-cache"


@pytest.mark.parametrize("target", [
    "/../secret.txt",
    "/%2e%2e/secret.txt",
    "/..%2fsecret.txt",
    "/..%5csecret.txt",
    "/escape",
    "../secret.txt",
    "http://x/../secret.txt",
    "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
])
def test_nothing_outside_the_root(address, target):
    answer = raw_request(address, target)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.split()[1] in (b"403", b"404"), status_line
    assert b"secret-outside-the-site" not in answer
    assert b"root:" not in answer


def test_missing_file_is_404(address):
    assert get(address, "/nope.js").status == 404


def test_busy_port_is_one_line_error(site):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(server.LinuxWasmError, match=f"cannot listen on 127.0.0.1:{port}"):
            server.open_server(site, port=port)


def test_many_connections_at_once_are_all_answered(site):
    """More than MAX_CONNECTIONS connect before the server accepts any: the
    backlog holds them all, and each is answered in its turn."""
    with server.open_server(site, port=0) as httpd:
        clients = [socket.create_connection(httpd.server_address[:2], timeout=5) for _ in range(300)]
        for client in clients:
            client.sendall(b"GET /kernel.wasm HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        with running(httpd):
            answers = []
            for client in clients:
                with client:
                    answers.append(read_all(client))
    assert [status_of(answer) for answer in answers] == [200] * 300


def test_idle_and_slow_connections_are_hung_up(address, monkeypatch):
    monkeypatch.setattr(server, "HEAD_TIMEOUT", 0.5)
    monkeypatch.setattr(server, "IDLE_TIMEOUT", 0.5)
    with closing(http.client.HTTPConnection(*address, timeout=5)) as kept_alive, \
            socket.create_connection(address, timeout=5) as silent, \
            socket.create_connection(address, timeout=5) as dripping:
        kept_alive.request("GET", "/")
        assert kept_alive.getresponse().read()
        dripping.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert hung_up_on(silent)
        # A field every 0.1 s: the head as a whole must come in time.
        assert hung_up_on(dripping, drip=b"X-Slow: 1\r\n")
        assert hung_up_on(kept_alive.sock)


def test_slow_heads_do_not_lock_others_out(address):
    """More connections than MAX_CONNECTIONS start a head and never end it:
    a request made meanwhile is answered all the same, and soon."""
    started = time.monotonic()
    slow = []
    try:
        for _ in range(300):
            slow.append(socket.create_connection(address, timeout=5))
            slow[-1].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert get(address, "/").status == 200
        assert time.monotonic() - started < 5
    finally:
        for connection in slow:
            connection.close()


@pytest.mark.parametrize("head", [
    b"GET /\r\n",  # HTTP/0.9
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # the HTTP/2 preface
    b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    b"GET / HTTP/1.1 now\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",  # no Host
], ids=["http0.9", "http2", "http3", "tls", "request-line", "field", "no-host"])
def test_only_http_1_is_answered(address, head):
    answer = exchange(address, head)
    assert status_of(answer) in (400, 505)
    assert ISOLATION in answer
    assert b"<title>" not in answer


@pytest.mark.parametrize("head, status", [
    (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 10000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: 1\r\n" * 200 + b"\r\n", 431),
], ids=["request-line", "field", "fields"])
def test_heads_are_bounded(address, head, status):
    answer = exchange(address, head)
    assert status_of(answer) == status
    assert ISOLATION in answer


def test_server_header_names_no_python(address):
    assert get(address, "/").getheader("Server") == "linuxwasm"


@pytest.mark.parametrize("accept_encoding, gzipped", [
    ("gzip", True),
    ("gzip, deflate", True),
    ("x-gzip", True),
    ("GZip;Q=0.5, deflate", True),
    ("*", True),
    ("gzip;q=0", False),
    ("gzip; q=0.000", False),
    ("x-gzip-not", False),
    ("identity", False),
    ("br", False),
    ("*;q=0", False),
    ("gzip;q=0, *", False),
    ("gzip;q=0.5, identity", False),
])
def test_accept_encoding_is_parsed(address, accept_encoding, gzipped):
    response = get(address, "/index.html", {"Accept-Encoding": accept_encoding})
    assert (response.getheader("Content-Encoding") == "gzip") == gzipped


def test_head_and_304_say_how_long_the_body_is(address):
    full = get(address, "/index.html")
    length = full.getheader("Content-Length")
    with closing(http.client.HTTPConnection(*address, timeout=5)) as connection:
        connection.request("HEAD", "/index.html")
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
    assert head.getheader("Content-Length") == length
    etag = full.getheader("ETag")
    unchanged = get(address, "/index.html", {"If-None-Match": f'"other", W/{etag}'})
    assert unchanged.status == 304
    assert unchanged.getheader("Content-Length") == length


def test_keep_alive_for_http_1_1_and_asked_for_by_1_0(address):
    with closing(http.client.HTTPConnection(*address, timeout=5)) as connection:
        connection.request("GET", "/")
        connection.getresponse().read()
        sock = connection.sock
        connection.request("GET", "/kernel.wasm")
        assert connection.getresponse().status == 200
        assert connection.sock is sock
    with socket.create_connection(address, timeout=5) as raw:
        for _ in range(2):
            raw.sendall(b"GET /kernel.wasm HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = http.client.HTTPResponse(raw)
            response.begin()
            assert response.status == 200 and len(response.read()) == 4008
    assert exchange(address, b"GET /kernel.wasm HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 ")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_are_not_allowed(address, method):
    with closing(http.client.HTTPConnection(*address, timeout=5)) as connection:
        connection.request(method, "/", body=b"x" * 100000 if method in ("POST", "PUT") else None)
        response = connection.getresponse()
    assert response.status == 405
    assert response.getheader("Allow") == "GET, HEAD"
    assert response.getheader("Cross-Origin-Embedder-Policy") == "require-corp"


def test_clients_that_leave_leave_stderr_quiet(site, address, capfd):
    (site / "big.gz").write_bytes(os.urandom(16 << 20))
    request = b"GET /big.gz HTTP/1.1\r\nHost: x\r\n\r\n"
    for data, reads, reset in [(request[:20], 0, True), (request, 0, False), (request, 1, True), (request, 1, False)]:
        connection = socket.socket()
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.connect(address)
        connection.sendall(data)
        for _ in range(reads):
            connection.recv(65536)
        if reset:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
    time.sleep(0.5)
    assert get(address, "/").status == 200
    assert capfd.readouterr().err == ""


def test_ctrl_c_stops_quietly(site):
    script = ("import sys; from pathlib import Path; from linuxwasm import server\n"
              "with server.open_server(Path(sys.argv[1]), port=0) as httpd:\n"
              "    print(server.url_of(httpd), flush=True)\n"
              "    try:\n"
              "        httpd.serve_forever()\n"
              "    except KeyboardInterrupt:\n"
              "        pass\n")
    process = subprocess.Popen([sys.executable, "-c", script, str(site)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline()
        host, port = url.removeprefix("http://").rstrip("/\n").rsplit(":", 1)
        assert get((host, int(port)), "/").status == 200
        with socket.create_connection((host, int(port))):  # a connection open on Ctrl-C
            process.send_signal(signal.SIGINT)
            _, errors = process.communicate(timeout=10)
    finally:
        process.kill()
    assert (process.returncode, errors) == (0, "")
