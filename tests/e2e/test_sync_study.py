"""End-to-end: mano-sync against the emulator over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mano_files import derive_key, read_data_file
from mano_sync import (
    FolderLock,
    Manifest,
    PassphraseRequired,
    SyncLocked,
    SyncProgress,
    backfill,
    download,
    save,
    sync_study,
)
from mano_testing import Emulator
from tests.sync.helpers import (
    assert_tree_matches,
    fast_client,
    get_data_names,
    hidden_leftovers,
    tree_files,
)


def test_study_sync_noop_and_late_data(tmp_path: Path) -> None:
    """5 participants x 14 days x all streams, with `_2` collisions and legacy names."""
    out = tmp_path / "study"
    with Emulator(participants=5, days=14, seed=3, edge_cases=True, scale=0.1) as emu:
        files = emu.files()
        assert {f.stream for f in files} >= {"gps", "accelerometer", "survey_answers", "wifi"}
        events: list[SyncProgress] = []
        summary = sync_study(emu.credentials, emu.study_id, out, progress=events.append)
        assert summary.ok, summary.failed
        assert summary.new == len(files)
        assert summary.updated == 0
        assert summary.files_downloaded == len(files)
        assert_tree_matches(out, files)
        assert not hidden_leftovers(out)
        assert (
            sorted(p.name for p in out.iterdir() if p.name.startswith("."))
            == [
                ".mano-sync.lock",
                ".mano-sync.sqlite",
                ".mano-sync.sqlite-shm",
                ".mano-sync.sqlite-wal",
            ]
            or (out / ".mano-sync.sqlite").is_file()
        )
        # progress: a plan, files and bytes that add up, a done event
        assert events[0].event == "plan" and events[-1].event == "done"
        assert events[0].participants_total == len(emu.participants)
        # an estimate from the server's statistics, within a factor of 3 of the truth
        first_estimate = events[0].expected_bytes
        assert first_estimate is not None
        assert summary.bytes_downloaded / 3 < first_estimate < summary.bytes_downloaded * 3
        assert events[-1].files == len(files)
        assert events[-1].bytes == summary.bytes_downloaded > 0
        assert {e.participant for e in events if e.event == "participant"} == set(
            summary.participants
        )
        # the manifest has every file with its server hash and storage path
        with Manifest(out, readonly=True) as m:
            rows = {r.path: r for r in m.files()}
        assert len(rows) == len(files)
        by_key = {f.storage_path: f for f in files}
        keyed = [r for r in rows.values() if r.storage_key in by_key]
        assert len(keyed) == len(files)
        for r in keyed:
            assert r.sha1_b64 == by_key[r.storage_key].sha1_b64
            assert r.form == "plain"

        # second run: nothing transferred
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, out)
        assert again.ok and again.new == again.updated == 0
        assert again.unchanged == len(files)
        assert get_data_names(emu) == []
        assert_tree_matches(out, files)

        # late data: exactly the rewritten files come again
        rewritten = emu.late_data(count=6)
        emu.reset_log()
        late = sync_study(emu.credentials, emu.study_id, out)
        assert late.ok and late.updated == 6 and late.new == 0
        assert get_data_names(emu) == rewritten
        assert_tree_matches(out, emu.files())


def test_full_recheck_finds_late_data_without_statistics(tmp_path: Path) -> None:
    """recheck_days=None compares every file's hash server-side and transfers only changes."""
    out = tmp_path / "s"
    with Emulator(participants=2, days=5, seed=11) as emu:
        assert sync_study(emu.credentials, emu.study_id, out).ok
        rewritten = emu.late_data(count=4)
        emu.reset_log()
        summary = sync_study(
            emu.credentials, emu.study_id, out, recheck_days=None, use_file_hashes=False
        )
        assert summary.updated == 4
        assert get_data_names(emu) == rewritten
        assert_tree_matches(out, emu.files())


def test_faults_on(tmp_path: Path) -> None:
    out = tmp_path / "s"
    with Emulator(participants=3, days=3, seed=5) as emu:
        emu.set_faults("5xx=2,reset=1,truncate=1,downtime=2")
        with fast_client(emu) as client:
            summary = sync_study(emu.credentials, emu.study_id, out, client=client, workers=2)
        assert summary.ok, summary.failed
        log = emu.request_log
        assert {r.status for r in log} >= {500, 503}
        assert {r.fault for r in log if r.fault} >= {"reset", "truncate"}
        emu.set_faults(None)
        assert_tree_matches(out, emu.files())
        assert not hidden_leftovers(out)


