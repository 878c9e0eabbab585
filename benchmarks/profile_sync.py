"""Where a first sync spends its time: per stage (sampled stacks of every thread) and per
system-call kind (``strace -c -f``), on the quick benchmark's study.

Run under the shared benchmark lock::

    flock /work/bench.lock hatch run python benchmarks/profile_sync.py [--out FILE]

Stages are the engine's modules: plan (``_ask``, ``_plan``, ``_statistics``), fetch
(``_fetch``, mano_api, requests/urllib3/ssl/socket), save (``_save``, ``_extract``,
mano_files, zstandard, hashing), record (``_manifest``, ``_record``, sqlite3). A thread blocked
on a lock, queue or future counts as "waiting"; one blocked on its socket counts as fetch.
The helper processes that store small files (``mano_files.WriterProcess``) are counted by their
CPU time.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
CHILD = ROOT / "benchmarks" / "children" / "sync_child.py"
WORKERS = 4

_STAGES: tuple[tuple[str, str], ...] = (
    ("mano_sync/_ask.py", "plan"),
    ("mano_sync/_plan.py", "plan"),
    ("mano_sync/_statistics.py", "plan"),
    ("mano_sync/_fetch.py", "fetch"),
    ("mano_api/", "fetch"),
    ("/requests/", "fetch"),
    ("/urllib3/", "fetch"),
    ("/ssl.py", "fetch"),
    ("/socket.py", "fetch"),
    ("/http/client.py", "fetch"),
    ("mano_sync/_save.py", "save"),
    ("mano_sync/_extract.py", "save"),
    ("mano_files/", "save"),
    ("/zstandard/", "save"),
    ("mano_sync/_manifest.py", "record"),
    ("mano_sync/_record.py", "record"),
    ("/sqlite3/", "record"),
)
#: System calls that block (time spent waiting for a child, a lock or the network, not work).
_BLOCKING = frozenset(
    {"wait4", "futex", "poll", "ppoll", "select", "pselect6", "epoll_wait", "clock_nanosleep"}
)
_WAITING = ("/threading.py", "/queue.py", "/concurrent/futures/", "/selectors.py")


def _stage(frame: FrameType | None) -> str:
    """The stage a thread is in: its innermost frame that belongs to one."""
    innermost = frame.f_code.co_filename if frame is not None else ""
    if any(w in innermost for w in _WAITING):
        return "waiting"
    while frame is not None:
        name = frame.f_code.co_filename
        for fragment, stage in _STAGES:
            if fragment in name:
                return stage
        frame = frame.f_back
    return "other"


class Sampler(threading.Thread):
    """Samples the stage of every other thread every ``interval`` seconds."""

    def __init__(self, interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        me = threading.get_ident()
        while not self._halt.is_set():
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self.counts[_stage(frame)] += 1
            self.samples += 1
            time.sleep(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _strace(emu: object, out: Path, env: dict[str, str], log: Path) -> list[tuple[str, float, int]]:
    """``strace -c -f`` over one sync child: (syscall, seconds, calls), most time first."""
    strace = shutil.which("strace")
    if strace is None:
        return []
    cmd = [strace, "-f", "-c", "-o", str(log), sys.executable, str(CHILD),
           emu.study_id, str(out), str(WORKERS)]  # type: ignore[attr-defined]  # fmt: skip
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=4)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sync-profile.md")
    args = parser.parse_args()

    from mano_auth import Credentials
    from mano_sync import sync_study
    from mano_testing import Emulator

    today = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    work = Path(tempfile.mkdtemp(prefix="mano-profile-"))
    try:
        with Emulator(participants=args.participants, days=args.days, seed=1, scale=args.scale,
                      start=today - dt.timedelta(days=args.days)) as emu:  # fmt: skip
            emu.prerender()
            files = len(emu.files())
            creds = emu.credentials
            env = {**os.environ, "MANO_BENCH_KEYRING": json.dumps(creds)}
            syscalls = _strace(emu, work / "strace-out", env, work / "strace.txt")
            # in-process run, every thread sampled
            out = work / "sampled"
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            self_before = resource.getrusage(resource.RUSAGE_SELF)
            sampler = Sampler()
            sampler.start()
            t0 = time.perf_counter()
            summary = sync_study(Credentials.from_dict(creds), emu.study_id, out, workers=WORKERS)
            wall = time.perf_counter() - t0
            sampler.stop()
            self_after = resource.getrusage(resource.RUSAGE_SELF)
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert summary.ok and summary.new == files, summary
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(sampler.counts.values()) or 1
    lines = [
        "# Where a first sync spends its time",
        "",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, `benchmarks/profile_sync.py`: "
        f"{args.participants} participants × {args.days} days × scale {args.scale:g} "
        f"({files:,} files), {WORKERS} workers, emulator in the same process (it shares the "
        "cores and the GIL: its own serving shows as `other`).",
        "",
        f"Wall time {wall:.2f} s; this process CPU user "
        f"{self_after.ru_utime - self_before.ru_utime:.2f} s + system "
        f"{self_after.ru_stime - self_before.ru_stime:.2f} s; helper processes CPU "
        f"{children_after.ru_utime - children_before.ru_utime:.2f} s + "
        f"{children_after.ru_stime - children_before.ru_stime:.2f} s.",
        "",
        "## Per stage (share of thread samples, every 2 ms, all threads)",
        "",
        "| stage | share |",
        "|---|---|",
    ]
    for stage, n in sampler.counts.most_common():
        lines.append(f"| {stage} | {100 * n / total:.1f} % |")
    lines += ["", "## Per system-call kind (`strace -c -f` over a sync child process)", ""]
    if syscalls:
        spent = sum(r[1] for r in syscalls) or 1.0
        lines += ["| syscall | seconds | share | calls |", "|---|---|---|---|"]
        for name, seconds, calls in syscalls[:15]:
            label = f"{name} (waiting)" if name in _BLOCKING else name
            lines.append(f"| {label} | {seconds:.3f} | {100 * seconds / spent:.1f} % | {calls:,} |")
    else:
        lines.append("strace is not installed: not measured.")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
