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
        assert tables == {"folders", "fingerprints"}
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3


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


def _count_entry_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which folders' per-file entries a hash run reads (the file-by-file path)."""
    reads: list[str] = []
    real = HashCache.entries

    def counting(self: HashCache, folder: str) -> dict[str, list[int | str]]:
        reads.append(folder)
        return real(self, folder)

    monkeypatch.setattr(HashCache, "entries", counting)
    return reads


def _count_hashing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = mano_files._tree._hash_path

    def counting(path: str, key: object) -> tuple[str, int]:
        calls.append(os.path.relpath(path))
        return real(path, key)  # type: ignore[arg-type]

    monkeypatch.setattr(mano_files._tree, "_hash_path", counting)
    return calls


def test_unchanged_folders_are_taken_whole_by_their_fingerprint(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=3)
    _age(root)
    cold = hash_tree(root)
    assert cold.hashes == {rel: sha1_b64(data) for rel, data in original.items()}
    reads = _count_entry_reads(monkeypatch)
    hashed = _count_hashing(monkeypatch)
    monkeypatch.chdir(root)

    warm = hash_tree(root)
    assert (reads, hashed) == ([], [])  # every folder matched its fingerprint
    assert warm.hashes == cold.hashes and warm.done == len(original) and warm.ok
    assert warm.bytes_in == cold.bytes_in == sum(len(d) for d in original.values())

    # a file edited (new size, old mtime), a file added: only their folders go file by file,
    # only they are read
    edited, other = relpath_for("gps", PID, 2), relpath_for("gps", PID, 3)
    (root / edited).write_bytes(original[edited] + b"\n1,2,3")
    added = relpath_for("wifi", PID, 9)
    (root / added).write_bytes(b"timestamp,UTC time,hashed MAC\n1,2,3\n")
    old = (root / other).stat().st_mtime_ns  # what _age gave every file
    for rel in (edited, added):
        os.utime(root / rel, ns=(old, old))
    again = hash_tree(root)
    assert sorted(reads) == [f"{PID}/gps/", f"{PID}/wifi/"]
    assert sorted(hashed) == sorted([edited, added])
    assert again.hashes[edited] == sha1_b64(original[edited] + b"\n1,2,3")
    assert again.hashes[added] == sha1_b64(b"timestamp,UTC time,hashed MAC\n1,2,3\n")
    assert again.hashes[other] == cold.hashes[other]
    assert len(again.hashes) == len(original) + 1

    # those runs refreshed the two fingerprints: the next scan reads nothing again
    reads.clear()
    hashed.clear()
    assert hash_tree(root).hashes == again.hashes
    assert (reads, hashed) == ([], [])
    # a stream filter takes only its folders' fingerprints
    only = hash_tree(root, streams=["gps"])
    assert only.hashes == {k: v for k, v in again.hashes.items() if k.split("/")[1] == "gps"}
    assert (reads, hashed) == ([], [])


