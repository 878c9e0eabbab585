"""Every endpoint's typed result, against the emulator over real HTTP."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

import mano_api
from mano_api import (
    BeiweClient,
    DataStream,
    EndpointNotFound,
    HeartbeatRecord,
    InvalidStudy,
    NotificationRecord,
    ParticipantTable,
    Study,
    StudySettings,
    UploadRecord,
    VersionRecord,
)
from mano_testing import Emulator
from tests.api.conftest import client_for, settled_log


def test_check_credentials(client: BeiweClient) -> None:
    assert client.check_credentials() == "The provided credentials are valid"


def test_studies_and_resolution(client: BeiweClient, fresh: Emulator) -> None:
    studies = client.studies()
    assert {s.id: s.name for s in studies} == fresh.studies
    assert all(isinstance(s, Study) for s in studies)
    main = Study(fresh.study_id, fresh.study_name)
    assert client.resolve_study(fresh.study_id) == main
    assert client.resolve_study(fresh.study_name) == main
    assert client.resolve_study(fresh.study_id[:6]) == main
    assert client.resolve_study(fresh.study_name.upper()) == main
    with pytest.raises(InvalidStudy) as info:
        client.resolve_study("No Such Study Anywhere")
    assert fresh.study_name in str(info.value)
    assert (fresh.study_id, fresh.study_name) in info.value.candidates
    # Cached: studies were fetched once.
    assert sum(r.path == "/get-studies/v1" for r in settled_log(fresh)) == 1


def test_participant_ids_and_legacy_alias(client: BeiweClient, fresh: Emulator) -> None:
    expected = sorted(fresh.participants + fresh.deleted_participants)
    assert client.participant_ids(fresh.study_id) == expected
    assert client.users(fresh.study_id) == expected
    # A study name works wherever a study is expected.
    assert client.participant_ids(fresh.study_name) == expected


def test_study_settings(client: BeiweClient, fresh: Emulator) -> None:
    settings = client.study_settings(fresh.study_id)
    assert isinstance(settings, StudySettings)
    assert isinstance(settings.device_settings["gps"], bool)
    assert isinstance(settings.device_settings["gps_on_duration_seconds"], int)
    assert settings.study_time_zone and "/" in settings.study_time_zone
    assert settings.surveys and all(
        s.survey_type in ("tracking_survey", "audio_survey") for s in settings.surveys
    )
    assert settings.raw["device_settings"] == settings.device_settings


def test_data_quantities(client: BeiweClient, fresh: Emulator) -> None:
    quantities = client.data_quantities(fresh.study_id)
    assert set(quantities) == set(fresh.participants + fresh.deleted_participants)
    pid = fresh.participants[0]
    assert set(quantities[pid]) == set(DataStream)
    assert quantities[pid][DataStream.GPS] > 0
    assert all(isinstance(v, int) for v in quantities[pid].values())


def test_interventions(client: BeiweClient, fresh: Emulator) -> None:
    result = client.interventions(fresh.study_id)
    assert isinstance(result, dict)
    for surveys in result.values():
        for names in surveys.values():
            for day in names.values():
                assert day is None or isinstance(day, date)


def test_survey_history(client: BeiweClient, fresh: Emulator, tmp_path: Path) -> None:
    history = client.survey_history(fresh.study_id)
    assert history
    for archives in history.values():
        starts = [a.archive_start for a in archives]
        assert all(isinstance(s, datetime) and s.tzinfo for s in starts)
        assert starts == sorted(starts)  # type: ignore[type-var]
    target = tmp_path / "history.json"
    size = client.survey_history_to_file(fresh.study_id, target)
    assert size == target.stat().st_size
    assert set(json.loads(target.read_text())) == set(history)
    assert [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_participant_histories(client: BeiweClient, fresh: Emulator, tmp_path: Path) -> None:
    pid = fresh.participants[0]
    uploads = list(client.upload_history(pid))
    assert uploads and all(isinstance(u, UploadRecord) for u in uploads)
    assert all(u.file_size > 0 and u.file_name and u.timestamp for u in uploads)
    assert [u.timestamp for u in uploads] == sorted(u.timestamp for u in uploads)  # type: ignore[type-var]
    beats = list(client.heartbeat_history(pid))
    assert beats and all(isinstance(b, HeartbeatRecord) and b.timestamp for b in beats)
    versions = list(client.version_history(pid))
    assert versions and all(isinstance(v, VersionRecord) for v in versions)
    for record in client.device_status_history(pid):
        assert isinstance(record, mano_api.DeviceStatusRecord)
    target = tmp_path / "uploads.json"
    client.history_to_file("upload", pid, target)
    assert len(json.loads(target.read_text())) == len(uploads)


def test_notification_history(client: BeiweClient, fresh: Emulator) -> None:
    pid = fresh.participants[0]
    history = client.notification_history(pid)
    records = [r for items in history.values() for r in items]
    assert records and all(isinstance(r, NotificationRecord) for r in records)
    assert all(
        r.scheduled_time is not None and r.scheduled_time.utcoffset() == timedelta(0)
        for r in records
    )
    local = client.notification_history(pid, utc=False)
    assert set(local) == set(history)


def test_participant_table(client: BeiweClient, fresh: Emulator, tmp_path: Path) -> None:
    table = client.participant_table(fresh.study_id)
    assert isinstance(table, ParticipantTable)
    assert table.columns[:4] == ("Created On", "Patient ID", "Status", "OS Type")
    assert table.column("Patient ID") == fresh.participants  # deleted excluded, sorted
    records = client.participant_table_records(fresh.study_id)
    assert [r["Patient ID"] for r in records] == fresh.participants
    target = tmp_path / "table.csv"
    client.participant_table_to_file(fresh.study_id, target)
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert tuple(rows[0]) == table.columns
    assert [r[1] for r in rows[1:]] == fresh.participants


def test_summary_statistics_filters_in_query_string(
    client: BeiweClient, fresh: Emulator, tmp_path: Path
) -> None:
    everything = list(client.summary_statistics(fresh.study_id))
    assert everything and {"date", "participant_id", "beiwe_gps_bytes"} <= set(everything[0])
    pid = fresh.participants[0]
    days = sorted({r["date"] for r in everything})
    rows = list(
        client.summary_statistics(
            fresh.study_id,
            participant_ids=[pid],
            start_date=days[0],
            end_date=date.fromisoformat(days[0]),
            fields=["date", "participant_id", "beiwe_gps_bytes"],
        )
    )
    assert rows and {r["participant_id"] for r in rows} == {pid}
    assert {r["date"] for r in rows} == {days[0]}
    assert set(rows[0]) == {"date", "participant_id", "beiwe_gps_bytes"}
    assert len(list(client.summary_statistics(fresh.study_id, limit=2))) == 2
    ordered = list(
        client.summary_statistics(fresh.study_id, ordered_by="date", order_direction="ascending")
    )
    assert [r["date"] for r in ordered] == sorted(r["date"] for r in ordered)
    target = tmp_path / "stats.json"
    client.summary_statistics_to_file(fresh.study_id, target, participant_ids=[pid])
    assert {r["participant_id"] for r in json.loads(target.read_text())} == {pid}


def test_file_hashes_current_server_is_none(client: BeiweClient, fresh: Emulator) -> None:
    assert client.file_hashes(fresh.participants[0]) is None
    # Not retried: the 500 is deterministic.
    assert sum("file-hashes" in r.path for r in settled_log(fresh)) == 1


def test_file_hashes_fixed_server() -> None:
    with Emulator(participants=1, days=1, seed=3, profile="fixed") as emu:
        pid = emu.participants[0]
        with BeiweClient(emu.credentials, backoff=0.01) as client:
            hashes = client.file_hashes(pid)
        # Keys normalised from the server's "T" form to the zip member names.
        assert hashes == {f.zip_name: f.sha1_b64 for f in emu.files(pid)}


def test_module_functions(fresh: Emulator) -> None:
    assert mano_api.fetch_accessible_studies(fresh.credentials) == sorted(
        ((name, sid) for sid, name in fresh.studies.items()), key=lambda t: (t[0].lower(), t[1])
    )
    assert mano_api.fetch_users_in_study(fresh.credentials, fresh.study_id) == sorted(
        fresh.participants + fresh.deleted_participants
    )
    settings = dict(mano_api.fetch_study_device_settings(fresh.credentials, fresh.study_id))
    assert "gps" in settings and "accelerometer_frequency" in settings


def test_admin_sees_every_study(fresh: Emulator) -> None:
    with client_for(fresh, "admin") as admin:
        ids = {s.id for s in admin.studies()}
    assert set(fresh.studies) <= ids


def test_older_server_without_v2() -> None:
    with Emulator(participants=1, days=1, seed=5, v2=False) as emu:
        with BeiweClient(emu.credentials, backoff=0.01) as client:
            with pytest.raises(EndpointNotFound, match="older Beiwe"):
                client.download(emu.study_id)
            with client.download(emu.study_id, version=1) as archive:
                assert len(archive) == len(emu.files(study=emu.study_id))


def test_history_cut_mid_body(client: BeiweClient, fresh: Emulator, tmp_path: Path) -> None:
    pid = fresh.participants[0]
    expected = [u.file_name for u in client.upload_history(pid)]
    fresh.set_faults("get-participant-upload-history:reset=1")
    with pytest.raises(mano_api.ConnectionFailed, match="dropped while receiving"):
        list(client.upload_history(pid))
    # Writing to a file is retried as a whole and atomic.
    fresh.set_faults("get-participant-upload-history:reset=1")
    target = tmp_path / "uploads.json"
    client.history_to_file("upload", pid, target)
    assert [u["file_name"] for u in json.loads(target.read_text())] == expected
    assert [p.name for p in tmp_path.iterdir()] == ["uploads.json"]
