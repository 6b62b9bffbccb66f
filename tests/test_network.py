"""Networking: sockets in the guest, and a network card behind a NAT (passt).

The only hosts these tests reach are this machine's 127.0.0.1: a test
server there, and the guest itself.
"""

import hashlib
import os
import socket
import struct
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from linuxwasm import LinuxWasmError, Machine, Network, guest, net, system
from linuxwasm.paths import BUILD, GUEST
from tests.hosts import GATEWAY, Endless, serving, serving_blob

CLI = [sys.executable, "-m", "linuxwasm.cli"]


@pytest.fixture(scope="module")
def machine(kernel_image: Path) -> Iterator[Machine]:
    with Machine(kernel_image, system.build()) as m:
        yield m


def test_without_a_card_there_is_only_loopback(machine: Machine) -> None:
    r = machine.run("ls /sys/class/net; ip -o addr show dev lo")
    assert r.exit_code == 0, r.stderr
    assert r.stdout.splitlines()[0] == "lo"
    assert "inet 127.0.0.1/8" in r.stdout and "inet6 ::1/128" in r.stdout


def test_sockets_of_every_kind(machine: Machine) -> None:
    wasm = guest.build_program(GUEST / "sockets.c", BUILD / "guest" / "sockets.wasm", libc=True)
    machine.write_file("/tmp/sockets", wasm.read_bytes(), mode=0o755)
    r = machine.run("/tmp/sockets")
    assert r.exit_code == 0, r.stdout + r.stderr
    checks = [line.split(" ", 1)[1] for line in r.stdout.splitlines()]
    assert checks == ["unix stream pair", "unix datagram pair", "unix stream by path", "unix datagram by path",
                      "tcp 127.0.0.1", "udp 127.0.0.1", "tcp ::1", "udp ::1", "poll: nothing yet",
                      "poll: readable", "select: readable", "epoll: readable", "epoll: drained"]


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_nc_tcp(machine: Machine, address: str) -> None:
    r = machine.run(f"nc -l -s {address} -p 8001 > /tmp/nc-got & sleep 0.3; echo hi over tcp | nc {address} 8001; "
                    "wait; cat /tmp/nc-got")
    assert r.stdout == "hi over tcp\n", r.stderr


def test_nc_udp(machine: Machine) -> None:
    r = machine.run("nc -u -l -p 8002 > /tmp/nc-udp & sleep 0.3; echo hi over udp | nc -u -w1 127.0.0.1 8002; "
                    "sleep 0.3; kill %1; cat /tmp/nc-udp")
    assert r.stdout == "hi over udp\n", r.stderr


def test_nc_serves_each_connection_with_a_program(machine: Machine) -> None:
    # -l -k -e: a child per connection (busybox patch 0016).
    r = machine.run("nc -l -k -p 8003 -e /bin/cat & sleep 0.3; for w in one two three; do echo $w | nc -w1 "
                    "127.0.0.1 8003; done; kill %1")
    assert r.stdout == "one\ntwo\nthree\n", r.stderr


def test_ping_loopback(machine: Machine) -> None:
    r = machine.run("ping -c 2 -W 2 127.0.0.1 && ping -c 1 -W 2 ::1")
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "2 packets received" in r.stdout and "1 packets received" in r.stdout


def test_httpd_and_wget_a_thousand_requests(machine: Machine) -> None:
    # Four clients at once, 250 requests each; httpd takes each
    # connection in a child of its own (busybox patch 0017).
    r = machine.run(
        "mkdir -p /tmp/www && echo served > /tmp/www/index.html && httpd -p 8004 -h /tmp/www && "
        "until netstat -ltn | grep -q ':8004 '; do sleep 0.1; done && "
        "for c in 1 2 3 4; do (n=0; for i in $(seq 250); do wget -q -O- http://127.0.0.1:8004/ | grep -q served "
        "&& n=$((n+1)); done; echo $n) & done; wait; wget -q -O- 'http://[::1]:8004/'", timeout=120)
    assert r.stdout.split() == ["250"] * 4 + ["served"], r.stderr


def test_httpd_runs_cgi(machine: Machine) -> None:
    r = machine.run(
        "mkdir -p /tmp/cgi/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
        "echo query=$QUERY_STRING\\n' > /tmp/cgi/cgi-bin/q && chmod +x /tmp/cgi/cgi-bin/q && "
        "httpd -p 8005 -h /tmp/cgi && until netstat -ltn | grep -q ':8005 '; do sleep 0.1; done && "
        "wget -q -O- 'http://127.0.0.1:8005/cgi-bin/q?x=1'")
    assert r.stdout == "query=x=1\n", r.stderr


# -- a network card behind passt ---------------------------------------------

@pytest.fixture(scope="module")
def host_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, bytes]]:
    """An HTTP server on the host's 127.0.0.1 serving /blob (3 MB); its port and the blob."""
    with serving_blob(tmp_path_factory.mktemp("served"), 3 * 1024 * 1024) as served:
        yield served


