"""A sweep's grid: lists of values per axis, from flags or a TOML file, and the
cells of their product.

Every axis takes the same text forms as ``synack simulate`` (``10ms``,
``2%``, ``10mbit``, ``1m``); in a TOML file a number is read as its text, so
``delay = [10, 50]`` is milliseconds as on the command line. A flag's values
are separated by commas (``--loss 0,0.5%,1%``); ``--seeds`` also takes ranges
(``1-10``). A flag replaces the file's list for its axis.

A :class:`Cell` is one point of the grid. Its :attr:`Cell.cell_id` is a hash
of its parameters, so the same cell has the same id in every run: that is
what makes a sweep resumable.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from synack.sim import options as text

MAX_CELLS = 100_000
MAX_FLOWS = 10_000
CONGESTION_CONTROLS = ("cubic", "newreno")
LOSS_ON = ("both", "c2s", "s2c")

# --options: a token turns a TcpConfig switch on, "no" + token turns it off.
OPTION_FIELDS = {
    "sack": "sack", "ts": "timestamps", "ws": "window_scaling", "pacing": "pacing",
    "hystart": "hystart", "rack": "rack", "tlp": "tail_loss_probe", "prr": "prr",
    "delack": "delayed_ack", "nodelay": "nodelay",
}  # fmt: skip
OPTION_WORDS = (*OPTION_FIELDS, "ecn")


class GridError(ValueError):
    """A grid that cannot run; the message is one line."""


def _bounded(
    parse: Callable[[str], float], low: float, high: float, what: str, low_open: bool = False
) -> Callable[[str], float]:
    def parser(value: str) -> float:
        number = parse(value)
        if number < low or (low_open and number == low) or number > high:
            lower = f"more than {low:g}" if low_open else f"from {low:g}"
            raise GridError(f"{value!r} is out of range for {what}: {lower} to {high:g}")
        return number

    return parser


def _number(value: str) -> float:
    """A finite number (``float`` alone takes ``nan``, ``inf`` and raises ValueError)."""
    try:
        number = float(value.strip())
    except ValueError:
        raise GridError(f"{value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise GridError(f"{value!r} is not a finite number")
    return number


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parser(value: str) -> Any:
        return None if value.strip().lower() in ("none", "") else parse(value)

    return parser


def _integer(low: int, high: int, what: str) -> Callable[[str], int]:
    def parser(value: str) -> int:
        try:
            number = int(value.strip())
        except ValueError:
            raise GridError(f"{value!r} is not a whole number ({what})") from None
        if not low <= number <= high:
            raise GridError(f"{value!r} is out of range for {what}: from {low} to {high:,}")
        return number

    return parser


def _choice(choices: tuple[str, ...], what: str) -> Callable[[str], str]:
    def parser(value: str) -> str:
        word = value.strip().lower()
        if word not in choices:
            raise GridError(f"{value!r} is not a {what}: use {', '.join(choices)}")
        return word

    return parser


def parse_options(value: str) -> str:
    """``ts+nosack`` -> its canonical form (sorted tokens), ``default`` for none."""
    words = sorted({w.strip().lower() for w in value.split("+") if w.strip()})
    words = [w for w in words if w != "default"]
    for word in words:
        if word.removeprefix("no") not in OPTION_WORDS and word not in OPTION_WORDS:
            raise GridError(
                f"unknown option {word!r}: use {', '.join(OPTION_WORDS)}, each with 'no' to "
                "turn it off, joined by + (e.g. nosack+ecn), or default"
            )
        if ("no" + word) in words:
            raise GridError(f"options {word!r} and 'no{word}' contradict each other")
    return "+".join(words) or "default"


@dataclass(frozen=True)
class Axis:
    name: str  # the Cell field and the TOML key
    flag: str
    parse: Callable[[str], Any]
    default: str
    help: str


AXES = (
    Axis("cc", "--cc", _choice(CONGESTION_CONTROLS, "congestion control"), "cubic",
         "Congestion control: cubic, newreno."),
    Axis("loss", "--loss", _bounded(text.parse_probability, 0, 1, "loss"), "0",
         "Probability a packet is lost (0.01 or 1%)."),
    Axis("loss_on", "--loss-on", _choice(LOSS_ON, "direction"), "both",
         "Where --loss applies: both, c2s (client to server: SYNs, ACKs), s2c (data)."),
    Axis("delay", "--delay", _bounded(text.parse_duration, 0, 60, "delay (s)"), "10ms",
         "One-way delay each way (a bare number is ms): the RTT is twice it."),
    Axis("bandwidth", "--bandwidth", _optional(_bounded(text.parse_rate, 0, 1e11, "bandwidth")),
         "none", "Rate of the server-to-client link (10mbit), or none."),
    Axis("queue", "--queue", _optional(_integer(0, 1_000_000, "queue (packets)")), "none",
         "Drop-tail queue in packets behind --bandwidth, or none (unbounded)."),
    Axis("flows", "--flows", _integer(1, MAX_FLOWS, "flows"), "1",
         "Connections per cell, all on one pair of links (they share the bottleneck)."),
    Axis("bytes", "--bytes", _bounded(text.parse_size, 0, 1 << 30, "bytes"), "1m",
         "Bytes the server sends on each connection (1m, 64ki)."),
    Axis("buffer", "--buffer", _bounded(text.parse_size, 1024, 1 << 30, "buffer"), "256ki",
         "Send and receive buffer of each side (limits the window)."),
    Axis("options", "--options", parse_options, "default",
         "TCP switches, each an option set: sack, ts, ws, ecn, pacing, hystart, rack, tlp, "
         "prr, delack, nodelay, 'no' + one to turn it off; joined by + (nosack+nots)."),
    Axis("msl", "--msl",
         _bounded(lambda v: text.parse_duration(v, "s"), 0, 3600, "msl (s)", low_open=True),
         "1", "Maximum segment lifetime (a bare number is s); TIME-WAIT is 2 x MSL."),
    Axis("rate", "--rate", _optional(_bounded(_number, 0, 1e6, "rate (connections/s)", True)),
         "none", "Connections opened per second (spread at random over flows/rate "
         "seconds), or none: all at once."),
    Axis("seed", "--seeds", _integer(0, 2**32 - 1, "seed"), "1",
         "Seeds (1,2,3 or ranges: 1-10)."),
)  # fmt: skip
AXIS = {a.name: a for a in AXES}
TOML_KEYS = {a.name for a in AXES} | {"seeds", "loss-on", "timeout"}


@dataclass(frozen=True, slots=True)
class Cell:
    """One run: every parameter of the simulated network and its connections."""

    cc: str
    loss: float
    loss_on: str
    delay: float  # seconds, one way
    bandwidth: float | None  # bit/s, server to client
    queue: int | None  # packets
    flows: int
    bytes: int  # per connection, server to client
    buffer: int
    options: str
    msl: float
    rate: float | None  # connections per second
    seed: int
    timeout: float = 600.0  # virtual seconds a cell may run

    @property
    def cell_id(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def params(self) -> dict[str, Any]:
        return asdict(self)


CELL_FIELDS = tuple(f.name for f in fields(Cell))


def _split(value: Any) -> list[str]:
    """A flag's or TOML value's items as text: "a,b" and ["a", "b"] alike."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise GridError(f"{item!r} is not a value (use text or numbers)")
        out.extend(p.strip() for p in str(item).split(",") if p.strip())
    return out


