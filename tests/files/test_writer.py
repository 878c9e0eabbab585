"""WriterProcess: a child process storing small files exactly as write_data_file would."""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

from mano_files import TMP_SUFFIX, WriterProcess, write_data_file
from mano_files._writer import MAX_BATCH


def _spool(path: Path, blobs: list[bytes]) -> list[tuple[int, int, int]]:
    """Write blobs back to back (with junk between); return (offset, size, crc) of each."""
    where = []
    with open(path, "wb") as fh:
        for blob in blobs:
            fh.write(b"JUNK")
            where.append((fh.tell(), len(blob), zlib.crc32(blob)))
            fh.write(blob)
    return where


def _plain(i: int) -> bytes:
    return b"timestamp,UTC time,x\n" + f"{i},2020-01-01T00:00:00.000,{i * 7}\n".encode() * (i + 1)


@pytest.fixture
def writer() -> Iterator[WriterProcess]:
    w = WriterProcess.start(TMP_SUFFIX)
    if w is None:
        pytest.skip("one usable core: no helper process")
    yield w
    w.close()


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(TMP_SUFFIX)]


@pytest.mark.parametrize("form", ["plain", "zst"])
def test_stores_what_write_data_file_stores(
    tmp_path: Path, writer: WriterProcess, form: str
) -> None:
    cctx = zstandard.ZstdCompressor(level=2, write_checksum=True)
    plains = [_plain(i) for i in range(40)]
    blobs = [cctx.compress(p) for p in plains]
    spool = tmp_path / ".spool.zip"
    where = _spool(spool, blobs)
    out, ref = tmp_path / "out", tmp_path / "ref"
    jobs = [
        (off, size, crc, str(out / "p1" / "gps" / f"f{i}.csv"), form)
        for i, (off, size, crc) in enumerate(where)
    ]
    assert writer.send(str(spool), "zst", jobs[:25])
    assert writer.send(str(spool), "zst", jobs[25:])
    results = writer.receive() + writer.receive()  # type: ignore[operator]
    writer.release()
    for i, (done, plain, blob) in enumerate(zip(results, plains, blobs, strict=True)):
        assert done is not None
        sha1, plain_size, on_disk, mtime_ns = done
        expected = write_data_file(blob, ref / f"f{i}.csv", source_form="zst", form=form)
        stored = out / "p1" / "gps" / (f"f{i}.csv" + (".zst" if form == "zst" else ""))
        assert (
            stored.read_bytes()
            == expected.path.read_bytes()
            == (plain if form == "plain" else blob)
        )
        assert sha1 == expected.sha1_b64 == base64.b64encode(hashlib.sha1(plain).digest()).decode()
        assert (plain_size, on_disk) == (len(plain), stored.stat().st_size)
        assert mtime_ns == stored.stat().st_mtime_ns
    assert _leftovers(tmp_path) == []


def test_v1_plain_members_are_stored_as_they_are(tmp_path: Path, writer: WriterProcess) -> None:
    plains = [_plain(i) for i in range(3)]
    spool = tmp_path / ".spool.zip"
    where = _spool(spool, plains)
    jobs = [
        (o, n, c, str(tmp_path / "o" / f"{i}.csv"), "plain") for i, (o, n, c) in enumerate(where)
    ]
    jobs.append((*where[0], str(tmp_path / "o" / "x.csv"), "zst"))  # compressing: not its job
    assert writer.send(str(spool), "plain", jobs)
    results = writer.receive()
    assert results is not None and results[3] is None
    for i, plain in enumerate(plains):
        assert (tmp_path / "o" / f"{i}.csv").read_bytes() == plain
        assert results[i] is not None and results[i][1] == len(plain)
    assert not (tmp_path / "o" / "x.csv.zst").exists()


