"""`mano report surveys` on an emulated study agrees exactly with the emulator's ground truth."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mano_files import compress_tree, lock_tree, survey_report
from mano_sync import sync_study
from mano_testing import Emulator

Factory = Callable[..., Emulator]
PASS = "correct horse battery"


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Emulator, Path]:
    out = tmp_path_factory.mktemp("surveys") / "study"
    with Emulator(participants=3, days=12, seed=21) as emu:
        sync_study(emu.credentials, emu.study_id, out, data_streams=["survey_answers",
                   "survey_timings", "identifiers"])  # fmt: skip
        return emu, out


def _end(emu: Emulator) -> datetime:
    return emu.start_date + timedelta(days=emu.days)


def _truth(emu: Emulator) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = {}
    for d in emu.survey_deliveries():
        row = out.setdefault((d.participant, d.survey_id), {"deliveries": 0, "opened": 0,
                                                           "submitted": 0})  # fmt: skip
        row["deliveries"] += 1
        row["opened"] += d.opened
        row["submitted"] += d.submitted
    return out


def _counts(report: object) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (r.participant, r.survey_id): {
            "deliveries": r.deliveries,
            "opened": r.opened,
            "submitted": r.submitted,
        }  # fmt: skip
        for r in report.rows  # type: ignore[attr-defined]
    }


def test_counts_match_the_ground_truth(synced: tuple[Emulator, Path]) -> None:
    emu, out = synced
    report = survey_report(out, as_of=_end(emu), days=5)
    truth = _truth(emu)
    assert report.schedule_known and report.time_zone == "America/New_York"
    assert _counts(report) == truth
    assert all(r.unscheduled == 0 for r in report.rows)
    # every outcome occurs, so the comparison means something
    totals = {k: sum(v[k] for v in truth.values()) for k in ("deliveries", "opened", "submitted")}
    assert totals["deliveries"] > totals["opened"] > totals["submitted"] > 5
    names = {report.surveys[sid] for _pid, sid in truth}
    assert names == {"Daily check-in", "Weekly mood"}
    # the exact times
    by_key = {(i.participant, i.survey_id, i.delivered): i for i in report.instances if i.delivered}
    for d in emu.survey_deliveries():
        inst = by_key[
            (d.participant, d.survey_id, datetime.fromtimestamp(d.delivered_ms / 1000, UTC))
        ]
        assert (inst.opened is None) == (d.opened_ms is None)
        if d.opened_ms is not None and inst.opened is not None:
            assert int(inst.opened.timestamp() * 1000) == d.opened_ms
        if d.submitted_ms is not None:
            assert inst.submitted is not None
            assert int(inst.submitted.timestamp() * 1000) == d.submitted_ms
            assert {q: a for q, a in inst.answers.items() if a != "NO_ANSWER_SELECTED"} == {
                q: a for q, a in d.answers if a
            }


def test_missing_answers_and_recent_misses_match(synced: tuple[Emulator, Path]) -> None:
    emu, out = synced
    end = _end(emu)
    report = survey_report(out, as_of=end, days=5)
    for row in report.rows:
        mine = [d for d in emu.survey_deliveries(row.participant)
                if d.survey_id == row.survey_id and d.submitted]  # fmt: skip
        for q in row.questions:
            assert q.submitted == len(mine)
            assert q.missing == sum(1 for d in mine if not dict(d.answers).get(q.question_id))
        waits = sorted((d.submitted_ms - d.delivered_ms) / 60_000 for d in mine)  # type: ignore[operator]
        if waits:
            mid = len(waits) // 2
            median = waits[mid] if len(waits) % 2 else (waits[mid - 1] + waits[mid]) / 2
            assert row.median_minutes_to_submit == round(median, 1)
    since = int((end - timedelta(days=5)).timestamp() * 1000)
    expected = sorted(
        (d.participant, d.delivered_ms, d.opened)
        for d in emu.survey_deliveries()
        if d.delivered_ms >= since and not d.submitted
    )
    got = sorted(
        (m.participant, int(m.delivered.timestamp() * 1000), m.opened) for m in report.missed
    )
    assert got == expected and got


def test_compressed_and_locked_trees_give_the_same_report(
    synced: tuple[Emulator, Path], tmp_path: Path
) -> None:
    emu, out = synced
    plain = survey_report(out, as_of=_end(emu)).to_dict()
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)
    compress_tree(copy, delete_original=True)
    lock_tree(copy, PASS, streams=["survey_timings"])
    got = survey_report(copy, as_of=_end(emu), key=PASS).to_dict()
    assert {k: v for k, v in got.items() if k != "root"} == {
        k: v for k, v in plain.items() if k != "root"
    }


def test_cli_table_csv_json_and_html(synced: tuple[Emulator, Path], tmp_path: Path) -> None:
    emu, out = synced
    as_of = _end(emu).strftime("%Y-%m-%dT%H:%M:%S")
    env = {**os.environ, "COLUMNS": "200"}
    csv_path, html_path = tmp_path / "s.csv", tmp_path / "s.html"
    run = subprocess.run(
        [sys.executable, "-m", "mano_cli", "report", "surveys", str(out), "--as-of", as_of,
         "--days", "5", "--csv", str(csv_path), "--html", str(html_path)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "Daily check-in" in run.stdout and "completion" in run.stdout
    assert "missed" in run.stdout.lower()
    rows = list(csv.DictReader(csv_path.open()))
    summary = [r for r in rows if r["question_id"] == ""]
    truth = _truth(emu)
    assert {(r["participant"], r["survey_id"]): int(r["submitted"]) for r in summary} == {
        k: v["submitted"] for k, v in truth.items()
    }
    page = html_path.read_text()
    assert "<h2>Surveys</h2>" in page and "Missing answers: Daily check-in" in page
    run = subprocess.run(
        [sys.executable, "-m", "mano_cli", "report", "surveys", str(out), "--as-of", as_of,
         "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {(r["participant"], r["survey_id"]): r["opened"] for r in data["rows"]} == {
        k: v["opened"] for k, v in truth.items()
    }


def test_coverage_html_gets_a_survey_section(synced: tuple[Emulator, Path], tmp_path: Path) -> None:
    _emu, out = synced
    page = tmp_path / "r.html"
    run = subprocess.run(
        [sys.executable, "-m", "mano_cli", "report", str(out), "--html", str(page)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    text = page.read_text()
    assert "<h2>Surveys</h2>" in text and "Daily check-in" in text
    assert "non-data paths ignored" not in run.stderr  # the side-input JSON belong at the root


def test_without_settings_deliveries_are_unknown(
    synced: tuple[Emulator, Path], tmp_path: Path
) -> None:
    emu, out = synced
    copy = tmp_path / "bare"
    subprocess.run(["cp", "-a", str(out), str(copy)], check=True)
    for side in copy.glob("*.json"):
        side.unlink()
    report = survey_report(copy, as_of=_end(emu))
    assert not report.schedule_known and report.rows
    truth = _truth(emu)
    for row in report.rows:
        assert row.deliveries is None and row.completion is None
        assert row.submitted == truth[(row.participant, row.survey_id)]["submitted"]