def _seed_items(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        low, sep, high = item.partition("-")
        if not sep:
            out.append(item)
            continue
        first, last = (_integer(0, 2**32 - 1, "seed")(v) for v in (low, high))
        if last < first or last - first >= MAX_CELLS:
            raise GridError(f"seed range {item!r} must go up, by at most {MAX_CELLS:,} seeds")
        out.extend(str(s) for s in range(first, last + 1))
        if len(out) > MAX_CELLS:  # many ranges: stop before they fill memory
            raise GridError(f"more than {MAX_CELLS:,} seeds")
    return out


def axis_values(name: str, value: Any) -> list[Any]:
    """The parsed, de-duplicated values of one axis (order kept)."""
    axis = AXIS[name]
    try:
        items = _split(value)
        if name == "seed":
            items = _seed_items(items)
    except GridError as exc:
        raise GridError(f"{axis.flag}: {exc}") from None
    if not items:
        raise GridError(f"{axis.flag} has no values")
    parsed: dict[Any, None] = {}  # a dict: ordered, and de-duplicated in linear time
    for item in items:
        try:
            v = axis.parse(item)
        except text.OptionError as exc:
            raise GridError(f"{axis.flag}: {exc}") from None
        except GridError as exc:
            raise GridError(f"{axis.flag}: {exc}") from None
        parsed[v] = None
    return list(parsed)


@dataclass(frozen=True)
class Grid:
    axes: dict[str, list[Any]]
    timeout: float = 600.0

    @property
    def size(self) -> int:
        n = 1
        for values in self.axes.values():
            n *= len(values)
        return n

    def cells(self) -> list[Cell]:
        names = [a.name for a in AXES]
        return [
            Cell(**dict(zip(names, combo, strict=True)), timeout=self.timeout)
            for combo in itertools.product(*(self.axes[n] for n in names))
        ]


def read_toml(path: str | Path) -> dict[str, Any]:
    """A grid file's axes, by axis name (not parsed yet)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise GridError(f"cannot read {str(path)!r}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GridError(f"{str(path)!r} is not TOML: {exc}") from None
    data = data.get("grid", data) if isinstance(data.get("grid"), dict) else data
    unknown = sorted(set(data) - TOML_KEYS)
    if unknown:
        raise GridError(
            f"{str(path)!r}: unknown key {unknown[0]!r}: use {', '.join(sorted(TOML_KEYS))}"
        )
    out = {k.replace("-", "_"): v for k, v in data.items()}
    if "seeds" in out:
        out["seed"] = out.pop("seeds")
    return out


def build_grid(
    given: Mapping[str, Any], file: str | Path | None = None, timeout: float | None = None
) -> Grid:
    """The grid of a file's axes overridden by ``given`` (axis name -> flag text,
    None where not given); every value checked, the product's size bounded."""
    raw: dict[str, Any] = read_toml(file) if file is not None else {}
    file_timeout = raw.pop("timeout", None)
    for name, value in given.items():
        if value is not None:
            raw[name] = value
    axes = {a.name: axis_values(a.name, raw.get(a.name, a.default)) for a in AXES}
    if any(q is not None for q in axes["queue"]) and None in axes["bandwidth"]:
        raise GridError("--queue needs a --bandwidth in every cell: packets queue behind a rate")
    limit = timeout if timeout is not None else file_timeout
    grid = Grid(axes, 600.0 if limit is None else _timeout(limit))
    if grid.size > MAX_CELLS:
        raise GridError(f"the grid has {grid.size:,} cells, more than {MAX_CELLS:,}")
    return grid


def _timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise GridError(f"timeout {value!r} is not a number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise GridError(f"timeout {value!r} is not a number of seconds") from None
    if not 0 < seconds <= 86_400:
        raise GridError(f"timeout {value!r} is out of range: more than 0 to 86400 s")
    return seconds
