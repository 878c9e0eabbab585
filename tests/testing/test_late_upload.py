"""Late unchunked uploads: new files in old time bins that no statistic shows."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import timedelta

import pytest

from mano_testing import Emulator, UnknownFileError
from tests.testing._http import get_data, request, study_form


def _with_data(emu: Emulator) -> str:
    return next(p for p in emu.participants if emu.files(p, "survey_answers"))


def _statistics(emu: Emulator) -> tuple[bytes, bytes]:
    """The raw bodies of summary statistics and data quantities."""
    stats = request(emu, "/get-summary-statistics/v1", study_form(emu)).body
    quantities = request(emu, "/get-participant-data-quantities/v1", study_form(emu)).body
    return stats, quantities


def _registry(emu: Emulator, **form: str) -> dict[str, str]:
    with get_data(emu, **form).zip() as z:
        return dict(json.loads(z.read("registry")))


@pytest.mark.parametrize("stream", ["survey_answers", "audio_recordings", "ambient_audio"])
def test_late_upload_changes_no_statistic(beiwe_emulator: Emulator, stream: str) -> None:
    emu = beiwe_emulator
    pid = _with_data(emu)
    newest = max(f.time_bin for f in emu.files(pid))
    before = _statistics(emu)
    names = emu.late_upload(pid, stream, age_days=10, count=2)
    assert len(names) == 2 and all(n.startswith(f"{pid}/{stream}/") for n in names)
    assert _statistics(emu) == before  # byte for byte: only chunked data feed them
    new = [f for f in emu.files(pid, stream) if f.zip_name in names]
    assert len(new) == 2
    for f in new:
        age = newest - f.time_bin
        assert timedelta(days=10) - timedelta(hours=1) <= age <= timedelta(days=10)
        assert f.time_bin.microsecond == 0  # whole seconds, like the phone's creation time
        assert not f.storage_path.startswith("CHUNKED_DATA/")
    # served by get-data over all time, each under its raw storage path with "" as value
    registry = _registry(emu, participant_ids=json.dumps([pid]), data_streams=json.dumps([stream]))
    for f in new:
        assert registry[f.storage_path] == ""


def test_registry_skips_an_unchunked_file_by_exact_key_with_a_value(
    beiwe_emulator: Emulator,
) -> None:
    emu = beiwe_emulator
    pid = _with_data(emu)
    (name,) = emu.late_upload(pid, "survey_answers", age_days=5)
    (f,) = [x for x in emu.files(pid, "survey_answers") if x.zip_name == name]
    form = {"participant_ids": json.dumps([pid]), "data_streams": json.dumps(["survey_answers"])}

    def sent(registry: dict[str, str]) -> set[str]:
        with get_data(emu, **form, registry=json.dumps(registry)).zip() as z:
            return set(json.loads(z.read("registry")))

    assert f.storage_path in sent({"other": "x"})
    assert f.storage_path not in sent({f.storage_path: "anything"})  # presence skips
    assert f.storage_path in sent({f.storage_path: ""})  # "" does not


def test_a_survey_submitted_twice_in_one_second(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    pid = _with_data(emu)
    names = emu.late_upload(pid, "survey_answers", age_days=3, twice=True)
    assert len(names) == 2 and names[0] == names[1]
    twins = [f for f in emu.files(pid, "survey_answers") if f.zip_name == names[0]]
    assert len(twins) == 2 and twins[0].storage_path != twins[1].storage_path
    assert twins[0].time_bin == twins[1].time_bin
    with get_data(emu, participant_ids=json.dumps([pid])).zip() as z:
        served = set(z.namelist())
    stem = names[0].rsplit(".", 1)[0]
    assert {names[0], f"{stem}_2.csv"} <= served


def test_late_data_can_rewrite_an_old_hour_and_its_statistics_follow(
    beiwe_emulator: Emulator,
) -> None:
    emu = beiwe_emulator
    pid = _with_data(emu)
    newest = max(f.time_bin for f in emu.files(pid))
    before = _statistics(emu)
    names = emu.late_data(pid, count=2, age_days=1)
    assert names
    old = {f.zip_name: f for f in emu.files(pid) if f.zip_name in names}
    assert all(newest - f.time_bin >= timedelta(days=1) for f in old.values())
    assert all(f.generation == 1 for f in old.values())
    assert _statistics(emu) != before


def test_late_upload_refuses_chunked_streams_and_unknown_people(
    beiwe_emulator: Emulator,
) -> None:
    with pytest.raises(UnknownFileError, match="late_data"):
        beiwe_emulator.late_upload(stream="gps")
    with pytest.raises(UnknownFileError, match="no participant"):
        beiwe_emulator.late_upload("nobody12")


def test_serve_takes_late_upload_commands_on_stdin() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mano_testing", "serve", "--participants", "2", "--days", "3",
         "--seed", "4"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdin is not None and proc.stdout is not None
        assert "url" in json.loads(proc.stdout.readline())
        command = {"late_upload": {"stream": "survey_answers", "age_days": 2}}
        proc.stdin.write(json.dumps(command) + "\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline())
        assert len(answer["ok"]) == 1 and "/survey_answers/" in answer["ok"][0]
        proc.stdin.write('{"late_upload": {"stream": "gps"}}\n{"boom": {}}\n')
        proc.stdin.flush()
        assert "late_data" in json.loads(proc.stdout.readline())["error"]
        assert "unknown command" in json.loads(proc.stdout.readline())["error"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
