"""The device side of the virtio transport against a stand-in driver
(tests/fixtures/virtio_driver.mjs): the registers, block requests, and
every way a hostile guest can break the rings, each of which must stop
the machine with a reason and touch nothing outside kernel memory."""

import json
import subprocess
from pathlib import Path

import pytest

from linuxwasm import nodejs

DRIVER = Path(__file__).parent / "fixtures" / "virtio_driver.mjs"


def scenario(name: str, driver: Path = DRIVER) -> dict:
    done = subprocess.run([str(nodejs.build()), str(driver), name], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_registers_follow_the_virtio_mmio_layout():
    got = scenario("registers")
    assert got["magic"] == 0x74726976 and got["version"] == 2 and got["device"] == 2
    assert got["high"] == 1  # VIRTIO_F_VERSION_1, bit 32
    assert got["capacity"] == 128  # 64 KiB in sectors
    assert got["queueNumMax"] == 256
    assert got["before"] == {"status": 15, "queueReady": 1}
    assert got["after"] == {"status": 0, "queueReady": 0}  # a write of 0 resets
    assert got["outside"] == 0xFFFFFFFF


def test_a_write_then_a_read_round_trip_and_interrupt():
    got = scenario("readWrite")
    assert got == {"wrote": 0, "read": 0, "same": True, "onDisk": True, "used": 2, "raised": [8, 8],
                   "failures": []}


@pytest.mark.parametrize("name, status", [("pastTheEnd", 1), ("unknownType", 2)])
def test_a_bad_request_fails_alone(name, status):
    """An I/O error or "unsupported" for the request; the machine goes on."""
    assert scenario(name) == {"status": status, "failures": []}


def test_a_read_only_disk_is_offered_so_and_refuses_writes():
    assert scenario("readOnly") == {"roOffered": 1, "status": 1, "untouched": True, "failures": []}


@pytest.mark.parametrize("name, reason", [
    ("loop", "a descriptor chain loops"),
    ("outside", "a buffer lies outside kernel memory"),
    ("highAddress", "a buffer lies outside kernel memory"),
    ("pastTheQueue", "descriptor 500 is past the queue's 8"),
    ("flood", "the driver made more buffers available than the queue holds"),
    ("ringOutside", "a ring lies outside kernel memory or is misaligned"),
    ("badSize", "queue size 6 is not a power of two up to 256"),
    ("noStatus", "a block request has no header or no status byte"),
    ("notReady", "notified queue 0 before it was ready"),
])
def test_a_broken_ring_stops_the_machine_with_the_reason(name, reason):
    got = scenario(name)
    assert got["failures"] == [f"the guest broke the virtio protocol (block device test-serial): {reason}"]
    assert got.get("used", 0) == 0


def test_a_snapshot_keeps_its_writes_apart_from_the_image():
    assert scenario("snapshot") == {"reads": True, "baseUntouched": True}


# -- the network card (runtime/virtio/net.js), tests/fixtures/net_driver.mjs --

NET_DRIVER = Path(__file__).parent / "fixtures" / "net_driver.mjs"


def net_scenario(name: str) -> dict:
    return scenario(name, NET_DRIVER)


def test_a_network_card_offers_its_address_and_mergeable_buffers():
    assert net_scenario("config") == {"device": 1, "mac": [2, 0x4c, 0x57, 0, 0, 1], "linkUp": 1,
                                      "mac_feature": 1, "mergeable": 1, "status": 1}


def test_a_received_frame_spreads_over_the_buffers_it_needs():
    r = net_scenario("receiveAcrossBuffers")
    # 12 bytes of header and 3000 of frame: a full buffer and 964 bytes of the next.
    assert r["used"] == [[0, 2048], [1, 964]] and r["numBuffers"] == 2
    assert r["header"] == [0] * 10 and r["payload"]
    assert r["raised"] == [8] and r["failures"] == []


def test_a_frame_waits_for_receive_buffers():
    assert net_scenario("waitsForBuffers") == {"before": 0, "after": [[0, 112]], "failures": []}


def test_a_frame_before_the_driver_is_up_is_lost():
    assert net_scenario("lostBeforeTheDriver") == {"used": [], "failures": []}


def test_frames_waiting_for_the_guest_are_bounded():
    r = net_scenario("boundedWhileWaiting")
    assert r["pausedWhenFull"] and r["stillPaused"] and r["failures"] == []
    assert r["pending"] <= 8 * 1024 * 1024


def test_a_sent_frame_reaches_the_link_without_its_header():
    assert net_scenario("transmit") == {"sent": [[60, 0xcd]], "used": [[0, 0]], "raised": [8], "failures": []}
    assert net_scenario("chainedTransmit") == {"length": 60, "first": 1, "last": 2, "failures": []}


def test_a_busy_link_holds_the_guest_frames_until_it_drains():
    assert net_scenario("busyLinkWaits") == {"whileBusy": 0, "after": 1, "used": 1, "failures": []}


def test_frames_no_ethernet_card_could_carry_are_dropped():
    # 70,000 bytes out, 5 bytes out, 70,000 bytes in: dropped and counted, the machine goes on.
    assert net_scenario("oversizedFrameDropped") == {"sent": 0, "dropped": 3, "used": 2, "failures": []}


@pytest.mark.parametrize("name, reason", [
    ("readableReceiveBuffer", "a receive buffer is not writable"),
    ("tinyReceiveBuffer", "a receive buffer is smaller than a header"),
    ("writableTransmitBuffer", "a transmit buffer is writable"),
    ("headerlessTransmit", "a transmitted frame has no header"),
])
def test_a_broken_network_ring_stops_the_machine_with_the_reason(name, reason):
    assert net_scenario(name)["failures"] == [f"the guest broke the virtio protocol (network card eth0): {reason}"]


def _internet_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def test_a_lost_link_resets_the_guests_connections():
    r = net_scenario("lostLinkResetsConnections")
    assert r["lost"] == "the far end went away" and r["failures"] == []
    frame = bytes(r["reset"])
    ip, tcp = frame[14:34], frame[34:54]
    assert frame[:12] == bytes.fromhex("024c57000001" "0200000000fe") and frame[12:14] == b"\x08\x00"
    assert ip[12:20] == bytes([93, 184, 216, 34, 10, 0, 2, 15])  # from the far end to the guest
    assert tcp[0:4] == (80).to_bytes(2, "big") + (40000).to_bytes(2, "big")
    assert int.from_bytes(tcp[4:8], "big") == 1150  # what the guest expects next
    assert tcp[13] == 0x04  # RST
    assert _internet_checksum(ip) == 0xFFFF
    pseudo = ip[12:20] + b"\x00\x06" + (20).to_bytes(2, "big")
    assert _internet_checksum(pseudo + tcp) == 0xFFFF
