"""Validated get-data archives held in a temporary file."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import struct
import weakref
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any, BinaryIO, cast

from mano_api._errors import InvalidArgument

__all__ = ["Archive", "ArchiveMember", "ArchiveValidationError", "is_safe_member_name"]

logger = logging.getLogger(__name__)

REGISTRY_MEMBER = "registry"
_READ_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")
#: Local file header: signature, version, flags, method, time, date, CRC-32, compressed and
#: plain size, name and extra-field lengths.
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
#: Extra-field bytes read along with a local header in the hope of one ``pread`` per member.
_EXTRA_GUESS = 64
#: Limits on members compressed at the zip level (deflate; Beiwe stores its members as they
#: are): the declared plain size and its ratio to the compressed size, checked from 64 MiB on
#: (deflate cannot exceed ~1032x; CSV deflates 5-10x).
#: A member beyond them is not inflated (not even to check its CRC) and cannot be read.
#: Generous for real data: an hour of accelerometer CSV is ~1 MB, audio a few hundred MB.
MAX_MEMBER_BYTES = 16 << 30
MAX_MEMBER_RATIO = 200
_RATIO_FLOOR = 64 << 20


def new_temp_beside(target: Path) -> tuple[int, str]:
    """Open a new hidden temp file ``.<name>.<random>.mano-tmp`` beside ``target``.

    Created ``0666 & ~umask`` (``tempfile.mkstemp`` makes 0600): files written for the user
    follow the umask so the lab's group can read them when it should. Returns ``(fd, path)``.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{os.urandom(4).hex()}.mano-tmp"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name beside {target}")  # pragma: no cover


class ArchiveValidationError(Exception):
    """Internal: the file is not a complete zip (missing central directory, bad CRC)."""


def is_safe_member_name(name: str) -> bool:
    """True when ``name`` is a relative POSIX path that stays inside the extraction folder."""
    if not name or "\x00" in name or "\\" in name or name.startswith("/") or _DRIVE.match(name):
        return False
    # the components PurePosixPath(name).parts would give ("a//./b" -> a, b), ~5x faster
    parts = [part for part in name.split("/") if part and part != "."]
    return bool(parts) and ".." not in parts


@dataclass(frozen=True)
class ArchiveMember:
    """One data file of an archive (directory entries and ``registry`` excluded).

    Attributes:
        name: The member name, e.g. ``abcd1234/gps/2020-10-05 02_00_00+00_00.csv.zst``.
        size: Size of the member's bytes in the zip (zstd bytes for v2).
        crc: CRC-32 recorded in the zip (already verified).
        is_safe: False when the name is absolute, contains ``..`` or backslashes, etc.
        offset: Where the member's bytes start in the zip file, found (and its local header
            checked) during validation; -1 for members that are compressed at the zip level
            (Beiwe never sends those), which are read through :mod:`zipfile`.
        rejected: Why the member cannot be read (it would inflate beyond
            :data:`MAX_MEMBER_BYTES` or :data:`MAX_MEMBER_RATIO`), else None.
        damaged: The member's bytes do not match its CRC-32 although the zip is complete;
            reading it raises :class:`ArchiveValidationError`. One damaged member does not
            make the others unusable.
    """

    name: str
    size: int
    crc: int
    is_safe: bool
    offset: int = field(default=-1, compare=False)
    rejected: str | None = field(default=None, compare=False)
    damaged: bool = field(default=False, compare=False)

    @property
    def is_zstd(self) -> bool:
        """True for v2 members (``.zst`` suffix: zstd-compressed content)."""
        return self.name.endswith(".zst")

    @property
    def plain_name(self) -> str:
        """The name without the v2 ``.zst`` suffix."""
        return self.name[:-4] if self.is_zstd else self.name


@dataclass(frozen=True)
class _Seen:
    """A stored member as it went by in the stream (see :class:`StreamCheck`)."""

    name: bytes
    data_offset: int
    size: int
    crc: int  # CRC-32 of the bytes that arrived


