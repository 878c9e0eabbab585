"""The deletion rule of the tree tools: sources that change, forms of one file that disagree,
runs that were killed half-way, and verify reading what is really on disk."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from mano_files import (
    compress_tree,
    decompress_tree,
    derive_key,
    hash_tree,
    lock_tree,
    read_data_file,
    unlock_tree,
    verify_tree,
)
from tests.files.conftest import csv_bytes, relpath_for, sha1_b64

PASS = "correct horse"


def _zst(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)


def _plain(path: Path, passphrase: str | None = None) -> bytes:
    with read_data_file(path, key=passphrase) as fh:
        return fh.read()


def _one(root: Path, stream: str = "gps") -> Path:
    path = root / relpath_for(stream)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- case 1


def test_compress_delete_original_keeps_a_file_appended_while_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row appended between reading the file and deleting it is never lost."""
    path = _one(tmp_path)
    original = csv_bytes("gps", 2000)
    path.write_bytes(original)
    row = b"\n1601863299999,2020-10-05T02:59:59.000,0.5,1,x1"
    real_read = os.read
    appended: list[bool] = []

    def read_then_append(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        if not appended and data.startswith(original[:64]):
            appended.append(True)
            with open(path, "ab") as fh:  # another program writes on while mano reads
                fh.write(row)
        return data

    monkeypatch.setattr(os, "read", read_then_append)
    summary = compress_tree(tmp_path, delete_original=True, workers=1)
    monkeypatch.undo()
    assert appended, "the append hook did not run"
    assert summary.done == 0 and len(summary.failed) == 1
    reason = summary.failed[0].reason
    assert "changed while being read" in reason and "zstd" not in reason
    assert path.read_bytes() == original + row  # nothing lost
    assert not Path(str(path) + ".zst").exists()  # nothing stale published beside it
    again = compress_tree(tmp_path, delete_original=True)  # quiet now: it completes
    assert again.done == 1 and again.ok and not path.exists()
    assert _plain(Path(str(path) + ".zst")) == original + row


def test_compress_of_a_large_file_being_appended_says_it_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The streaming path: the frame's declared size no longer fits; report the real cause."""
    from mano_files import _oneshot

    monkeypatch.setattr(_oneshot, "ONE_SHOT_MAX", 1 << 16)
    path = _one(tmp_path)
    path.write_bytes(csv_bytes("gps", 200_000))  # ~10 MB
    stop = threading.Event()
    rows = [0]

    def appender() -> None:
        with open(path, "ab", buffering=0) as fh:
            while not stop.is_set():
                fh.write(b"\n1601863299999,2020-10-05T02:59:59.000,0.5,1,appended" * 50)
                rows[0] += 50

    thread = threading.Thread(target=appender)
    thread.start()
    try:
        summary = compress_tree(tmp_path, delete_original=True, workers=1)
    finally:
        stop.set()
        thread.join()
    assert rows[0] > 0
    assert summary.done == 0 and len(summary.failed) == 1, summary
    reason = summary.failed[0].reason
    assert "changed while being read" in reason and "damaged zstd" not in reason
    assert path.exists() and path.read_bytes().count(b"appended") == rows[0]


def test_a_real_appender_never_loses_rows(tmp_path: Path) -> None:
    """Seven trials with a process-like writer appending during compress --delete-original."""
    for trial in range(7):
        root = tmp_path / f"t{trial}"
        path = _one(root)
        base = csv_bytes("gps", 10_000, seed=trial)  # ~0.5 MB: one-shot path
        path.write_bytes(base)
        stop = threading.Event()
        written: list[bytes] = []

        def appender(
            path: Path = path,
            stop: threading.Event = stop,
            out: list[bytes] = written,
            trial: int = trial,
        ) -> None:
            with open(path, "ab", buffering=0) as fh:
                i = 0
                while not stop.is_set():
                    line = f"\n{trial},{i},appended".encode()
                    fh.write(line)
                    out.append(line)
                    i += 1
                    time.sleep(0.0002)

        thread = threading.Thread(target=appender)
        thread.start()
        try:
            compress_tree(root, delete_original=True, workers=1)
        finally:
            stop.set()
            thread.join()
        zst = Path(str(path) + ".zst")
        kept = b"".join(
            [path.read_bytes() if path.exists() else b"", _plain(zst) if zst.exists() else b""]
        )
        for line in written:
            assert line in kept, f"trial {trial}: an appended row was lost"
        assert path.exists() or not written or _plain(zst).endswith(written[-1])


# --------------------------------------------------------------------------- case 2


def _pair(root: Path, plain: bytes, compressed: bytes) -> tuple[Path, Path]:
    path = _one(root)
    path.write_bytes(plain)
    zst = Path(str(path) + ".zst")
    zst.write_bytes(_zst(compressed))
    return path, zst


def test_compress_delete_original_removes_the_redundant_plain_copy(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path, zst = _pair(tmp_path, data, data)
    summary = compress_tree(tmp_path, delete_original=True)
    assert summary.ok and summary.done == 1
    assert not path.exists() and _plain(zst) == data


def test_decompress_delete_zst_removes_the_redundant_zst_copy(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path, zst = _pair(tmp_path, data, data)
    summary = decompress_tree(tmp_path, delete_zst=True)
    assert summary.ok and summary.done == 1
    assert not zst.exists() and path.read_bytes() == data


@pytest.mark.parametrize("tool", ["compress", "decompress"])
@pytest.mark.parametrize("path_taken", ["in memory", "streamed"])
def test_a_new_file_that_does_not_read_back_as_its_source_keeps_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, path_taken: str
) -> None:
    """The new file is read back from disk before its source goes: a published file whose
    content is not what was read (here: altered right after publishing) keeps the source,
    whether the check compares bytes held in memory or SHA-1s of a streamed file."""
    import mano_files._oneshot
    import mano_files._settle

    data = csv_bytes("gps", 300)
    path = _one(tmp_path)
    path.write_bytes(data)
    zst = Path(str(path) + ".zst")
    if tool == "decompress":
        zst.write_bytes(_zst(data))
        path.unlink()
    if path_taken == "streamed":
        monkeypatch.setattr(mano_files._oneshot, "ONE_SHOT_MAX", 64)
    altered = data.replace(b"\n", b"\r\n", 1)
    real = mano_files._settle.retire_source

    def alter_then_retire(source: str, before: object, sha1: str, new: str, **kw: object) -> None:
        Path(new).write_bytes(_zst(altered) if new.endswith(".zst") else altered)
        real(source, before, sha1, new, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(mano_files._settle, "retire_source", alter_then_retire)
    if tool == "compress":
        summary = compress_tree(tmp_path, delete_original=True)
        source = path
    else:
        summary = decompress_tree(tmp_path, delete_zst=True)
        source = zst
    assert not summary.ok and summary.done == 0
    assert [f.path for f in summary.failed] == [source]
    assert "does not read back" in summary.failed[0].reason
    assert _plain(source) == data  # the source is still there, untouched


@pytest.mark.parametrize("tool", ["compress", "decompress", "lock"])
def test_forms_that_differ_are_a_conflict_and_nothing_is_touched(tmp_path: Path, tool: str) -> None:
    a, b = csv_bytes("gps", 300), csv_bytes("gps", 300, seed=9)
    path, zst = _pair(tmp_path, a, b)
    before = {p: p.read_bytes() for p in (path, zst)}
    if tool == "compress":
        summary = compress_tree(tmp_path, delete_original=True)
    elif tool == "decompress":
        summary = decompress_tree(tmp_path, delete_zst=True)
    else:
        summary = lock_tree(tmp_path, PASS)
    assert not summary.ok and summary.done == 0 and not summary.failed
    [conflict] = summary.conflicts
    assert conflict.path == path
    assert {(c.path, c.size, c.sha1_b64) for c in conflict.copies} == {
        (path, len(a), sha1_b64(a)),
        (zst, len(before[zst]), sha1_b64(b)),
    }
    assert {p: p.read_bytes() for p in (path, zst)} == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, zst.name])


def test_lock_leaves_no_unencrypted_form_of_a_file_stored_twice(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path, zst = _pair(tmp_path, data, data)
    summary = lock_tree(tmp_path, PASS)
    assert summary.ok and summary.done == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name + ".zst.lock"]
    assert _plain(Path(str(path) + ".zst.lock"), PASS) == data


def test_unlock_settles_a_locked_file_beside_its_plain_copy(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path = _one(tmp_path)
    path.write_bytes(data)
    lock_tree(tmp_path, PASS, delete_original=False)
    assert path.exists() and Path(str(path) + ".zst.lock").exists()
    summary = unlock_tree(tmp_path, PASS)
    assert summary.ok and summary.done == 1
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    assert path.read_bytes() == data


def test_verify_checks_every_form(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path, zst = _pair(tmp_path, data, data)
    manifest = {relpath_for("gps"): sha1_b64(data)}
    assert verify_tree(tmp_path, manifest).ok
    tampered = bytearray(data)
    tampered[100] ^= 1
    path.write_bytes(bytes(tampered))
    report = verify_tree(tmp_path, manifest)
    assert not report.ok and report.mismatched == [relpath_for("gps")]
    assert len(report.conflicts) == 1 and len(hash_tree(tmp_path).conflicts) == 1


# --------------------------------------------------------------------------- case 3


def test_rerun_after_a_lock_killed_before_deleting_removes_the_plaintext(tmp_path: Path) -> None:
    """The state a SIGKILL between publishing the .zst.lock and deleting the plaintext leaves."""
    data = csv_bytes("gps", 300)
    path = _one(tmp_path)
    path.write_bytes(data)
    lock_tree(tmp_path, derive_key(PASS), delete_original=False)
    tmp = path.parent / f".{path.name}.zst.lock.0123456789ab.mano-tmp"
    tmp.write_bytes(b"half")
    summary = lock_tree(tmp_path, PASS)
    assert summary.ok and summary.done == 1 and not summary.skipped_paths
    assert [p.name for p in path.parent.iterdir()] == [path.name + ".zst.lock"]
    assert verify_tree(tmp_path, {relpath_for("gps"): sha1_b64(data)}, passphrase=PASS).ok


@pytest.mark.parametrize("tool", ["compress", "decompress"])
def test_rerun_after_a_deleting_run_was_killed_resolves_the_pair(tmp_path: Path, tool: str) -> None:
    data = csv_bytes("gps", 300)
    path, zst = _pair(tmp_path, data, data)
    if tool == "compress":
        summary = compress_tree(tmp_path, delete_original=True)
        left = zst
    else:
        summary = decompress_tree(tmp_path, delete_zst=True)
        left = path
    assert summary.ok and summary.done == 1
    assert [p.name for p in path.parent.iterdir()] == [left.name]


# --------------------------------------------------------------------------- case 9


def _warm(root: Path, data: bytes) -> tuple[Path, dict[str, str]]:
    path = _one(root)
    path.write_bytes(data)
    old = 1_600_000_000_000_000_000
    os.utime(path, ns=(old, old))  # old enough to be cached
    manifest = {relpath_for("gps"): sha1_b64(data)}
    assert hash_tree(root).hashes == manifest  # fills the cache
    return path, manifest


def _rewrite_keeping_stat(path: Path, edit: Callable[[bytearray], None]) -> None:
    st = path.stat()
    data = bytearray(path.read_bytes())
    edit(data)
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def test_verify_reads_content_by_default_and_fast_trusts_the_cache(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path, manifest = _warm(tmp_path, data)

    def flip(b: bytearray) -> None:
        b[200] ^= 1

    _rewrite_keeping_stat(path, flip)
    report = verify_tree(tmp_path, manifest)
    assert report.mismatched == [relpath_for("gps")] and not report.fast
    fast = verify_tree(tmp_path, manifest, fast=True)
    assert fast.fast  # the caller can say the cache was trusted


def test_verify_reports_a_damaged_file_as_unreadable(tmp_path: Path) -> None:
    data = csv_bytes("gps", 3000)
    path = _one(tmp_path)
    zst = Path(str(path) + ".zst")
    zst.write_bytes(_zst(data))
    old = 1_600_000_000_000_000_000
    os.utime(zst, ns=(old, old))
    manifest = {relpath_for("gps"): sha1_b64(data)}
    assert verify_tree(tmp_path, manifest).ok

    def damage(b: bytearray) -> None:
        b[len(b) // 2] ^= 0xFF

    _rewrite_keeping_stat(zst, damage)
    report = verify_tree(tmp_path, manifest)
    assert not report.ok and report.matched == 0
    assert [f.path for f in report.failed] == [zst]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files of mode 000")
def test_verify_reports_a_mode_000_file_as_unreadable(tmp_path: Path) -> None:
    data = csv_bytes("gps", 300)
    path, manifest = _warm(tmp_path, data)
    path.chmod(0)
    try:
        report = verify_tree(tmp_path, manifest)
    finally:
        path.chmod(0o644)
    assert not report.ok and [f.path for f in report.failed] == [path]


# --------------------------------------------------------------------------- case 6


def _bomb(plain_mib: int) -> bytes:
    """zstd data of ``plain_mib`` MiB of zeros (a few KB), streamed so memory stays small."""
    cobj = zstandard.ZstdCompressor(level=3, write_checksum=True).compressobj()
    chunk = bytes(1 << 20)
    return b"".join([*(cobj.compress(chunk) for _ in range(plain_mib)), cobj.flush()])


def test_decompress_rejects_a_zstd_bomb_with_the_default_limits(tmp_path: Path) -> None:
    path = _one(tmp_path)
    zst = Path(str(path) + ".zst")
    zst.write_bytes(_bomb(100))
    summary = decompress_tree(tmp_path, delete_zst=True)
    assert summary.done == 0 and len(summary.failed) == 1
    assert "decompression bomb" in summary.failed[0].reason
    assert not path.exists() and zst.exists()
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file


def test_write_data_file_rejects_a_bomb_member(tmp_path: Path) -> None:
    """What sync stores for every zip member: the bomb is refused, nothing is written."""
    import io

    from mano_files import InflationLimit, write_data_file

    with pytest.raises(InflationLimit):
        write_data_file(io.BytesIO(_bomb(100)), tmp_path / relpath_for("gps"), source_form="zst")
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_inflation_limits_are_configurable(tmp_path: Path) -> None:
    from mano_files import InflationLimits, InvalidOption, set_inflation_limits

    data = csv_bytes("gps", 40_000)  # ~2 MB, a genuine file
    path = _one(tmp_path)
    zst = Path(str(path) + ".zst")
    zst.write_bytes(_zst(data))
    try:
        assert set_inflation_limits(max_size=1 << 20).max_size == 1 << 20
        refused = decompress_tree(tmp_path)
        assert len(refused.failed) == 1 and not path.exists()
    finally:
        set_inflation_limits(
            **{f: getattr(InflationLimits(), f) for f in ("max_size", "max_ratio", "ratio_floor")}
        )
    assert decompress_tree(tmp_path).done == 1 and path.read_bytes() == data
    with pytest.raises(InvalidOption):
        set_inflation_limits(max_ratio=0)
