"""Content-Encoding undone lazily, in pieces of bounded size, whatever the body expands to."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import pytest
from support.bombs import encode, zeros

from monitor.probing.bodies import STEP, Decoder, UnsupportedEncoding

TEXT = b'{"status":"ok","padding":"' + b"abc" * 5000 + b'"}'


def decoded(encoding: str | None, body: bytes, wire_chunk: int = 1000) -> bytes:
    decoder = Decoder(encoding)
    return b"".join(
        piece
        for start in range(0, len(body), wire_chunk)
        for piece in decoder.feed(body[start : start + wire_chunk])
    )


@pytest.mark.parametrize(
    "codings",
    [(), ("gzip",), ("deflate",), ("br",), ("gzip", "gzip"), ("deflate", "br", "gzip")],
)
def test_every_supported_coding_and_stack_of_them_gives_the_body_back(
    codings: tuple[str, ...],
) -> None:
    header = ", ".join(codings) or None
    assert decoded(header, encode(TEXT, *codings)) == TEXT


def test_identity_and_names_are_read_as_http_says() -> None:
    assert decoded("identity", TEXT) == TEXT
    assert decoded(" GZIP , identity", encode(TEXT, "gzip")) == TEXT
    assert decoded("x-gzip", encode(TEXT, "gzip")) == TEXT


def test_raw_deflate_without_the_zlib_wrapper_is_accepted_as_browsers_do() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert decoded("deflate", raw.compress(TEXT) + raw.flush()) == TEXT


def test_data_after_the_end_of_the_coded_stream_is_ignored() -> None:
    assert decoded("gzip", encode(TEXT, "gzip") + b"trailing garbage") == TEXT


def test_an_unknown_coding_is_refused_and_broken_data_is_a_value_error() -> None:
    with pytest.raises(UnsupportedEncoding, match="zstd"):
        Decoder("gzip, zstd")
    with pytest.raises(ValueError, match="body is not valid br"):
        decoded("br", b"\xff" * 100)


@pytest.mark.parametrize(
    ("encoding", "bomb"),
    [
        ("gzip, gzip", lambda: encode(zeros(2 * 1024**3, "gzip"), "gzip")),
        ("br", lambda: zeros(256 * 1024**2, "br")),
    ],
)
def test_a_bomb_is_decoded_only_as_far_as_it_is_read(
    encoding: str, bomb: Callable[[], bytes]
) -> None:
    decoder = Decoder(encoding)
    pieces = decoder.feed(bomb())
    taken = [next(pieces) for _ in range(4)]

    assert all(0 < len(piece) <= 2 * STEP for piece in taken)  # brotli overshoots a little
    assert set(b"".join(taken)) == {0}


def test_brotli_is_new_enough_to_bound_its_output() -> None:
    assert hasattr(brotli.Decompressor(), "can_accept_more_data")
