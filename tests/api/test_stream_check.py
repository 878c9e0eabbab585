"""The CRC-32 taken while a zip arrives (StreamCheck) stands in for reading it back only when
it saw exactly the member the central directory names; everything else is read as before."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from mano_api import _archive
from mano_api._archive import ArchiveValidationError, StreamCheck, validate_zip

from .test_archive_read import NAMES, _contents, _write_zip


def _fed(data: bytes, seed: int = 0) -> StreamCheck:
    """A check fed ``data`` in random chunk sizes (1 byte .. 64 KiB), as a socket would."""
    rng = random.Random(seed)
    check = StreamCheck()
    at = 0
    while at < len(data):
        n = rng.choice([1, 2, 7, 30, 31, 46, 100, 4096, 65536])
        check.feed(data[at : at + n])
        at += n
    return check


def _no_reread(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    reread: list[str] = []
    real = _archive._check_stored_crc

    def spy(fd: int, info: zipfile.ZipInfo) -> tuple[int, bool]:
        reread.append(info.filename)
        return real(fd, info)

    monkeypatch.setattr(_archive, "_check_stored_crc", spy)
    return reread


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("extra_len", [0, 8, 300])
def test_members_seen_in_flight_are_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, extra_len: int
) -> None:
    path = tmp_path / "a.zip"
    extra = b""
    if extra_len:
        extra = b"\xca\xfe" + (extra_len - 4).to_bytes(2, "little") + b"x" * (extra_len - 4)
    contents = _contents()
    contents["abcd1234/gps/empty.csv.zst"] = b""
    _write_zip(path, contents, extra=extra)
    expected = validate_zip(path)
    reread = _no_reread(monkeypatch)
    got = validate_zip(path, _fed(path.read_bytes(), seed))
    assert reread == []
    assert got == expected
    assert [(m.offset, m.damaged) for m in got[0]] == [(m.offset, m.damaged) for m in expected[0]]
    raw = path.read_bytes()
    for m in got[0]:
        assert raw[m.offset : m.offset + m.size] == contents[m.name]


def test_a_member_damaged_on_the_way_is_found_without_reading_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.zip"
    _write_zip(path, _contents())
    sent = path.read_bytes()
    path.write_bytes(sent.replace(b"row 3\n", b"row 9\n", 1))  # what arrived and was written
    reread = _no_reread(monkeypatch)
    members, _registry, _has = validate_zip(path, _fed(path.read_bytes()))
    assert reread == []
    assert [m.name for m in members if m.damaged] == [NAMES[3]]
    # the check only vouches for the bytes it saw: if the file differs, the file's bytes are
    # what the directory is checked against (here: fed the good bytes, file damaged)
    members, _registry, _has = validate_zip(path, _fed(sent))
    assert [m.name for m in members if m.damaged] == []  # the check saw good bytes
    # ... which is why a reader re-checks CRCs (test_archive_read: read() re-checks)


def test_layouts_it_does_not_follow_are_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = _contents()
    # data descriptors: a zip written to a stream that cannot seek
    buf = io.BytesIO()

    class Unseekable(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b: bytes) -> int:  # type: ignore[override]
            return buf.write(b)

    with zipfile.ZipFile(Unseekable(), "w") as zf:
        for name, data in contents.items():
            with zf.open(name, "w") as fh:
                fh.write(data)
    streamed = tmp_path / "s.zip"
    streamed.write_bytes(buf.getvalue())
    deflated = tmp_path / "d.zip"
    _write_zip(deflated, contents, zipfile.ZIP_DEFLATED)
    for path in (streamed, deflated):
        expected = validate_zip(path)
        reread = _no_reread(monkeypatch)
        got = validate_zip(path, _fed(path.read_bytes()))
        assert got == expected
        stored = [m.name for m in got[0] if m.offset >= 0]
        assert sorted(reread) == sorted(stored)
        monkeypatch.undo()


def test_a_member_renamed_in_its_local_header_is_read_back_and_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    _write_zip(path, _contents())
    data = bytearray(path.read_bytes())
    at = data.index(NAMES[2].encode())  # the local header's copy comes first
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    check = _fed(bytes(data))
    assert len(check.seen) == len(NAMES) + 1  # it followed every member, the renamed one too
    with pytest.raises(ArchiveValidationError, match="BadZipFile"):
        validate_zip(path, check)
