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


def scenario(name: str) -> dict:
    done = subprocess.run([str(nodejs.build()), str(DRIVER), name], capture_output=True, text=True,
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