def test_nat_reaches_the_host_loopback_when_asked(kernel_image: Path, host_server: tuple[int, bytes]) -> None:
    port, blob = host_server
    with Machine(kernel_image, system.build(), net=net.Nat(host_loopback=True)) as m:
        r = m.run(f"wget -q -O /tmp/blob http://{GATEWAY}:{port}/blob && sha256sum /tmp/blob")
        assert r.exit_code == 0, r.stderr
        assert r.stdout.split()[0] == hashlib.sha256(blob).hexdigest()
        # DHCP gave the card an address, a default route and a resolver.
        r = m.run("ip -o -4 addr show dev eth0; cat /etc/resolv.conf")
        assert " inet " in r.stdout and "nameserver " in r.stdout


def test_nat_hides_the_host_loopback(kernel_image: Path, host_server: tuple[int, bytes]) -> None:
    port, _ = host_server
    with Machine(kernel_image, system.build(), net=True) as m:
        assert m.run("ls /sys/class/net").stdout.split() == ["eth0", "lo"]
        # Neither the gateway's address nor 127.0.0.1 (the guest's own) is the host's loopback.
        for where in (GATEWAY, "127.0.0.1"):
            r = m.run(f"wget -q -T 3 -O- http://{where}:{port}/blob | wc -c")
            assert r.stdout.strip() == "0", where


def _dns_answer(query: bytes, address: bytes) -> bytes:
    """An answer to a one-question query: its name has address (an A record)."""
    ident, _flags, _qd = struct.unpack(">HHH", query[:6])
    end = 12
    while query[end]:
        end += query[end] + 1
    question = query[12:end + 5]
    header = struct.pack(">HHHHHH", ident, 0x8180, 1, 1, 0, 0)
    record = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + address
    return header + question + record