@pytest.mark.parametrize(
    "hostile", ["../escaped.csv", "/tmp/abs-escape.csv", "C:\\evil.csv", "../../x/y.csv"]
)
def test_hostile_members_write_nothing_outside(tmp_path: Path, hostile: str) -> None:
    out = tmp_path / "inner" / "study"
    with Emulator(participants=1, days=1, seed=2) as emu:
        pid = emu.participants[0]
        emu.add_hostile_member(hostile, b"pwned")
        emu.add_hostile_member("zzzz9999/gps/2024-01-01 00_00_00+00_00.csv.zst", b"x")
        emu.add_hostile_member(f"{pid}/gps/evil.sh.zst", b"x")
        summary = sync_study(emu.credentials, emu.study_id, out)
        refused = sorted(f.name or "" for f in summary.failed)
        assert hostile in refused
        assert "zzzz9999/gps/2024-01-01 00_00_00+00_00.csv.zst" in refused
        assert f"{pid}/gps/evil.sh.zst" in refused
        assert all("refused zip member" in f.reason for f in summary.failed)
        emu.clear_hostile_members()
        assert_tree_matches(out, emu.files())
    everything = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(out in p.parents for p in everything), everything
    assert not any(b"pwned" in p.read_bytes() for p in everything)
    assert not Path("/tmp/abs-escape.csv").exists()


def test_locked_folder_refuses_second_run(tmp_path: Path) -> None:
    with Emulator(participants=1, days=1, seed=2) as emu:
        with FolderLock(tmp_path):
            with pytest.raises(SyncLocked, match="another mano sync is running"):
                sync_study(emu.credentials, emu.study_id, tmp_path)
        assert sync_study(emu.credentials, emu.study_id, tmp_path).ok


def test_v1_fallback(tmp_path: Path) -> None:
    with Emulator(participants=2, days=2, seed=4, v2=False) as emu:
        summary = sync_study(emu.credentials, emu.study_id, tmp_path)
        assert summary.ok and summary.version == 1
        assert {r.path for r in emu.request_log if r.path.startswith("/get-data")} >= {
            "/get-data/v1"
        }
        assert_tree_matches(tmp_path, emu.files())
        emu.reset_log()
        assert sync_study(emu.credentials, emu.study_id, tmp_path).new == 0
        assert get_data_names(emu) == []


def test_keep_compressed_and_lock(tmp_path: Path) -> None:
    with Emulator(participants=1, days=2, seed=6) as emu:
        with pytest.raises(PassphraseRequired):
            sync_study(emu.credentials, emu.study_id, tmp_path, lock=["gps"])
        summary = sync_study(
            emu.credentials,
            emu.study_id,
            tmp_path,
            keep_compressed=True,
            lock=["gps"],
            passphrase="correct horse",
        )
        assert summary.ok
        key = derive_key("correct horse")
        files = emu.files()
        for f in files:
            if f.stream == "gps":
                path = tmp_path / (f.zip_name + ".zst.lock")
                with read_data_file(path, key=key) as fh:
                    assert fh.read() == f.data()
            else:
                path = tmp_path / (f.zip_name + ".zst")
                assert (
                    zstandard.ZstdDecompressor().stream_reader(io.BytesIO(path.read_bytes())).read()
                    == f.data()
                )
        assert len(tree_files(tmp_path)) == len(files)
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, tmp_path, keep_compressed=True)
        assert again.new == again.updated == 0 and get_data_names(emu) == []


def test_backfill_old_call_order_and_lost_file(tmp_path: Path) -> None:
    with Emulator(participants=2, days=2, seed=8) as emu:
        pid = emu.participants[0]
        keyring = {"URL": emu.url, "ACCESS_KEY": emu.access_key, "SECRET_KEY": emu.secret_key}
        summary = backfill(keyring, emu.study_id, pid, str(tmp_path), None, None, ["gps", "wifi"])
        mine = [f for f in emu.files(pid) if f.stream in ("gps", "wifi")]
        assert summary.ok and summary.new == len(mine) > 0
        assert_tree_matches(tmp_path, mine)
        # a deleted and a damaged file are fetched again, nothing else
        lost, damaged = tmp_path / mine[0].zip_name, tmp_path / mine[1].zip_name
        lost.unlink()
        damaged.write_bytes(b"garbage")
        emu.reset_log()
        again = backfill(keyring, emu.study_id, pid, tmp_path, data_streams=["gps", "wifi"])
        assert again.updated + again.new == 2
        assert get_data_names(emu) == sorted([mine[0].zip_name, mine[1].zip_name])
        assert_tree_matches(tmp_path, mine)


