"""Networks: a machine's network cards and what their cables reach.

Every machine has the loopback device (127.0.0.1 and ::1), with no option.
A network card is a virtio-net device (runtime/virtio/net.js) whose
cable is a stream socket that this process hands the machine; the frames
on it are each a 32-bit big-endian length and the frame (passt's and
QEMU's "stream" framing). What is at the far end:

- `Nat()` (`run --net`): Debian's passt, a user-mode NAT. The guest's
  connections become the host's own sockets, so the guest reaches what
  the host reaches, with DHCP (init asks at boot) and DNS (forwarded to
  the host's resolver). passt is maintained, needs no privilege, and
  speaks this framing over an inherited socket (--fd); slirp4netns needs a
  network namespace, and gvisor-tap-vsock is not in Debian 12. Each card
  gets its own passt process, which ends with the machine. The host's
  loopback services are not reachable from the guest unless
  `host_loopback` (then at the gateway's address); `publish` forwards
  ports of the host's 127.0.0.1 to the guest's.

- `Switched(network)` (`Machine(network=...)`): a port of a virtual
  Ethernet switch in this process (switch.py), with a fixed address on
  its subnet; several machines on one switch reach each other.

The guest is a sandbox: it reaches no network unless given a card.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from linuxwasm.errors import LinuxWasmError
from linuxwasm.switch import Network

# The most cards of a machine (each takes one of the devices' interrupt lines).
MAX_CARDS = 8
PASST_SEARCH = "/usr/bin:/usr/sbin:/bin:/sbin"
# How long passt may take to start (it binds the published ports first).
PASST_START_SECONDS = 10


@dataclass(frozen=True)
class Publish:
    """A port of the host's 127.0.0.1 that reaches the guest's port."""

    host_port: int
    guest_port: int

    def __post_init__(self) -> None:
        for port in (self.host_port, self.guest_port):
            if not 1 <= port <= 65535:
                raise LinuxWasmError(f"port {port}: must be 1 to 65535")


def parse_publish(spec: str) -> Publish:
    """HOST_PORT:GUEST_PORT (or one PORT for both), as --publish takes it."""
    host, _, guest = spec.partition(":")
    guest = guest or host
    if not (host.isdigit() and guest.isdigit()):
        raise LinuxWasmError(f"--publish {spec}: expected HOST_PORT:GUEST_PORT")
    return Publish(int(host), int(guest))


@dataclass(frozen=True)
class Nat:
    """A card whose far end is passt, a NAT to what the host reaches."""

    publish: tuple[Publish, ...] = ()
    host_loopback: bool = False  # the host's 127.0.0.1 at the gateway's address

    def passt_arguments(self) -> list[str]:
        args = [] if self.host_loopback else ["--no-map-gw"]
        for p in self.publish:
            args += ["-t", f"127.0.0.1/{p.host_port}:{p.guest_port}"]
        return args


@dataclass(frozen=True)
class Switched:
    """A card on a switch of this process; the switch gives it a port and an address at boot."""

    network: Network


Card = Nat | Switched


@dataclass
class Cables:
    """The cards' sockets, for the machine's process (pass_fds), and what the guest needs to hear."""

    fds: list[int] = field(default_factory=list)
    macs: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # "nat" or "switch"
    # Per card: "dhcp", or its fixed address with its prefix length ("10.0.1.2/24").
    addresses: list[str] = field(default_factory=list)

    def node_arguments(self) -> list[str]:
        """The --net arguments of runtime/node/main.js."""
        return [arg for kind, fd, mac in zip(self.kinds, self.fds, self.macs)
                for arg in ("--net", f"{kind}:{fd}:{mac}")]

    def cmdline(self) -> str:
        """What init needs to hear (system/network.h): how each card gets its address."""
        if not self.fds:
            return ""
        return "linuxwasm.net=" + ",".join(f"eth{i}:{a}" for i, a in enumerate(self.addresses))


def nat_mac(index: int) -> str:
    """Card index's address when it is behind a NAT: locally administered, "LW" in the vendor's place."""
    return f"02:4c:57:00:00:{index + 1:02x}"


def switch_mac(port: int) -> str:
    """The address of the card on a switch's port: unique on that switch."""
    return f"02:4c:57:01:{port >> 8 & 0xff:02x}:{port & 0xff:02x}"


