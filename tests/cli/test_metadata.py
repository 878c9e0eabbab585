"""`mano studies|participants|settings|info …` against the emulator: JSON/CSV parsed back."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run, env_for

RunFn = Callable[..., Run]


def _ok(result: Run) -> Run:
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def test_studies_json_matches_server(emu: Any, cli: RunFn) -> None:
    result = _ok(cli(["studies", "--json"], env=env_for(emu)))
    listed = json.loads(result.stdout)
    assert {s["id"]: s["name"] for s in listed} == emu.studies
    # global --json works too
    again = _ok(cli(["--json", "studies"], env=env_for(emu)))
    assert json.loads(again.stdout) == listed


def test_studies_table_subprocess(emu: Any, mano: RunFn) -> None:
    result = _ok(mano(["studies"], env=env_for(emu)))
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "name"]
    for sid, name in emu.studies.items():
        assert any(line.startswith(sid) and line.rstrip().endswith(name) for line in lines)
    assert result.stderr == ""


@pytest.mark.parametrize("how", ["id", "prefix", "name"])
def test_participants_by_id_prefix_or_name(emu: Any, cli: RunFn, how: str) -> None:
    study = {"id": emu.study_id, "prefix": emu.study_id[:6], "name": emu.study_name}[how]
    result = _ok(cli(["participants", study, "--json"], env=env_for(emu)))
    assert json.loads(result.stdout) == sorted(emu.participants)
    plain = _ok(cli(["participants", study], env=env_for(emu)))
    assert plain.stdout.splitlines() == sorted(emu.participants)


def test_settings_to_stdout_and_file(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    result = _ok(cli(["settings", emu.study_name], env=env_for(emu)))
    data = json.loads(result.stdout)
    assert set(data) >= {"device_settings", "surveys", "interventions", "study_time_zone"}
    target = tmp_path / "settings.json"
    _ok(cli(["settings", emu.study_id, "-o", str(target)], env=env_for(emu)))
    assert json.loads(target.read_text()) == data
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temp file left


def test_quantities_json_and_csv(emu: Any, cli: RunFn) -> None:
    data = json.loads(_ok(cli(["info", "quantities", emu.study_id], env=env_for(emu))).stdout)
    assert sorted(data) == sorted(emu.participants)
    with_data = {f.participant for f in emu.files()}
    for pid in with_data:
        assert sum(data[pid].values()) > 0
    text = _ok(cli(["info", "quantities", emu.study_id, "-f", "csv"], env=env_for(emu))).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["participant_id"] for r in rows] == sorted(emu.participants)
    assert all(int(rows[0][k]) == v for k, v in data[rows[0]["participant_id"]].items())


def test_participant_table_formats(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    text = _ok(cli(["info", "participant-table", emu.study_id], env=env_for(emu))).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["Created On", "Patient ID", "Status", "OS Type"]
    records = json.loads(
        _ok(cli(["info", "participant-table", emu.study_id, "-f", "json"], env=env_for(emu))).stdout
    )
    assert [r["Patient ID"] for r in records] == [r[1] for r in rows[1:]]
    out = tmp_path / "table.json"
    _ok(
        cli(
            ["info", "participant-table", emu.study_id, "-f", "json_table", "-o", str(out)],
            env=env_for(emu),
        )
    )
    assert json.loads(out.read_text())[0] == rows[0]


def test_summary_statistics_filters(emu: Any, cli: RunFn) -> None:
    env = env_for(emu)
    everything = json.loads(_ok(cli(["info", "summary-statistics", emu.study_id], env=env)).stdout)
    assert everything, "the emulator has summary statistics"
    pid = everything[0]["participant_id"]
    mine = json.loads(
        _ok(
            cli(["info", "summary-statistics", emu.study_id, "-p", pid, "--limit", "1"], env=env)
        ).stdout
    )
    assert len(mine) == 1 and mine[0]["participant_id"] == pid
    text = _ok(
        cli(
            [
                "info",
                "summary-statistics",
                emu.study_id,
                "-f",
                "csv",
                "--field",
                "date,participant_id",
            ],
            env=env,
        )
    ).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(everything)
    assert list(rows[0]) == ["date", "participant_id"]


@pytest.mark.parametrize(
    "command", ["upload-history", "heartbeat-history", "version-history", "device-status"]
)
def test_participant_histories_json_and_csv(emu: Any, cli: RunFn, command: str) -> None:
    pid = emu.files()[0].participant
    data = json.loads(_ok(cli(["info", command, pid], env=env_for(emu))).stdout)
    assert isinstance(data, list)
    text = _ok(cli(["info", command, pid, "-f", "csv"], env=env_for(emu))).stdout
    rows = list(csv.reader(io.StringIO(text)))
    assert len([r for r in rows[1:] if r]) == len(data)


def test_upload_history_lists_uploads(emu: Any, cli: RunFn) -> None:
    pid = emu.files()[0].participant
    data = json.loads(_ok(cli(["info", "upload-history", pid], env=env_for(emu))).stdout)
    assert data and all({"file_name", "file_size", "timestamp"} <= set(r) for r in data)


def test_notifications_interventions_survey_history(emu: Any, cli: RunFn) -> None:
    env = env_for(emu)
    pid = emu.files()[0].participant
    notes = json.loads(_ok(cli(["info", "notification-history", pid], env=env)).stdout)
    assert isinstance(notes, dict)
    for sid, items in notes.items():
        assert all(item["survey_id"] == sid for item in items)
    text = _ok(cli(["info", "notification-history", pid, "-f", "csv"], env=env)).stdout
    assert text.splitlines()[0].startswith("survey_id,timestamp,type")
    interventions = json.loads(_ok(cli(["info", "interventions", emu.study_id], env=env)).stdout)
    assert set(interventions) <= set(emu.participants)
    history = json.loads(_ok(cli(["info", "survey-history", emu.study_id], env=env)).stdout)
    assert all(isinstance(v, list) and v for v in history.values())


def test_keyring_check_from_environment(emu: Any, mano: RunFn) -> None:
    result = _ok(mano(["keyring", "check", "--json"], env=env_for(emu)))
    (entry,) = json.loads(result.stdout)
    assert entry["ok"] is True
    assert entry["studies"] == len(emu.studies)
    assert emu.secret_key not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["settings", "{study}"],
        ["info", "quantities", "{study}"],
        ["info", "interventions", "{study}"],
        ["info", "survey-history", "{study}"],
        ["info", "participant-table", "{study}", "-f", "json"],
        ["info", "summary-statistics", "{study}", "--limit", "3"],
        ["info", "upload-history", "{pid}"],
        ["info", "heartbeat-history", "{pid}"],
        ["info", "version-history", "{pid}"],
        ["info", "device-status", "{pid}"],
        ["info", "notification-history", "{pid}"],
        ["participants", "{study}", "--json"],
    ],
    ids=lambda a: "-".join(x for x in a if not x.startswith("{")),
)
def test_metadata_commands_as_subprocesses(emu: Any, mano: RunFn, args: list[str]) -> None:
    pid = emu.files()[0].participant
    real = [a.format(study=emu.study_id[:10], pid=pid) for a in args]
    result = _ok(mano(real, env=env_for(emu)))
    assert result.stdout.endswith("\n")
    assert isinstance(json.loads(result.stdout), dict | list)
    assert result.stderr == ""
