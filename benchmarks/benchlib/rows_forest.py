"""Forest on an emulated study: `hatch run forest:check`, run and timed by the benchmark script.

The check builds a 3-participant x 3-day study with the emulator, syncs it with mano and runs
Forest's jasmine, willow, oak and sycamore on the tree (``scripts/forest_check.py``). Forest and
its scientific stack live in their own Hatch environment, which takes minutes to build the first
time, so CI leaves the check to this script (group ``forest``; skipped in smoke mode).
"""

from __future__ import annotations

import shutil
import subprocess
import time

from benchlib.context import Context
from benchlib.measure import Sample
from benchlib.report import Row, Side, not_measured
from benchlib.specs import spec

#: The whole check, environment build included, may take this long.
TIMEOUT_S = 1800


def rows_forest(ctx: Context) -> list[Row]:
    """One row: whether Forest's checks pass on the synced tree, and how long they took."""
    if ctx.mode.name == "smoke":
        return [not_measured("forest_check", "smoke mode: Forest's environment takes minutes")]
    hatch = shutil.which("hatch")
    if hatch is None:
        return [not_measured("forest_check", "hatch is not on PATH")]
    command = [hatch, "run", "forest:check"]
    t0 = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=ctx.root, capture_output=True, text=True, timeout=TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return [not_measured("forest_check", f"did not finish in {TIMEOUT_S} s", error=True)]
    seconds = time.monotonic() - t0
    tail = " / ".join(line.strip() for line in done.stdout.strip().splitlines()[-4:])
    if done.returncode != 0:
        err = " ".join(done.stderr.strip().splitlines()[-3:])
        return [not_measured("forest_check", f"exit {done.returncode}: {err or tail}", error=True)]
    return [
        Row(
            **spec("forest_check"),
            mano=Side("hatch run forest:check", " ".join(command[1:]), [Sample(seconds, None)]),
            value=seconds,
            value_unit="s (environment build included the first time)",
            met=True,
            note=tail,
        )
    ]
