"""get-data downloads against the emulator: content, filters, registry, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import zstandard

from mano_api import (
    Archive,
    BeiweClient,
    ConnectionFailed,
    DataStream,
    DuplicateParticipant,
    InvalidDataStream,
    ServerError,
    ServerMaintenance,
    TruncatedDownload,
)
from mano_testing import Emulator
from tests.api.conftest import settled_log


def _plain(archive: Archive, name: str) -> bytes:
    data = archive.read(name)
    if archive.version == 2:
        return zstandard.ZstdDecompressor().stream_reader(data, read_across_frames=True).read()
    return data


def _check_matches(archive: Archive, expected: dict[str, bytes]) -> None:
    suffix = ".zst" if archive.version == 2 else ""
    names = {m.name for m in archive}
    assert names == {n + suffix for n in expected}
    for name, data in expected.items():
        assert _plain(archive, name + suffix) == data


@pytest.mark.parametrize("version", [1, 2])
def test_whole_study_download_matches_server_files(
    client: BeiweClient, fresh: Emulator, tmp_path: Path, version: int
) -> None:
    expected = {f.zip_name: f.data() for f in fresh.files()}
    seen: list[int] = []
    with client.download(
        fresh.study_id, version=version, tmp_dir=tmp_path, progress=seen.append
    ) as archive:
        assert archive.version == version
        _check_matches(archive, expected)
        assert set(archive.registry) == {f.storage_path for f in fresh.files()}
        assert archive.attempts == 1
        assert seen[-1] == archive.size == archive.path.stat().st_size
        assert archive.path.name.startswith(".")
        if version == 2:
            member = archive.members()[0]
            assert archive.read(member).startswith(b"\x28\xb5\x2f\xfd")
    assert list(tmp_path.iterdir()) == []
    assert client.bytes_received >= seen[-1]


def test_filters_are_sent_and_applied(client: BeiweClient, fresh: Emulator, tmp_path: Path) -> None:
    pid = fresh.participants[0]
    gps = fresh.files(pid, "gps")
    first = gps[0].time_bin
    # end at hh:30 still includes the hour bin starting at hh:00 (inclusive, hour-granular)
    end = first + timedelta(hours=2, minutes=30)
    expected = {
        f.zip_name: f.data() for f in gps if first <= f.time_bin <= first + timedelta(hours=2)
    }
    assert len(expected) >= 2
    naive_start = first.replace(tzinfo=None) + timedelta(minutes=10)
    with client.download(
        fresh.study_id,
        participants=[pid],
        streams=[DataStream.GPS],
        start=naive_start,
        end=end.isoformat(),
        version=1,
        tmp_dir=tmp_path,
    ) as archive:
        _check_matches(archive, expected)


def test_unchunked_files_inside_the_end_hour_are_kept(client: BeiweClient, fresh: Emulator) -> None:
    for pid in fresh.participants:
        answers = fresh.files(pid, "survey_answers")
        if answers:
            break
    target = next(f for f in answers if f.time_bin.minute or f.time_bin.second)
    end = target.time_bin.replace(minute=0, second=0) + timedelta(minutes=1)
    assert end < target.time_bin  # the requested end is before the file's exact time...
    with client.download(
        fresh.study_id,
        participants=[pid],
        streams=["survey_answers"],
        start=end - timedelta(minutes=1),
        end=end,
        version=1,
    ) as archive:
        assert target.zip_name in {m.name for m in archive}  # ...but in the same hour: kept


def test_registry_skips_files(client: BeiweClient, fresh: Emulator) -> None:
    pid = fresh.participants[0]
    files = fresh.files(pid, "accelerometer")
    skip = files[: len(files) // 2]
    registry = {f.storage_path.removeprefix("CHUNKED_DATA/"): f.sha1_b64 for f in skip}
    with client.download(
        fresh.study_id, participants=[pid], streams=["accelerometer"], registry=registry
    ) as archive:
        names = {m.plain_name for m in archive}
        assert names == {f.zip_name for f in files[len(files) // 2 :]}
        # With a registry the server answers SHA-1 values.
        assert set(archive.registry.values()) == {f.sha1_b64 for f in files[len(files) // 2 :]}
    record = [r for r in settled_log(fresh) if r.path == "/get-data/v2"][-1]
    assert record.status == 200


def test_empty_window_gives_empty_archive(client: BeiweClient, fresh: Emulator) -> None:
    start = datetime(2001, 1, 1, tzinfo=UTC)
    with client.download(fresh.study_id, start=start, end=start + timedelta(days=1)) as archive:
        assert archive.is_empty and archive.registry == {} and archive.has_registry


def test_local_validation_sends_nothing(client: BeiweClient, fresh: Emulator) -> None:
    with pytest.raises(InvalidDataStream, match="image_survey"):
        client.download(fresh.study_id, streams=["gps", "image_survey"])
    with pytest.raises(DuplicateParticipant):
        client.download(fresh.study_id, participants=[fresh.participants[0]] * 2)
    assert settled_log(fresh, 0) == []


def test_extract_and_save(client: BeiweClient, fresh: Emulator, tmp_path: Path) -> None:
    pid = fresh.participants[0]
    with client.download(fresh.study_id, participants=[pid], streams=["gps"], version=1) as archive:
        written = archive.extract_all(tmp_path / "out")
        assert len(written) == len(archive)
        for f in fresh.files(pid, "gps"):
            assert (tmp_path / "out" / f.zip_name).read_bytes() == f.data()
        saved = archive.save_as(tmp_path / "keep.zip")
    assert saved.exists()


def test_hostile_names_are_reported_not_extracted(
    client: BeiweClient, fresh: Emulator, tmp_path: Path
) -> None:
    fresh.add_hostile_member("../../evil.csv", b"pwned")
    fresh.add_hostile_member("/abs/evil.csv", b"pwned")
    pid = fresh.participants[0]
    with client.download(fresh.study_id, participants=[pid], streams=["gps"]) as archive:
        assert {m.name for m in archive.unsafe_members} == {"../../evil.csv", "/abs/evil.csv"}
        out = tmp_path / "out"
        archive.extract_all(out)
        assert not (tmp_path / "evil.csv").exists()
        assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))


@pytest.mark.parametrize("version", [1, 2])
def test_download_survives_faults(fresh: Emulator, version: int) -> None:
    fresh.set_faults("5xx=2,reset=1,truncate=1,downtime=2")
    expected = {f.zip_name: f.data() for f in fresh.files()}
    with BeiweClient(fresh.credentials, retries=6, backoff=0.01) as client:
        with client.download(fresh.study_id, version=version) as archive:
            _check_matches(archive, expected)
            assert archive.attempts == 7
        assert client.bytes_received > archive.size
    log = settled_log(fresh, 7)
    assert [r.status for r in log] == [503, 503, 500, 500, 200, 200, 200]
    assert sorted(r.fault for r in log[4:6]) == sorted(["reset", "truncate"])
    assert log[6].fault == ""


def test_download_gives_up_on_persistent_truncation(fresh: Emulator, tmp_path: Path) -> None:
    fresh.set_faults("truncate=always")
    with BeiweClient(fresh.credentials, retries=2, backoff=0.01) as client:
        with pytest.raises(TruncatedDownload, match="gave up after 3 attempts") as info:
            client.download(fresh.study_id, tmp_dir=tmp_path)
    assert info.value.bytes_received > 0
    assert list(tmp_path.iterdir()) == []
    assert len(settled_log(fresh, 3)) == 3


def test_download_gives_up_on_resets(fresh: Emulator, tmp_path: Path) -> None:
    fresh.set_faults("reset=always")
    with BeiweClient(fresh.credentials, retries=1, backoff=0.01) as client:
        with pytest.raises(ConnectionFailed, match="dropped while receiving"):
            client.download(fresh.study_id, tmp_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_persistent_5xx_and_maintenance(fresh: Emulator) -> None:
    with BeiweClient(fresh.credentials, retries=2, backoff=0.01) as client:
        fresh.set_faults("5xx=always")
        with pytest.raises(ServerError, match="500") as info:
            client.download(fresh.study_id)
        assert info.value.status == 500
        fresh.set_faults("downtime=always")
        with pytest.raises(ServerMaintenance, match="undergoing maintenance") as maint:
            client.studies()
        assert "maintenance" in maint.value.server_message
        assert maint.value.status == 503


def test_json_endpoints_retry_transient_faults(client: BeiweClient, fresh: Emulator) -> None:
    fresh.set_faults(
        "get-participant-ids:5xx=1,get-participant-ids:reset=1,downtime=1,get-participant-ids:content_type=1"
    )
    assert client.participant_ids(fresh.study_id) == sorted(
        fresh.participants + fresh.deleted_participants
    )
    assert [r.status for r in settled_log(fresh, 4)] == [503, 500, 200, 200]


def test_summary_statistics_request_shape(client: BeiweClient, fresh: Emulator) -> None:
    rows = list(
        client.summary_statistics(fresh.study_id, participant_ids=fresh.participants[:1], limit=1)
    )
    assert len(rows) == 1
    assert json.dumps(rows)  # plain JSON values
