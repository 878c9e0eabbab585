"""`mano report` flags files kept in two forms (Forest would count them twice)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mano_files import coverage
from tests.cli.conftest import Run

RunFn = Callable[..., Run]


def _tree(root: Path) -> Path:
    gps = root / "abcd1234" / "gps"
    gps.mkdir(parents=True)
    for hour in range(3):
        (gps / f"2024-05-01 0{hour}_00_00+00_00.csv").write_bytes(b"t\n1")
    (gps / "2024-05-01 01_00_00+00_00.csv.zst").write_bytes(b"zz")
    (gps / "2024-05-01 02_00_00+00_00.csv.zst.lock").write_bytes(b"ll")
    (root / "Study_surveys_and_settings.json").write_text("{}")  # Forest's side input
    (root / "notes.txt").write_text("x")
    return root


def test_coverage_lists_duplicate_forms(tmp_path: Path) -> None:
    report = coverage(_tree(tmp_path / "s"))
    assert report.duplicate_count == 2
    assert report.duplicates == (
        "abcd1234/gps/2024-05-01 01_00_00+00_00.csv + 2024-05-01 01_00_00+00_00.csv.zst",
        "abcd1234/gps/2024-05-01 02_00_00+00_00.csv + 2024-05-01 02_00_00+00_00.csv.zst.lock",
    )
    # the side-input JSON is expected at the root; other stray files are still reported
    assert report.ignored == ("notes.txt",)


def test_clean_tree_has_no_duplicates(tmp_path: Path) -> None:
    root = _tree(tmp_path / "s")
    for extra in (root / "abcd1234" / "gps").glob("*.zst*"):
        extra.unlink()
    assert coverage(root).duplicate_count == 0


def test_cli_warns_and_reports_them(cli: RunFn, tmp_path: Path) -> None:
    root = _tree(tmp_path / "s")
    result = cli(["report", str(root)])
    assert result.exit_code == 0, result.stderr
    assert "warning: 2 files are stored in two forms" in result.stderr
    assert "counts that data twice" in result.stderr
    result = cli(["report", str(root), "--json"])
    data = json.loads(result.stdout)
    assert data["duplicate_count"] == 2 and len(data["duplicates"]) == 2
    page = tmp_path / "r.html"
    assert cli(["report", str(root), "--html", str(page)]).exit_code == 0
    assert "2 files are stored in two forms" in page.read_text()
