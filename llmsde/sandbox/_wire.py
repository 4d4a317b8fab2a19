"""Length-prefixed JSON frames: the one wire format between the scorer, the fork server and its children.

This module is imported twice: as ``llmsde.sandbox._wire`` by the trusted parent and as ``_wire`` by the fork
server, which runs under ``/usr/bin/python3 -I -S`` and must not import llmsde. It therefore uses the stdlib
only. JSON (never pickle) because frames written by a sandboxed child are untrusted input to the parent.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

__all__ = ["FrameError", "decode_frames", "encode_frame", "read_frame", "write_frame"]

_HEADER = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
"""Upper bound of one frame; anything longer is treated as malformed, never allocated."""


class FrameError(Exception):
    """A frame that is truncated, too long or not a JSON object.

    ``frames`` holds the good frames decoded before the bad one, so a reader never loses results that arrived
    in the same read as the garbage.
    """

    def __init__(self, message: str, frames: list[Any] | None = None) -> None:
        super().__init__(message)
        self.frames: list[Any] = frames or []


def encode_frame(obj: Any) -> bytes:
    """Serialise ``obj`` as one frame: 4-byte big-endian length, then compact JSON."""
    body = json.dumps(obj, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, obj: Any) -> None:
    """Write one whole frame to a file descriptor, looping over short writes."""
    view = memoryview(encode_frame(obj))
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int) -> bytes:
    chunks: list[bytes] = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError("stream closed mid-frame")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """Block until one whole frame has been read; EOFError when the stream ends cleanly before a frame."""
    head = os.read(fd, _HEADER.size)
    if not head:
        raise EOFError("stream closed")
    if len(head) < _HEADER.size:
        head += _read_exact(fd, _HEADER.size - len(head))
    (size,) = _HEADER.unpack(head)
    if size > MAX_FRAME:
        raise FrameError(f"frame of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    return _parse(_read_exact(fd, size))


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise FrameError(f"malformed frame: {type(err).__name__}") from None


def decode_frames(buf: bytearray, limit: int) -> list[Any]:
    """Pop every complete frame from the front of ``buf`` (an incremental reader for select loops).

    Raises FrameError when a declared length exceeds ``limit`` or a body is not valid JSON.
    """
    out: list[Any] = []
    while len(buf) >= _HEADER.size:
        (size,) = _HEADER.unpack_from(buf)
        if size > limit:
            raise FrameError(f"frame of {size} bytes exceeds the {limit}-byte limit", out)
        if len(buf) < _HEADER.size + size:
            break
        body = bytes(buf[_HEADER.size : _HEADER.size + size])
        del buf[: _HEADER.size + size]
        try:
            out.append(_parse(body))
        except FrameError as err:
            raise FrameError(str(err), out) from None
    return out
