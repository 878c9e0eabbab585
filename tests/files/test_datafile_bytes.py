"""``write_data_file`` given the whole stored bytes: same results and checks as the stream path."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
import zstandard

from mano_files import (
    CorruptZstd,
    DiskFull,
    LockKey,
    TargetExists,
    _atomic,
    derive_key,
    read_data_file,
    write_data_file,
)
from mano_files._atomic import write_bytes_atomic
from tests.files.conftest import csv_bytes, sha1_b64

REL = "ab12cd34/gps/2020-10-05 02_00_00+00_00.csv"


def _no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".mano-tmp")]


@pytest.fixture(scope="module")
def key() -> LockKey:
    return derive_key("correct horse")


def _sources() -> dict[str, tuple[str, bytes, bytes]]:
    data = csv_bytes("gps", 800)
    parts = [csv_bytes("gps", 50, s) for s in range(3)]
    return {
        "zst": ("zst", data, zstandard.ZstdCompressor(level=2, write_checksum=True).compress(data)),
        "zst-no-checksum": ("zst", data, zstandard.ZstdCompressor().compress(data)),
        "zst-no-size": (
            "zst",
            data,
            zstandard.ZstdCompressor(write_content_size=False).compress(data),
        ),
        "zst-multi-frame": (
            "zst",
            b"".join(parts),
            b"".join(zstandard.ZstdCompressor().compress(p) for p in parts),
        ),
        "zst-skippable-tail": (
            "zst",
            data,
            zstandard.ZstdCompressor().compress(data) + b"\x50\x2a\x4d\x18\x02\x00\x00\x00hi",
        ),
        "zst-empty-content": ("zst", b"", zstandard.ZstdCompressor().compress(b"")),
        "plain": ("plain", data, data),
        "plain-empty": ("plain", b"", b""),
    }


@pytest.mark.parametrize("form", ["plain", "zst", "lock"])
@pytest.mark.parametrize("case", list(_sources()))
def test_bytes_and_stream_sources_store_the_same(
    tmp_path: Path, key: LockKey, form: str, case: str
) -> None:
    source_form, plain, blob = _sources()[case]
    via_stream = write_data_file(
        io.BytesIO(blob), tmp_path / "s" / REL, source_form=source_form, form=form, key=key
    )
    for source in (blob, bytearray(blob), memoryview(blob)):
        via_bytes = write_data_file(
            source, tmp_path / "b" / REL, source_form=source_form, form=form, key=key
        )
        assert via_bytes.path == tmp_path / "b" / (
            REL + via_stream.path.name[len(Path(REL).name) :]
        )
        assert via_bytes.form == via_stream.form
        assert via_bytes.sha1_b64 == via_stream.sha1_b64 == sha1_b64(plain)
        assert via_bytes.plain_size == via_stream.plain_size == len(plain)
        assert via_bytes.size_on_disk == via_bytes.path.stat().st_size
        assert via_bytes.mtime_ns == via_bytes.path.stat().st_mtime_ns
        assert via_stream.mtime_ns == via_stream.path.stat().st_mtime_ns
        if form != "lock":  # locked files differ by salt/IV only
            assert via_bytes.path.read_bytes() == via_stream.path.read_bytes()
        with read_data_file(via_bytes.path, key=key) as fh:
            assert fh.read() == plain
        assert [p.name for p in via_bytes.path.parent.iterdir()] == [via_bytes.path.name]


def _bad_blobs() -> dict[str, bytes]:
    data = csv_bytes("gps", 2000)
    good = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    flipped = bytearray(good)
    flipped[len(flipped) // 2] ^= 0xFF
    bad_checksum = bytearray(good)
    bad_checksum[-1] ^= 0xFF
    return {
        "truncated-1": good[:-1],
        "truncated-100": good[:-100],
        "garbage": b"hello, not zstd",
        "empty": b"",
        "flipped": bytes(flipped),
        "checksum": bytes(bad_checksum),
        "trailing-garbage": good + b"junk",
    }


@pytest.mark.parametrize("case", list(_bad_blobs()))
@pytest.mark.parametrize("form", ["plain", "zst"])
def test_damaged_zst_bytes_are_refused_and_nothing_written(
    tmp_path: Path, case: str, form: str
) -> None:
    blob = _bad_blobs()[case]
    with pytest.raises(CorruptZstd, match="truncated|damaged|not zstd|empty") as info:
        write_data_file(blob, tmp_path / REL, source_form="zst", form=form)
    assert str(tmp_path / REL) in str(info.value)
    with pytest.raises(CorruptZstd):  # the stream path agrees
        write_data_file(io.BytesIO(blob), tmp_path / REL, source_form="zst", form=form)
    assert not list(tmp_path.rglob("*.csv*"))
    assert _no_temp_files(tmp_path)


def test_huge_declared_content_size_streams_instead(tmp_path: Path) -> None:
    data = b"0" * (9 << 20)  # above the one-shot limit, but tiny compressed
    blob = zstandard.ZstdCompressor(write_checksum=True).compress(data)
    assert len(blob) < 4096
    stored = write_data_file(blob, tmp_path / REL, source_form="zst", form="plain")
    assert stored.plain_size == len(data)
    assert stored.sha1_b64 == sha1_b64(data)
    assert stored.path.stat().st_size == len(data)


def test_bytes_target_exists_and_other_forms(tmp_path: Path) -> None:
    plain = tmp_path / REL
    write_data_file(b"a,b\n1,2", plain, source_form="plain", form="plain")
    with pytest.raises(TargetExists, match="overwrite=True"):
        write_data_file(b"a,b\n3,4", plain, source_form="plain", overwrite=False)
    assert plain.read_bytes() == b"a,b\n1,2"
    write_data_file(b"a,b\n3,4", plain, source_form="plain", form="zst")
    assert sorted(p.name for p in plain.parent.iterdir()) == [plain.name + ".zst"]
    assert read_data_file(plain.parent / (plain.name + ".zst")).read() == b"a,b\n3,4"
    write_data_file(b"a,b\n5", plain, source_form="plain", form="plain", remove_other_forms=False)
    assert len(list(plain.parent.iterdir())) == 2
    write_data_file(b"a,b\n6", str(plain), source_form="plain", form="plain", fsync=True)
    assert plain.read_bytes() == b"a,b\n6"


def test_write_bytes_atomic_failures_leave_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new" / "deeper" / ".x.csv"
    mtime = write_bytes_atomic(target, b"abc")  # missing folders are created
    assert mtime == target.stat().st_mtime_ns
    assert target.read_bytes() == b"abc"
    with pytest.raises(TargetExists):
        write_bytes_atomic(target, b"def", overwrite=False)
    write_bytes_atomic(tmp_path / "y.csv", memoryview(b"xyz"), overwrite=False)
    assert (tmp_path / "y.csv").read_bytes() == b"xyz"

    def full(*args: object, **kwargs: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic.os, "write", full)
    with pytest.raises(DiskFull, match="disk full"):
        write_bytes_atomic(target, b"zzz")
    with pytest.raises(DiskFull):
        write_data_file(b"a,b\n1,2", tmp_path / REL, source_form="plain")
    assert target.read_bytes() == b"abc"
    assert not (tmp_path / REL).exists()
    assert _no_temp_files(tmp_path)
