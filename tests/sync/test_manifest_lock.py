"""Manifest (SQLite) and folder lock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mano_sync import FolderLock, Manifest, ManifestError, ManifestFile, SyncLocked

STUDY = "5873fe38644ad7557b168e43"


def _row(path: str, t: int = 1601863200, key: str | None = "k") -> ManifestFile:
    return ManifestFile(
        path=path,
        participant=path.split("/")[0],
        stream=path.split("/")[1],
        time_bin=t,
        zip_name=path,
        storage_key=key,
        size=10,
        size_on_disk=10,
        sha1_b64="x" * 28,
        md5_b64=None,
        form="plain",
        mtime_ns=1,
        fetched_at="2026-01-01T00:00:00+00:00",
    )


def test_manifest_round_trip(tmp_path: Path) -> None:
    with Manifest(tmp_path, study_id=STUDY) as m:
        m.record(_row("p1/gps/a.csv", 100, "k1"))
        m.record(_row("p1/gps/b.csv", 200, "k2"))
        m.record(_row("p2/gps/a.csv", 300, None))
        m.update_participant("p1", synced_through=7200, success=True)
    assert (tmp_path / ".mano-sync.sqlite").is_file()
    with Manifest(tmp_path / ".mano-sync.sqlite", readonly=True) as m:
        assert m.study_id == STUDY
        assert len(m) == 3
        assert [r.path for r in m.files("p1")] == ["p1/gps/a.csv", "p1/gps/b.csv"]
        assert [r.path for r in m.files("p1", start=150)] == ["p1/gps/b.csv"]
        assert m.by_storage_key("k2") == _row("p1/gps/b.csv", 200, "k2")
        state = m.participant("p1")
        assert (state.first_hour, state.last_hour, state.synced_through) == (100, 200, 7200)
        assert state.last_success is not None
        assert m.participant("nobody").synced_through is None


def test_manifest_refuses_other_study(tmp_path: Path) -> None:
    Manifest(tmp_path, study_id=STUDY).close()
    with pytest.raises(ManifestError, match="holds study"):
        Manifest(tmp_path, study_id="x" * 24)


def test_readonly_manifest_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest"):
        Manifest(tmp_path / "nothing.sqlite", readonly=True)


def test_lock_is_exclusive_in_process(tmp_path: Path) -> None:
    with FolderLock(tmp_path):
        with pytest.raises(SyncLocked) as info:
            FolderLock(tmp_path).acquire()
        assert "pid " in str(info.value)
    with FolderLock(tmp_path) as again:
        assert again.held
    assert (tmp_path / ".mano-sync.lock").exists()


def test_lock_from_killed_process_is_not_stale(tmp_path: Path) -> None:
    code = (
        "import os, sys; from mano_sync import FolderLock; "
        f"FolderLock({str(tmp_path)!r}).acquire(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    # the lock file is still there but the kernel dropped the lock with the process
    with FolderLock(tmp_path) as lock:
        assert lock.held


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    code = (
        "import sys, time; from mano_sync import FolderLock; "
        f"FolderLock({str(tmp_path)!r}).acquire(); print('locked', flush=True); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(SyncLocked, match="another mano sync is running"):
            FolderLock(tmp_path).acquire()
    finally:
        proc.kill()
        proc.wait()


def test_manifest_record_many_inserts_and_replaces(tmp_path: Path) -> None:
    rows = [_row(f"p1/gps/{i:04d}.csv", 100 + i, f"k{i}") for i in range(600)]
    with Manifest(tmp_path, study_id=STUDY) as m:
        m.record_many([])
        m.record_many(rows[:300])
        m.record_many(iter(rows[300:]))
        newer = _row("p1/gps/0007.csv", 107, "k7-new")
        m.record_many([newer])
        assert len(m) == 600
    with Manifest(tmp_path / ".mano-sync.sqlite", readonly=True) as m:
        got = m.files("p1")
        assert [r.path for r in got] == [r.path for r in rows]
        assert got[7] == newer
        assert got[599] == rows[599]
        assert m.by_storage_key("k7") is None


def test_lock_touch_stamps_with_the_file_systems_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import time

    with FolderLock(tmp_path) as lock:
        before = time.time_ns()
        stamp = lock.touch()
        assert stamp is not None and stamp == os.stat(lock.path).st_ctime_ns
        assert before - 10**9 < stamp < time.time_ns() + 10**9
        # a mount that refuses utime: rewriting the holder line sets the times instead
        time.sleep(0.02)

        def refuse(*args: object, **kwargs: object) -> None:
            raise PermissionError("utime not allowed here")

        monkeypatch.setattr(os, "utime", refuse)
        later = lock.touch()
        assert later is not None and later > stamp
        assert lock.path.read_text().startswith("pid ")
        # and one that refuses both: no stamp, so nothing will be trusted by it
        monkeypatch.setattr(os, "pwrite", refuse)
        assert lock.touch() is None
    with pytest.raises(RuntimeError):
        lock.touch()