class StreamCheck:
    """CRC-32 of each member while the zip arrives, so validation need not read it again.

    Beiwe writes plain stored members whose local headers carry the real CRC and sizes (no
    data descriptors), so the body can be followed member by member as it is written to disk.
    Feed it every chunk in order. What it saw is only a shortcut: :func:`validate_zip` still
    takes the central directory as the truth and uses a member's in-flight CRC only when its
    header offset, name and size agree with the directory; it reads anything else (a member
    after the point where following stopped: data descriptors, zip-level compression, ZIP64
    sizes, a header it does not understand) back from the file as before.
    """

    __slots__ = (
        "_crc",
        "_data_offset",
        "_head",
        "_left",
        "_name",
        "_size",
        "_start",
        "_stopped",
        "pos",
        "seen",
    )

    def __init__(self) -> None:
        self.pos = 0  # bytes fed so far
        self.seen: dict[int, _Seen] = {}  # header offset -> member
        self._head = bytearray()  # a local header being collected
        self._left = 0  # bytes of the current member's data still to come
        self._crc = 0
        self._name = b""
        self._start = 0  # where the current member's header starts
        self._data_offset = 0  # where its bytes start
        self._size = 0
        self._stopped = False

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        """Follow the next bytes of the body."""
        view = memoryview(chunk)
        n = len(view)
        at = 0
        while at < n and not self._stopped:
            if self._left:
                take = min(self._left, n - at)
                self._crc = zlib.crc32(view[at : at + take], self._crc)
                self._left -= take
                at += take
                if not self._left:
                    self._member_done()
                continue
            at = self._collect_header(view, at)
        self.pos += n

    def _collect_header(self, view: memoryview, at: int) -> int:
        """Take header bytes from ``view[at:]``; returns where it stopped taking."""
        head = self._head
        if not head:
            self._start = self.pos + at
        fixed = _LOCAL_HEADER.size
        need = fixed
        if len(head) >= fixed:
            need += int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little")
        take = min(need - len(head), len(view) - at)
        head += view[at : at + take]
        at += take
        if len(head) < need:
            return at
        fields = _LOCAL_HEADER.unpack_from(head)
        if need == fixed:
            magic, flags, method, csize, size = (
                fields[0],
                fields[2],
                fields[3],
                fields[7],
                fields[8],
            )
            # only what Beiwe writes: stored, no encryption, no data descriptor, real sizes
            if (
                magic != _LOCAL_MAGIC
                or flags & 0x9
                or method != zipfile.ZIP_STORED
                or csize != size
                or csize == 0xFFFFFFFF
            ):
                self._stopped = True
                return at
            if fields[9] + fields[10]:
                return at  # the name and extra field come next
        self._name = bytes(head[fixed : fixed + fields[9]])
        self._data_offset = self._start + len(head)
        self._size = self._left = fields[7]
        self._crc = 0
        head.clear()
        if not self._left:
            self._member_done()
        return at

    def _member_done(self) -> None:
        self.seen[self._start] = _Seen(self._name, self._data_offset, self._size, self._crc)

    def lookup(self, info: zipfile.ZipInfo, name: bytes) -> _Seen | None:
        """What went by at ``info``'s header offset, when it is the same stored member."""
        seen = self.seen.get(info.header_offset)
        if seen is None or seen.name != name or seen.size != info.compress_size:
            return None
        return seen


