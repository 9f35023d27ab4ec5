"""structs.py: the struct and array arguments of system calls, parsed from
their text as packetdrill writes them."""

from __future__ import annotations

import pytest

from synack.conformance.script import Expr
from synack.conformance.structs import Array, Struct, StructError, parse_expr, parse_value


def test_msghdr_with_iov_and_control_message() -> None:
    text = """{msg_name(...)=...,
        msg_iov(2)=[{..., 1000}, {..., 0x10}],
        msg_flags=0,
        msg_control=[{cmsg_level=SOL_TCP, cmsg_type=TCP_CM_INQ, cmsg_data=9000}]}"""
    value = parse_value(text)
    assert isinstance(value, Struct)
    assert value.names == ("msg_name", "msg_iov", "msg_flags", "msg_control")
    name = value.member("msg_name")
    assert name is not None and name.count == -1 and name.value == Expr("...", "ellipsis")
    iov = value.member("msg_iov")
    assert iov is not None and iov.count == 2
    assert isinstance(iov.value, Array)
    lengths = []
    for item in iov.value.items:
        assert isinstance(item, Struct)
        assert item.positional[0] == Expr("...", "ellipsis")
        second = item.positional[1]
        assert isinstance(second, Expr)
        lengths.append(second.value)
    assert lengths == [1000, 16]
    assert value.get("msg_flags") == Expr("0", "int", 0)
    control = value.get("msg_control")
    assert isinstance(control, Array)
    cmsg = control.items[0]
    assert isinstance(cmsg, Struct)
    assert cmsg.get("cmsg_type") == Expr("TCP_CM_INQ", "name")
    assert cmsg.get("cmsg_data") == Expr("9000", "int", 9000)
    assert value.get("missing") is None


def test_pollfd_array_and_or_expressions() -> None:
    value = parse_value("[{fd=4, events=POLLIN|POLLOUT, revents=POLLOUT}]")
    assert isinstance(value, Array)
    pollfd = value.items[0]
    assert isinstance(pollfd, Struct)
    events = pollfd.get("events")
    assert isinstance(events, Expr) and events.kind == "or"
    assert [item.text for item in events.items] == ["POLLIN", "POLLOUT"]
    assert pollfd.get("fd") == Expr("4", "int", 4)


def test_epoll_event_negative_number_and_empty() -> None:
    value = parse_value("{events=0, ptr=-1}")
    assert isinstance(value, Struct)
    assert value.get("ptr") == Expr("-1", "int", -1)
    assert parse_value("[]") == Array(())
    assert parse_value("{}") == Struct(())


def test_parse_expr_leaves_scalars_alone() -> None:
    scalar = Expr("SOL_TCP", "name")
    assert parse_expr(scalar) is scalar
    assert isinstance(parse_expr(Expr("{fd=3}", "struct")), Struct)
    assert isinstance(parse_expr(Expr("[1]", "list")), Array)


@pytest.mark.parametrize(
    "text",
    ["{fd=4", "{fd=4,, events=1}", "[1 2]", "{fd=4} x", "{msg_iov(x)=1}", "{fd=@}", "{fd=}"],
)
def test_malformed_text_is_an_error(text: str) -> None:
    with pytest.raises(StructError):
        parse_value(text)
