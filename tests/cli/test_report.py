"""`mano report DIR`: terminal table, --json, --csv, --html and errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import Run

RunFn = Callable[..., Run]


def _place(root: Path, pid: str, stream: str, when: datetime, suffix: str = "") -> None:
    folder = root / pid / stream
    folder.mkdir(parents=True, exist_ok=True)
    (folder / (when.strftime("%Y-%m-%d %H_%M_%S") + "+00_00.csv" + suffix)).write_bytes(b"12345")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """good1111: gps every hour of 2 days. bad22222: gps 3 hours on day 1 and day 3 (day 2 empty)."""
    root = tmp_path / "study"
    for h in range(48):
        _place(root, "good1111", "gps", datetime(2024, 5, 1 + h // 24, h % 24, tzinfo=UTC), ".zst")
    for h in (0, 1, 2):
        _place(root, "bad22222", "gps", datetime(2024, 5, 1, h, tzinfo=UTC), ".lock")
    _place(root, "bad22222", "gps", datetime(2024, 5, 3, 5, tzinfo=UTC))
    (root / ".mano-sync.sqlite").write_bytes(b"")
    return root


def test_table_worst_first(cli: RunFn, tree: Path) -> None:
    result = cli(["report", str(tree)])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[0].split()[:4] == ["participant", "os", "first", "last"]
    bad = lines[1].split()
    good = lines[2].split()
    assert bad[:7] == ["bad22222", "?", "2024-05-01", "2024-05-03", "3", "1", "2.1d"]
    # score = gps share: 4 of 54 active hours; the worst sensor stream is gps.
    assert bad[7:] == [f"{100 * 4 / 54:.0f}%", "gps", f"{100 * 4 / 54:.0f}%"]
    assert good == [
        "good1111",
        "?",
        "2024-05-01",
        "2024-05-02",
        "2",
        "0",
        "0h",
        "100%",
        "gps",
        "100%",
    ]
    assert "2 participants, 52 files" in result.stderr


def test_json_csv_html(cli: RunFn, tree: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "out.csv"
    html_path = tmp_path / "out.html"
    result = cli(["report", str(tree), "--json", "--csv", str(csv_path), "--html", str(html_path)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    by_id = {p["participant"]: p for p in data["participants"]}
    assert by_id["bad22222"]["missing_days"] == ["2024-05-02"]
    assert by_id["bad22222"]["longest_gap_hours"] == 50
    assert data["forms"] == {"plain": 1, "zst": 48, "lock": 3, "zst.lock": 0}
    lines = csv_path.read_text().splitlines()
    assert lines[0] == "participant,stream,date,hours,files,bytes,expected"
    assert "bad22222,gps,2024-05-02,0,0,0,1" in lines
    assert "good1111,gps,2024-05-02,24,24,120,1" in lines
    html = html_path.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<svg" in html and "bad22222" in html


def test_global_json_flag_and_window(cli: RunFn, tree: Path) -> None:
    result = cli(["--json", "report", str(tree), "--start", "2024-05-02", "-p", "bad22222"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert [p["participant"] for p in data["participants"]] == ["bad22222"]
    assert data["participants"][0]["first_day"] == "2024-05-03"


def test_settings_file(cli: RunFn, tree: Path, tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"device_settings": {"gps": False, "accelerometer": True}}))
    result = cli(["--json", "report", str(tree), "--settings", str(settings)])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    streams = {s["stream"]: s for s in data["participants"][0]["streams"]}
    assert streams["gps"]["expected"] is False and streams["accelerometer"]["share"] == 0.0
    settings.write_text("not json")
    bad = cli(["report", str(tree), "--settings", str(settings)])
    assert bad.exit_code == 2 and "is not JSON" in bad.stderr


def test_errors_are_one_line(cli: RunFn, tmp_path: Path, tree: Path) -> None:
    missing = cli(["report", str(tmp_path / "nope")])
    assert missing.exit_code == 5 and "does not exist" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    bad_date = cli(["report", str(tree), "--start", "May 1"])
    assert bad_date.exit_code == 2 and "--start" in bad_date.stderr
    no_folder = cli(["report", str(tree), "--csv", str(tmp_path / "no" / "x.csv")])
    assert no_folder.exit_code == 5 and "does not exist" in no_folder.stderr


def test_subprocess_run(mano: RunFn, tree: Path) -> None:
    result = mano(["report", str(tree)])
    assert result.exit_code == 0, result.stderr
    assert "bad22222" in result.stdout.splitlines()[1]


def test_compare_lists_exactly_deleted_files(
    cli: RunFn, tmp_path: Path, beiwe_env: Callable[[object], dict[str, str]]
) -> None:
    from mano_testing import Emulator

    with Emulator(participants=2, days=2, seed=21) as emu:
        root = tmp_path / "synced"
        for f in emu.files():
            target = root / f.zip_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.data())
        names = sorted(f.zip_name for f in emu.files())
        deleted = sorted([names[0], names[7], names[-1]])
        for name in deleted:
            (root / name).unlink()
        env = beiwe_env(emu)
        result = cli(["report", str(root), "--compare", emu.study_name], env=env)
        assert result.exit_code == 0, result.stderr
        listed = result.stdout.split("On the server but not in the folder (3):\n", 1)[1]
        assert [line.strip() for line in listed.strip().splitlines()] == deleted
        assert "3 missing, 0 changed" in result.stderr
        as_json = cli(["report", str(root), "--json", "--compare", emu.study_id], env=env)
        data = json.loads(as_json.stdout)
        assert data["compare"]["missing"] == deleted and data["compare"]["complete"] is False
        assert data["settings_known"] is True