def find_passt() -> str:
    passt = shutil.which("passt", path=PASST_SEARCH)
    if not passt:
        raise LinuxWasmError("passt not found: the network needs it (Debian package passt)")
    return passt


def check(cards: tuple[Card, ...]) -> None:
    """Fail with one line naming the problem if the cards cannot be made as asked."""
    if len(cards) > MAX_CARDS:
        raise LinuxWasmError(f"{len(cards)} network cards: at most {MAX_CARDS}")
    if any(isinstance(c, Nat) for c in cards):
        find_passt()
    ports = [p.host_port for c in cards if isinstance(c, Nat) for p in c.publish]
    for port in set(ports):
        if ports.count(port) > 1:
            raise LinuxWasmError(f"--publish {port}: published twice")
        check_port_free(port)


def check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            raise LinuxWasmError(f"--publish {port}: port {port} of 127.0.0.1 is in use "
                                 f"({error.strerror})") from None


@contextmanager
def cables(cards: tuple[Card, ...]) -> Iterator[Cables]:
    """Each card's far end, started; all of them stopped when the block ends."""
    with ExitStack() as stack:
        made = Cables()
        for index, card in enumerate(cards):
            if isinstance(card, Switched):
                port = card.network.attach()
                stack.callback(os.close, port.fd)
                made.fds.append(port.fd)
                made.macs.append(switch_mac(port.index))
                made.addresses.append(port.address)
                made.kinds.append("switch")
            else:
                made.fds.append(stack.enter_context(nat_cable(card, f"eth{index}")))
                made.macs.append(nat_mac(index))
                made.addresses.append("dhcp")
                made.kinds.append("nat")
        yield made


# What a cable's socket may hold on its way: a few dozen of passt's 64 KiB
# frames. With the default (about 200 KiB) passt finds the socket full and
# drops frames whenever the guest is slower than the host, and the guest's
# TCP spends its time recovering.
CABLE_BUFFER = 4 * 1024 * 1024
SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)


def widen(end: socket.socket) -> None:
    """Give end's sending side CABLE_BUFFER (root may exceed net.core.wmem_max; others get at most that)."""
    try:
        end.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, CABLE_BUFFER)
    except OSError:
        end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, CABLE_BUFFER)


@contextmanager
def nat_cable(nat: Nat, name: str) -> Iterator[int]:
    """A passt for one card (name, for messages); yields the machine's end of the cable.

    passt quits when the machine's end closes (-1); it drops root's
    privileges for nobody's, and writes its pid file once it has bound the
    published ports, which is when the machine may start.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for end in (ours, theirs):
        widen(end)
    with tempfile.TemporaryDirectory(prefix="linuxwasm-passt-") as work, ours:
        # Only passt writes here, possibly as nobody: no one may list it.
        os.chmod(work, 0o733)
        pid_file, log = os.path.join(work, "pid"), os.path.join(work, "log")
        with theirs, open(log, "w+b") as errors:
            process = subprocess.Popen(
                [find_passt(), "--foreground", "--quiet", "--stderr", "--one-off",
                 "--fd", str(theirs.fileno()), "--pid", pid_file, *nat.passt_arguments()],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                pass_fds=[theirs.fileno()])
        try:
            _wait_started(process, pid_file, log, name)
            yield ours.fileno()
        finally:
            ours.close()
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_started(process: subprocess.Popen[bytes], pid_file: str, log: str, name: str) -> None:
    deadline = time.monotonic() + PASST_START_SECONDS
    while not os.path.exists(pid_file):
        if process.poll() is not None:
            says = _passt_says(log)
            if "namespace" in says:
                says += " (passt sandboxes itself in namespaces, which a chroot or a container may not allow)"
            raise LinuxWasmError(f"{name}: passt failed: {says}")
        if time.monotonic() > deadline:
            process.kill()
            raise LinuxWasmError(f"{name}: passt did not start in {PASST_START_SECONDS} s")
        time.sleep(0.002)


def _passt_says(log: str) -> str:
    """passt's own reason, without its complaints about the missing syslog."""
    with open(log, errors="replace") as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("Failed to send")
                 and "Changing to nobody" not in line]
    return lines[-1] if lines else "no message"
