"""Re-syncs trust folders that did not change since their files were verified, and only those."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sqlite3
import types
from pathlib import Path
from typing import Any

import pytest

from mano_sync import FolderLock, Manifest, ManifestFile, SyncProgress, SyncSummary, sync_study
from mano_sync._record import LocalTree
from mano_testing import Emulator
from tests.sync.helpers import assert_tree_matches, get_data_names

STREAMS = ["gps", "wifi", "accelerometer"]


def _folder_states(out: Path) -> dict[str, tuple[int | None, int | None, int | None]]:
    with Manifest(out, readonly=True) as m:
        pids = {r.participant for r in m.files()}
        return {d: (ino, mt, ct) for p in pids for d, ino, mt, ct in m.dirs(p)}


def _stat(out: Path, folder: str) -> tuple[int, int, int]:
    st = os.stat(out / folder)
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _first_sync(emu: Emulator, out: Path) -> list[Any]:
    """Sync the test streams into ``out``; returns the emulator's files of those streams."""
    assert sync_study(emu.credentials, emu.study_id, out, data_streams=STREAMS).ok
    return [f for f in emu.files() if f.stream in STREAMS]


def _again(emu: Emulator, out: Path, **options: Any) -> SyncSummary:
    """Sync again with a fresh request log; the run must succeed."""
    emu.reset_log()
    summary = sync_study(emu.credentials, emu.study_id, out, data_streams=STREAMS, **options)
    assert summary.ok, summary.failed
    return summary


def _edit_in_place(path: Path, data: bytes) -> None:
    """Rewrite a file's bytes without touching its folder (as `df.to_csv(same_path)` does)."""
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(data)


def test_first_sync_leaves_every_folder_verified(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=2, days=2, seed=21) as emu:
        summary = sync_study(emu.credentials, emu.study_id, out, data_streams=STREAMS)
        assert summary.ok and summary.new > 0
        files = [f for f in emu.files() if f.stream in STREAMS]
        states = _folder_states(out)
        # one row per folder holding files, each with the folder's state as it is now
        assert set(states) == {f.zip_name.rsplit("/", 1)[0] + "/" for f in files}
        assert states == {d: _stat(out, d) for d in states}


def test_changed_folders_are_checked_file_by_file(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=2, days=2, seed=22) as emu:
        files = _first_sync(emu, out)
        gps = [f for f in files if f.stream == "gps"]
        # gps: one file deleted, another replaced (rename) by different bytes
        (out / gps[0].zip_name).unlink()
        replacement = out / gps[1].zip_name.replace(".csv", ".new")
        replacement.write_bytes(b"not the data\n")
        os.replace(replacement, out / gps[1].zip_name)
        again = _again(emu, out)
        assert again.updated + again.new == 2
        assert get_data_names(emu) == sorted([gps[0].zip_name, gps[1].zip_name])
        assert (out / gps[1].zip_name).read_bytes() == gps[1].data()
        # every folder is verified again, at its new state
        states = _folder_states(out)
        assert states == {d: _stat(out, d) for d in states}


def test_unchanged_folder_is_trusted_unless_asked_to_verify(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=1, days=2, seed=23) as emu:
        files = _first_sync(emu, out)
        victim = next(f for f in files if f.stream == "accelerometer")
        folder = victim.zip_name.rsplit("/", 1)[0] + "/"
        before = _stat(out, folder)
        _edit_in_place(out / victim.zip_name, b"edited\n")
        assert _stat(out, folder) == before  # the folder cannot tell
        trusted = _again(emu, out)
        assert trusted.new == trusted.updated == 0
        assert get_data_names(emu) == []
        checked = _again(emu, out, verify_files=True)
        assert checked.updated + checked.new == 1
        assert get_data_names(emu) == [victim.zip_name]
        assert_tree_matches(out, files)


@pytest.mark.parametrize("stamp", [0, None])
def test_folder_changed_in_the_stamps_clock_tick_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stamp: int | None
) -> None:
    """A folder whose last change is not older than the run's time stamp stays unverified.

    Coarse file-system clocks give two changes a few milliseconds apart the same time, so a
    folder changed in the stamp's tick could change again unseen; the stamp is pinned to the
    epoch here to make every folder look that recent (``None``: a file system that would not
    set the lock file's times at all).
    """
    out = tmp_path / "study"
    monkeypatch.setattr(FolderLock, "touch", lambda self: stamp)
    with Emulator(participants=1, days=2, seed=24) as emu:
        files = _first_sync(emu, out)
        assert set(_folder_states(out).values()) == {(None, None, None)}
        victim = files[0]
        _edit_in_place(out / victim.zip_name, b"edited\n")
        again = _again(emu, out)
        assert again.updated + again.new == 1
        assert get_data_names(emu) == [victim.zip_name]
        assert_tree_matches(out, files)


