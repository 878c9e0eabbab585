"""Synthetic studies: determinism, formats per docs/beiwe-server.md#streams, gaps, late data, scale and data_dir."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mano_testing import ALL_DATA_STREAMS, Emulator
from mano_testing._synth import header_for
from tests.testing._http import get_data

Factory = Callable[..., Emulator]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "real-get-data-v1-response.zip"
ANDROID_ONLY = {"app_log", "bluetooth", "calls", "texts", "wifi"}
IOS_ONLY = {"devicemotion", "ios_log", "proximity", "reachability"}


def _download_all(emu: Emulator, version: int) -> tuple[dict[str, bytes], bytes]:
    archive = get_data(emu, version).zip()
    return {n: archive.read(n) for n in archive.namelist() if n != "registry"}, archive.read(
        "registry"
    )


def test_same_seed_gives_byte_identical_data_and_registries() -> None:
    kwargs = {"participants": 3, "days": 2, "seed": 42, "shuffle": False}
    with Emulator(**kwargs) as a, Emulator(**kwargs) as b:  # type: ignore[arg-type]
        assert (a.study_id, a.participants, a.keys) == (b.study_id, b.participants, b.keys)
        for version in (1, 2):
            data_a, reg_a = _download_all(a, version)
            data_b, reg_b = _download_all(b, version)
            assert data_a == data_b and len(data_a) > 100
            assert reg_a == reg_b
        assert [(f.zip_name, f.sha1_b64) for f in a.files()] == [
            (f.zip_name, f.sha1_b64) for f in b.files()
        ]


def test_different_seed_differs() -> None:
    a = Emulator(participants=2, days=1, seed=1)
    b = Emulator(participants=2, days=1, seed=2)
    assert a.study_id != b.study_id and a.participants != b.participants


def test_determinism_across_processes() -> None:
    code = (
        "import hashlib\nfrom mano_testing import Emulator\n"
        "emu = Emulator(participants=2, days=1, seed=9)\n"
        "h = hashlib.sha1()\n"
        "for f in emu.files(): h.update(f.storage_path.encode() + f.data())\n"
        "print(h.hexdigest())\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(outputs) == 1 and len(outputs.pop()) == 40


def test_ids_and_paths(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    sid = emu.study_id
    chunk_path = re.compile(
        rf"CHUNKED_DATA/{sid}/[a-z1-9]{{8}}/[a-z_]+/(?:[A-Za-z0-9]{{24}}/)?\d{{4}}-\d\d-\d\dT\d\d:00:00\.csv"
    )
    for f in emu.files():
        assert f.zip_name.startswith(f"{f.participant}/{f.stream}/")
        if f.chunked:
            assert chunk_path.fullmatch(f.storage_path), f.storage_path
            assert f.time_bin.minute == f.time_bin.second == 0
            assert f.zip_name.endswith(f.time_bin.strftime("%Y-%m-%d %H_00_00+00_00.csv"))
        else:
            assert f.storage_path.startswith(f"{sid}/{f.participant}/")
            ms = int(f.storage_path.rsplit("/", 1)[1].split(".")[0])
            assert ms // 1000 == int(f.time_bin.timestamp())
            assert f.time_bin.microsecond == 0
        if f.stream in ("survey_answers", "survey_timings", "audio_recordings"):
            assert f.survey_id is not None and re.fullmatch(r"[A-Za-z0-9]{24}", f.survey_id)
            assert f"/{f.survey_id}/" in f.zip_name and f"/{f.survey_id}/" in f.storage_path


def test_chunked_csv_format(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    checked = 0
    for f in emu.files():
        if not f.chunked:
            continue
        text = f.data().decode()
        assert not text.endswith("\n")
        lines = text.split("\n")
        assert lines[0] == header_for(f.stream, emu.participant_os(f.participant))
        width = lines[0].count(",")
        hour = int(f.time_bin.timestamp()) * 1000
        stamps = []
        for line in lines[1:]:
            fields = line.split(",")
            assert len(fields) == width + 1, (f.zip_name, line)
            ts = int(fields[0])
            assert hour <= ts < hour + 3_600_000
            when = datetime.fromtimestamp(ts / 1000, UTC)
            assert fields[1] == when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}"
            stamps.append(ts)
        assert stamps == sorted(stamps) and len(set(lines)) == len(lines)
        checked += 1
    assert checked > 100


def test_streams_follow_os(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    seen: dict[str, set[str]] = {"ANDROID": set(), "IOS": set()}
    for f in emu.files():
        seen[emu.participant_os(f.participant)].add(f.stream)
    assert seen["ANDROID"] and seen["IOS"]
    assert not seen["ANDROID"] & IOS_ONLY and not seen["IOS"] & ANDROID_ONLY
    assert seen["ANDROID"] | seen["IOS"] == set(ALL_DATA_STREAMS)


def test_gaps_stopper_and_silent_participant() -> None:
    emu = Emulator(participants=4, days=10, seed=5)
    world = emu._state.world
    roles = {p.patient_id: p for p in world.studies[emu.study_id].participants}
    silent = [pid for pid, p in roles.items() if p.role == "no_data"]
    stopper = [pid for pid, p in roles.items() if p.role == "stops_early"]
    assert len(silent) == 1 and emu.files(silent[0]) == []
    last_day = roles[stopper[0]].last_day
    assert last_day < 10
    assert max(f.time_bin for f in emu.files(stopper[0])) < emu.start_date + timedelta(
        days=last_day
    )
    full = [pid for pid, p in roles.items() if p.role == "full"][0]
    hours = {f.time_bin for f in emu.files(full, "accelerometer")}
    assert len(hours) < 10 * 24  # missing hours exist


def test_unchunked_content(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    kinds = {f.stream: f for f in emu.files() if not f.chunked}
    assert set(kinds) == {"survey_answers", "audio_recordings", "ambient_audio"}
    answers = kinds["survey_answers"].data().decode()
    assert (
        answers.split("\n")[0]
        == "question id,question type,question text,question answer options,answer"
    )
    for f in emu.files(stream="audio_recordings"):
        data = f.data()
        if f.zip_name.endswith(".wav"):
            assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
        else:
            assert data[4:8] == b"ftyp"
    assert kinds["ambient_audio"].zip_name.endswith(".mp4")


def test_identifiers_file(beiwe_emulator: Emulator) -> None:
    for pid in beiwe_emulator.participants:
        files = beiwe_emulator.files(pid, "identifiers")
        if not files:
            continue
        (f,) = files
        header, row = f.data().decode().split("\n")
        fields = row.split(",")
        assert fields[0].endswith("000") and fields[2] == pid
        assert len(fields) == header.count(",") + 1


def test_matches_real_server_fixture() -> None:
    """Generated gps/identifiers files look like the recorded production ones."""
    real = zipfile.ZipFile(FIXTURE)
    real_names = [n for n in real.namelist() if not n.endswith("/") and n != "registry"]
    with Emulator(participants=2, days=2, seed=3) as emu:
        ours = get_data(emu, 1, data_streams='["gps","identifiers"]').zip()
        our_names = [n for n in ours.namelist() if n != "registry"]
        # names: same shape once the older server's missing +00_00 suffix is accounted for
        shape = re.compile(r"[a-z0-9]{8}/(gps|identifiers)/\d{4}-\d\d-\d\d \d\d_00_00\.csv")
        assert all(shape.fullmatch(n) for n in real_names)
        assert all(shape.fullmatch(n.replace("+00_00", "")) for n in our_names)
        assert all(n.endswith("+00_00.csv") for n in our_names)
        for stream in ("gps", "identifiers"):
            real_file = real.read(next(n for n in real_names if f"/{stream}/" in n)).decode()
            our_file = ours.read(next(n for n in our_names if f"/{stream}/" in n)).decode()
            assert real_file.split("\n")[0] == our_file.split("\n")[0]
            for text in (real_file, our_file):
                row = text.split("\n")[1].split(",")
                assert re.fullmatch(r"\d{13}", row[0])
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", row[1])
                assert len(row) == text.split("\n")[0].count(",") + 1
                assert not text.endswith("\n")
        key = re.compile(
            r"CHUNKED_DATA/[A-Za-z0-9]{24}/[a-z0-9]{8}/(gps|identifiers)/\d{4}-\d\d-\d\dT\d\d:00:00\.csv"
        )
        import json

        assert all(key.fullmatch(k) for k in json.loads(real.read("registry")))
        assert all(key.fullmatch(k) for k in json.loads(ours.read("registry")))


def test_late_data_rewrites_chunks(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    before = {f.zip_name: f for f in emu.files()}
    changed = emu.late_data(count=4)
    assert len(changed) == 4 and changed == sorted(changed)
    after = {f.zip_name: f for f in emu.files()}
    for name in changed:
        old, new = before[name], after[name]
        assert old.chunked and new.storage_path == old.storage_path
        assert new.sha1_b64 != old.sha1_b64 and new.md5_b64 != old.md5_b64
        assert new.size > old.size and new.generation == old.generation + 1
        assert old.data() != new.data()  # the old snapshot keeps its bytes
        lines = new.data().decode().split("\n")
        stamps = [int(line.split(",")[0]) for line in lines[1:]]
        assert stamps == sorted(stamps)
    unchanged = set(before) - set(changed)
    assert all(before[n].sha1_b64 == after[n].sha1_b64 for n in unchanged)
    archive = get_data(emu, 1).zip()
    assert archive.read(changed[0]) == after[changed[0]].data()


def test_scale_grows_files() -> None:
    small = Emulator(participants=1, days=1, seed=4)
    big = Emulator(participants=1, days=1, seed=4, scale=8)
    s = sum(f.size for f in small.files(stream="accelerometer"))
    b = sum(f.size for f in big.files(stream="accelerometer"))
    assert b > 5 * s


def test_data_dir_persists_and_is_reused(tmp_path: Path) -> None:
    first = Emulator(participants=1, days=1, seed=8, data_dir=tmp_path)
    sums = [(f.storage_path, f.sha1_b64, f.zst()) for f in first.files()]
    objects = list((tmp_path / "objects").rglob("*.zst"))
    assert len(objects) == len(sums)
    assert not [p for p in (tmp_path / "objects").rglob("*") if p.name.endswith(".tmp")]
    second = Emulator(participants=1, days=1, seed=8, data_dir=tmp_path)
    assert [(f.storage_path, f.sha1_b64, f.zst()) for f in second.files()] == sums
    assert len(list((tmp_path / "objects").rglob("*.zst"))) == len(objects)


def test_cache_eviction_rerenders_identically() -> None:
    emu = Emulator(participants=1, days=1, seed=8, cache_bytes=1)
    files = emu.files(stream="accelerometer")
    first = [f.data() for f in files]
    assert [f.data() for f in files] == first