def test_download_and_save(tmp_path: Path) -> None:
    with Emulator(participants=1, days=1, seed=9) as emu:
        pid = emu.participants[0]
        with download(emu.credentials, emu.study_id, [pid], ["gps"]) as archive:
            result = save(archive, tmp_path, study_id=emu.study_id)
        gps = emu.files(pid, "gps")
        assert result.new == len(gps) and not result.failed
        assert_tree_matches(tmp_path, gps)
        # save() recorded the files, so a sync of gps transfers nothing new
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, data_streams=["gps"])
        assert summary.new == 0 and get_data_names(emu) == []


def _b64(data: bytes, algo: str) -> str:
    return base64.b64encode(hashlib.new(algo, data).digest()).decode()


def _write_mano060_tree(out: Path, emu: Emulator, lock_streams: set[str], passphrase: str) -> None:
    """What mano 0.6.0's save() leaves behind: files at zip names, .registry, .backfill."""
    import cryptease

    key = cryptease.kdf(passphrase)
    for pid in emu.participants:
        registry: dict[str, str] = {}
        for f in emu.files(pid):
            target = out / f.zip_name
            target.parent.mkdir(parents=True, exist_ok=True)
            if f.stream in lock_streams:
                cryptease.encrypt(io.BytesIO(f.data()), key, filename=str(target) + ".lock")
            else:
                target.write_bytes(f.data())
            registry[f.storage_path] = _b64(f.data(), "md5") if f.chunked else ""
        (out / pid).mkdir(parents=True, exist_ok=True)
        (out / pid / ".registry").write_text(json.dumps(registry, indent=2))
        (out / pid / ".backfill").write_text("COMPLETE")


@pytest.mark.filterwarnings("ignore:CFB8 has been moved")  # cryptease uses the old import
@pytest.mark.parametrize("passphrase", [None, "pw"])
def test_adopt_mano060_tree(tmp_path: Path, passphrase: str | None) -> None:
    with Emulator(participants=2, days=2, seed=10) as emu:
        _write_mano060_tree(tmp_path, emu, {"gps", "survey_answers"}, "pw")
        before = tree_files(tmp_path)
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, passphrase=passphrase)
        assert summary.ok and summary.new == 0 and summary.updated == 0
        assert get_data_names(emu) == []
        assert tree_files(tmp_path) == before
        with Manifest(tmp_path, readonly=True) as m:
            rows = m.files()
        assert len(rows) == len(emu.files())
        locked = [r for r in rows if r.form == "lock"]
        assert locked and all((r.sha1_b64 is not None) == (passphrase is not None) for r in locked)
        # a late rewrite of an adopted file is detected and replaces it
        rewritten = emu.late_data(count=2)
        emu.reset_log()
        late = sync_study(emu.credentials, emu.study_id, tmp_path, passphrase=passphrase)
        assert late.updated == 2 and get_data_names(emu) == rewritten


def test_partial_runs_do_not_hide_older_data(tmp_path: Path) -> None:
    """A stream subset or a late start must not make a later full run skip old data."""
    with Emulator(participants=1, days=6, seed=12) as emu:
        files = emu.files()
        last_day = max(f.time_bin for f in files).date().isoformat()
        assert sync_study(emu.credentials, emu.study_id, tmp_path, data_streams=["gps"]).ok
        assert sync_study(emu.credentials, emu.study_id, tmp_path, start=last_day).ok
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path)
        assert summary.ok
        assert_tree_matches(tmp_path, files)
        fetched = get_data_names(emu)
        # exactly what the two partial runs did not already bring
        old_non_gps = sorted(
            f.zip_name
            for f in files
            if f.stream != "gps" and f.time_bin.date().isoformat() < last_day
        )
        assert fetched == old_non_gps


