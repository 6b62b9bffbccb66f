"""A virtual Ethernet switch in this process, for several machines.

`Network()` is a learning switch: each machine that joins it gets a port,
a network card whose cable is a stream socket to the switch (frames
framed as passt frames them, see net.py), and a fixed address on the
switch's subnet, 10.0.1.2 for the first port, then 10.0.1.3, and so on
(`Machine.address`). A frame goes to the port where its destination was
last seen, or to every other port if it is for everyone or for an
address not seen yet.

The switch trusts no guest: a frame longer than an Ethernet frame ends
that port (its machine goes on without the switch), and what waits for
a slow port is bounded (MAX_QUEUED bytes; past that its frames are
dropped, as a real switch drops them), so no guest can make it hold
more. A machine that stops, even in the middle of a transfer, only
closes its port.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import struct
import threading
from dataclasses import dataclass
from types import TracebackType

from linuxwasm.errors import LinuxWasmError

MAX_FRAME = 14 + 65535
MAX_QUEUED = 4 * 1024 * 1024
BROADCAST_BIT = 0x01  # in the first byte of a destination address: a group


@dataclass(frozen=True)
class SwitchPort:
    """A card on a switch: its address (with its prefix length) and its cable, the machine's end."""

    index: int
    address: str
    fd: int


class _Port:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.incoming = bytearray()
        self.outgoing = bytearray()


class Network:
    """A switch; see the module's docstring. Use it as a context manager, or close() it."""

    def __init__(self, subnet: str = "10.0.1.0/24") -> None:
        try:
            self.subnet = ipaddress.IPv4Network(subnet)
        except ValueError as error:
            raise LinuxWasmError(f"subnet {subnet}: {error}") from None
        self._hosts = self.subnet.hosts()
        next(self._hosts, None)  # the first address is left for a gateway
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()
        self._ports: dict[socket.socket, _Port] = {}
        self._where: dict[bytes, _Port] = {}  # MAC address -> port where it was last seen
        self._count = 0
        self._wake_ours, self._wake_theirs = socket.socketpair()
        self._wake_ours.setblocking(False)
        self._selector.register(self._wake_ours, selectors.EVENT_READ)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="linuxwasm switch", daemon=True)
        self._thread.start()

    def attach(self) -> SwitchPort:
        """A new port: the machine's end of its cable (the caller closes it) and its address."""
        with self._lock:
            if self._closed:
                raise LinuxWasmError("the network is closed")
            host = next(self._hosts, None)
            if host is None:
                raise LinuxWasmError(f"the network {self.subnet} has no address left")
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            ours.setblocking(False)
            self._ports[ours] = _Port(ours)
            self._selector.register(ours, selectors.EVENT_READ)
            index = self._count
            self._count += 1
        self._wake_theirs.send(b"!")
        return SwitchPort(index, f"{host}/{self.subnet.prefixlen}", theirs.detach())

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._wake_theirs.send(b"!")
        self._thread.join(5)
        for sock in list(self._ports):
            sock.close()
        self._wake_ours.close()
        self._wake_theirs.close()
        self._selector.close()

    def __enter__(self) -> Network:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    # -- the switch's thread ----------------------------------------------------

    def _serve(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                for port in self._ports.values():
                    events = selectors.EVENT_READ | (selectors.EVENT_WRITE if port.outgoing else 0)
                    self._selector.modify(port.sock, events)
            for key, events in self._selector.select():
                if key.fileobj is self._wake_ours:
                    try:
                        self._wake_ours.recv(4096)
                    except BlockingIOError:
                        pass
                    continue
                port = self._ports.get(key.fileobj)  # type: ignore[call-overload]
                if port is None:
                    continue
                if events & selectors.EVENT_WRITE:
                    self._flush(port)
                if events & selectors.EVENT_READ and port.sock in self._ports:
                    self._read(port)

    def _read(self, port: _Port) -> None:
        try:
            data = port.sock.recv(256 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._drop(port)
            return
        port.incoming += data
        while len(port.incoming) >= 4:
            (length,) = struct.unpack_from(">I", port.incoming)
            if length > MAX_FRAME or length < 14:
                self._drop(port)  # not an Ethernet frame: that machine loses the switch
                return
            if len(port.incoming) < 4 + length:
                break
            frame = bytes(port.incoming[4:4 + length])
            del port.incoming[:4 + length]
            self._forward(port, frame)

    def _forward(self, source: _Port, frame: bytes) -> None:
        destination, sender = frame[0:6], frame[6:12]
        if not sender[0] & BROADCAST_BIT:
            self._where[sender] = source
        target = None if destination[0] & BROADCAST_BIT else self._where.get(destination)
        targets = [target] if target is not None else [p for p in self._ports.values() if p is not source]
        framed = struct.pack(">I", len(frame)) + frame
        for port in targets:
            if port is not source and len(port.outgoing) + len(framed) <= MAX_QUEUED:
                port.outgoing += framed
                self._flush(port)

    def _flush(self, port: _Port) -> None:
        try:
            sent = port.sock.send(port.outgoing)
        except BlockingIOError:
            return
        except OSError:
            self._drop(port)
            return
        del port.outgoing[:sent]

    def _drop(self, port: _Port) -> None:
        with self._lock:
            self._ports.pop(port.sock, None)
        for mac in [mac for mac, where in self._where.items() if where is port]:
            del self._where[mac]
        self._selector.unregister(port.sock)
        port.sock.close()
