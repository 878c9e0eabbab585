"""Timing and peak-memory measurement.

Every figure in the report is the best (minimum) wall time of ``repeats`` runs; the median and
every individual run are kept in the JSON. Best-of-N is what ``timeit`` reports: on a shared
machine noise only ever adds time, so the minimum is the most repeatable estimate of the cost.
The two sides of a comparison run interleaved (mano, reference, mano, reference, ...) so that a
load spike from a neighbour hits both sides alike.

Peak RSS of a child process comes from ``os.wait4``: the kernel's ``ru_maxrss`` of that child
(and of any of its own children it waited for), in KiB on Linux.
"""

from __future__ import annotations

import os
import statistics
import subprocess
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


def run_process(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 3600.0,
    check: bool = True,
) -> ProcResult:
    """Run ``cmd``, timing it and reading its peak RSS from ``wait4``.

    Output goes to temporary files (not pipes) so a chatty child can never block on a full pipe
    while we sit in ``wait4``.

    Raises:
        RuntimeError: When ``check`` and the command exits non-zero, with the end of its stderr.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(cmd), stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=cwd
        )
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = ProcResult(
            seconds=seconds,
            returncode=proc.returncode,
            rss_bytes=usage.ru_maxrss * 1024,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
    if check and result.returncode != 0:
        tail = result.stderr.strip().splitlines()[-5:]
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
