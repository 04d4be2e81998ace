"""Response bodies: Content-Encoding undone in small bounded steps.

The prober asks for `identity`, but a server may compress anyway, and a few kilobytes of
gzip can stand for gigabytes. So a body is decoded as it arrives, lazily: each coding
(gzip, deflate, brotli, stacked in any order as `Content-Encoding: gzip, gzip` says) is
asked for at most `STEP` bytes at a time and only when the next one needs input, so the
work and memory spent are bounded by what the caller keeps (its own limit), never by
what the body would expand to; the caller yields to the event loop between steps, so a
probe's timeout keeps holding.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import brotli  # >= 1.2: its decompressor bounds its output

STEP = 65536
"""The most decoded bytes produced at once (about a millisecond of work)."""


class UnsupportedEncoding(Exception):
    """A Content-Encoding this module does not decode."""


class _Stage(Protocol):
    def push(self, data: bytes) -> None: ...

    def pull(self, most: int) -> bytes:
        """Up to about `most` decoded bytes from what was pushed; b"" when it needs more."""
        ...

    def done(self) -> bool:
        """The coded stream has ended: whatever else comes is ignored, not decoded."""
        ...


class _Zlib:
    """gzip (wbits 31) or deflate: zlib-wrapped as HTTP says, raw as some servers send it."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._inflate = zlib.decompressobj(wbits)
        self._input = b""
        self._started = False

    def push(self, data: bytes) -> None:
        self._input += data

    def pull(self, most: int) -> bytes:
        if self._inflate.eof:
            self._input = b""  # data after the end: ignored
            return b""
        data = self._input  # may be b"": zlib may still hold output for a full buffer
        try:
            out = self._inflate.decompress(data, most)
        except zlib.error:
            if self._started or self._wbits != zlib.MAX_WBITS:
                raise
            self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
            self._wbits = -zlib.MAX_WBITS
            out = self._inflate.decompress(data, most)
        self._started = self._started or bool(data)
        self._input = self._inflate.unconsumed_tail
        return out

    def done(self) -> bool:
        return self._inflate.eof


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()
        self._input = b""

    def push(self, data: bytes) -> None:
        self._input += data

    def pull(self, most: int) -> bytes:
        if self._decompressor.is_finished():
            self._input = b""
            return b""
        if self._decompressor.can_accept_more_data():
            if not self._input:
                return b""
            data, self._input = self._input, b""
        else:  # output held back from the last call: drain it before feeding more
            data = b""
        return self._decompressor.process(data, output_buffer_limit=most)

    def done(self) -> bool:
        return self._decompressor.is_finished()


_CODINGS: dict[str, Callable[[], _Stage]] = {
    "gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "deflate": lambda: _Zlib(zlib.MAX_WBITS),
    "br": _Brotli,
}


class Decoder:
    """Undoes a Content-Encoding header value; `feed` wire bytes, iterate decoded pieces.

    Raises UnsupportedEncoding for a coding it does not know (zstd, compress, ...), and
    ValueError (zlib.error, brotli.error) for data that is not what the header says.
    """

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        self._stages: list[tuple[str, _Stage]] = []
        for coding in reversed(codings):  # the last coding applied is undone first
            if coding in ("", "identity"):
                continue
            if coding not in _CODINGS:
                raise UnsupportedEncoding(coding[:40])
            self._stages.append((coding, _CODINGS[coding]()))

    @property
    def decoding(self) -> bool:
        """Whether there is anything to undo (else `feed` hands the wire bytes back)."""
        return bool(self._stages)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes that `data` (the next wire bytes) make available, in pieces of
        about STEP bytes; stop iterating at any time to stop decoding."""
        if not self._stages:
            if data:
                yield data
            return
        self._stages[0][1].push(data)
        while piece := self._pull(len(self._stages) - 1):
            yield piece

    def _pull(self, level: int) -> bytes:
        coding, stage = self._stages[level]
        while True:
            try:
                out = stage.pull(STEP)
            except (zlib.error, brotli.error) as exc:
                raise ValueError(f"body is not valid {coding}") from exc
            if out or level == 0 or stage.done():
                return out
            more = self._pull(level - 1)
            if not more:
                return b""
            stage.push(more)
