"""linuxwasm serve: headers, compression, caching, and no file outside the root."""

import gzip
import http.client
import socket
from collections.abc import Iterator
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
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    return response


def raw_request(address: tuple[str, int], target: str) -> bytes:
    """Send the request target byte for byte, as no HTTP client would."""
    with socket.create_connection(address, timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


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
