"""The host side of the guest agent's protocol (system/agent.c has the spec).

Every message is a header line "KIND ID WORD" and, for the kinds that
carry data, as many bytes as the header's length word says. The guest is
not trusted: the kernel lets only the agent write to the channel, but
whatever arrives is checked here all the same. A header that is not one
of the agent's, or a length beyond what the agent ever sends, is a
ProtocolError, and the stream cannot be read further.
"""

import re
from dataclasses import dataclass
from typing import BinaryIO

MAX_HEADER = 64
# The most a host-to-guest "in" message carries (IN_MAX in system/agent.c).
INPUT_CHUNK = 65536
# Guest-to-host kinds: those whose word is a payload length, with the most
# the agent sends in one (CHUNK and the error messages in system/agent.c),
# and the others.
_PAYLOAD_MAX = {"out": 4096, "err": 4096, "data": 4096, "error": 512, "ready": 1024}
_WORD_MAX = {"ack": 0, "done": 0, "exit": 255}
_HEADER = re.compile(rb"([a-z]{1,8}) (0|[1-9][0-9]{0,18}) (0|[1-9][0-9]{0,18})\n")


class ProtocolError(Exception):
    """The guest sent something that is not a message of the agent's."""


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
    """The next message from the guest, or None at the end."""
    header = stream.readline(MAX_HEADER)
    if not header:
        return None
    match = _HEADER.fullmatch(header)
    if not match:
        raise ProtocolError(f"not a message header: {header[:40]!r}")
    kind, id_, word = match[1].decode(), int(match[2]), int(match[3])
    if kind in _PAYLOAD_MAX:
        limit = _PAYLOAD_MAX[kind]
        if word > limit:
            raise ProtocolError(f"a {kind} message of {word} bytes (at most {limit})")
        payload = stream.read(word)
        if len(payload) < word:
            raise ProtocolError(f"{kind} message cut off after {len(payload)} of {word} bytes")
        return Message(kind, id_, word, payload)
    if kind not in _WORD_MAX:
        raise ProtocolError(f"unknown message kind {kind!r}")
    if word > _WORD_MAX[kind]:
        raise ProtocolError(f"{kind} message with {word}")
    return Message(kind, id_, word)