def test_file_hashes_endpoint_finds_old_late_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a server whose file-hashes endpoint works, changed old hours are found by it."""
    from mano_sync._ask import Asker

    with Emulator(participants=1, days=6, seed=13, profile="fixed") as emu:
        assert sync_study(emu.credentials, emu.study_id, tmp_path).ok
        # switch off the statistics signal so only the file-hash list can reveal the change
        monkeypatch.setattr(Asker, "changed_days", lambda self, pid, info: [])
        rewritten = emu.late_data(count=3)
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, recheck_days=0)
        assert summary.updated == 3
        assert get_data_names(emu) == rewritten
        assert any(r.path.startswith("/get-participant-file-hashes") for r in emu.request_log)
        assert_tree_matches(tmp_path, emu.files())


def test_unknown_participant_fails_alone(tmp_path: Path) -> None:
    with Emulator(participants=2, days=1, seed=14) as emu:
        real = emu.participants[0]
        summary = sync_study(
            emu.credentials, emu.study_id, tmp_path, participants=[real, "zz99zz99"]
        )
        assert not summary.ok
        assert [f.participant for f in summary.failed] == ["zz99zz99"]
        assert "zz99zz99" in summary.failed[0].reason
        assert_tree_matches(tmp_path, emu.files(real))


def test_registries_stay_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full re-check splits windows so no request carries more than MAX_REGISTRY entries."""
    import mano_sync._fetch as fetch_module
    import mano_sync._policy as policy

    with Emulator(participants=1, days=4, seed=15) as emu:
        assert sync_study(emu.credentials, emu.study_id, tmp_path).ok
        sizes: list[int] = []
        real = fetch_module.request_archive

        def spy(*args: object, **kwargs: object) -> object:
            registry = kwargs.get("registry")
            sizes.append(len(registry) if isinstance(registry, dict) else 0)
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(policy, "MAX_REGISTRY", 100)
        monkeypatch.setattr(fetch_module, "request_archive", spy)
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, recheck_days=None)
        assert summary.ok and summary.new == summary.updated == 0
        assert get_data_names(emu) == []
        n_files = len(emu.files())
        unchunked = sum(1 for f in emu.files() if not f.chunked)
        assert len(sizes) >= n_files // 100 and max(sizes) <= 100
        # every file once in the re-check, and the unchunked ones again in the sweep that
        # finds late survey answers and audio at any age
        assert sum(sizes) == n_files + unchunked


def test_participant_without_data_is_skipped(tmp_path: Path) -> None:
    with Emulator(participants=3, days=2, seed=1) as emu:
        empty = [p for p in emu.participants if not emu.files(p)]
        assert empty, "the seed should give one never-registered participant"
        summary = sync_study(emu.credentials, emu.study_id, tmp_path)
        for pid in empty:
            assert summary.participants[pid].skipped == "no data on the server"
            assert summary.participants[pid].requests == 0
            assert not (tmp_path / pid).exists()
        busy = [p for p in emu.participants if p not in empty]
        assert all(summary.participants[p].requests >= 1 for p in busy)
        n_data_requests = sum(1 for r in emu.request_log if r.path.startswith("/get-data"))
        assert n_data_requests == sum(summary.participants[p].requests for p in busy)


@pytest.mark.parametrize("one_shot", [True, False])
def test_parallel_member_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_shot: bool
) -> None:
    """Every member through the write pool: same tree, same manifest, collisions included.

    Also with every member streamed (no one-shot read of small members) and batched rows.
    """
    import mano_sync._save as saver

    monkeypatch.setattr(saver, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(saver, "_ROW_BATCH", 3)
    if not one_shot:
        monkeypatch.setattr(saver, "ONE_SHOT_MAX_BYTES", 0)
    with Emulator(participants=2, days=3, seed=16, edge_cases=True) as emu:
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, workers=1)
        assert summary.ok and summary.new == len(emu.files())
        assert_tree_matches(tmp_path, emu.files())
        with Manifest(tmp_path, readonly=True) as m:
            assert len(m) == len(emu.files())
        emu.reset_log()
        assert sync_study(emu.credentials, emu.study_id, tmp_path).new == 0
        assert get_data_names(emu) == []


def test_study_given_by_name(tmp_path: Path) -> None:
    with Emulator(participants=1, days=1, seed=17) as emu:
        assert sync_study(emu.credentials, emu.study_name, tmp_path).ok
        with Manifest(tmp_path, readonly=True) as m:
            assert m.study_id == emu.study_id
            keys = {r.storage_key for r in m.files()}
        assert keys == {f.storage_path for f in emu.files()}


@pytest.mark.filterwarnings("ignore:CFB8 has been moved")
def test_adopt_with_wrong_passphrase_falls_back_to_registry(tmp_path: Path) -> None:
    with Emulator(participants=1, days=1, seed=18) as emu:
        _write_mano060_tree(tmp_path, emu, {"gps"}, "right")
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, passphrase="wrong")
        assert summary.ok and summary.new == summary.updated == 0
        assert get_data_names(emu) == []


