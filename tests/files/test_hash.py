"""hash_tree with its persistent cache, and verify_tree against manifests."""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import warnings
from collections.abc import Callable
from pathlib import Path

import cryptease
import pytest

import mano_files
from mano_files import (
    CACHE_NAME,
    HashCache,
    KeyRequired,
    ManifestError,
    compress_tree,
    hash_tree,
    lock_tree,
    sha1_b64_file,
    verify_tree,
)
from tests.files.conftest import PID, relpath_for, sha1_b64

Tree = Callable[..., dict[str, bytes]]


def _age(root: Path, seconds: int = 10) -> None:
    """Make every file older than the race window of the cache."""
    past = (os.stat(root).st_mtime - seconds) * 1e9
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, ns=(int(past), int(past)))


def test_hash_every_form_equals_sha1_of_plain(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=2)
    compress_tree(root, streams=["accelerometer", "wifi"], delete_original=True)
    lock_tree(root, "pw", streams=["gps", "audio_recordings"])
    legacy = root / relpath_for("texts")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cryptease.encrypt(
            io.BytesIO(legacy.read_bytes()), cryptease.kdf("pw"), filename=f"{legacy}.lock"
        )
    legacy.unlink()
    forms = {p.name.split(".csv")[-1] for p in root.rglob("*.csv*")}
    assert forms == {"", ".zst", ".zst.lock", ".lock"}
    summary = hash_tree(root, passphrase="pw", cache=False)
    assert summary.ok
    assert summary.hashes == {rel: sha1_b64(data) for rel, data in original.items()}
    assert summary.bytes_out == sum(len(d) for d in original.values())
    assert not (root / CACHE_NAME).exists()
    without = hash_tree(root, cache=False)
    assert len(without.failed) == 5  # 4 .zst.lock + 1 .lock need the passphrase
    assert all("passphrase" in f.reason for f in without.failed)
    with pytest.raises(KeyRequired):
        sha1_b64_file(f"{legacy}.lock")


def test_cache_makes_rehash_stat_only(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=2)
    _age(root)
    cold = hash_tree(root)
    assert cold.done == len(original)
    assert (root / CACHE_NAME).exists()
    with HashCache(root) as store:
        assert len(store.load()) == len(original)
    with sqlite3.connect(root / CACHE_NAME) as db:  # one row per folder, not per file
        assert db.execute("SELECT count(*) FROM folders").fetchone()[0] == len(
            {rel.rsplit("/", 1)[0] for rel in original}
        )

    calls: list[str | Path] = []
    real = mano_files._tree._hash_path

    def counting(path: str | Path, key: object) -> tuple[str, int]:
        calls.append(path)
        return real(path, key)  # type: ignore[arg-type]

    monkeypatch.setattr(mano_files._tree, "_hash_path", counting)
    warm = hash_tree(root)
    assert calls == []
    assert warm.hashes == cold.hashes
    only = hash_tree(root, streams=["gps", "survey_answers"])
    assert calls == []
    assert only.hashes == {
        k: v for k, v in cold.hashes.items() if k.split("/")[1] in ("gps", "survey_answers")
    }
    assert len(only.hashes) == 4
    # an edit (same size, new mtime) and a growth are both noticed
    edited = root / relpath_for("gps")
    data = bytearray(edited.read_bytes())
    data[-1] = ord("9") if data[-1] != ord("9") else ord("8")
    edited.write_bytes(bytes(data))
    os.utime(edited, ns=(1_000_000_000, 1_000_000_000))
    grown = root / relpath_for("wifi")
    grown.write_bytes(grown.read_bytes() + b"\n1,2,3")
    os.utime(grown, ns=(2_000_000_000, 2_000_000_000))
    again = hash_tree(root)
    assert sorted(map(str, calls)) == sorted([str(edited), str(grown)])
    assert again.hashes[relpath_for("gps")] == sha1_b64(bytes(data))
    assert again.hashes[relpath_for("wifi")] != cold.hashes[relpath_for("wifi")]


