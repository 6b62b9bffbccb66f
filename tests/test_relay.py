"""linuxwasm serve --net: the page's network relay, a WebSocket to a NAT of its own (relay.py).

A stand-in for the page's network card speaks to it here: one Ethernet
frame per binary message. The page itself is tests/test_browser.py's.
"""

import http.client
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from linuxwasm import relay, server

CARD = bytes.fromhex("024c57000001")


@pytest.fixture
def address(tmp_path: Path) -> Iterator[tuple[str, int]]:
    (tmp_path / "index.html").write_text("<!doctype html><title>t</title>")
    with server.serving(tmp_path, relay=relay.Relay()) as httpd:
        yield httpd.server_address[:2]


def _open(address: tuple[str, int], origin: str | None = None):
    host, port = address
    return connect(f"ws://{host}:{port}/net", origin=origin or f"http://{host}:{port}", proxy=None,
                   compression=None, open_timeout=10)


def _arp_request(target: bytes) -> bytes:
    """Who has target? (from the card, which says it is 0.0.0.0)."""
    return (b"\xff" * 6 + CARD + b"\x08\x06" + struct.pack(">HHBBH", 1, 0x0800, 6, 4, 1) + CARD + bytes(4)
            + bytes(6) + target)


def test_frames_reach_the_nat_and_come_back(address: tuple[str, int]) -> None:
    with _open(address) as ws:
        # passt answers ARP for every address but the guest's own.
        ws.send(_arp_request(bytes([10, 9, 8, 7])))
        reply = ws.recv(timeout=10)
    assert isinstance(reply, bytes)
    assert reply[0:6] == CARD and reply[12:14] == b"\x08\x06"
    assert struct.unpack(">H", reply[20:22])[0] == 2  # an ARP reply
    assert reply[28:32] == bytes([10, 9, 8, 7])


def test_each_tab_has_a_nat_of_its_own(address: tuple[str, int]) -> None:
    with _open(address) as first, _open(address) as second:
        for ws in (first, second):
            ws.send(_arp_request(bytes([10, 9, 8, 7])))
            assert ws.recv(timeout=10)[28:32] == bytes([10, 9, 8, 7])


def test_another_origin_is_refused(address: tuple[str, int]) -> None:
    with pytest.raises(InvalidStatus) as refused:
        _open(address, origin="http://elsewhere.example")
    assert refused.value.response.status_code == 403


def test_a_message_longer_than_a_frame_closes_the_websocket(address: tuple[str, int]) -> None:
    with _open(address) as ws:
        ws.send(bytes(relay.MAX_FRAME + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big


def test_without_net_there_is_no_relay(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    with server.serving(tmp_path) as httpd:
        connection = http.client.HTTPConnection(*httpd.server_address[:2], timeout=10)
        connection.request("GET", "/net", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
        assert connection.getresponse().status == 404
        connection.close()
