"""Compressed bodies for hostile-server tests: a few kilobytes that stand for gigabytes.

`zeros(size, "gzip")` is a valid gzip stream of `size` zero bytes, built without
compressing them all: one 16 MiB block is compressed after a full flush (which resets the
compressor's history, so every block compresses to the same bytes), that block is
repeated, and the trailer is written for the whole. `encode(data, "gzip", "br")` applies
codings in the order a server would list them in Content-Encoding, for stacked bombs:

    body = encode(zeros(2 * 1024**3, "gzip"), "gzip")   # Content-Encoding: gzip, gzip
    Route(body=body, headers={"Content-Encoding": "gzip, gzip"})

Brotli has no such shortcut: `zeros(size, "br")` compresses for real (about 1 s per
256 MiB), so keep its sizes modest.
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib

import brotli

BLOCK = 1 << 24  # 16 MiB


def encode(data: bytes, *codings: str) -> bytes:
    """`data` with each coding applied in turn (the first listed is applied first)."""
    for coding in codings:
        if coding == "gzip":
            data = gzip.compress(data, 9)
        elif coding == "deflate":
            data = zlib.compress(data, 9)
        elif coding == "br":
            data = brotli.compress(data)
        else:
            raise ValueError(f"unknown coding {coding}")
    return data


@functools.lru_cache(maxsize=8)
def zeros(size: int, coding: str) -> bytes:
    """`size` zero bytes (a multiple of 16 MiB for gzip and deflate) in `coding`."""
    if coding == "br":
        return brotli.compress(bytes(size), quality=5)
    if coding not in ("gzip", "deflate") or size % BLOCK:
        raise ValueError("gzip or deflate of a multiple of 16 MiB, or br")
    wbits = 31 if coding == "gzip" else 15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = bytes(BLOCK)
    head = compressor.compress(b"") + compressor.flush(zlib.Z_SYNC_FLUSH)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)
    count = size // BLOCK
    if coding == "gzip":
        crc = 0
        for _ in range(count):
            crc = zlib.crc32(block, crc)
        trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    else:  # zlib's Adler-32 of zeros: a stays 1, b adds 1 per byte
        trailer = struct.pack(">I", (size % 65521) << 16 | 1)
    return head + middle * count + end[: -len(trailer)] + trailer
