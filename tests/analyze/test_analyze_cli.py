"""synack analyze end to end: captures the simulator made, read back and shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from synack.cli import main

# a pcapng section header block of 28 bytes, little-endian, no options
SECTION_HEADER = bytes.fromhex("0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffffffffffff 1c000000")


def capture(tmp_path: Path, scenario: str) -> Path:
    path = tmp_path / f"{scenario}.pcap"
    result = CliRunner().invoke(main, ["demo", scenario, "--pcap", str(path), "--msl", "1"])
    assert result.exit_code == 0, result.output
    return path


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["analyze", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_listing_names_each_connection_and_its_verdicts(tmp_path: Path) -> None:
    close, refused = capture(tmp_path, "close"), capture(tmp_path, "refused")
    code, out, _ = run(str(close), str(refused))
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "2 connection(s), 11 segment(s)"
    assert lines[1].startswith("#1    10.0.0.1:") and "→ 10.0.0.2:80  9 packets" in lines[1]
    assert "Zeek SF ShADdFaf" in lines[1] and "final TIME-WAIT / CLOSED" in lines[1]
    assert "→ 10.0.0.2:81  2 packets" in lines[2] and "Zeek REJ Sr" in lines[2]
    assert lines[-1] == "11 record(s) read (pcap); 11 TCP segment(s)"


def test_one_connection_in_detail_with_its_story(tmp_path: Path) -> None:
    path = capture(tmp_path, "close-combined")
    code, out, _ = run(str(path), "--conn", "1")
    assert code == 0, out
    assert "the 3-way handshake took 20 ms" in out
    assert "closed first" in out and "combined its FIN with its ACK" in out
    assert "waited in TIME-WAIT" in out
    assert "rcv FIN,ACK (inferred)" in out  # the ladder, with what is inferred marked
    options = next(line for line in out.splitlines() if line.startswith("SYN options: "))
    assert options.count("mss 1460, wscale 3, SACK, timestamps") == 2  # both sides offered
    code, ko, _ = run(str(path), "--conn", "1", "--format", "story", "--lang", "ko")
    assert (
        code == 0
        and "3-way 핸드셰이크는 20 ms 걸렸습니다" in ko
        and "TIME-WAIT에서 기다렸습니다" in ko
    )


def test_json_lines_carry_the_inferred_states(tmp_path: Path) -> None:
    path = capture(tmp_path, "close")
    code, out, _ = run(str(path), "--conn", "1", "--format", "json")
    assert code == 0
    items = [json.loads(line) for line in out.splitlines()]
    states = [
        (i["endpoint"].split(":")[1] == "80", i["new"], i["cause"])
        for i in items
        if i["kind"] == "state"
    ]
    client = [new for server, new, _ in states if not server]
    server = [new for is_server, new, _ in states if is_server]
    assert client == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT"]
    assert server == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK", "CLOSED"]
    causes = {cause for _, _, cause in states}
    assert "active OPEN: send SYN" in causes and "rcv SYN (inferred)" in causes
    packets = [i for i in items if i["kind"] == "packet"]
    assert len(packets) == 9 and {p["fate"].split(" ")[0] for p in packets} == {"seen"}


def test_conn_log_formats(tmp_path: Path) -> None:
    path = capture(tmp_path, "close")
    code, out, _ = run(str(path), "--format", "conn")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "#separator \\x09"
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    row = next(line for line in lines if not line.startswith("#")).split("\t")
    record = dict(zip(fields, row, strict=True))
    assert (record["conn_state"], record["history"], record["orig_bytes"]) == (
        "SF",
        "ShADdFaf",
        "18",
    )
    code, out, _ = run(str(path), "--format", "conn-json")
    assert json.loads(out.splitlines()[0])["conn_state"] == "SF"


def test_html_page_for_one_connection(tmp_path: Path) -> None:
    path = capture(tmp_path, "lost-final-ack")
    page = tmp_path / "c.html"
    code, _, err = run(str(path), "--conn", "1", "--html", str(page))
    assert code == 0 and f"wrote the HTML page {page}" in err
    text = page.read_text(encoding="utf-8")
    assert 'data-fate="seen"' in text and "retransmission" in text


def test_a_broken_capture_says_where_and_keeps_what_came_before(tmp_path: Path) -> None:
    whole = capture(tmp_path, "close").read_bytes()
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(whole[:-30])  # the last record cut short
    code, out, err = run(str(broken))
    assert code == 1
    assert "record 9" in err and "what came before it is shown" in err
    assert out.splitlines()[0] == "1 connection(s), 8 segment(s)"


def test_a_broken_capture_among_several_is_named_on_one_line(tmp_path: Path) -> None:
    whole = capture(tmp_path, "close").read_bytes()
    broken = tmp_path / "broken.pcap"
    broken.write_bytes(whole[:30])  # the first record's header cut short
    code, out, err = run(str(tmp_path / "close.pcap"), str(broken))
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(f"synack analyze: {broken}: record 1 at byte 24: "), err
    assert out.splitlines()[0] == "1 connection(s), 9 segment(s)"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "not a pcap or pcapng file (it is empty)"),
        (b"GET / HTTP/1.1\r\n", "not a pcap or pcapng file (starts with 47 45 54 20"),
        (b"\xd4", "truncated file header: the file is 1 bytes long"),
        (b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00", "truncated pcap file header: 8 of 24 bytes"),
        (b"\x1f\x8bnot gzip", "gzip: the compressed data is corrupt"),
        (b"\xd4\xc3\xb2\xa1\x01\x00\x04\x00" + bytes(16), "pcap version 1.4: only version 2"),
        (SECTION_HEADER[:8], "truncated pcapng section header: 8 of 12 bytes or more"),
        (SECTION_HEADER[:20], "truncated pcapng section header: 20 of 28 bytes"),
    ],
    ids=[
        "empty",
        "text",
        "magic-cut",
        "header-cut",
        "not-gzip",
        "pcap-1.4",
        "pcapng-cut",
        "pcapng-cut-20",
    ],
)
def test_a_file_that_is_not_a_capture_is_refused_before_any_is_read(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    """Named in click's one-line error (exit 2), with nothing analysed or shown,
    even after a good capture that would have been read first."""
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    code, out, err = run(str(capture(tmp_path, "close")), str(bad))
    assert code == 2 and out == "", err
    [error] = [line for line in err.splitlines() if line.startswith("Error:")]
    assert error.startswith(f"Error: Invalid value for '[CAPTURES]...': {bad}: {problem}"), err


def test_records_of_a_link_type_not_read_are_counted(tmp_path: Path) -> None:
    """Not a silent '0 TCP segment(s)': the summary says what was not read."""
    whole = bytearray(capture(tmp_path, "close").read_bytes())
    whole[20:24] = (147).to_bytes(4, "little")  # LINKTYPE_USER0
    other = tmp_path / "user0.pcap"
    other.write_bytes(whole)
    code, out, _ = run(str(other))
    assert code == 0
    assert out.splitlines()[-1] == (
        "9 record(s) read (pcap); 0 TCP segment(s), 9 of link types not read (147)"
    )


@pytest.mark.parametrize("args", [["--conn", "5"], ["--host", "192.0.2.9"]])
def test_a_selection_that_matches_nothing_is_an_error(tmp_path: Path, args: list[str]) -> None:
    code, _, err = run(str(capture(tmp_path, "close")), *args)
    assert code == 1 and "no connection matches" in err


def test_a_pipe_is_read_once_by_the_analysis(tmp_path: Path) -> None:
    """A named pipe (or <(zcat x.pcap.gz)) is not checked up front: that would
    take its first bytes from the analysis."""
    import os
    import subprocess
    import sys
    import threading

    whole = capture(tmp_path, "close").read_bytes()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(whole,), daemon=True)
    writer.start()
    done = subprocess.run(
        [sys.executable, "-m", "synack", "analyze", str(fifo)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    writer.join(timeout=5)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "1 connection(s), 9 segment(s)"


@pytest.mark.parametrize("host", ["example.com", "10.0.0.300", ""])
def test_a_host_that_is_not_an_address_is_refused(tmp_path: Path, host: str) -> None:
    code, out, err = run(str(capture(tmp_path, "close")), "--host", host)
    assert code == 2 and out == "", err
    assert f"Error: Invalid value for '--host': {host!r} is not an IP address" in err


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--conn", "1", "--format", "table"], "--format table lists every connection"),
        (["--host", "10.0.0.1", "--format", "conn"], "--format conn lists every connection"),
        (["-i", "lo", "--format", "json"], "--format goes with capture files, not -i IFACE"),
        (["-i", "lo", "--html", "x.html"], "--html goes with capture files, not -i IFACE"),
        (["-i", "lo", "--absolute"], "--absolute goes with capture files, not -i IFACE"),
    ],
)
def test_options_that_would_be_ignored_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], error: str
) -> None:
    """Refused before a capture is read or a live one started (both would fail here)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("synack.analyze.present.show", None)
    monkeypatch.setattr("synack.analyze.live.run_live", None)
    path = [] if "-i" in args else [str(capture(tmp_path, "close"))]
    code, out, err = run(*path, *args)
    assert code == 2 and out == "", err
    assert f"Error: {error}" in err


def test_plots_of_one_connection(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = capture(tmp_path, "lossy-transfer")
    files = {kind: tmp_path / f"{kind}.svg" for kind in ("seq", "rtt", "flight")}
    code, _, err = run(
        str(path), "--conn", "1", "--format", "story", "--seq-plot", str(files["seq"]),
        "--rtt-plot", str(files["rtt"]), "--flight-plot", str(files["flight"]),
    )  # fmt: skip
    assert code == 0, err
    for kind, file in files.items():
        assert f"wrote {file}" in err
        assert file.read_text(encoding="utf-8").startswith("<?xml"), kind
    assert "bytes in flight" in files["flight"].read_text(encoding="utf-8")
    other = capture(tmp_path, "refused")  # two connections, and none chosen
    code, _, err = run(str(path), str(other), "--rtt-plot", str(tmp_path / "x.svg"))
    assert code == 1 and "a plot draws one connection" in err
