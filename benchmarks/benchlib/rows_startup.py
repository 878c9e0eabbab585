"""CLI start-up: `mano --version` and `mano -y decompress EMPTY_FOLDER` vs `import typer`.

What a user waits for before any work starts, and what cron pays for every command. The
reference is the least any Typer command can cost: an interpreter that imports Typer and
exits. All three run as child processes from the same interpreter and environment, alternating,
best of ``startup_repeats``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchlib.context import Context
from benchlib.measure import Sample, interleave, run_process
from benchlib.report import Row, Side
from benchlib.rows_files import ratio_row


def _mano_command() -> list[str]:
    """The console script a user types, from this interpreter's environment."""
    script = Path(sys.executable).with_name("mano")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mano_cli"]


def rows_startup(ctx: Context) -> list[Row]:
    """Two rows: ``--version`` and decompressing an empty folder, each vs ``import typer``."""
    empty = ctx.scratch("startup-empty")
    mano = _mano_command()

    def side(cmd: list[str]) -> Sample:
        res = run_process(cmd)
        return Sample(res.seconds, res.rss_bytes)

    typer_cmd = [sys.executable, "-c", "import typer"]
    version_cmd = [*mano, "--version"]
    decompress_cmd = [*mano, "-y", "-q", "decompress", str(empty)]
    typer_s, version_s, decompress_s = interleave(
        [lambda: side(typer_cmd), lambda: side(version_cmd), lambda: side(decompress_cmd)],
        repeats=ctx.mode.startup_repeats,
    )
    reference = Side("python -c 'import typer'", "python -c 'import typer'", typer_s)
    note = (
        "child processes of the same interpreter, best of "
        f"{ctx.mode.startup_repeats}; the reference is the least any Typer command costs."
    )
    return [
        ratio_row(
            id="startup_version",
            mano=Side("mano --version", "mano --version", version_s),
            reference=reference,
            target=1.5,
            invert=True,
            meaning="mano time / typer import time",
            note=note,
        ),
        ratio_row(
            id="startup_decompress",
            mano=Side(
                "mano decompress (empty folder)", "mano -y -q decompress EMPTY", decompress_s
            ),
            reference=reference,
            target=1.5,
            invert=True,
            meaning="mano time / typer import time",
            note=note,
        ),
    ]
