"""Tree operations on real files: round trips, zstd CLI interop, safety, failures, progress."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cryptease
import pytest
import zstandard

import mano_files
from mano_files import (
    STREAMS,
    InvalidOption,
    ProgressEvent,
    compress_to_zst_files,
    compress_tree,
    decompress_tree,
    decompress_zst_files,
    derive_key,
    lock_tree,
    set_threads,
    unlock_tree,
)
from tests.files.conftest import PID, csv_bytes, relpath_for

Tree = Callable[..., dict[str, bytes]]


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def cryptease_decrypt(path: Path, passphrase: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open(path, "rb") as fh:
            key = cryptease.key_from_file(fh, passphrase)
            return b"".join(cryptease.decrypt(fh, key))


def test_compress_decompress_round_trip_every_stream(
    tmp_path: Path, make_tree: Tree, zstd_cli: str
) -> None:
    root = tmp_path / "study"
    original = make_tree(root)
    assert {rel.split("/")[1] for rel in original} == set(STREAMS)
    events: list[ProgressEvent] = []
    summary = compress_tree(root, delete_original=True, workers=3, progress=events.append)
    assert summary.ok and summary.done == len(original) and summary.skipped == 0
    assert summary.bytes_in == sum(len(v) for v in original.values())
    assert 0 < summary.bytes_out < summary.bytes_in
    assert sorted(e.completed for e in events) == list(range(1, len(original) + 1))
    assert {e.total for e in events} == {len(original)}
    compressed = files_under(root)
    assert set(compressed) == {rel + ".zst" for rel in original}
    # the reference CLI reads every file we wrote, byte for byte
    for rel, data in original.items():
        out = subprocess.run(
            [zstd_cli, "-d", "-c", str(root / (rel + ".zst"))], capture_output=True, check=True
        )
        assert out.stdout == data, rel
    summary = decompress_tree(root, delete_zst=True)
    assert summary.ok and summary.done == len(original)
    assert files_under(root) == original


def test_zstd_cli_files_decompress_with_ours(tmp_path: Path, zstd_cli: str) -> None:
    root = tmp_path / "study"
    variants = {
        relpath_for("gps", hour=1): ["-q"],  # default level, content size + checksum
        relpath_for("accelerometer", hour=2): ["-q", "-19"],
        relpath_for("wifi", hour=3): ["-q", "--no-check", "-1"],
    }
    expected: dict[str, bytes] = {}
    for i, (rel, flags) in enumerate(variants.items()):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = csv_bytes("x", 3000 + i * 5000, seed=i)
        path.write_bytes(data)
        subprocess.run([zstd_cli, *flags, "--rm", str(path)], check=True)
        expected[rel] = data
    # streamed through a pipe: no content size in the header; and a two-frame file
    piped = root / relpath_for("texts", hour=4)
    piped.parent.mkdir(parents=True)
    data = csv_bytes("texts", 4000)
    out = subprocess.run([zstd_cli, "-q", "-c", "-"], input=data, capture_output=True, check=True)
    piped.with_name(piped.name + ".zst").write_bytes(out.stdout)
    expected[relpath_for("texts", hour=4)] = data
    two = root / relpath_for("calls", hour=5)
    two.parent.mkdir(parents=True)
    a, b = csv_bytes("calls", 100, 1), csv_bytes("calls", 200, 2)
    frames = [
        subprocess.run([zstd_cli, "-q", "-c", "-"], input=x, capture_output=True, check=True).stdout
        for x in (a, b)
    ]
    two.with_name(two.name + ".zst").write_bytes(b"".join(frames))
    expected[relpath_for("calls", hour=5)] = a + b
    summary = decompress_tree(root, delete_zst=True)
    assert summary.ok, summary.failed
    assert summary.done == len(expected)
    assert files_under(root) == expected


def test_lock_unlock_round_trip_every_stream(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root)
    summary = lock_tree(root, "pass phrase", workers=2)
    assert summary.ok and summary.done == len(original)
    locked = files_under(root)
    assert set(locked) == {rel + ".zst.lock" for rel in original}
    # one salt for the whole run, and cryptease opens every file
    salts = {mano_files._crypto.read_lock_header.__module__}  # keep import used
    assert salts
    for rel, data in list(original.items())[:5]:
        plain = zstandard.ZstdDecompressor().decompress(
            cryptease_decrypt(root / (rel + ".zst.lock"), "pass phrase")
        )
        assert plain == data
    summary = unlock_tree(root, "pass phrase")
    assert summary.ok and summary.done == len(original)
    assert files_under(root) == original


def test_lock_chosen_streams_and_keep_compressed(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=1)
    compress_tree(root, streams=["accelerometer"], delete_original=True)
    key = derive_key("pw")
    summary = lock_tree(root, key, streams=["gps", "audio_recordings", "accelerometer"])
    assert summary.done == 3 and summary.ok
    names = files_under(root)
    assert relpath_for("gps") + ".zst.lock" in names
    assert relpath_for("audio_recordings") + ".zst.lock" in names
    assert relpath_for("accelerometer") + ".zst.lock" in names
    assert relpath_for("wifi") in names  # not chosen: untouched
    summary = unlock_tree(root, "pw", keep_compressed=True)
    assert summary.done == 3
    for stream in ("gps", "audio_recordings", "accelerometer"):
        rel = relpath_for(stream)
        with mano_files.read_data_file(root / (rel + ".zst")) as fh:
            assert fh.read() == original[rel]


def test_legacy_mano_060_lock_tree_unlocks(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=1)
    chosen = ["gps", "survey_answers", "audio_recordings"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for stream in chosen:
            rel = relpath_for(stream)
            path = root / rel
            key = cryptease.kdf("old pass")  # mano 0.6.0: fresh salt for every file
            cryptease.encrypt(io.BytesIO(path.read_bytes()), key, filename=str(path) + ".lock")
            path.unlink()
    bad = unlock_tree(root, "wrong pass")
    assert bad.done == 0 and len(bad.failed) == 3
    assert all("wrong passphrase" in f.reason for f in bad.failed)
    assert sum(1 for p in root.rglob("*.lock")) == 3  # nothing lost, nothing written
    good = unlock_tree(root, "old pass")
    assert good.ok and good.done == 3
    assert files_under(root) == original


def test_refuses_to_overwrite_unless_asked(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    make_tree(root, pids=(PID,), hours=1)
    first = compress_tree(root)
    assert first.done == 19
    target = root / (relpath_for("gps") + ".zst")
    sentinel = zstandard.ZstdCompressor().compress(b"sentinel,csv\n1,2")
    target.write_bytes(sentinel)
    again = compress_tree(root)
    # 18 pairs hold the same content (nothing to do), the gps pair differs: a conflict
    assert again.done == 0 and again.skipped == 18
    assert [c.path.name for c in again.conflicts] == [Path(relpath_for("gps")).name]
    assert target.read_bytes() == sentinel
    forced = compress_tree(root, overwrite=True)
    assert forced.done == 19
    assert target.read_bytes() != sentinel
    (root / relpath_for("gps")).write_bytes(b"changed,csv\n1,2")
    dec = decompress_tree(root)
    assert dec.done == 0 and dec.skipped == 18 and len(dec.conflicts) == 1
    assert decompress_tree(root, overwrite=True).done == 19


@pytest.mark.parametrize("relative_stat", [True, False], ids=["fstatat", "scandir"])
def test_non_data_entries_are_left_alone_and_reported(
    tmp_path: Path, make_tree: Tree, monkeypatch: pytest.MonkeyPatch, relative_stat: bool
) -> None:
    # both ways of listing a folder (stat relative to an open fd; scandir, e.g. on Windows)
    monkeypatch.setattr(mano_files._tree, "_AT", relative_stat and mano_files._tree._AT)
    root = tmp_path / "study"
    make_tree(root, pids=(PID,), hours=1)
    os.mkfifo(root / PID / "gps" / "pipe")
    (root / ".mano-sync.sqlite").write_bytes(b"state")
    (root / ".DS_Store").write_bytes(b"junk")
    (root / PID / "gps" / "notes.txt").write_text("mine")
    (root / PID / ".registry").write_text("{}")
    (root / PID / "unknown_stream").mkdir()
    (root / PID / "unknown_stream" / "2020-10-05 02_00_00+00_00.csv").write_text("a,b")
    os.symlink(root / PID / "gps", root / "link")
    summary = compress_tree(root)
    assert summary.done == 19
    reasons = {p.path.name: p.reason for p in summary.skipped_paths}
    assert reasons[".DS_Store"].startswith("hidden")
    assert reasons[".registry"].startswith("hidden")
    assert reasons["link"].startswith("symbolic link")
    assert reasons["pipe"] == "not a regular file: left alone"
    assert reasons["notes.txt"].startswith("not a Beiwe data file")
    assert reasons["2020-10-05 02_00_00+00_00.csv"].startswith("not a Beiwe data file")
    assert ".mano-sync.sqlite" not in reasons
    assert (root / ".DS_Store").read_bytes() == b"junk"
    assert (root / PID / "gps" / "notes.txt").read_text() == "mine"
    assert not (root / PID / "gps" / "notes.txt.zst").exists()
    assert (root / "link").is_symlink()


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=2)
    compress_tree(root, delete_original=True)
    bad = root / (relpath_for("gps", hour=3) + ".zst")
    bad.write_bytes(bad.read_bytes()[:-7])
    summary = decompress_tree(root, workers=2)
    assert summary.done == len(original) - 1
    assert [f.path for f in summary.failed] == [bad]
    assert "truncated" in summary.failed[0].reason
    assert not (root / relpath_for("gps", hour=3)).exists()
    assert not list(root.rglob("*.mano-tmp"))


def test_stale_temp_files_are_removed(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    make_tree(root, pids=(PID,), hours=1)
    stale = root / PID / "gps" / ".2020-10-05 02_00_00+00_00.csv.zst.0a1b2c.mano-tmp"
    stale.write_bytes(b"half a file")
    keep = root / PID / "gps" / ".something-else"
    keep.write_bytes(b"x")
    decompress_tree(root)
    assert not stale.exists()
    assert keep.exists()


_KILL_SCRIPT = """
import sys, time
from mano_files import compress_tree
def slow(event):
    print(event.completed, flush=True)
    time.sleep(0.02)