def test_manifest_from_before_folder_states_is_checked_then_trusted(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=1, days=2, seed=25) as emu:
        files = _first_sync(emu, out)
        # what schema 1 looked like: no folder table, an index on storage_key
        db = sqlite3.connect(out / ".mano-sync.sqlite")
        with db:
            db.execute("DROP TABLE dirs")
            db.execute("CREATE INDEX files_by_key ON files (storage_key)")
            db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
        db.close()
        victim = files[-1]
        _edit_in_place(out / victim.zip_name, b"edited\n")
        again = _again(emu, out)
        assert again.updated + again.new == 1
        assert get_data_names(emu) == [victim.zip_name]
        states = _folder_states(out)
        assert set(states) == {f.zip_name.rsplit("/", 1)[0] + "/" for f in files}
        assert states == {d: _stat(out, d) for d in states}
        assert_tree_matches(out, files)
        db = sqlite3.connect(out / ".mano-sync.sqlite")
        schema = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        indexes = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")]
        db.close()
        assert schema == ("2",) and "files_by_key" not in indexes


def test_recorded_rows_list_their_folder(tmp_path: Path) -> None:
    row = ManifestFile(
        path="p1/survey_answers/abc/2024-01-01 00_00_00+00_00.csv",
        participant="p1",
        stream="survey_answers",
        time_bin=0,
        zip_name="x",
        storage_key=None,
        size=1,
        size_on_disk=1,
        sha1_b64=None,
        md5_b64=None,
        form="plain",
        mtime_ns=0,
        fetched_at="now",
    )
    with Manifest(tmp_path, study_id="s" * 24) as m:
        m.record(row)
        m.record_many([dataclasses.replace(row, path="p1/gps/a.csv", stream="gps")])
        assert sorted(m.dirs("p1")) == [
            ("p1/gps/", None, None, None),
            ("p1/survey_answers/abc/", None, None, None),
        ]
        assert m.dir_entries("p1/survey_answers/abc/") == [
            ("p1/survey_answers/abc/2024-01-01 00_00_00+00_00.csv", "plain", 1, 0, "survey_answers")
        ]
        assert m.dir_entries("p1/survey_answers/") == []  # files of subfolders are not its own


def test_lost_file_is_fetched_even_if_the_run_that_noticed_it_stopped(tmp_path: Path) -> None:
    """Noticing a lost file forgets its row; the next run must still know to fetch it."""
    out = tmp_path / "study"
    with Emulator(participants=1, days=8, seed=26) as emu:
        assert sync_study(emu.credentials, emu.study_id, out, data_streams=["gps"]).ok
        files = emu.files(stream="gps")
        oldest = files[0]  # days before the re-checked recent ones
        assert files[-1].time_bin - oldest.time_bin > dt.timedelta(days=5)
        (out / oldest.zip_name).unlink()

        def stop_at_first_request(event: SyncProgress) -> None:
            if event.event == "request":
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            sync_study(
                emu.credentials,
                emu.study_id,
                out,
                data_streams=["gps"],
                progress=stop_at_first_request,
                workers=1,
            )
        assert not (out / oldest.zip_name).exists()
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, out, data_streams=["gps"])
        assert again.ok and again.new + again.updated == 1
        assert get_data_names(emu) == [oldest.zip_name]
        assert_tree_matches(out, files)


def test_file_system_that_never_moves_folder_times_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some FUSE and object-store mounts report fixed folder times: trust nothing there."""
    frozen = types.SimpleNamespace(st_ino=1, st_mtime_ns=10**9, st_ctime_ns=10**9)
    monkeypatch.setattr(LocalTree, "_folder_stat", lambda self, folder: frozen)
    out = tmp_path / "study"
    with Emulator(participants=1, days=2, seed=27) as emu:
        files = _first_sync(emu, out)
        with Manifest(out, readonly=True) as m:
            assert m.get_meta("folder_times") == "unreliable"
        assert set(_folder_states(out).values()) == {(None, None, None)}
        victim = files[0]
        _edit_in_place(out / victim.zip_name, b"edited\n")  # no folder could tell anyway
        again = _again(emu, out)
        assert again.updated + again.new == 1
        assert get_data_names(emu) == [victim.zip_name]
        assert_tree_matches(out, files)
        # folder times that move again (the verdict may have come from a clock step) are
        # trusted again once a run writes
        monkeypatch.undo()
        rewritten = [n for n in emu.late_data(count=8) if n.split("/")[1] in STREAMS]
        assert rewritten and _again(emu, out).updated == len(rewritten)
        with Manifest(out, readonly=True) as m:
            assert m.get_meta("folder_times") == "ok"
        states = _folder_states(out)
        assert states == {d: _stat(out, d) for d in states}