def test_saves_are_bounded_while_others_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four workers: at most SAVERS archives are saved at once, downloads go on meanwhile."""
    import threading
    import time

    import mano_sync._policy as policy
    import mano_sync._run as syncmod

    lock = threading.Lock()
    state = {"saving": 0, "most_saving": 0, "fetching": 0, "fetch_during_save": 0, "saves": 0}
    real_save, real_fetch = syncmod.save_archive, syncmod._Run.fetch

    def save_archive(*args: Any, **kwargs: Any) -> Any:
        with lock:
            state["saving"] += 1
            state["saves"] += 1
            state["most_saving"] = max(state["most_saving"], state["saving"])
        try:
            time.sleep(0.02)  # long enough for the other workers' downloads to run meanwhile
            return real_save(*args, **kwargs)
        finally:
            with lock:
                state["saving"] -= 1

    def fetch(self: Any, pid: str, window: Any) -> Any:
        with lock:
            state["fetching"] += 1
            state["fetch_during_save"] += state["saving"] > 0
        try:
            return real_fetch(self, pid, window)
        finally:
            with lock:
                state["fetching"] -= 1

    monkeypatch.setattr(syncmod, "save_archive", save_archive)
    monkeypatch.setattr(syncmod._Run, "fetch", fetch)
    monkeypatch.setattr(policy, "MIN_REQUEST_BYTES", 16 * 1024)  # several windows each
    with Emulator(participants=4, days=4, seed=18) as emu:
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, workers=4)
        assert summary.ok and summary.new == len(emu.files())
        assert_tree_matches(tmp_path, emu.files())
    assert 1 <= state["most_saving"] <= policy.SAVERS < 4
    assert state["saves"] > 4  # windows, not one archive per participant
    assert state["fetch_during_save"] > 0


def _manifest_rows(out: Path) -> dict[str, tuple[Any, ...]]:
    with Manifest(out, readonly=True) as m:
        return {
            # not zip_name: which of two same-hour files the server calls `_2` varies by run
            r.path: (r.storage_key, r.size, r.size_on_disk, r.sha1_b64, r.form)
            for r in m.files()
        }


@pytest.mark.parametrize("helper", ["none", "dies"])
def test_same_tree_without_helpers_or_when_one_dies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, helper: str
) -> None:
    """Small files are stored by helper processes; the result must not depend on them."""
    import mano_files._writer as writer_mod
    import mano_sync._sync as syncmod

    with Emulator(participants=3, days=3, seed=19, edge_cases=True) as emu:
        ref = tmp_path / "ref"
        assert sync_study(emu.credentials, emu.study_id, ref, workers=2).ok
        if helper == "none":
            monkeypatch.setattr(syncmod, "_start_writer", lambda: None)
        else:
            real_receive = writer_mod.WriterProcess.receive
            calls = {"n": 0}

            def receive(self: Any) -> Any:
                calls["n"] += 1
                if calls["n"] == 2:  # mid-run, with batches in flight: the helper is killed
                    self._proc.kill()
                    self._proc.wait()
                return real_receive(self)

            monkeypatch.setattr(writer_mod.WriterProcess, "receive", receive)
            monkeypatch.setattr("mano_sync._save._WRITER_BATCH", 16)
        out = tmp_path / "out"
        summary = sync_study(emu.credentials, emu.study_id, out, workers=2)
        assert summary.ok and summary.new == len(emu.files())
        assert_tree_matches(out, emu.files())
        assert tree_files(out) == tree_files(ref)
        assert _manifest_rows(out) == _manifest_rows(ref)
        assert hidden_leftovers(out) == hidden_leftovers(ref)
        if helper == "dies":
            assert calls["n"] >= 2


def test_helpers_start_only_when_there_are_files_to_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mano_sync._sync as syncmod

    started: list[Any] = []
    real = syncmod._start_writer

    def start() -> Any:
        w = real()
        started.append(w)
        return w

    monkeypatch.setattr(syncmod, "_start_writer", start)
    monkeypatch.setattr("mano_files._writer.WriterProcess.usable", staticmethod(lambda: True))
    with Emulator(participants=2, days=2, seed=20) as emu:
        assert sync_study(emu.credentials, emu.study_id, tmp_path, workers=2).new > 0
        assert 1 <= len(started) <= syncmod.SAVERS
        assert all(w is None or not w.alive for w in started)  # closed at the end
        started.clear()
        summary = sync_study(emu.credentials, emu.study_id, tmp_path, workers=2)
        assert summary.ok and summary.new == 0
        assert started == []  # a re-sync with nothing new starts no helper process
