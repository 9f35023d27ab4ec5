"""The TCP Fast Open option (RFC 7413 4.1.1) and its experimental form: codec and text."""

from __future__ import annotations

import pytest

from synack.trace.records import options_text
from synack.wire.segment import (
    NOP,
    FastOpen,
    FastOpenExp,
    Segment,
    UnknownOption,
    decode_options,
    encode_options,
    exact_options_length,
    options_length,
)

COOKIE = bytes.fromhex("3021b9d889017eeb")


@pytest.mark.parametrize(
    ("options", "wire"),
    [
        ((FastOpen(), NOP, NOP), "22020101"),  # a cookie request: kind 34, length 2
        ((FastOpen(COOKIE), NOP, NOP), "220a3021b9d889017eeb0101"),
        ((FastOpen(bytes(4)), NOP, NOP), "220600000000" + "0101"),
        ((FastOpen(bytes(range(16))), NOP, NOP), "2212" + bytes(range(16)).hex() + "0101"),
        ((FastOpenExp(),), "fe04f989"),  # kind 254, length 4, magic 0xF989
        ((FastOpenExp(COOKIE),), "fe0cf9893021b9d889017eeb"),
    ],
)
def test_round_trip(options: tuple, wire: str) -> None:
    raw = bytes.fromhex(wire)
    assert encode_options(options) == raw
    assert decode_options(raw) == options
    assert options_length(options) == len(raw)
    assert exact_options_length(options) == len(raw)  # the in-memory fast path takes them


@pytest.mark.parametrize(
    "raw",
    [
        "220300" + "00",  # a 1-byte cookie: too short (RFC 7413 4.1.1: 4 to 16)
        "2205000000" + "000000",  # 3 bytes
        "2213" + "00" * 17 + "0000",  # 17 bytes: too long
        "fe04abcd",  # the experimental kind with another magic
        "fe05f98900" + "000000",  # magic and a 1-byte cookie
    ],
)
def test_bad_lengths_and_other_experiments_stay_unknown(raw: str) -> None:
    opt = decode_options(bytes.fromhex(raw))[0]
    assert isinstance(opt, UnknownOption)
    seg = Segment(1, 2, 3, options=decode_options(bytes.fromhex(raw)))
    assert seg.fastopen is None


def test_segment_finds_either_form() -> None:
    assert Segment(1, 2, 3, options=(NOP, NOP, FastOpen(COOKIE))).fastopen == FastOpen(COOKIE)
    assert Segment(1, 2, 3, options=(FastOpenExp(),)).fastopen == FastOpenExp()
    assert Segment(1, 2, 3).fastopen is None


def test_text_is_packetdrills() -> None:
    seg = Segment(1, 2, 3, options=(FastOpen(COOKIE), NOP, NOP, FastOpen(), FastOpenExp()))
    assert options_text(seg) == "FO 3021b9d889017eeb,nop,nop,FO,FOEXP"
    assert FastOpenExp(COOKIE).text == "FOEXP 3021b9d889017eeb"


def test_segment_with_fast_open_survives_the_codec() -> None:
    seg = Segment(40000, 80, 7, 0, 0x02, 65535, options=(FastOpen(COOKIE), NOP, NOP), payload=b"x")
    assert Segment.decode(seg.encode()) == seg
