"""The runner features Linux's packetdrill scripts need: untimed init and cleanup
commands, -D substitutions, time windows, ends relative to the previous event,
system calls over several lines, header flags, and the shell emulation of
defaults.sh (read, never run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from synack.conformance.profiles import LINUX, SysctlError
from synack.conformance.runtime import Runner
from synack.conformance.script import ScriptError, TimeSpec, parse_script
from synack.conformance.shell import Effect, ShellError, emulate


def test_untimed_command_and_header_flag() -> None:
    script = parse_script(
        "--strict_segments\n`echo 3 > /sys/module/tcp_cubic/parameters/x`\n"
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
    )
    assert script.options == {"strict_segments": "true"}
    assert script.events[0].time == TimeSpec("untimed")
    assert script.events[1].time == TimeSpec("absolute", 0.0)


def test_definitions_replace_whole_words() -> None:
    script = parse_script("+0 < S 0:0(0) win 100 <mss 1460,FOO_X>\n", definitions={"FOO_X": "nop"})
    assert [o.name for o in script.events[0].action.options] == ["mss", "nop"]  # type: ignore[union-attr]


def test_definitions_are_defined_for_ifdef() -> None:
    text = "#ifdef CODE\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n#endif\n"
    assert len(parse_script(text, definitions={"CODE": "x"}).events) == 1
    assert len(parse_script(text).events) == 0


@pytest.mark.parametrize(
    ("text", "base", "start", "end"),
    [
        ("+.1~+.105 > . 1:1(0) ack 1", 1.0, 1.1, 1.105),  # a window, both relative
        ("+.01...0.020 close(3) = 0", 1.0, 1.01, 1.02),  # relative start: relative end
        ("0.5...+0.2 close(3) = 0", 1.0, 0.5, 0.7),  # absolute start, "+": after it
        ("0.5...0.9 close(3) = 0", 1.0, 0.5, 0.9),  # absolute both
    ],
)
def test_range_ends(text: str, base: float, start: float, end: float) -> None:
    spec = parse_script(text).events[0].time
    when = base + spec.value if spec.kind == "relative" else spec.value
    assert when == pytest.approx(start)
    assert spec.end_time(base, when) == pytest.approx(end)


def test_a_call_over_several_lines_is_one_event() -> None:
    text = "+0 poll([{fd=3,\n  events=POLLOUT,\n  revents=0}], 1, 0) = 0\n+0 close(3) = 0\n"
    events = parse_script(text).events
    assert [e.action.name for e in events] == ["poll", "close"]  # type: ignore[union-attr]
    assert events[1].line == 4


def test_no_flags_dash() -> None:
    spec = parse_script("+0 < - 1:1(0) win 100\n").events[0].action
    assert spec.flags == "-"  # type: ignore[union-attr]


def test_defaults_sh_is_read_not_run(tmp_path: Path) -> None:
    common = tmp_path / "common"
    common.mkdir()
    (common / "defaults.sh").write_text(
        "#!/bin/bash\n# comment\nip tcp_metrics flush all > /dev/null 2>&1\n"
        'sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"\n'
        "sysctl -q net.ipv4.tcp_early_retrans=4 net.ipv4.tcp_recovery=1\n"
        "tc qdisc add dev tun0 root pfifo\n"
    )
    topic = tmp_path / "topic"
    topic.mkdir()
    (topic / "link.sh").write_text("../common/defaults.sh")  # a symbolic link, as stored
    effects = emulate("./link.sh\nsysctl -q net.ipv4.tcp_tso_win_divisor=100", topic)
    assert [e for e in effects if e.kind != "none"] == [
        Effect("flush-metrics"),
        Effect("sysctl", "net.ipv4.tcp_rmem", "4096 540000 15728640"),
        Effect("sysctl", "net.ipv4.tcp_early_retrans", "4"),
        Effect("sysctl", "net.ipv4.tcp_recovery", "1"),
        Effect("sysctl", "net.ipv4.tcp_tso_win_divisor", "100"),
    ]


def test_set_sysctls_route_and_ethtool() -> None:
    here = Path(".")
    assert emulate(
        '../common/set_sysctls.py /proc/sys/net/ipv4/tcp_wmem="4096 50000 4194304"', here
    ) == [Effect("sysctl", "net.ipv4.tcp_wmem", "4096 50000 4194304")]
    assert emulate(
        "ip route change 192.0.2.1 via 192.168.0.2 dev tun0 advmss 600 mtu lock 640 initcwnd 11",
        here,
    ) == [
        Effect("route", "advmss", "600"),
        Effect("route", "mtu", "640"),
        Effect("route", "initcwnd", "11"),
    ]
    assert emulate("ethtool -K tun0 gso off tso off", here) == [
        Effect("offload", "gso", "off"),
        Effect("offload", "tso", "off"),
    ]


def test_unknown_commands_are_named() -> None:
    with pytest.raises(ShellError, match="'curl example' is not emulated"):
        emulate("curl example", Path("."))


def test_linux_sysctls_map_or_are_refused() -> None:
    settings = LINUX.settings_for(
        {"net.ipv4.tcp_rmem": "4096 540000 15728640", "net.ipv4.tcp_wmem": "4096 262144 4194304"}
    )
    assert settings == {"recv_buffer": 540000, "window_scale": 8, "send_buffer": 262144}
    with pytest.raises(SysctlError, match=r"net\.ipv4\.tcp_bogus is not known"):
        LINUX.settings_for({"net.ipv4.tcp_bogus": "1"})
    with pytest.raises(SysctlError, match="tcp_fack=1: only 0"):
        LINUX.settings_for({"net.ipv4.tcp_fack": "1"})
    assert LINUX.settings_for({"net.ipv4.tcp_slow_start_after_idle": "1"}) == {
        "restart_after_idle": True
    }


def test_modes_choose_addresses_and_mtu() -> None:
    script = parse_script("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n")
    v6 = Runner(script, LINUX, LINUX.mode("ipv6"))
    assert (str(v6.local), str(v6.remote), v6.mtu) == (
        "fd3d:a0b:17d6::1",
        "fd3d:fa7b:d17d::1",
        1520,
    )
    own = parse_script(
        "--local_ip=192.168.0.2\n--remote_ip=10.248.0.2\n"
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
    )
    v4 = Runner(own, LINUX, LINUX.mode("ipv4"))
    assert (str(v4.local), str(v4.remote)) == ("192.168.0.2", "10.248.0.2")
    assert LINUX.mode("ipv4").runs("x-v4.pkt") and not LINUX.mode("ipv6").runs("x-v4.pkt")


def test_ip_fields_in_packet_lines_parse() -> None:
    text = (
        "+0 < [ect0] S 0:0(0) win 1\n"
        "+0 > (tos 0x2, flowlabel 0x12345) S. 0:0(0) ack 1\n"
        "+0 < [ttl 5] . 1:1(0) ack 1 win 1\n"
    )
    specs = [e.action for e in parse_script(text).events]
    fields = [(s.ecn, s.tos, s.flow_label, s.ttl) for s in specs]  # type: ignore[union-attr]
    assert fields == [("ect0", None, None, None), (None, 2, 0x12345, None), (None, None, None, 5)]
    with pytest.raises(ScriptError, match="tos 256 is out of range"):
        parse_script("+0 < [tos 0x100] S 0:0(0) win 1\n")
    with pytest.raises(ScriptError, match="expected an ECN codepoint, tos, flowlabel or ttl"):
        parse_script("+0 < [hoplimit 3] S 0:0(0) win 1\n")


@pytest.mark.parametrize(
    ("fields", "difference"),
    [
        ("(tos 0x0)", None),
        ("[ttl 64]", None),
        ("(tos 0x0, flowlabel 0x0)", None),
        ("(tos 0x10)", "IP TOS 0x00 (expected 0x10)"),
        ("[ttl 63]", "TTL 64 (expected 63)"),
        ("(tos 0x0, flowlabel 0x1)", "flow label 0x0 (expected 0x1)"),
    ],
)
def test_ip_fields_of_outbound_segments_are_checked(fields: str, difference: str | None) -> None:
    from synack.conformance.profiles import FREEBSD

    here = Path(__file__).parent
    text = (here / "scripts" / "passive-open-close.pkt").read_text()
    text = text.replace("+0.00 > S. 0:0(0)", f"+0.00 > {fields} S. 0:0(0)")
    assert fields in text
    result = Runner(parse_script(text, "t.pkt", FREEBSD.defined), FREEBSD).run()
    if difference is None:
        assert (result.status, result.message) == ("PASS", "")
    else:
        assert result.status == "FAIL" and difference in result.message


@pytest.mark.parametrize(
    "expression", ["1+" * 20000 + "1", "(" * 300 + "1" + ")" * 300, "1/0", "2**3"]
)
def test_shell_arithmetic_a_script_cannot_abuse(expression: str) -> None:
    """Deep, huge or forbidden $((...)) is a ShellError naming it, never a crash."""
    with pytest.raises(ShellError, match="cannot"):
        emulate(f"sysctl -q net.ipv4.tcp_sack=$(({expression}))", Path("."))
