"""Where a first sync spends its time, on the quick benchmark's study, as the benchmark runs it.

The emulator serves from this process (as in ``run.py``); each sync runs in its own process
(``children/profile_child.py``) that records a timeline of the engine's stages. The report
gives, side by side in one run: the sync's wall time against the write-only floor and curl
(the limit of ``run.py``'s ``sync_limit`` row); the timeline of the median run; CPU time per
process (the sync, its helper processes, the emulator) against what the machine's cores can
give; CPU per code library (``perf``, when installed) and per system-call kind (``strace -c
-f``, when installed).

Run under the shared benchmark lock::

    flock /work/bench.lock hatch run python benchmarks/profile_sync.py [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from benchlib import rows_sync  # noqa: E402
from benchlib.context import MODES, Context  # noqa: E402

CHILD = ROOT / "benchmarks" / "children" / "profile_child.py"
WORKERS = rows_sync.WORKERS
#: System calls that block (time spent waiting for a child, a lock or the network, not work).
_BLOCKING = frozenset(
    {"wait4", "futex", "poll", "ppoll", "select", "pselect6", "epoll_wait", "clock_nanosleep"}
)
#: perf's shared objects, named by what they do in a sync.
_DSO = {
    "[kernel.kallsyms]": "kernel (file system, page cache, network, scheduling)",
    "libpython3": "Python interpreter (mano, requests, zipfile, ...)",
    "backend_c": "zstandard (decompression)",
    "libcrypto": "OpenSSL (SHA-1)",
    "libsqlite3": "SQLite (manifest)",
    "_sqlite3": "SQLite (manifest)",
    "libz.": "zlib (CRC-32)",
    "libc.": "libc (memcpy, malloc)",
}


def _strace(emu: Any, out: Path, env: dict[str, str], log: Path) -> list[tuple[str, float, int]]:
    """``strace -c -f`` over one sync child: (syscall, seconds, calls), most time first."""
    strace = shutil.which("strace")
    if strace is None:
        return []
    cmd = [strace, "-f", "-c", "-o", str(log), sys.executable, str(CHILD),
           emu.study_id, str(out), str(WORKERS)]  # fmt: skip
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
    rows: list[tuple[str, float, int]] = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] not in ("total",):
            try:
                rows.append((parts[-1], float(parts[1]), int(parts[3])))
            except ValueError:
                continue
    return sorted(rows, key=lambda r: -r[1])


def _child(
    emu: Any, out: Path, env: dict[str, str], prefix: list[str] | None = None
) -> dict[str, Any]:
    """One profiled sync child; its JSON line plus wall time and the emulator's CPU meanwhile."""
    cmd = [sys.executable, str(CHILD), emu.study_id, str(out), str(WORKERS)]
    before = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    done = subprocess.run((prefix or []) + cmd, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["cpu_emulator"] = [after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime]
    return result


def _perf(emu: Any, out: Path, env: dict[str, str], data: Path) -> list[tuple[str, float]]:
    """CPU share per shared object over one sync child and its helpers (``perf record``)."""
    perf = shutil.which("perf")
    if perf is None:
        return []
    try:
        _child(emu, out, env, [perf, "record", "-q", "-F", "999", "-o", str(data), "--"])
        report = subprocess.run(
            [
                perf,
                "report",
                "-i",
                str(data),
                "--stdio",
                "--no-children",
                "-g",
                "none",
                "--sort",
                "dso",
            ],  # fmt: skip
            check=True,
            capture_output=True,
            text=True,  # fmt: skip
        ).stdout
    except (subprocess.CalledProcessError, OSError):
        return []
    shares: dict[str, float] = {}
    for line in report.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith("%") and not line.startswith("#"):
            dso = parts[1]
            label = next((v for k, v in _DSO.items() if dso.startswith(k)), "other")
            shares[label] = shares.get(label, 0.0) + float(parts[0][:-1])
    return sorted(shares.items(), key=lambda kv: -kv[1])


def _timeline(run: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(stage, start, end) in ms since the interpreter started, stages in order."""
    spans = run["spans"]
    ms = 1000.0

    def first(label: str) -> float:
        return min(s[2] for s in spans if s[1] == label) * ms

    def last(label: str) -> float:
        return max(s[3] for s in spans if s[1] == label) * ms

    begin, end = (t * ms for t in run["sync"])
    rows = [
        ("interpreter start-up, mano_auth and mano_sync imported", 0.0, run["imports"] * ms),
        (
            "mano_api (requests, urllib3) imported",
            run["imports"] * ms,
            (run["imports"] + run["imports_api"]) * ms,
        ),  # fmt: skip
        ("helpers started, lock taken, manifest opened", begin, first("participants")),
        ("participant list", first("participants"), last("participants")),
        ("statistics", first("statistics"), last("statistics")),
        ("local checks", first("local checks"), last("local checks")),
        ("windows: downloads overlapping saves", first("fetch"), last("save")),
    ]
    if any(s[1] == "sweep" for s in spans):
        rows.append(("unchunked sweep", first("sweep"), last("sweep")))
    rows.append(("side inputs (Forest JSON, while the data come)", first("side inputs"),
                 last("side inputs")))  # fmt: skip
    rows.append(("manifest closed", first("manifest close"), last("manifest close")))
    rows.append(("sync_study returned", end, end))
    rows.append(("process exited", run["wall"] * ms, run["wall"] * ms))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sync-profile.md")
    args = parser.parse_args()

    mode = MODES["quick"]
    work = Path(tempfile.mkdtemp(prefix="mano-profile-"))
    ctx = Context(mode=mode, work=ROOT / "benchmarks/results/work", root=ROOT, install=False)
    ctx._discarded = int(time.time())  # this process's discards never meet an older run's
    cores = ctx.cores
    try:
        with rows_sync.emulator(
            ctx, mode.sync_participants, mode.sync_days, mode.sync_scale
        ) as emu:
            files = len(emu.files())
            plain = sum(f.size for f in emu.files())
            env = rows_sync._child_env(emu)
            curl = rows_sync.Curl(ctx, emu)
            curl()  # warm-up: every file rendered and cached
            floor = rows_sync.DiskFloor(ctx)
            runs: list[dict[str, Any]] = []
            floors: list[float] = []
            curls: list[float] = []
            for i in range(args.repeats):
                os.sync()
                out = ctx.scratch(f"profile-{i}")
                runs.append(_child(emu, out, env))
                floor.capture(out)
                os.sync()
                floors.append(floor().seconds)
                os.sync()
                curls.append(curl().seconds)
            perf = _perf(emu, ctx.scratch("profile-perf"), env, work / "perf.data")
            syscalls = _strace(emu, ctx.scratch("profile-strace"), env, work / "strace.txt")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for run in runs:
        if run["files"] != files or run["failed"]:
            raise SystemExit(f"a profiled sync wrote {run['files']} of {files} files")
    runs.sort(key=lambda r: r["wall"])
    mid = runs[len(runs) // 2]
    wall = mid["wall"]
    floor_s = statistics.median(floors)
    curl_s = statistics.median(curls)
    limit = max(floor_s, curl_s)
    cpu = {
        "sync process (main)": mid["cpu_self"],
        "its helper processes": mid["cpu_helpers"],
        "emulator (serving, in the benchmark process)": mid["cpu_emulator"],
    }
    total_cpu = sum(u + s for u, s in cpu.values())
    lines = [
        "# Where a first sync spends its time",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `benchmarks/profile_sync.py` "
        f"(load average {os.getloadavg()[0]:.2f} at the end): the quick benchmark's study, "
        f"{mode.sync_participants} participants × {mode.sync_days} days, {files:,} files, "
        f"{plain / 1e6:,.0f} MB plain; {WORKERS} workers; {cores} cores; {args.repeats} runs "
        "of each side, interleaved, medians.",
        "",
        "| side | wall |",
        "|---|---|",
        f"| mano first sync (whole process) | {wall * 1000:,.0f} ms |",
        f"| writing the same files only (temp file + rename, {cores} threads, in process) "
        f"| {floor_s * 1000:,.0f} ms |",
        f"| curl of the same v2 bytes ({WORKERS} at once) | {curl_s * 1000:,.0f} ms |",
        f"| limit ratio (max(floor, curl) / mano) | {limit / wall:.2f}× |",
        "",
        "## Timeline of the median run (ms since the interpreter started)",
        "",
        "| stage | from | to | takes |",
        "|---|---|---|---|",
    ]
    for stage, a, b in _timeline(mid):
        lines.append(f"| {stage} | {a:,.0f} | {b:,.0f} | {b - a:,.0f} |")
    lines += [
        "",
        "## CPU time of the median run",
        "",
        "| process | user | system |",
        "|---|---|---|",
    ]
    for who, (u, s) in cpu.items():
        lines.append(f"| {who} | {u * 1000:,.0f} ms | {s * 1000:,.0f} ms |")
    lines += [
        "",
        f"Together {total_cpu * 1000:,.0f} ms of CPU on {cores} cores: no schedule finishes in "
        f"less than {total_cpu / cores * 1000:,.0f} ms (the run took {wall * 1000:,.0f} ms). "
        f"The write-only floor needs none of the interpreter start-up, imports, requests, "
        "zip parsing, decompression, hashing or manifest rows.",
        "",
    ]
    lines += ["## CPU per code library (`perf record` over the sync and its helpers)", ""]
    if perf:
        lines += ["| library | share of samples |", "|---|---|"]
        lines += [f"| {label} | {share:.1f} % |" for label, share in perf]
    else:
        lines.append("perf is not installed (or not permitted here): not measured.")
    lines += ["", "## Per system-call kind (`strace -c -f` over a sync and its helpers)", ""]
    if syscalls:
        spent = sum(r[1] for r in syscalls) or 1.0
        lines += ["| syscall | seconds | share | calls |", "|---|---|---|---|"]
        for name, seconds, calls in syscalls[:15]:
            label = f"{name} (waiting)" if name in _BLOCKING else name
            lines.append(f"| {label} | {seconds:.3f} | {100 * seconds / spent:.1f} % | {calls:,} |")
        lines.append("")
        lines.append("strace slows every system call; the seconds are its, the calls are exact.")
    else:
        lines.append("strace is not installed: not measured.")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