def test_nat_carries_dns(kernel_image: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dns:
        dns.bind(("127.0.0.1", 0))
        port = dns.getsockname()[1]

        def serve() -> None:
            while True:
                try:
                    query, peer = dns.recvfrom(512)
                except OSError:
                    return
                if struct.unpack(">H", query[4:6])[0] == 1 and query[-4:] == b"\x00\x01\x00\x01":
                    dns.sendto(_dns_answer(query, bytes([10, 1, 2, 3])), peer)
                else:  # AAAA and the rest: no such record
                    dns.sendto(query[:2] + b"\x81\x80" + query[4:6] + b"\x00\x00\x00\x00\x00\x00" + query[12:], peer)

        threading.Thread(target=serve, daemon=True).start()
        with Machine(kernel_image, system.build(), net=net.Nat(host_loopback=True)) as m:
            r = m.run(f"nslookup -type=a web.linuxwasm.test {GATEWAY}:{port}")
        assert r.exit_code == 0, r.stdout + r.stderr
        assert "Address: 10.1.2.3" in r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_published_port_reaches_the_guest_httpd(kernel_image: Path) -> None:
    port = _free_port()
    with Machine(kernel_image, system.build(), net=net.Nat(publish=(net.Publish(port, 80),))) as m:
        # httpd listens once it has left for the background (as on any Linux).
        m.run("mkdir -p /tmp/www && echo from the guest > /tmp/www/index.html && httpd -p 80 -h /tmp/www && "
              "until netstat -ltn | grep -q ':80 '; do sleep 0.1; done", timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as reply:
            assert reply.read() == b"from the guest\n"


def test_publishing_a_port_in_use_is_one_line(kernel_image: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([*CLI, "run", "--kernel", str(kernel_image), "--publish", f"{port}:80",
                            "-c", "true"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert r.stderr == f"linuxwasm: --publish {port}: port {port} of 127.0.0.1 is in use (Address already in use)\n"


def test_missing_passt_names_the_package(kernel_image: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(net, "PASST_SEARCH", "/nonexistent")
    with pytest.raises(LinuxWasmError, match=r"^passt not found: the network needs it \(Debian package passt\)$"):
        Machine(kernel_image, system.build(), net=True).start()


# -- several machines on one switch ------------------------------------------

def _serve_blob(m: Machine, size: int) -> str:
    """httpd on port 80 serving /blob of size random bytes; its sha256."""
    r = m.run(f"mkdir -p /tmp/w && head -c {size} /dev/urandom > /tmp/w/blob && httpd -p 80 -h /tmp/w && "
              "until netstat -ltn | grep -q ':80 '; do sleep 0.1; done && sha256sum /tmp/w/blob", timeout=60)
    assert r.exit_code == 0, r.stderr
    return r.stdout.split()[0]


def test_two_machines_on_a_switch_talk_both_ways(kernel_image: Path) -> None:
    with Network() as lan, Machine(kernel_image, system.build(), network=lan) as a, \
            Machine(kernel_image, system.build(), network=lan) as b:
        assert (a.address, b.address) == ("10.0.1.2", "10.0.1.3")
        assert b.run(f"ping -c 1 -W 5 {a.address}").exit_code == 0
        digests = {m: _serve_blob(m, 1_000_000) for m in (a, b)}
        for here, there in ((a, b), (b, a)):
            r = here.run(f"wget -q -O- http://{there.address}/blob | sha256sum", timeout=60)
            assert r.stdout.split()[0] == digests[there]
        # nc both ways too: UDP across the switch.
        r = a.run(f"nc -u -l -p 9000 > /tmp/got & sleep 0.3; true", timeout=30)
        b.run(f"echo over the switch | nc -u -w1 {a.address} 9000")
        assert a.run("sleep 0.3; cat /tmp/got").stdout == "over the switch\n"


def test_four_machines_each_fetch_from_the_next(kernel_image: Path) -> None:
    with Network() as lan:
        machines = [Machine(kernel_image, system.build(), network=lan).start() for _ in range(4)]
        try:
            digests = [_serve_blob(m, 300_000) for m in machines]
            for i, m in enumerate(machines):
                there = machines[(i + 1) % 4]
                r = m.run(f"wget -q -O- http://{there.address}/blob | sha256sum", timeout=60)
                assert r.stdout.split()[0] == digests[(i + 1) % 4]
        finally:
            for m in machines:
                m.close()


def test_a_machine_stopped_mid_transfer_does_not_wedge_the_others(kernel_image: Path) -> None:
    with Network() as lan, Machine(kernel_image, system.build(), network=lan) as a, \
            Machine(kernel_image, system.build(), network=lan) as b:
        digest = _serve_blob(a, 500_000)
        c = Machine(kernel_image, system.build(), network=lan).start()
        # c serves an endless stream (a CGI script), and its machine stops in the middle of it.
        c.run("mkdir -p /tmp/s/cgi-bin && printf '#!/bin/sh\\necho Content-Type: application/octet-stream\\n"
              "echo\\nexec cat /dev/zero\\n' > /tmp/s/cgi-bin/zeros && chmod +x /tmp/s/cgi-bin/zeros && "
              "httpd -p 80 -h /tmp/s && until netstat -ltn | grep -q ':80 '; do sleep 0.1; done")
        b.run(f"(wget -q -T 5 -O /dev/null http://{c.address}/cgi-bin/zeros; echo $? > /tmp/rc) & sleep 1")
        assert b.run("cat /tmp/rc").exit_code != 0  # still streaming
        c._process.kill()  # as a host that loses the machine would
        c.close()
        # A broken transfer, not a hang: wget's 5 s without data end it.
        r = b.run("for i in $(seq 100); do [ -e /tmp/rc ] && break; sleep 0.2; done; cat /tmp/rc", timeout=60)
        assert r.stdout.strip() not in ("", "0"), r.stderr
        r = b.run(f"wget -q -O- http://{a.address}/blob | sha256sum", timeout=60)
        assert r.stdout.split()[0] == digest
        assert a.run(f"ping -c 1 -W 5 {b.address}").exit_code == 0


def test_a_nat_and_a_switch_together(kernel_image: Path, host_server: tuple[int, bytes]) -> None:
    port, blob = host_server
    with Network() as lan, \
            Machine(kernel_image, system.build(), network=lan, net=net.Nat(host_loopback=True)) as a, \
            Machine(kernel_image, system.build(), network=lan, net=net.Nat(host_loopback=True)) as b:
        assert a.run("ls /sys/class/net").stdout.split() == ["eth0", "eth1", "lo"]
        for m in (a, b):
            r = m.run(f"wget -q -O- http://{GATEWAY}:{port}/blob | sha256sum")
            assert r.stdout.split()[0] == hashlib.sha256(blob).hexdigest()
        assert a.run(f"ping -c 1 -W 5 {b.address}").exit_code == 0


def test_a_frame_too_long_ends_only_that_port() -> None:
    with Network() as lan:
        bad, good = lan.attach(), lan.attach()
        with socket.socket(fileno=bad.fd) as hostile, socket.socket(fileno=good.fd) as fine:
            hostile.sendall(struct.pack(">I", 1 << 30) + b"x" * 64)
            hostile.settimeout(5)
            assert hostile.recv(1) == b""  # the switch closed that port
            # The other port still gets frames for everyone from a new one.
            third = lan.attach()
            with socket.socket(fileno=third.fd) as sender:
                frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x09" + b"\x08\x00" + b"hello"
                sender.sendall(struct.pack(">I", len(frame)) + frame)
                fine.settimeout(5)
                assert fine.recv(100) == struct.pack(">I", len(frame)) + frame


def test_a_nat_that_ends_resets_the_guests_connections(kernel_image: Path) -> None:
    with serving(Endless) as port:
        with Machine(kernel_image, system.build(), net=net.Nat(host_loopback=True)) as m:
            m.run(f"(wget -O /dev/null http://{GATEWAY}:{port}/ 2> /tmp/err; echo $? > /tmp/rc) & sleep 1")
            assert m.run("cat /tmp/rc").exit_code != 0  # still downloading
            # The NAT goes away: our passt (Debian's runs as passt.avx2 where it can).
            subprocess.run(["pkill", "-P", str(os.getpid()), "^passt"], check=True)
            # No -T: without the reset, wget would wait for ever.
            r = m.run("for i in $(seq 50); do [ -e /tmp/rc ] && break; sleep 0.2; done; cat /tmp/rc /tmp/err",
                      timeout=30)
    assert r.stdout.splitlines()[0] == "1", r.stdout
    assert "Connection reset by peer" in r.stdout