def test_anything_unusual_is_handed_back_and_nothing_is_left(
    tmp_path: Path, writer: WriterProcess
) -> None:
    cctx = zstandard.ZstdCompressor(level=2, write_checksum=True)
    good = cctx.compress(_plain(5))
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF
    no_size = zstandard.ZstdCompressor(write_content_size=False).compress(_plain(6))
    blobs = {
        "ok": good,
        "truncated": good[:-3],
        "flipped": bytes(flipped),
        "two-frames": good + cctx.compress(b"more\n"),
        "trailing": good + b"junk",
        "not-zstd": b"hello, plain text",
        "no-content-size": no_size,
        "empty": b"",
    }
    spool = tmp_path / ".spool.zip"
    where = dict(zip(blobs, _spool(spool, list(blobs.values())), strict=True))
    out = tmp_path / "out"
    jobs = [(*where[k], str(out / f"{k}.csv"), "plain") for k in blobs]
    off, size, crc = where["ok"]
    jobs.append((off, size, crc ^ 1, str(out / "bad-crc.csv"), "plain"))  # CRC mismatch
    jobs.append((off, size, crc, str(tmp_path / "a-file" / "below.csv"), "plain"))  # OS error
    (tmp_path / "a-file").write_bytes(b"not a folder")
    assert writer.send(str(spool), "zst", jobs)
    results = writer.receive()
    assert results is not None
    assert results[0] is not None  # the good one
    assert results[1:] == [None] * (len(jobs) - 1)
    assert sorted(p.name for p in out.iterdir()) == ["ok.csv"]
    assert _leftovers(tmp_path) == []
    # and it keeps working afterwards, also on a zip it cannot open
    assert writer.send(str(tmp_path / "missing.zip"), "zst", jobs[:1])
    assert writer.receive() == [None]
    assert writer.send(str(spool), "zst", jobs[:1])
    again = writer.receive()
    assert again is not None and again[0] is not None
    assert again[0][:3] == results[0][:3]  # same hash and sizes; the file was replaced


def test_a_dead_helper_is_noticed(tmp_path: Path, writer: WriterProcess) -> None:
    writer._proc.kill()
    writer._proc.wait()
    spool = tmp_path / ".spool.zip"
    where = _spool(spool, [zstandard.ZstdCompressor().compress(b"x\n")])
    # what a helper killed mid-write leaves: a temp file of a file it was storing
    half = tmp_path / f".2020-01-01 00_00_00+00_00.csv.0a1b2c3d4e5f{TMP_SUFFIX}"
    other = tmp_path / f".2020-01-01 01_00_00+00_00.csv.0a1b2c3d4e5f{TMP_SUFFIX}"
    half.write_bytes(b"half")
    other.write_bytes(b"not in this batch")
    target = str(tmp_path / "2020-01-01 00_00_00+00_00.csv")
    assert writer.send(str(spool), "zst", [(*where[0], target, "plain")]) in (
        True,
        False,  # the pipe may already be known broken
    )
    assert writer.receive() is None
    assert writer.alive is False
    assert writer.send(str(spool), "zst", []) is False
    assert not half.exists()  # the helper's leftovers of unanswered files are removed
    assert other.read_bytes() == b"not in this batch"


def test_one_core_means_no_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert WriterProcess.start(TMP_SUFFIX) is None


def test_batches_fit_a_pipe_buffer() -> None:
    import marshal

    worst = [("A" * 28, 2**40, 2**40, 2**62)] * MAX_BATCH
    assert len(marshal.dumps(worst)) + 4 < 65536 // 2  # two batches in flight never block


def _running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit is reaped by whoever adopted it, or not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_helper_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed mid-batch: the helper stops at the next file and leaves no temp file."""
    many = 2 * MAX_BATCH  # two batches in flight, as callers keep them
    spool = tmp_path / ".spool.zip"
    plain = _plain(3) * 20000  # ~1.2 MB: a few ms per file, ~2 s for all of them
    blob = zstandard.ZstdCompressor().compress(plain)
    _spool(spool, [blob])
    script = textwrap.dedent(
        f"""
        import sys, time, zlib
        from mano_files import TMP_SUFFIX, WriterProcess
        from mano_files._writer import MAX_BATCH
        w = WriterProcess.start(TMP_SUFFIX)
        blob = open({str(spool)!r}, "rb").read()[4:]
        jobs = [(4, len(blob), zlib.crc32(blob), {str(tmp_path)!r} + f"/out/f{{i}}.csv", "plain")
                for i in range({many})]
        w.send({str(spool)!r}, "zst", jobs[:MAX_BATCH])
        w.send({str(spool)!r}, "zst", jobs[MAX_BATCH:])
        print(w._proc.pid, flush=True)
        time.sleep(60)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGKILL)  # likely before the helper even started reading
    parent.wait()
    killed = time.monotonic()
    deadline = killed + 20
    while time.monotonic() < deadline:
        if not _running(child):
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        pytest.fail("the helper outlived its parent")
    assert time.monotonic() - killed < 1.5  # all the work would take seconds
    written = list((tmp_path / "out").iterdir()) if (tmp_path / "out").exists() else []
    assert len(written) < 10  # it stopped at a file boundary, not at the end of a batch
    assert _leftovers(tmp_path) == []
    assert all(p.read_bytes() == plain for p in written)
