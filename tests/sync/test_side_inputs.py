"""Forest's side inputs (settings, interventions, survey history) arrive with every sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mano_api import BeiweClient
from mano_sync import save_side_inputs, side_input_names, sync_study
from mano_testing import Emulator
from tests.sync.helpers import fast_client, hidden_leftovers

Factory = Callable[..., Emulator]


def _expected(emu: Emulator) -> dict[str, str]:
    return side_input_names(emu.study_id, emu.study_name)


def test_sync_saves_the_three_json_files_at_the_root(
    beiwe_emulator_factory: Factory, tmp_path: Path
) -> None:
    emu = beiwe_emulator_factory(participants=2, days=1, seed=3)
    out = tmp_path / "study"
    sync_study(emu.credentials, emu.study_id, out)
    names = _expected(emu)
    assert names == {
        "settings": "Mano_Emulated_Study_surveys_and_settings.json",
        "interventions": f"{emu.study_id}_intervention_data.json",
        "survey_history": f"{emu.study_id}_surveys_history_data.json",
    }
    root_files = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
    assert root_files == sorted(names.values())
    # every folder at the root is a participant (Forest's rule)
    assert sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")) == (
        sorted(pid for pid in emu.participants if emu.files(pid))
    )
    with BeiweClient(emu.credentials) as client:
        settings = json.loads((out / names["settings"]).read_bytes())
        assert settings["study_time_zone"] == "America/New_York"
        assert [s["name"] for s in settings["surveys"]] == [
            "Daily check-in", "Weekly mood", "Voice diary"
        ]  # fmt: skip
        assert settings["device_settings"]["gps_on_duration_seconds"] == 60
        raw_interventions = client.request("/get-interventions/v1", {"study_id": emu.study_id})
        assert json.loads((out / names["interventions"]).read_bytes()) == raw_interventions
        history = json.loads((out / names["survey_history"]).read_bytes())
        assert set(history) == set(client.survey_history(emu.study_id))
    assert hidden_leftovers(out) == []


def test_refreshed_each_run_and_a_failure_keeps_the_last_copy(
    beiwe_emulator_factory: Factory, tmp_path: Path
) -> None:
    emu = beiwe_emulator_factory(participants=1, days=1, seed=4)
    out = tmp_path / "study"
    client = fast_client(emu)
    sync_study(emu.credentials, emu.study_id, out, client=client)
    names = _expected(emu)
    good = {kind: (out / name).read_bytes() for kind, name in names.items()}
    (out / names["settings"]).write_text("{}")
    (out / names["interventions"]).write_text("stale")
    emu.set_faults("get-interventions:5xx=always")
    sync_study(emu.credentials, emu.study_id, out, client=client)
    assert (out / names["settings"]).read_bytes() == good["settings"]  # refreshed
    assert (out / names["interventions"]).read_text() == "stale"  # kept, not removed
    assert hidden_leftovers(out) == []
    emu.set_faults(None)
    result = save_side_inputs(client, emu.study_id, out)
    assert result.errors == {} and set(result.paths) == set(names)
    assert (out / names["interventions"]).read_bytes() == good["interventions"]
    client.close()


def test_a_garbled_body_never_replaces_a_good_copy(
    beiwe_emulator_factory: Factory, tmp_path: Path
) -> None:
    emu = beiwe_emulator_factory(participants=1, days=1, seed=5)
    client = fast_client(emu)
    first = save_side_inputs(client, emu.study_id, tmp_path)
    before = {k: p.read_bytes() for k, p in first.paths.items()}
    emu.set_faults("get-survey-history:reset=always")
    second = save_side_inputs(client, emu.study_id, tmp_path)
    assert set(second.errors) == {"survey_history"}
    assert "survey_history" in second.paths
    assert {k: p.read_bytes() for k, p in second.paths.items()} == before
    assert hidden_leftovers(tmp_path) == []
    client.close()


def test_names_are_safe_file_names() -> None:
    names = side_input_names("a" * 24, "../Lab: Sleep/Mood? study")
    assert names["settings"] == "_Lab__Sleep_Mood__study_surveys_and_settings.json"
    assert "/" not in names["settings"] and not names["settings"].startswith(".")
    assert side_input_names("b" * 24, "...")["settings"] == "b" * 24 + "_surveys_and_settings.json"
