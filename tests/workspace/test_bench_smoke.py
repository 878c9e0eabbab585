"""The benchmark harness works end to end: ``benchmarks/run.py --smoke`` (seconds, no network).

It runs as a subprocess exactly as ``hatch run bench --smoke`` would, then the JSON and the
Markdown table it wrote are checked for shape and for honest content: every row is either
measured against a reference from the same run, or says why it was not measured.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "benchmarks" / "run.py"

ROW_IDS = {
    "sync_curl",
    "sync_zst_curl",
    "sync_limit",
    "sync_pipeline",
    "sync_floor",
    "sync_mano06",
    "sync_rss",
    "download_rss",
    "resync",
    "compress",
    "decompress",
    "compress_parallel",
    "lock_openssl",
    "lock_mano06",
    "hash_cold",
    "hash_warm",
    "report",
    # the small-file tree and the CLI start-up
    "compress_small",
    "decompress_small",
    "lock_mano06_small",
    "hash_cold_small",
    "hash_warm_small",
    "startup_version",
    "startup_decompress",
    # Forest on a synced emulated study (not measured in smoke mode: its environment is heavy)
    "forest_check",
}


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--smoke",
            "--out",
            str(tmp_path / "out"),
            "--work",
            str(tmp_path / "work"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )


def _side_ok(side: dict[str, object]) -> None:
    assert isinstance(side["label"], str) and side["label"]
    runs = side["runs_seconds"]
    assert isinstance(runs, list) and runs
    assert all(isinstance(r, float) and r > 0 for r in runs)
    assert side["best_seconds"] == min(runs)


def test_smoke_writes_well_formed_json_and_table(tmp_path: Path) -> None:
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "latest.json").read_text(encoding="utf-8"))

    assert result["mode"] == "smoke"
    machine = result["machine"]
    for key in ("cpu_model", "cpus_usable", "ram_gb", "python", "date", "versions"):
        assert machine[key], key
    assert machine["versions"]["mano-files"]
    assert machine["versions"]["zstandard"]

    rows = result["rows"]
    assert {r["id"] for r in rows} == ROW_IDS
    for row in rows:
        assert row["goal"], row["id"]
        assert row["status"] in {"measured", "not measured"}, (row["id"], row["note"])
        if row["status"] == "not measured":
            assert row["note"], row["id"]  # always a reason, never a number
            assert row["ratio"] is None and row["met"] is None
            continue
        _side_ok(row["mano"])
        # every figure is a ratio against a reference of the same run, or an absolute goal
        if row["reference"] is not None:
            _side_ok(row["reference"])
        assert row["ratio"] is not None or row["value"] is not None, row["id"]
        if row["ratio"] is not None:
            assert row["ratio"] > 0
    measured = {r["id"] for r in rows if r["status"] == "measured"}
    # everything needing no network, no extra install and no missing tool is measured
    needed = {"hash_warm", "resync", "sync_rss", "report"}
    for row_id, tools in {
        "compress": ("zstd",),
        "decompress": ("zstd",),
        "hash_cold": ("sha1sum", "xargs"),
        "sync_curl": ("curl", "xargs"),
        "lock_openssl": ("openssl", "xargs"),
    }.items():
        missing = [t for t in tools if shutil.which(t) is None]
        if missing:
            note = next(r["note"] for r in rows if r["id"] == row_id)
            assert f"`{missing[0]}` not installed" in note
        else:
            needed.add(row_id)
    assert needed <= measured, needed - measured
    # mano 0.6.0 is never installed in smoke mode: its rows say so
    skipped = {r["id"]: r["note"] for r in rows if r["status"] == "not measured"}
    assert "smoke mode skips mano 0.6.0" in skipped["lock_mano06"]
    assert skipped["download_rss"] == "full mode only"

    table = (tmp_path / "out" / "latest.md").read_text(encoding="utf-8")
    lines = table.splitlines()
    header = "| # | benchmark | mano | reference (same run) | ratio | goal | met |"
    assert header in lines
    body = [ln for ln in lines[lines.index(header) + 2 :] if ln.startswith("| ")]
    assert len(body) == len(rows)
    assert all(ln.count(" | ") == 6 for ln in body)
    assert machine["cpu_model"] in table
    assert table in proc.stdout  # the table is also printed


def test_unknown_group_is_a_usage_error(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--only", "nope")
    assert proc.returncode == 2
    assert "unknown group(s) nope" in proc.stderr
    assert not (tmp_path / "out" / "latest.json").exists()
