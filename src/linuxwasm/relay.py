"""The page's network: a WebSocket relay to a NAT, for `linuxwasm serve --net`.

The protocol is the one other machines in browser tabs use (v86's relays,
websockproxy): a WebSocket, and each binary message one Ethernet frame,
both ways. The page's network card (runtime/browser/ws-link.js) speaks it
to the relay of the server that served the page, at /net on the same
origin, or to the URL in the page's `?relay=` parameter.

Each WebSocket gets a NAT of its own, a passt process (net.py), which
ends with it: a tab reaches what this host reaches, but not its
127.0.0.1 (unless the server was told so). Only pages of the server's own
origin may connect: the Origin of the handshake must be the Host it
asked. At most MAX_RELAYS tabs at once. WebSocket framing is the
`websockets` package's (its sans-I/O protocol, on the server's own
connection); a message longer than an Ethernet frame closes the
WebSocket, as a frame no card could send.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
from contextlib import ExitStack
import typing
from http import HTTPStatus

from websockets.frames import Opcode
from websockets.protocol import Protocol, Side

from linuxwasm import net
from linuxwasm.errors import LinuxWasmError

PATH = "/net"
MAX_RELAYS = 16
MAX_FRAME = 14 + 65535
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CHUNK = 256 * 1024


class Head(typing.Protocol):
    """What the relay needs of a request (server.Request)."""

    method: str
    headers: dict[str, str]


def is_upgrade(request: Head) -> bool:
    upgrade = request.headers.get("upgrade", "").lower()
    connection = {o.strip().lower() for o in request.headers.get("connection", "").split(",")}
    return request.method == "GET" and upgrade == "websocket" and "upgrade" in connection


class Relay:
    """The relays of one server: each WebSocket to a passt of its own."""

    def __init__(self, nat: net.Nat = net.Nat()) -> None:
        net.find_passt()
        self.nat = nat
        self.open = 0

    def refusal(self, request: Head) -> tuple[HTTPStatus, str] | None:
        """Why this handshake is refused, or None."""
        origin = request.headers.get("origin", "")
        host = request.headers.get("host", "")
        if not host or origin not in (f"http://{host}", f"https://{host}"):
            return HTTPStatus.FORBIDDEN, "the relay serves pages of its own origin only"
        if request.headers.get("sec-websocket-version") != "13" or not request.headers.get("sec-websocket-key"):
            return HTTPStatus.BAD_REQUEST, "not a WebSocket handshake of version 13"
        if self.open >= MAX_RELAYS:
            return HTTPStatus.SERVICE_UNAVAILABLE, f"at most {MAX_RELAYS} tabs have a network at once"
        return None

    async def serve(self, request: Head, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Accept the handshake, then carry frames between the WebSocket and a new passt until either ends."""
        loop = asyncio.get_running_loop()
        self.open += 1
        try:
            with ExitStack() as stack:
                try:
                    fd = await loop.run_in_executor(None, stack.enter_context, net.nat_cable(self.nat, "the relay"))
                except LinuxWasmError as error:
                    message = str(error).encode()
                    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(message), message))
                    await writer.drain()
                    return
                try:
                    await self._carry(request, fd, reader, writer)
                finally:
                    await loop.run_in_executor(None, stack.close)
        finally:
            self.open -= 1

    async def _carry(self, request: Head, fd: int, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        key = request.headers["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()
        writer.write(f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode())
        await writer.drain()
        websocket = Protocol(Side.SERVER, max_size=MAX_FRAME)
        nat_reader, nat_writer = await asyncio.open_unix_connection(sock=socket.socket(fileno=os.dup(fd)))

        async def flush() -> None:
            for data in websocket.data_to_send():
                if data:
                    writer.write(data)
            await writer.drain()

        async def from_tab() -> None:
            while data := await reader.read(CHUNK):
                websocket.receive_data(data)
                for frame in websocket.events_received():
                    if frame.opcode == Opcode.BINARY and frame.fin and 14 <= len(frame.data) <= MAX_FRAME:
                        nat_writer.write(struct.pack(">I", len(frame.data)) + frame.data)
                    elif frame.opcode == Opcode.CLOSE:
                        await flush()
                        return
                await flush()  # pongs, and the close that a protocol error makes
                await nat_writer.drain()
                if websocket.close_expected():
                    return

        async def to_tab() -> None:
            while True:
                (length,) = struct.unpack(">I", await nat_reader.readexactly(4))
                if length > MAX_FRAME:
                    return
                websocket.send_binary(await nat_reader.readexactly(length))
                await flush()

        tasks = [asyncio.ensure_future(from_tab()), asyncio.ensure_future(to_tab())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            nat_writer.close()