def test_recent_files_are_not_trusted_from_cache(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    make_tree(root, pids=(PID,), hours=1)
    _age(root, -30)  # modified "now" (in the future even): racy, not cached
    hash_tree(root)
    with HashCache(root) as cache:
        assert cache.load() == {}
    _age(root)
    hash_tree(root)
    with HashCache(root) as cache:
        assert len(cache.load()) == 19


def test_cache_found_from_a_sub_folder_and_corrupt_cache_rebuilt(
    tmp_path: Path, make_tree: Tree
) -> None:
    root = tmp_path / "study"
    make_tree(root, pids=(PID,), hours=1)
    _age(root)
    hash_tree(root)
    sub = hash_tree(root / PID / "gps")
    assert list(sub.hashes) == [relpath_for("gps")]
    assert not (root / PID / "gps" / CACHE_NAME).exists()
    (root / CACHE_NAME).write_bytes(b"this is not sqlite" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{root / CACHE_NAME}{suffix}").unlink(missing_ok=True)
    rebuilt = hash_tree(root)
    assert rebuilt.ok and len(rebuilt.hashes) == 19


def test_verify_against_manifest(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=1)
    compress_tree(root, streams=["gps"], delete_original=True)
    manifest: dict[str, str | None] = {rel: sha1_b64(d) for rel, d in original.items()}
    report = verify_tree(root, manifest)
    assert report.ok and report.matched == 19
    assert report.missing == report.mismatched == report.extra == []
    # a mismatch, a missing file, an extra file, a hex value, a T-separated key, a .zst key
    mism = relpath_for("wifi")
    manifest[mism] = sha1_b64(b"something else")
    gone = f"{PID}/calls/2020-10-05 09_00_00+00_00.csv"
    manifest[gone] = sha1_b64(b"x")
    extra = relpath_for("texts")
    del manifest[extra]
    acc = relpath_for("accelerometer")
    manifest[acc] = base64.b64decode(manifest[acc] or "").hex()
    gps = relpath_for("gps")
    del manifest[gps]
    manifest[gps.replace("2020-10-05 ", "2020-10-05T") + ".zst"] = sha1_b64(original[gps])
    manifest[relpath_for("magnetometer")] = ""
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    report = verify_tree(root, path)
    assert report.mismatched == [mism]
    assert report.missing == [gone]
    assert report.extra == [extra]
    assert report.unchecked == [relpath_for("magnetometer")]
    assert report.matched == 19 - 3
    assert not report.ok


def test_bad_manifests(tmp_path: Path) -> None:
    root = tmp_path / "study"
    root.mkdir()
    with pytest.raises(ManifestError, match="cannot read manifest"):
        verify_tree(root, tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ManifestError, match="not valid JSON"):
        verify_tree(root, bad)
    bad.write_text("[1, 2]")
    with pytest.raises(ManifestError, match="JSON object"):
        verify_tree(root, bad)


def test_warm_run_reports_cached_files_and_prunes_deleted_ones(
    tmp_path: Path, make_tree: Tree
) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=2)
    compress_tree(root, delete_original=True)  # keys must still be the plain relpaths
    (root / PID / "gps" / "notes.txt").write_text("mine")
    (root / PID / ".hidden").write_text("x")
    _age(root)
    cold = hash_tree(root)
    assert cold.done == len(original)
    events: list[mano_files.ProgressEvent] = []
    warm = hash_tree(root, progress=events.append)
    assert warm.hashes == cold.hashes == {rel: sha1_b64(data) for rel, data in original.items()}
    assert warm.done == len(original) and warm.ok
    assert (
        warm.bytes_in
        == cold.bytes_in
        == sum((root / (rel + ".zst")).stat().st_size for rel in original)
    )
    assert [e.completed for e in events] == list(range(1, len(original) + 1))
    assert {(e.outcome, e.reason, e.total) for e in events} == {("done", "cached", len(original))}
    assert sorted(e.path for e in events) == sorted(root / (rel + ".zst") for rel in original)
    reasons = {s.path.name: s.reason for s in warm.skipped_paths}
    assert reasons["notes.txt"].startswith("not a Beiwe data file")
    assert reasons[".hidden"].startswith("hidden")
    # a deleted file leaves the cache; a hash of a sub-folder never prunes the rest
    gone = relpath_for("wifi")
    (root / (gone + ".zst")).unlink()
    hash_tree(root / PID / "gps")
    with HashCache(root) as cache:
        assert len(cache.load()) == len(original)
    after = hash_tree(root)
    assert gone not in after.hashes and len(after.hashes) == len(original) - 1
    with HashCache(root) as cache:
        assert set(cache.load()) == {rel + ".zst" for rel in original if rel != gone}


def test_cache_of_the_previous_format_is_converted_not_lost(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A version-1 cache (one row per file, table ``hashes``) keeps serving hits after upgrade."""
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=1)
    _age(root)
    truth = hash_tree(root, cache=False).hashes
    with sqlite3.connect(root / CACHE_NAME) as db:
        db.execute(
            "CREATE TABLE hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
            " mtime_ns INTEGER NOT NULL, sha1_b64 TEXT NOT NULL)"
        )
        for rel in original:
            st = (root / rel).stat()
            db.execute(
                "INSERT INTO hashes VALUES (?, ?, ?, ?)",
                (rel, st.st_size, st.st_mtime_ns, truth[rel]),
            )
    calls: list[object] = []
    monkeypatch.setattr(mano_files._tree, "_hash_path", lambda *a: calls.append(a))
    warm = hash_tree(root)
    assert calls == [] and warm.ok
    assert warm.hashes == truth
    with sqlite3.connect(root / CACHE_NAME) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"folders"}
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2


def test_cache_api_round_trip_and_stale_entries(tmp_path: Path) -> None:
    with HashCache(tmp_path) as cache:
        cache.put_many([("p/gps/a.csv", 10, 111, "AAA="), ("p/gps/b.csv", 20, 222, "BBB=")])
        cache.put("p/wifi/c.csv", 30, 333, "CCC=")
        cache.put("top.csv", 1, 1, "TOP=")
        assert cache.get("p/gps/a.csv", 10, 111) == "AAA="
        assert cache.get("p/gps/a.csv", 10, 112) is None  # stale mtime
        assert cache.get("p/gps/a.csv", 11, 111) is None  # stale size
        assert cache.get("p/gps/zzz.csv", 10, 111) is None
        cache.forget(["p/gps/a.csv", "p/wifi/c.csv", "not/there.csv"])
        assert cache.load() == {"p/gps/b.csv": (20, 222, "BBB="), "top.csv": (1, 1, "TOP=")}
        assert set(cache.folders()) == {"p/gps/", ""}  # an emptied folder leaves no row
