"""CI: the compiled build's output is the pure install's, byte for byte.

    python3 .ci/same_output.py EXT OUTDIR

EXT is the unpacked compiled wheel (docs/compiled.md). Runs every `synack demo`
scenario (its JSON trace and pcap) and a few seeded `synack simulate` runs with
loss, reordering, duplication and a bandwidth limit, once with the installed
pure synack and once with PYTHONPATH=EXT, writes each output under
OUTDIR/pure and OUTDIR/compiled, and exits 1 if any file differs by one byte
(or a run fails, or a side did not run the build it should have).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# seeded runs of one connection: (name, arguments); each writes a JSON trace and a pcap
SIMULATE = [
    ("sim-loss", "--bytes-up 200000 --bytes-down 300000 --loss 3% --seed 5"),
    ("sim-reorder", "--bytes-up 500000 --reorder 5% --duplicate 2% --seed 9"),
    ("sim-bandwidth", "--bytes-up 2000000 --bandwidth 10mbit --queue 20 --seed 4"),
]
# many connections: the JSON summary, less the two keys that measure wall time
MANY = "-n 300 --bytes-up 20000 --bytes-down 20000 --loss 2% --reorder 2% --seed 3"
WALL_KEYS = ("wall_seconds", "packets_per_second")


def environment(ext: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if ext is not None:
        env["PYTHONPATH"] = str(ext)
    return env


def synack(env: dict[str, str], *args: str) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "synack", *args], env=env, capture_output=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"synack {' '.join(args)}: exit {done.returncode}\n{done.stderr.decode()}")
    return done.stdout


def check_build(env: dict[str, str], compiled: bool) -> None:
    probe = "from synack.bench.compiled import engine_compiled; print(engine_compiled())"
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    if done.stdout.strip() != str(compiled):
        sys.exit(f"expected engine_compiled() == {compiled}: {done.stdout}{done.stderr}")


def outputs(env: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True)
    scenarios = [line.split()[0] for line in synack(env, "demo", "--list").decode().splitlines()]
    if not scenarios:
        sys.exit("synack demo --list printed no scenario")

    def demo(name: str) -> None:
        trace = synack(env, "demo", name, "--format", "json", "--pcap", str(out / f"{name}.pcap"))
        (out / f"{name}.json").write_bytes(trace)

    def simulate(name: str, args: str) -> None:
        pcap = str(out / f"{name}.pcap")
        trace = synack(env, "simulate", *args.split(), "--format", "json", "--pcap", pcap)
        (out / f"{name}.json").write_bytes(trace)

    def many() -> None:
        summary = json.loads(synack(env, "simulate", *MANY.split(), "--summary", "json"))
        for key in WALL_KEYS:
            summary.pop(key)
        (out / "sim-many.json").write_text(json.dumps(summary, indent=1) + "\n")

    with ThreadPoolExecutor(2) as pool:  # CI's two cores
        jobs = [pool.submit(demo, name) for name in scenarios]
        jobs += [pool.submit(simulate, name, args) for name, args in SIMULATE]
        jobs.append(pool.submit(many))
        for job in jobs:
            job.result()


def main() -> None:
    ext, outdir = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    sides = {"pure": environment(None), "compiled": environment(ext)}
    for side, env in sides.items():
        check_build(env, compiled=side == "compiled")
        outputs(env, outdir / side)
    pure = sorted(p.name for p in (outdir / "pure").iterdir())
    compiled = sorted(p.name for p in (outdir / "compiled").iterdir())
    if pure != compiled:
        sys.exit(f"different files: {sorted(set(pure) ^ set(compiled))}")
    differ = []
    for name in pure:
        a, b = (outdir / "pure" / name).read_bytes(), (outdir / "compiled" / name).read_bytes()
        if a != b:
            at = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            differ.append(f"{name}: first differs at byte {at} ({len(a)} and {len(b)} bytes)")
    if differ:
        sys.exit(
            "the compiled build's output differs from the pure install's:\n" + "\n".join(differ)
        )
    size = sum((outdir / "pure" / name).stat().st_size for name in pure)
    print(f"same output, pure and compiled: {len(pure)} files, {size:,} bytes")


if __name__ == "__main__":
    main()
