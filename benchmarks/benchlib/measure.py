"""Timing and peak-memory measurement.

Every figure in the report is the best (minimum) wall time of ``repeats`` runs; the median and
every individual run are kept in the JSON. Best-of-N is what ``timeit`` reports: on a shared
machine noise only ever adds time, so the minimum is the most repeatable estimate of the cost.
The two sides of a comparison run interleaved (mano, reference, mano, reference, ...) so that a
load spike from a neighbour hits both sides alike.

Peak RSS of a child process comes from ``wait4`` in a small launcher (``children/launch.py``):
the kernel's ``ru_maxrss`` of the command and of the children it waited for.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class NotMeasured(Exception):
    """A side of a row cannot be measured here (tool missing, setup failed); says why."""


@dataclass(frozen=True)
class Sample:
    """One timed run.

    Attributes:
        seconds: Wall time.
        rss_bytes: Peak resident set size of the measured child process, when it was one.
        info: Anything else the run reported (bytes moved, files written, ...).
    """

    seconds: float
    rss_bytes: int | None = None
    info: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProcResult:
    """What :func:`run_process` observed."""

    seconds: float
    returncode: int
    rss_bytes: int
    stdout: str
    stderr: str


LAUNCHER = Path(__file__).resolve().parents[1] / "children" / "launch.py"


def run_process(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 3600.0,
    check: bool = True,
) -> ProcResult:
    """Run ``cmd`` through ``children/launch.py``: its own wall time and peak RSS.

    The launcher forks the command from a small interpreter so the kernel's ``ru_maxrss`` is
    the command's (and its children's), not inherited from this big process at ``exec``; it
    times fork-to-wait, so its own start-up is not counted. Output goes to temporary files (not
    pipes) so a chatty child never blocks. On timeout the whole process group is killed.

    Raises:
        RuntimeError: When ``check`` and the command exits non-zero, with the end of its stderr.
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "result.json"
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", str(LAUNCHER), str(report), *cmd],
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"{cmd[0]} timed out after {timeout:.0f} s") from None
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
        try:
            measured = json.loads(report.read_text(encoding="ascii"))
        except (OSError, ValueError):
            raise RuntimeError(f"{cmd[0]} could not be started: {stderr.strip()[-300:]}") from None
    result = ProcResult(
        seconds=float(measured["seconds"]),
        returncode=int(measured["returncode"]),
        rss_bytes=int(measured["maxrss_kb"]) * 1024,
        stdout=stdout,
        stderr=stderr,
    )
    if check and result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip()).splitlines()[-5:]
        raise RuntimeError(f"{cmd[0]} exited {result.returncode}: {' | '.join(tail)}")
    return result


def timed(fn: Callable[[], object]) -> Sample:
    """Time an in-process call; whatever it returns (a mapping) becomes the sample's info."""
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    info = result if isinstance(result, Mapping) else {}
    return Sample(seconds=seconds, info=info)


def interleave(
    sides: Sequence[Callable[[], Sample] | None],
    *,
    repeats: int,
    before_each: Callable[[], None] | None = None,
) -> list[list[Sample]]:
    """Run each side ``repeats`` times, alternating between sides.

    ``None`` sides (not measurable) are skipped and get an empty list. ``before_each`` runs before
    every single run (untimed), e.g. to delete the previous run's output.
    """
    results: list[list[Sample]] = [[] for _ in sides]
    for _ in range(repeats):
        for i, side in enumerate(sides):
            if side is None:
                continue
            if before_each is not None:
                before_each()
            results[i].append(side())
    return results


def best(samples: Sequence[Sample]) -> float:
    """Minimum wall time of the samples."""
    return min(s.seconds for s in samples)


def median(samples: Sequence[Sample]) -> float:
    """Median wall time of the samples."""
    return statistics.median(s.seconds for s in samples)