def validate_zip(
    path: Path, checked: StreamCheck | None = None
) -> tuple[list[ArchiveMember], dict[str, str], bool]:
    """Open the zip's central directory and check every member's CRC.

    A member whose CRC ``checked`` computed while the body arrived is not read again.

    Returns:
        The data members, the parsed registry (values stripped), whether a registry was present.

    Raises:
        ArchiveValidationError: truncated, corrupt, or a CRC mismatch.
    """
    members: list[ArchiveMember] = []
    registry: dict[str, str] = {}
    has_registry = False
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb", buffering=0) as raw_fh:
            fd = raw_fh.fileno()
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if info.filename == REGISTRY_MEMBER:
                    with zf.open(info) as fh:
                        raw = fh.read()
                    has_registry = True
                    registry = _parse_registry(raw)
                    continue
                offset = -1
                rejected = None
                damaged = False
                if _is_plain_stored(info):
                    seen = None if checked is None else checked.lookup(info, _raw_name(info))
                    if seen is not None:  # its CRC was taken as it arrived
                        offset, damaged = seen.data_offset, seen.crc != info.CRC
                    else:
                        # one pread per chunk on a single fd: far cheaper than zf.open
                        offset, damaged = _check_stored_crc(fd, info)
                    if damaged:
                        logger.warning(
                            "%s: bad CRC-32; the other members are usable", info.filename
                        )
                else:
                    rejected = _inflation_problem(info)
                    if rejected is None:
                        with zf.open(info) as fh:
                            while fh.read(_READ_CHUNK):
                                pass
                    else:
                        logger.warning("rejected zip member %r: %s", info.filename, rejected)
                members.append(
                    ArchiveMember(
                        name=info.filename,
                        size=info.file_size,
                        crc=info.CRC,
                        is_safe=is_safe_member_name(info.filename),
                        offset=offset,
                        rejected=rejected,
                        damaged=damaged,
                    )
                )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        raise ArchiveValidationError(f"{type(exc).__name__}: {exc}") from exc
    return members, registry, has_registry


def _inflation_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip-compressed member must not be inflated, or None."""
    plain, packed = info.file_size, max(info.compress_size, 1)
    if plain > MAX_MEMBER_BYTES:
        return f"it would inflate to {plain} bytes (limit {MAX_MEMBER_BYTES}): a zip bomb?"
    if plain > _RATIO_FLOOR and plain > MAX_MEMBER_RATIO * packed:
        return (
            f"it would inflate {plain // packed}x ({packed} to {plain} bytes; limit "
            f"{MAX_MEMBER_RATIO}x): a zip bomb?"
        )
    return None


def _is_plain_stored(info: zipfile.ZipInfo) -> bool:
    """A member stored uncompressed and unencrypted (what Beiwe servers write)."""
    return (
        info.compress_type == zipfile.ZIP_STORED
        and not info.flag_bits & 0x1
        and info.compress_size == info.file_size
    )


def _local_header(info: zipfile.ZipInfo, name: bytes, head: bytes) -> int:
    """Check a member's local header (magic, name) at the start of ``head``; return its length
    (header, name and extra field: where the member's bytes start)."""
    if len(head) < _LOCAL_HEADER.size + len(name):
        raise zipfile.BadZipFile(f"truncated local header of {info.filename!r}")
    fields = _LOCAL_HEADER.unpack_from(head)
    magic, name_len, extra_len = fields[0], fields[9], fields[10]
    if magic != _LOCAL_MAGIC:
        raise zipfile.BadZipFile(f"bad local header magic for {info.filename!r}")
    start = _LOCAL_HEADER.size
    if name_len != len(name) or head[start : start + name_len] != name:
        raise zipfile.BadZipFile(f"local header name differs from the directory: {name!r}")
    return start + int(name_len) + int(extra_len)


def _pread_exact(fd: int, size: int, offset: int, what: str) -> bytes:
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise EOFError(f"{what}: the zip ends inside this member")
    return data


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The member name as its headers spell it."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def _check_stored_crc(fd: int, info: zipfile.ZipInfo) -> tuple[int, bool]:
    """Check a stored member's local header and CRC-32; return where its bytes start and
    whether they fail their CRC-32 (the zip's structure is sound, this member is damaged).

    The first ``pread`` takes the header with up to a chunk of data: all of a small member
    (the usual Beiwe file) in one call.
    """
    name = _raw_name(info)
    remaining = info.compress_size
    head_guess = _LOCAL_HEADER.size + len(name) + _EXTRA_GUESS
    blob = os.pread(fd, head_guess + min(remaining, _READ_CHUNK), info.header_offset)
    head = _local_header(info, name, blob)
    offset = info.header_offset + head
    first = blob[head : head + remaining]  # empty when the extra field was longer than guessed
    crc = zlib.crc32(first)
    at = offset + len(first)
    remaining -= len(first)
    while remaining:
        n = min(remaining, _READ_CHUNK)
        crc = zlib.crc32(_pread_exact(fd, n, at, info.filename), crc)
        at += n
        remaining -= n
    return int(offset), crc != info.CRC


def _parse_registry(raw: bytes) -> dict[str, str]:
    try:
        obj = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArchiveValidationError(f"the registry member is not JSON: {exc}") from exc
    if not isinstance(obj, dict):
        raise ArchiveValidationError("the registry member is not a JSON object")
    # Old servers end base64 values with "\n"; the current one strips it.
    return {str(k): ("" if v is None else str(v).strip()) for k, v in obj.items()}


class _StoredMember(io.RawIOBase):
    """A stored member's bytes read with ``pread`` on the archive's fd; CRC-32 checked at EOF.

    Shares the fd with the archive (never closes it), so many members can be open at once.
    """

    def __init__(self, fd: int, member: ArchiveMember) -> None:
        self._fd = fd
        self._member = member
        self._pos = member.offset
        self._left = member.size
        self._crc = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._left)
        if want == 0:
            return 0
        try:
            data = os.pread(self._fd, want, self._pos)
        except OSError as exc:
            raise ArchiveValidationError(f"{self._member.name}: {exc}") from exc
        n = len(data)
        if n == 0:
            raise ArchiveValidationError(
                f"{self._member.name}: the zip ends inside this member (it changed on disk)"
            )
        view[:n] = data
        self._pos += n
        self._left -= n
        self._crc = zlib.crc32(data, self._crc)
        if self._left == 0 and self._crc != self._member.crc:
            raise ArchiveValidationError(
                f"{self._member.name}: bad CRC-32 (the archive changed on disk)"
            )
        return n