compress_tree(sys.argv[1], workers=2, delete_original=True, level=19, progress=slow)
"""


def test_interrupted_run_is_completed_by_a_rerun(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, hours=3, rows=3000)
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for _ in range(10):  # let it get going, then kill it hard
        proc.stdout.readline()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    half = files_under(root)
    assert any(k.endswith(".zst") for k in half) and any(k.endswith(".csv") for k in half)
    summary = compress_tree(root, delete_original=True, overwrite=True)
    assert summary.ok
    assert not list(root.rglob("*.mano-tmp"))
    decompress_tree(root, delete_zst=True)
    assert files_under(root) == original


def test_single_file_and_missing_folder(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=1)
    rel = relpath_for("gps")
    summary = compress_tree(root / rel)
    assert summary.done == 1
    assert (root / (rel + ".zst")).exists()
    assert not (root / (relpath_for("wifi") + ".zst")).exists()
    part = compress_tree(root / PID / "wifi")
    assert part.done == 1
    with pytest.raises(mano_files.LocalIOError, match="could not read"):
        compress_tree(tmp_path / "nope")
    assert original


def test_legacy_wrappers_and_threads(tmp_path: Path, make_tree: Tree) -> None:
    root = tmp_path / "study"
    original = make_tree(root, pids=(PID,), hours=1)
    set_threads(1)
    try:
        assert mano_files._tree.default_workers() == 1
        s = compress_to_zst_files(root, compression_level=3, delete_original=True)
        assert s.done == 19
        s = decompress_zst_files(root, delete_zst=True, overwrite=False)
        assert s.done == 19
        assert files_under(root) == original
        compress_to_zst_files(str(root))
        assert decompress_zst_files(root, delete_zsts=True, overwrite=True).done == 19
        assert files_under(root) == original
    finally:
        set_threads(None)
    with pytest.raises(InvalidOption, match="positive integer"):
        set_threads(0)
    with pytest.raises(InvalidOption, match="1 to 22"):
        compress_tree(root, level=40)
    with pytest.raises(InvalidOption, match="unknown data stream"):
        lock_tree(root, "pw", streams=["gsp"])
    with pytest.raises(InvalidOption, match="workers"):
        compress_tree(root, workers=0)


def test_many_workers_on_a_tiny_tree(tmp_path: Path) -> None:
    root = tmp_path / "study"
    path = root / relpath_for("gps")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    start = time.monotonic()
    assert compress_tree(root, workers=16).done == 1
    assert (
        zstandard.ZstdDecompressor().decompress((root / (relpath_for("gps") + ".zst")).read_bytes())
        == b""
    )
    assert time.monotonic() - start < 10
    assert decompress_tree(root, delete_zst=True, overwrite=True).done == 1
    assert path.read_bytes() == b""


def test_damaged_zst_fails_with_its_reason_and_writes_nothing(
    tmp_path: Path, zstd_cli: str
) -> None:
    root = tmp_path / "study"
    good, flipped, garbage = (root / relpath_for("gps", hour=h) for h in (1, 2, 3))
    good.parent.mkdir(parents=True)
    for i, path in enumerate((good, flipped, garbage)):
        path.write_bytes(csv_bytes("gps", 3000, seed=i))
        subprocess.run([zstd_cli, "-q", "--rm", str(path)], check=True)
    z = flipped.with_name(flipped.name + ".zst")
    data = bytearray(z.read_bytes())
    data[len(data) // 2] ^= 0x55  # inside the compressed block: checksum or decoding fails
    z.write_bytes(bytes(data))
    garbage.with_name(garbage.name + ".zst").write_bytes(b"not zstd at all" * 10)
    summary = decompress_tree(root, workers=2)
    assert summary.done == 1
    failed = {f.path.name: f.reason for f in summary.failed}
    assert set(failed) == {z.name, garbage.name + ".zst"}
    assert "damaged zstd data" in failed[z.name]
    assert "not zstd data" in failed[garbage.name + ".zst"]
    assert good.read_bytes() == csv_bytes("gps", 3000, seed=0)
    assert not flipped.exists() and not garbage.exists()
    assert not list(root.rglob("*.mano-tmp"))


def test_files_above_the_one_shot_size_stream(
    tmp_path: Path, zstd_cli: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mano_files import _oneshot

    monkeypatch.setattr(_oneshot, "ONE_SHOT_MAX", 50_000)
    root = tmp_path / "study"
    small, big = root / relpath_for("gps", hour=1), root / relpath_for("gps", hour=2)
    small.parent.mkdir(parents=True)
    contents = {small: csv_bytes("gps", 100), big: csv_bytes("gps", 20_000)}
    assert len(contents[big]) > 3 * (1 << 20) // 4
    for path, data in contents.items():
        path.write_bytes(data)
    calls: list[str] = []
    real = mano_files._settle.convert_file

    def counting(src: str, *args: object, **kwargs: object) -> object:
        calls.append(os.path.basename(src))
        return real(src, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mano_files._settle, "convert_file", counting)
    assert compress_tree(root, delete_original=True, workers=2).done == 2
    assert calls == [big.name]  # only the big file took the streaming path
    for path, data in contents.items():
        out = subprocess.run(
            [zstd_cli, "-d", "-c", str(path) + ".zst"], capture_output=True, check=True
        )
        assert out.stdout == data
    calls.clear()
    assert decompress_tree(root, delete_zst=True, workers=2).done == 2
    assert calls == [big.name + ".zst"]
    assert files_under(root) == {
        p.relative_to(root).as_posix(): data for p, data in contents.items()
    }


@pytest.mark.parametrize(("n_jobs", "n_workers"), [(1, 1), (7, 2), (10, 3), (3, 8), (100, 4)])
def test_job_feed_hands_out_each_job_once_in_disjoint_runs(n_jobs: int, n_workers: int) -> None:
    from mano_files._tree import _Feed

    jobs: list[Any] = [(f"/d{i // 5}/f{i}", None) for i in range(n_jobs)]
    feed = _Feed(jobs, n_workers)
    firsts = [feed.next(slot) for slot in range(n_workers)]
    handed = [job for job in firsts if job is not None]
    # each worker starts at the front of its own contiguous segment
    starts = sorted(jobs.index(job) for job in handed)
    assert starts[0] == 0 and len(set(starts)) == len(starts)
    slot = 0
    while (job := feed.next(slot)) is not None:
        handed.append(job)
        slot = (slot + 1) % n_workers
    assert sorted(handed) == sorted(jobs)
    assert all(feed.next(s) is None for s in range(n_workers))