def test_a_fingerprint_never_hides_a_changed_file_list(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removed, renamed, touched or hidden files all change what the scan sees."""
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=3)
    _age(root)
    hash_tree(root)
    hashed = _count_hashing(monkeypatch)
    folder = root / PID / "gps"
    first, second, third = (relpath_for("gps", PID, h) for h in (2, 3, 4))
    (root / first).unlink()
    after = hash_tree(root)
    assert first not in after.hashes and len(after.hashes) == len(original) - 1 and after.ok
    with HashCache(root) as cache:  # pruned
        assert first not in cache.load()
    # the same content under another name is a new file to read
    renamed = relpath_for("gps", PID, 7)
    os.rename(root / second, root / renamed)
    after = hash_tree(root)
    assert hashed == [os.path.relpath(root / renamed)]
    assert after.hashes[renamed] == sha1_b64(original[second]) and second not in after.hashes
    # same size, same content, new mtime: read again (the cache trusts size and mtime only)
    hashed.clear()
    st = (root / third).stat()
    os.utime(root / third, ns=(st.st_atime_ns, st.st_mtime_ns - 1_000_000_000))
    assert hash_tree(root).hashes[third] == sha1_b64(original[third])
    assert hashed == [os.path.relpath(root / third)]
    # a symbolic link where a cached file was: left alone, the file's hash is gone
    hashed.clear()
    (root / third).unlink()
    (root / third).symlink_to(folder / os.path.basename(renamed))
    linked = hash_tree(root)
    assert third not in linked.hashes and hashed == []
    assert [p.path.name for p in linked.links] == [os.path.basename(third)]


def test_forms_that_differ_stay_a_conflict_on_a_warm_scan(tmp_path: Path) -> None:
    plain = tmp_path / relpath_for("gps")
    plain.parent.mkdir(parents=True)
    plain.write_bytes(b"timestamp,UTC time,latitude\n1,2,3\n")
    compress_tree(tmp_path)
    plain.write_bytes(b"timestamp,UTC time,latitude\n1,2,4\n")  # the forms now differ
    _age(tmp_path)
    cold = hash_tree(tmp_path)
    with HashCache(tmp_path) as cache:
        assert len(cache.load()) == 2  # both forms are cached
    warm = hash_tree(tmp_path)
    assert len(cold.conflicts) == len(warm.conflicts) == 1
    assert warm.conflicts[0].path == plain and not warm.ok
    assert {c.sha1_b64 for c in warm.conflicts[0].copies} == {
        sha1_b64(b"timestamp,UTC time,latitude\n1,2,3\n"),
        sha1_b64(b"timestamp,UTC time,latitude\n1,2,4\n"),
    }


def test_a_version_2_cache_gets_fingerprints_and_an_older_writer_cannot_mislead_them(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=2)
    _age(root)
    truth = hash_tree(root).hashes
    # what mano 0.x with the version-2 cache leaves: no fingerprints, user_version 2
    with sqlite3.connect(root / CACHE_NAME) as db:
        db.execute("DROP TABLE fingerprints")
        db.execute("PRAGMA user_version = 2")
    reads = _count_entry_reads(monkeypatch)
    hashed = _count_hashing(monkeypatch)
    assert hash_tree(root).hashes == truth  # converted on open: fingerprints for all folders
    assert (reads, hashed) == ([], [])
    with sqlite3.connect(root / CACHE_NAME) as db:
        assert db.execute("SELECT count(*) FROM fingerprints").fetchone()[0] == len(
            {rel.rsplit("/", 1)[0] for rel in original}
        )
    # a version-2 program edits a file and rewrites only its folder's entries (wrong hash on
    # purpose here, to see which one is used), leaving the fingerprint of the old listing
    rel = relpath_for("gps")
    (root / rel).write_bytes(original[rel] + b"\n4,5,6")
    _age(root)
    st = (root / rel).stat()
    name = rel.rsplit("/", 1)[1]
    with sqlite3.connect(root / CACHE_NAME) as db:
        (text,) = db.execute(
            "SELECT files FROM folders WHERE folder = ?", (f"{PID}/gps/",)
        ).fetchone()
        files = json.loads(text)
        files[name] = [st.st_size, st.st_mtime_ns, "v2-wrote-this="]
        db.execute(
            "UPDATE folders SET files = ? WHERE folder = ?", (json.dumps(files), f"{PID}/gps/")
        )
        db.execute("PRAGMA user_version = 2")
    seen = hash_tree(root).hashes
    assert seen[rel] == "v2-wrote-this="  # the entries, not the stale fingerprint's hash
    assert {k: v for k, v in seen.items() if k != rel} == {
        k: v for k, v in truth.items() if k != rel
    }


def test_entries_the_file_by_file_check_would_not_trust_get_no_fingerprint(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache entry whose size is stored as text (not mano's writing) never matches a file's
    stat, so its folder gets no fingerprint either: the file is read again."""
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=2)
    _age(root)
    truth = hash_tree(root).hashes
    rel = relpath_for("gps")
    folder, name = rel.rsplit("/", 1)
    with sqlite3.connect(root / CACHE_NAME) as db:
        (text,) = db.execute(
            "SELECT files FROM folders WHERE folder = ?", (folder + "/",)
        ).fetchone()
        files = json.loads(text)
        files[name][0] = str(files[name][0])
        db.execute(
            "UPDATE folders SET files = ? WHERE folder = ?", (json.dumps(files), folder + "/")
        )
        db.execute("PRAGMA user_version = 2")  # fingerprints are rebuilt from the entries
    hashed = _count_hashing(monkeypatch)
    monkeypatch.chdir(root)
    assert hash_tree(root).hashes == truth
    assert hashed == [rel]
    assert len(truth) == len(original)