def _refuse_rejected(member: ArchiveMember) -> None:
    if member.rejected is not None:
        raise InvalidArgument(f"zip member {member.name!r} was rejected: {member.rejected}")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


class Archive:
    """A downloaded, validated get-data archive in a hidden temporary file.

    Use it as a context manager (or call :meth:`close`): closing deletes the temporary file
    unless it was moved with :meth:`save_as`. Every member's CRC was checked before the
    archive was handed out.

    Attributes:
        path: The zip file.
        version: 1 (plain members) or 2 (zstd members named ``*.zst``).
        size: Size of the zip in bytes (= bytes received by the successful attempt).
        registry: The ``registry`` member: storage path -> hash (MD5 or SHA-1, base64).
        has_registry: False when the server sent no ``registry`` member.
        attempts: How many requests it took (1 unless something was retried).
    """

    def __init__(
        self,
        path: Path,
        *,
        version: int,
        members: list[ArchiveMember],
        registry: dict[str, str],
        has_registry: bool = True,
        attempts: int = 1,
    ):
        self.path = path
        self.version = version
        self.size = path.stat().st_size
        self.registry = registry
        self.has_registry = has_registry
        self.attempts = attempts
        self._members = members
        self._by_name = {m.name: m for m in members}
        self._zip: zipfile.ZipFile | None = None
        self._fd: int | None = None
        self._owned = True
        # An archive dropped without close() still removes its temporary file.
        self._finalizer = weakref.finalize(self, _remove, path)

    def __repr__(self) -> str:
        return (
            f"<Archive v{self.version} {self.path.name} {len(self._members)} members "
            f"{self.size} bytes>"
        )

    def __enter__(self) -> Archive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[ArchiveMember]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def members(self) -> list[ArchiveMember]:
        """Every data member (``registry`` and directory entries excluded)."""
        return list(self._members)

    @property
    def unsafe_members(self) -> list[ArchiveMember]:
        """Members whose names would escape an extraction folder (callers must reject them)."""
        return [m for m in self._members if not m.is_safe]

    @property
    def is_empty(self) -> bool:
        """True when the archive holds no data member."""
        return not self._members

    def _zipfile(self) -> zipfile.ZipFile:
        if self._zip is None:
            if not self.path.exists():
                raise InvalidArgument("this archive was closed; its temporary file is gone")
            self._zip = zipfile.ZipFile(self.path)
        return self._zip

    def open(self, member: ArchiveMember | str) -> BinaryIO:
        """A binary stream of the member's raw bytes (zstd-compressed for v2).

        Raises:
            InvalidArgument: no such member.
        """
        name = member.name if isinstance(member, ArchiveMember) else member
        known = self._by_name.get(name)
        if known is None:
            raise InvalidArgument(f"no member {name!r} in this archive")
        _refuse_rejected(known)
        if known.offset < 0:
            return cast(BinaryIO, self._zipfile().open(name))
        return cast(BinaryIO, io.BufferedReader(_StoredMember(self._data_fd(), known)))

    def _data_fd(self) -> int:
        if self._fd is None:
            if not self.path.exists():
                raise InvalidArgument("this archive was closed; its temporary file is gone")
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        return self._fd

    def read(self, member: ArchiveMember | str) -> bytes:
        """The member's whole raw bytes (small members only; prefer :meth:`open`).

        Stored members are read with one ``pread`` from a file descriptor kept open by the
        archive (no per-member zip stream) and their CRC-32 is checked again.

        Raises:
            InvalidArgument: no such member.
            ArchiveValidationError: the member's bytes no longer match its CRC-32.
        """
        name = member.name if isinstance(member, ArchiveMember) else member
        known = self._by_name.get(name)
        if known is None:
            raise InvalidArgument(f"no member {name!r} in this archive")
        _refuse_rejected(known)
        if known.offset < 0:
            with self._zipfile().open(name) as fh:
                return fh.read()
        fd = self._data_fd()
        try:
            data = os.pread(fd, known.size, known.offset)
        except OSError as exc:
            raise ArchiveValidationError(f"{name}: {type(exc).__name__}: {exc}") from exc
        if len(data) != known.size:
            raise ArchiveValidationError(f"{name}: the zip ends inside this member (it changed)")
        if zlib.crc32(data) != known.crc:
            raise ArchiveValidationError(f"{name}: bad CRC-32 (the archive changed on disk)")
        return data

    def extract(self, folder: str | os.PathLike[str], member: ArchiveMember | str) -> Path:
        """Write one member under ``folder`` at its member name, atomically.

        Raises:
            InvalidArgument: the name is unsafe (absolute, ``..``) or unknown.
        """
        name = member.name if isinstance(member, ArchiveMember) else member
        if not is_safe_member_name(name):
            raise InvalidArgument(f"refusing to extract unsafe member name {name!r}")
        target = Path(folder, *PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = new_temp_beside(target)
        try:
            with os.fdopen(fd, "wb") as out, self.open(name) as src:
                shutil.copyfileobj(cast(IO[bytes], src), out, _READ_CHUNK)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def extract_all(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Extract every safe member under ``folder``; unsafe names are skipped with a warning."""
        written = []
        for m in self._members:
            if not m.is_safe:
                logger.warning("skipping unsafe archive member name %r", m.name)
                continue
            written.append(self.extract(folder, m))
        return written

    def save_as(self, target: str | os.PathLike[str]) -> Path:
        """Move the zip file to ``target`` (kept after :meth:`close`)."""
        self._close_zip()
        target_path = Path(target)
        try:
            os.replace(self.path, target_path)
        except OSError:
            shutil.move(str(self.path), str(target_path))
        self.path = target_path
        self._owned = False
        self._finalizer.detach()
        return target_path

    def _close_zip(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def close(self) -> None:
        """Close the zip and delete the temporary file (idempotent)."""
        self._close_zip()
        if self._owned:
            self._finalizer()
            self._owned = False
