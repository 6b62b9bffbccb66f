"""The host side of the guest agent's protocol (system/agent.c has the spec).

Every message is a header line "KIND ID WORD [WORD]" and, for the kinds
that carry data, as many bytes as the header's length word says.
"""

from dataclasses import dataclass
from typing import BinaryIO

# Guest-to-host kinds whose last word is a payload length.
_WITH_PAYLOAD = {"out", "err", "data", "error"}
MAX_HEADER = 256
# The most a host-to-guest "in" message carries (IN_MAX in system/agent.c).
INPUT_CHUNK = 65536


class ProtocolError(Exception):
    """The guest sent something that is not a message."""


@dataclass(frozen=True)
class Message:
    kind: str
    id: int
    word: int  # the exit code, or the payload's length
    payload: bytes = b""


def encode(kind: str, id: int, *words: int, payload: bytes = b"") -> bytes:
    """A host-to-guest request."""
    return " ".join([kind, str(id), *map(str, words)]).encode() + b"\n" + payload


def read_message(stream: BinaryIO) -> Message | None:
    """The next message from the guest, or None at the end of the stream."""
    header = stream.readline(MAX_HEADER)
    if not header:
        return None
    if not header.endswith(b"\n"):
        raise ProtocolError(f"header too long or cut off: {header[:60]!r}")
    parts = header.decode(errors="replace").split()
    try:
        kind, id_, word = parts[0], int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        raise ProtocolError(f"not a message header: {header[:60]!r}") from None
    payload = b""
    if kind in _WITH_PAYLOAD:
        payload = stream.read(word)
        if len(payload) < word:
            raise ProtocolError(f"{kind} message cut off after {len(payload)} of {word} bytes")
    return Message(kind, id_, word, payload)
