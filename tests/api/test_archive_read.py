"""Archive reading on one file descriptor: validation and ``Archive.read`` without zip streams."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from mano_api import Archive, InvalidArgument
from mano_api._archive import ArchiveValidationError, StreamCheck, validate_zip

NAMES = [f"abcd1234/gps/2020-10-05 {h:02d}_00_00+00_00.csv.zst" for h in range(5)]


def _write_zip(
    path: Path,
    members: dict[str, bytes],
    compression: int = zipfile.ZIP_STORED,
    extra: bytes = b"\xca\xfe\x04\x00abcd",
) -> None:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            # an extra field in the local header moves the data offset: it must be honoured
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            info.extra = extra
            zf.writestr(info, data)
        zf.writestr("registry", json.dumps({"k": "v\n"}))


def _archive(path: Path) -> Archive:
    members, registry, has_registry = validate_zip(path)
    return Archive(path, version=2, members=members, registry=registry, has_registry=has_registry)


def _contents() -> dict[str, bytes]:
    return {name: (f"row {i}\n" * (i * 3000 + 1)).encode() for i, name in enumerate(NAMES)}


@pytest.mark.parametrize("extra_len", [0, 8, 300])
@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_read_matches_zipfile_for_every_member(
    tmp_path: Path, compression: int, extra_len: int
) -> None:
    path = tmp_path / ".a.zip"
    contents = _contents()
    extra = b""
    if extra_len:
        extra = b"\xca\xfe" + (extra_len - 4).to_bytes(2, "little") + b"x" * (extra_len - 4)
    _write_zip(path, contents, compression, extra)
    with _archive(path) as archive:
        assert archive.registry == {"k": "v"}
        assert [m.name for m in archive] == NAMES
        for name in reversed(NAMES):  # any order, repeated reads
            assert archive.read(name) == contents[name]
            assert archive.read(name) == contents[name]
            with archive.open(name) as fh:
                assert fh.read() == contents[name]
        with pytest.raises(InvalidArgument, match="no member"):
            archive.read("abcd1234/gps/nope.csv.zst")
    assert not path.exists()


def test_bad_crc_marks_the_member_and_truncation_fails_validation(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    contents = _contents()
    _write_zip(path, contents)
    good = path.read_bytes()
    path.write_bytes(good.replace(b"row 3\n", b"row 9\n", 1))
    members, _registry, _has = validate_zip(path)  # one damaged member spoils no other
    assert sum(m.damaged for m in members) == 1 and len(members) == len(NAMES)
    # a directory that points past the end of the data
    buf = io.BytesIO(good)
    with zipfile.ZipFile(buf) as zf:
        last = zf.getinfo(NAMES[-1])
    cut = good[: last.header_offset + 40] + good[len(good) - 22 - 1000 :]
    path.write_bytes(cut)
    with pytest.raises(ArchiveValidationError):
        validate_zip(path)


@pytest.mark.parametrize("in_flight", [False, True])
def test_local_header_must_match_directory(tmp_path: Path, in_flight: bool) -> None:
    path = tmp_path / "a.zip"
    _write_zip(path, _contents())
    data = bytearray(path.read_bytes())
    first = data.index(b"PK\x03\x04")
    data[first : first + 4] = b"PK\x09\x09"
    path.write_bytes(bytes(data))
    check = None
    if in_flight:  # the bytes also went through the check as they arrived
        check = StreamCheck()
        check.feed(bytes(data))
    with pytest.raises(ArchiveValidationError, match="BadZipFile"):
        validate_zip(path, check)


def test_read_rechecks_crc_after_the_file_changed(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    contents = _contents()
    _write_zip(path, contents)
    with _archive(path) as archive:
        assert archive.read(NAMES[1]) == contents[NAMES[1]]
        raw = bytearray(path.read_bytes())
        at = raw.index(contents[NAMES[2]])
        raw[at] ^= 0x01
        with open(path, "r+b") as fh:  # same inode: the archive's open fd sees the change
            fh.write(raw)
        with pytest.raises(ArchiveValidationError, match="CRC"):
            archive.read(NAMES[2])
        with archive.open(NAMES[2]) as fh, pytest.raises(ArchiveValidationError, match="CRC"):
            while fh.read(1000):  # streamed: the CRC is checked when the member ends
                pass
        assert archive.read(NAMES[1]) == contents[NAMES[1]]
        # a member cut short under the archive's feet (the file shrank) is an error, not EOF
        with open(path, "r+b") as fh:
            fh.truncate(raw.index(contents[NAMES[4]]) + 10)
        with pytest.raises(ArchiveValidationError, match="ends inside"):
            archive.read(NAMES[4])
        with archive.open(NAMES[4]) as fh, pytest.raises(ArchiveValidationError, match="ends"):
            fh.read()


def test_members_know_where_their_bytes_start(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    contents = _contents()
    big = NAMES[0].replace("00_00_00", "23_00_00")
    contents[big] = bytes(range(256)) * 9000  # > 2 MiB: validated and streamed in chunks
    _write_zip(path, contents)
    raw = path.read_bytes()
    with _archive(path) as archive:
        for member in archive:
            data = contents[member.name]
            assert raw[member.offset : member.offset + member.size] == data
        with archive.open(big) as fh:
            parts = []
            while chunk := fh.read(1 << 20):
                parts.append(chunk)
        assert len(parts) == 3
        assert b"".join(parts) == contents[big]
    deflated = tmp_path / "d.zip"
    _write_zip(deflated, contents, zipfile.ZIP_DEFLATED)
    with _archive(deflated) as archive:  # zip-level compression: read through zipfile
        assert {m.offset for m in archive} == {-1}
        assert archive.read(big) == contents[big]


def test_save_as_and_close_release_the_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    contents = _contents()
    _write_zip(path, contents)
    archive = _archive(path)
    archive.read(NAMES[0])
    kept = archive.save_as(tmp_path / "kept.zip")
    assert archive.read(NAMES[0]) == contents[NAMES[0]]  # reopens at the new place
    archive.close()
    assert kept.read_bytes()[:4] == b"PK\x03\x04"  # saved files survive close()
    kept.unlink()
    with pytest.raises(InvalidArgument, match="closed"):
        archive.read(NAMES[0])


def test_a_zip_bomb_member_is_rejected_alone_without_inflating_it(tmp_path: Path) -> None:
    """A deflated member declaring 96 MiB from ~100 KB: neither CRC-read nor readable."""
    path = tmp_path / "bomb.zip"
    good = (b"timestamp,x\n" + b"1,2\n" * 1000, "abcd1234/gps/2020-10-05 01_00_00+00_00.csv")
    bomb_name = "abcd1234/gps/2020-10-05 02_00_00+00_00.csv"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(good[1], good[0])
        with zf.open(bomb_name, "w", force_zip64=True) as fh:
            chunk = bytes(1 << 20)
            for _ in range(96):
                fh.write(chunk)
    members, registry, has_registry = validate_zip(path)
    archive = Archive(path, version=1, members=members, registry=registry, has_registry=False)
    by_name = {m.name: m for m in archive.members()}
    assert by_name[good[1]].rejected is None and archive.read(good[1]) == good[0]
    assert "zip bomb" in (by_name[bomb_name].rejected or "")
    with pytest.raises(InvalidArgument, match="rejected"):
        archive.read(bomb_name)
    with pytest.raises(InvalidArgument, match="rejected"):
        archive.open(bomb_name)
    archive.close()
