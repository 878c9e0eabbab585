#!/usr/bin/env python3
"""Measure mano against the reference tools and mano 0.6.0, side by side, in one run.

Usage (from the repository root)::

    hatch run bench              # full: minutes to an hour; 50k-file re-sync, 1 GB download
    hatch run bench --quick      # under 5 minutes on 2 cores
    hatch run bench --smoke      # seconds: proves the harness works (CI runs it)

Prints the table and writes ``latest.json`` (every run of every side, machine, versions) and
``latest.md`` (the table) to ``benchmarks/results/work/<mode>/`` (untracked), or to ``--out``.
Only ``--record`` writes the published ``benchmarks/results/latest.json`` and ``latest.md``, so
a newcomer's run never changes the repository.
Exit status: 0 when every row was measured or is "not measured" for a stated reason (a missing
reference tool); 1 when a mano measurement failed (an exception, or wrong output).
See ``benchmarks/README.md`` for the method.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from benchlib import rows_files, rows_forest, rows_startup, rows_sync  # noqa: E402
from benchlib.context import MODES, Context  # noqa: E402
from benchlib.machine import machine_info  # noqa: E402
from benchlib.measure import NotMeasured  # noqa: E402
from benchlib.report import Row, markdown, not_measured  # noqa: E402
from benchlib.specs import GROUP_ROWS  # noqa: E402

GROUPS: dict[str, tuple[str, Callable[[Context], list[Row]]]] = {
    "sync": ("sync vs curl, vs mano 0.6.0, peak RSS", rows_sync.rows_sync),
    "download": ("1 GB v2 download client RSS", rows_sync.rows_download),
    "resync": ("no-op re-sync vs first sync", rows_sync.rows_resync),
    "compress": ("compress / decompress", rows_files.rows_compress),
    "lock": ("lock", rows_files.rows_lock),
    "hash": ("hash", rows_files.rows_hash),
    "report": ("report", rows_files.rows_report),
    "startup": ("CLI start-up vs import typer", rows_startup.rows_startup),
    "forest": ("Forest's checks on a synced emulated study", rows_forest.rows_forest),
}

METHOD = {
    "timing": "best (minimum) wall time of N runs per side, sides interleaved; median and every "
    "run kept in the JSON",
    "cache": "warm page cache on both sides (inputs read once before timing; OS caches are "
    "never dropped)",
    "mano": "library calls in-process with default workers (all usable cores) for tree "
    "operations; sync and download run in a child process so their peak RSS is theirs alone",
    "references": "child processes (zstd, openssl, sha1sum, curl, find, mano 0.6.0 in its own "
    "venv); peak RSS from wait4",
}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--smoke", action="store_true", help="seconds; proves the harness works")
    mode.add_argument("--quick", action="store_true", help="under 5 minutes on 2 cores")
    parser.add_argument(
        "--out", type=Path, help="where latest.json / latest.md go (default: results/work/MODE)"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="publish: write benchmarks/results/latest.json and latest.md (tracked in git)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="scratch and cached trees (default: "
        "benchmarks/results/work; a temporary folder for --smoke)",
    )
    parser.add_argument("--only", help=f"comma-separated groups: {','.join(GROUPS)}")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="do not pip-install mano 0.6.0 when its venv is missing",
    )
    return parser.parse_args(argv)


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _compile_bytecode() -> None:
    """Byte-compile mano's sources once, as installing a package does (pip writes the .pyc).

    The packages are installed editable here; where ``PYTHONDONTWRITEBYTECODE`` is set, every
    child process would otherwise compile them again (~80 ms of each sync's start-up) -- a
    cost no installed copy pays.
    """
    import compileall

    for src in sorted((ROOT / "packages").glob("*/src")):
        compileall.compile_dir(src, quiet=1)


#: How long file creation stays slow after a mass deletion on ext4 without a journal (the
#: allocator skips inodes freed in the last 60 s, or 360 s while their table block is dirty).
QUIET_AFTER_CLEANUP = 360.0
CLEANUP_STAMP = ".last-cleanup"


def _wait_for_quiet_disk(work: Path) -> None:
    """Wait until the previous run's cleanup cannot slow this run's file creation any more."""
    try:
        since = time.time() - (work / CLEANUP_STAMP).stat().st_mtime
    except OSError:
        return
    if since < QUIET_AFTER_CLEANUP:
        wait = QUIET_AFTER_CLEANUP - since
        print(
            f"waiting {wait:.0f} s: the previous run deleted its outputs {since:.0f} s ago, and "
            "file creation stays slow for minutes after a mass deletion on some file systems "
            "(see benchmarks/README.md)",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(wait)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns the exit status."""
    args = _parse(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    mode = MODES["smoke" if args.smoke else "quick" if args.quick else "full"]
    if args.record and (args.smoke or args.out):
        print("--record publishes a real run: not with --smoke or --out", file=sys.stderr)
        return 2
    out = args.out or (BENCH / "results" if args.record else BENCH / "results" / "work" / mode.name)
    temp_work = args.work is None and args.smoke
    work = args.work or (
        Path(tempfile.mkdtemp(prefix="mano-bench-")) if temp_work else BENCH / "results" / "work"
    )
    work.mkdir(parents=True, exist_ok=True)
    groups = list(GROUPS) if not args.only else [g.strip() for g in args.only.split(",")]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        print(
            f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}",
            file=sys.stderr,
        )
        return 2

    _compile_bytecode()
    if not temp_work:
        _wait_for_quiet_disk(work)
    ctx = Context(mode=mode, work=work, root=ROOT, install=not (args.no_install or args.smoke))
    started = time.perf_counter()
    # what was measured: versions, commit and load as they are when the run starts
    machine = machine_info(ROOT, None)
    rows: list[Row] = []
    try:
        for group in groups:
            label, fn = GROUPS[group]
            t0 = time.perf_counter()
            print(f"[{group}] {label} ...", file=sys.stderr, flush=True)
            try:
                new = fn(ctx)
            except NotMeasured as exc:
                new = [not_measured(row_id, str(exc)) for row_id in GROUP_ROWS[group]]
            except Exception as exc:  # a failed mano measurement is a result, not a crash
                traceback.print_exc(file=sys.stderr)
                reason = f"{type(exc).__name__}: {exc}"
                new = [not_measured(row_id, reason, error=True) for row_id in GROUP_ROWS[group]]
            rows.extend(new)
            print(
                f"[{group}] done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True
            )
        try:
            machine["versions"]["mano (0.6.0 reference venv)"] = ctx.mano06().version
        except NotMeasured:
            pass
    finally:
        shutil.rmtree(work / "scratch", ignore_errors=True)
        if temp_work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            (work / CLEANUP_STAMP).touch()

    elapsed = time.perf_counter() - started
    summary = {
        "met": sum(r.met is True for r in rows),
        "not_met": sum(r.met is False for r in rows),
        "info": sum(r.met is None and r.status == "measured" for r in rows),
        "not_measured": sum(r.status == "not measured" for r in rows),
        "error": sum(r.status == "error" for r in rows),
    }
    result = {
        "mode": mode.name,
        "groups": groups,
        "elapsed_seconds": round(elapsed, 1),
        "machine": machine,
        "method": {**METHOD, "repeats": mode.repeats, "slow_repeats": mode.slow_repeats},
        "summary": summary,
        "rows": [r.to_json() for r in rows],
    }
    label = mode.name + (f", only {','.join(groups)}" if args.only else "")
    table = markdown(rows, machine, label)
    table += (
        f"\n{summary['met']} met, {summary['not_met']} not met, {summary['info']} info, "
        f"{summary['not_measured']} not measured, {summary['error']} errors; "
        f"{elapsed:.0f} s in total.\n"
    )
    _write_atomic(out / "latest.json", json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(out / "latest.md", table)
    print(table)
    print(f"wrote {out / 'latest.json'} and {out / 'latest.md'}", file=sys.stderr)
    return 1 if summary["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
