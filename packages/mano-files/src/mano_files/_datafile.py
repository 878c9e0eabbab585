"""Streaming conversion between the data-file forms, with SHA-1 of the plain content.

Forms (see :data:`mano_files.FORMS`): ``plain``; ``zst`` (zstd); ``lock`` (cryptease over the
plain bytes, what mano 0.6.0 wrote); ``zst.lock`` (cryptease over zstd bytes, what mano writes).
Every conversion streams in fixed-size chunks, validates as it goes (zstd frame structure and
checksums, decrypted content plausibility) and publishes atomically.
"""

from __future__ import annotations

import base64
import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Final, Protocol, cast

import zstandard

from mano_files._atomic import atomic_writer, write_bytes_atomic
from mano_files._errors import (
    CorruptFile,
    CorruptZstd,
    InflationLimit,
    InvalidOption,
    KeyRequired,
    ManoFilesError,
    WrongPassphrase,
    wrap_os_error,
)
from mano_files._paths import FORM_SUFFIXES, FORMS, Form, form_of, plain_name
from mano_files._writer import ONE_SHOT_MAX, one_frame

if TYPE_CHECKING:  # encryption loads on first use: plain and zstd work never needs it
    from mano_files._crypto import LockKey

__all__ = [
    "CHUNK",
    "DEFAULT_LEVEL",
    "InflationLimits",
    "StoredFile",
    "convert_file",
    "read_data_file",
    "reading_key",
    "set_inflation_limits",
    "sha1_b64_file",
    "validate_level",
    "write_data_file",
]

#: zstd level the Beiwe server uses.
DEFAULT_LEVEL: Final = 2
CHUNK: Final = 1 << 20
_HEAD: Final = 4096
_AUDIO_EXTENSIONS: Final = frozenset(
    {"wav", "mp4", "m4a", "3gp", "aac", "amr", "mp3", "ogg", "flac", "caf", "webm"}
)

_local = threading.local()


@dataclass(frozen=True, slots=True)
class InflationLimits:
    """How far zstd data may inflate before it is rejected as a decompression bomb.

    Real Beiwe files stay far inside the defaults: an hour of accelerometer data is ~1 MB,
    audio files reach a few hundred MB, and CSV compresses 5-30x.

    Attributes:
        max_size: Largest plain content of one file, in bytes (default 16 GiB).
        max_ratio: Largest plain/compressed ratio (default 2000), checked once a file has
            inflated past ``ratio_floor`` bytes (small files of repeated rows may go higher).
        ratio_floor: Plain size from which the ratio is checked (default 64 MiB).
    """

    max_size: int = 16 << 30
    max_ratio: int = 2000
    ratio_floor: int = 64 << 20

    def check(self, plain: int, packed: int, where: str) -> None:
        """Raise :class:`InflationLimit` when ``plain`` bytes from ``packed`` exceed a limit."""
        if plain > self.max_size:
            raise InflationLimit(
                f"{where}: zstd data inflates beyond {self.max_size} bytes; rejected as a "
                "decompression bomb (raise mano_files.set_inflation_limits(max_size=...) if "
                "the file is genuine)"
            )
        if plain > self.ratio_floor and plain > self.max_ratio * max(packed, 1):
            raise InflationLimit(
                f"{where}: zstd data inflates more than {self.max_ratio}x ({packed} bytes to "
                f"over {plain}); rejected as a decompression bomb (raise "
                "mano_files.set_inflation_limits(max_ratio=...) if the file is genuine)"
            )


_limits = InflationLimits()


def set_inflation_limits(
    *, max_size: int | None = None, max_ratio: int | None = None, ratio_floor: int | None = None
) -> InflationLimits:
    """Change the limits every decompression in this process applies; return the new ones.

    Raises:
        InvalidOption: a limit is not a positive integer.
    """
    global _limits
    values = {"max_size": max_size, "max_ratio": max_ratio, "ratio_floor": ratio_floor}
    for name, value in values.items():
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise InvalidOption(f"{name} must be a positive integer, not {value!r}")
    current = {
        "max_size": _limits.max_size,
        "max_ratio": _limits.max_ratio,
        "ratio_floor": _limits.ratio_floor,
    }
    current.update({k: v for k, v in values.items() if v is not None})
    _limits = InflationLimits(**current)
    return _limits


_Bytes = bytes | bytearray | memoryview


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class _Writable(Protocol):
    def write(self, data: _Bytes, /) -> Any: ...


def _sha1(data: _Bytes = b"") -> Any:
    """A SHA-1 object (``hashlib`` loads OpenSSL: only work that hashes pays for it)."""
    import hashlib

    return hashlib.sha1(data, usedforsecurity=False)


def validate_level(level: int) -> int:
    """Check a zstd level (1-22) and return it.

    Raises:
        InvalidOption: out of range or not an integer.
    """
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 22:
        raise InvalidOption(f"zstd level must be an integer from 1 to 22, not {level!r}")
    return level


def _compressor(level: int) -> zstandard.ZstdCompressor:
    """One compressor per (thread, level): contexts are reused, never shared across threads."""
    cache: dict[int, zstandard.ZstdCompressor] | None = getattr(_local, "cctx", None)
    if cache is None:
        cache = _local.cctx = {}
    cctx = cache.get(level)
    if cctx is None:
        cctx = cache[level] = zstandard.ZstdCompressor(
            level=level, write_checksum=True, write_content_size=True
        )
    return cctx


def _decompressor() -> zstandard.ZstdDecompressor:
    dctx: zstandard.ZstdDecompressor | None = getattr(_local, "dctx", None)
    if dctx is None:
        dctx = _local.dctx = zstandard.ZstdDecompressor()
    return dctx


def reading_key(passphrase: str) -> LockKey:
    """A key object that derives (and caches) the key of each salt it meets; no derivation now."""
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidOption("the passphrase must be a non-empty string")
    from mano_files._crypto import LockKey

    return LockKey(key=b"", salt=b"", iterations=0, _passphrase=passphrase)


def _as_key(key: LockKey | str | None) -> LockKey | None:
    if key is None:
        return None
    from mano_files._crypto import LockKey

    if isinstance(key, LockKey):
        return key
    return reading_key(key)


# --------------------------------------------------------------------------- zstd structure


_ZSTD_MAGIC: Final = 0xFD2FB528
_ST_MAGIC, _ST_FHD, _ST_BLOCK, _ST_CHECKSUM, _ST_SKIPSIZE = range(5)
_DID_SIZES: Final = (0, 1, 2, 4)


class _FrameChecker:
    """Walks zstd frame/block headers as bytes pass, to detect truncation the decoder misses.

    python-zstandard's streaming readers return EOF silently when input stops mid-frame; this
    walker knows whether the last frame (including its checksum) is complete.
    """

    __slots__ = ("_buf", "_checksum", "_need", "_skip", "_state", "frames", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self.frames = 0
        self._state = _ST_MAGIC
        self._need = 4
        self._skip = 0
        self._checksum = False
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        i = 0
        n = len(data)
        while i < n:
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                continue
            want = self._need - len(self._buf)
            piece = data[i : i + want]
            self._buf += piece
            i += len(piece)
            if len(self._buf) < self._need:
                return
            self._advance(bytes(self._buf))
            self._buf.clear()

    def _advance(self, buf: bytes) -> None:
        state = self._state
        if state == _ST_MAGIC:
            magic = int.from_bytes(buf, "little")
            if magic == _ZSTD_MAGIC:
                self._state, self._need = _ST_FHD, 1
            elif magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = _ST_SKIPSIZE, 4
            else:
                raise CorruptZstd(f"{self.where}: not zstd data (bad frame magic)")
        elif state == _ST_FHD:
            fhd = buf[0]
            if fhd & 0x08:
                raise CorruptZstd(f"{self.where}: damaged zstd frame header")
            single = (fhd >> 5) & 1
            fcs = fhd >> 6
            fcs_size = (1 if single else 0, 2, 4, 8)[fcs]
            self._checksum = bool(fhd & 0x04)
            self._skip = (0 if single else 1) + _DID_SIZES[fhd & 3] + fcs_size
            self._state, self._need = _ST_BLOCK, 3
        elif state == _ST_BLOCK:
            header = buf[0] | (buf[1] << 8) | (buf[2] << 16)
            btype = (header >> 1) & 3
            if btype == 3:
                raise CorruptZstd(f"{self.where}: damaged zstd block header")
            self._skip = 1 if btype == 1 else header >> 3
            if header & 1:
                if self._checksum:
                    self._state, self._need = _ST_CHECKSUM, 4
                else:
                    self._end_frame()
        elif state == _ST_CHECKSUM:
            self._end_frame()
        else:  # skippable frame size
            self._skip = int.from_bytes(buf, "little")
            self._state, self._need = _ST_MAGIC, 4

    def _end_frame(self) -> None:
        self.frames += 1
        self._state, self._need = _ST_MAGIC, 4

    def finish(self) -> None:
        """Raise :class:`CorruptZstd` unless the data ended exactly after a complete frame."""
        if self._state != _ST_MAGIC or self._buf or self._skip:
            raise CorruptZstd(f"{self.where}: zstd data is truncated (incomplete frame)")
        if self.frames == 0:
            raise CorruptZstd(f"{self.where}: empty or frameless zstd data")


# --------------------------------------------------------------------------- readers


class _SourceReader:
    """Raw bytes of a file in its stored form, decrypted when locked."""

    __slots__ = ("_check", "_dec", "_done", "_fh", "_head", "where")

    def __init__(
        self,
        fh: _Readable,
        where: str,
        *,
        decryptor: Any = None,
        check: Callable[[bytes], None] | None = None,
    ) -> None:
        self._fh = fh
        self._dec = decryptor
        self.where = where
        self._head = b""
        self._check = check
        self._done = False

    def _raw(self, n: int) -> bytes:
        if self._done:
            return b""
        data = self._fh.read(n)
        if self._dec is not None:
            if data:
                data = self._dec.update(data)
            else:
                self._done = True
                data = self._dec.finalize()
        return data

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0:
            n = CHUNK
        if self._check is not None:
            head = b""
            while len(head) < _HEAD:
                more = self._raw(_HEAD)
                if not more:
                    break
                head += more
            check, self._check = self._check, None
            check(head)
            self._head = head
        if self._head:
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._raw(n)


class _CheckedTee:
    """Passes compressed bytes to a zstd reader while walking frames and copying them out."""

    __slots__ = ("_checker", "_src", "_tee", "_wrong_key", "consumed")

    def __init__(
        self, src: _Readable, checker: _FrameChecker, tee: _Writable | None, wrong_key: bool
    ) -> None:
        self._src = src
        self._checker = checker
        self._tee = tee
        self._wrong_key = wrong_key
        self.consumed = 0

    def read(self, n: int = -1, /) -> bytes:
        data = self._src.read(n)
        if data:
            self.consumed += len(data)
            try:
                self._checker.feed(data)
            except CorruptZstd as exc:
                if self._wrong_key and self._checker.frames == 0:
                    raise WrongPassphrase(
                        f"{self._checker.where}: wrong passphrase (the file does not decrypt "
                        "to zstd data)"
                    ) from exc
                raise
            if self._tee is not None:
                self._tee.write(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass
        self._checker.finish()


def _is_plausible_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character may be cut at the end of the sample
        if len(head) < _HEAD or exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8", errors="strict")
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)


def _is_plausible_audio(head: bytes) -> bool:
    return (
        (head[:4] == b"RIFF" and head[8:12] in (b"WAVE", b"AVI "))
        or head[4:8] == b"ftyp"
        or head[:5] == b"#!AMR"
        or head[:3] == b"ID3"
        or head[:4] in (b"OggS", b"fLaC", b"caff")
        or head[:4] == b"\x1a\x45\xdf\xa3"
        or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
    )


def _plausibility_check(where: str, extension: str) -> Callable[[bytes], None]:
    audio = extension.lower() in _AUDIO_EXTENSIONS

    def check(head: bytes) -> None:
        if not head:
            return
        ok = _is_plausible_audio(head) if audio else _is_plausible_text(head)
        if not ok:
            kind = "audio" if audio else "CSV text"
            raise WrongPassphrase(
                f"{where}: wrong passphrase (the file does not decrypt to {kind}); "
                "check the passphrase and try again"
            )

    return check


def _extension_of(name: str) -> str:
    base = plain_name(name)
    return base.rpartition(".")[2] if "." in base else ""


def _extension(path: Path) -> str:
    return _extension_of(path.name)


class _OpenSource:
    """A source file opened for conversion: raw stream plus what its form needs."""

    def __init__(
        self,
        fh: _Readable,
        form: Form,
        key: LockKey | None,
        where: str,
        extension: str,
    ) -> None:
        self.form = form
        self.where = where
        decryptor = None
        check = None
        if form in ("lock", "zst.lock"):
            if key is None:
                raise KeyRequired(f"{where} is locked: a passphrase is needed to read it")
            from mano_files._crypto import read_lock_header

            decryptor = read_lock_header(fh, key, where)  # type: ignore[arg-type]
            if form == "lock":
                check = _plausibility_check(where, extension)
        self.reader = _SourceReader(fh, where, decryptor=decryptor, check=check)

    @property
    def compressed(self) -> bool:
        return self.form in ("zst", "zst.lock")


class _PlainRaw(io.RawIOBase):
    """Plain bytes of any form as a raw stream; validation errors raise on read."""

    def __init__(self, fh: BinaryIO, source: _OpenSource) -> None:
        super().__init__()
        self._fh = fh
        self._tee: _CheckedTee | None = None
        self._zr: Any = None
        self._src: _Readable = source.reader
        if source.compressed:
            self._tee = _CheckedTee(
                source.reader,
                _FrameChecker(source.where),
                None,
                wrong_key=source.form == "zst.lock",
            )
            self._zr = _decompressor().stream_reader(
                cast(IO[bytes], self._tee),
                read_size=1 << 17,
                read_across_frames=True,
                closefd=False,
            )
            self._src = self._zr
        self._where = source.where
        self._eof = False
        self._plain = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if self._eof:
            return b""
        if n is None or n < 0:
            chunks = []
            while chunk := self.read(CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
        try:
            data = self._src.read(n)
            if self._tee is not None:
                self._plain += len(data)
                _limits.check(self._plain, self._tee.consumed, self._where)
            if not data:
                self._eof = True
                if self._tee is not None:
                    self._tee.drain()
        except zstandard.ZstdError as exc:
            raise CorruptZstd(f"{self._where}: damaged zstd data ({exc})") from exc
        except OSError as exc:
            raise wrap_os_error(exc, self._where, "read") from exc
        return data

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def close(self) -> None:
        if not self.closed:
            try:
                if self._zr is not None:
                    self._zr.close()
            finally:
                self._fh.close()
        super().close()


def _open_plain(path: Path, key: LockKey | None, form: Form | None = None) -> _PlainRaw:
    where = str(path)
    form = form or form_of(path.name)
    try:
        fh = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by _PlainRaw
    except OSError as exc:
        raise wrap_os_error(exc, path, "read") from exc
    try:
        source = _OpenSource(fh, form, key, where, _extension(path))
        return _PlainRaw(fh, source)
    except BaseException:
        fh.close()
        raise


def read_data_file(path: str | os.PathLike[str], *, key: LockKey | str | None = None) -> BinaryIO:
    """Open a data file of any form and return its plain (decompressed, decrypted) bytes.

    The stream validates as it is read: a damaged or truncated ``.zst`` raises
    :class:`CorruptZstd` at the latest when the end is reached; a wrong passphrase raises
    :class:`WrongPassphrase` on the first read.

    Args:
        path: The file; its form comes from its suffixes.
        key: A :class:`LockKey` or passphrase, needed for ``.lock`` files.

    Returns:
        A buffered binary reader (close it, or use it as a context manager).
    """
    raw = _open_plain(Path(path), _as_key(key))
    return io.BufferedReader(raw, buffer_size=CHUNK)


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def sha1_b64_file(path: str | os.PathLike[str], *, key: LockKey | str | None = None) -> str:
    """Base64 SHA-1 of a data file's plain content (the server registry's hash convention).

    Args:
        path: A data file in any form.
        key: A :class:`LockKey` or passphrase, needed for ``.lock`` files.

    Returns:
        28-character standard base64 (padded) of the SHA-1 digest.
    """
    return _hash_path(Path(path), _as_key(key))[0]


def _hash_path(path: str | Path, key: LockKey | None) -> tuple[str, int]:
    form = form_of(os.fspath(path))
    digest = _sha1()
    if form == "plain":
        try:
            with open(path, "rb", buffering=0) as fh:
                total = 0
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    total += len(chunk)
        except OSError as exc:
            raise wrap_os_error(exc, path, "read") from exc
        return _b64(digest.digest()), total
    with _open_plain(Path(path), key, form) as raw:
        total = 0
        while chunk := raw.read(CHUNK):
            digest.update(chunk)
            total += len(chunk)
    return _b64(digest.digest()), total


# --------------------------------------------------------------------------- writers


class _Sink:
    """Writes (optionally encrypted) bytes to the temp file and counts them."""

    __slots__ = ("_enc", "_fh", "written")

    def __init__(self, fh: BinaryIO, key: LockKey | None) -> None:
        self._fh = fh
        self.written = 0
        self._enc = None
        if key is not None:
            from mano_files._crypto import encryptor_for

            prefix, self._enc = encryptor_for(key)
            self.write_raw(prefix)

    def write(self, data: _Bytes) -> int:
        size = len(data)
        if self._enc is not None:
            data = self._enc.update(data)
        self.write_raw(data)
        return size

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        if self._enc is not None:
            tail = self._enc.finalize()
            if tail:
                self.write_raw(tail)

    def write_raw(self, data: _Bytes) -> None:
        # the temp file is unbuffered: loop over short writes
        view = memoryview(data)
        while view:
            n = self._fh.write(view)
            self.written += n
            view = view[n:]


def _read_full(src: _Readable, n: int) -> bytes:
    data = src.read(n)
    if len(data) < n and data:
        parts = [data]
        got = len(data)
        while got < n:
            more = src.read(n - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


@dataclass(frozen=True, slots=True)
class StoredFile:
    """What :func:`write_data_file` stored.

    Attributes:
        path: The final path (plain name plus the form's suffixes).
        form: The canonical form written (``plain``, ``zst`` or ``zst.lock``).
        size_on_disk: Bytes written to disk.
        plain_size: Bytes of plain content.
        sha1_b64: Base64 SHA-1 of the plain content.
        mtime_ns: The file's modification time in nanoseconds, as ``os.stat`` reports it
            (``None`` when unknown).
    """

    path: Path
    form: Form
    size_on_disk: int
    plain_size: int
    sha1_b64: str
    mtime_ns: int | None = None


def _canonical_target_form(form: str) -> Form:
    if form == "lock":
        return "zst.lock"
    if form not in ("plain", "zst", "zst.lock"):
        raise InvalidOption(
            f"cannot write form {form!r}: use 'plain', 'zst' or 'lock' ('zst.lock')"
        )
    return form  # type: ignore[return-value]


def _convert_stream(
    source: _OpenSource,
    out: BinaryIO,
    target_form: Form,
    key: LockKey | None,
    level: int,
    size_hint: int | None,
    want_hash: bool,
) -> tuple[int, int, str | None]:
    """Copy ``source`` into ``out`` in ``target_form``; return (bytes_out, plain_size, sha1)."""
    digest = _sha1() if want_hash else None
    sink = _Sink(out, key if target_form == "zst.lock" else None)
    plain_size = 0
    target_compressed = target_form != "plain"
    try:
        if source.compressed:
            tee = _CheckedTee(
                source.reader,
                _FrameChecker(source.where),
                sink if target_compressed else None,
                wrong_key=source.form == "zst.lock",
            )
            with _decompressor().stream_reader(
                cast(IO[bytes], tee), read_size=1 << 17, read_across_frames=True, closefd=False
            ) as zr:
                limits = _limits
                while chunk := zr.read(CHUNK):
                    plain_size += len(chunk)
                    limits.check(plain_size, tee.consumed, source.where)
                    if digest is not None:
                        digest.update(chunk)
                    if not target_compressed:
                        sink.write(chunk)
            tee.drain()
        else:
            first = _read_full(source.reader, CHUNK)
            second = _read_full(source.reader, CHUNK) if len(first) == CHUNK else b""
            if digest is not None:
                digest.update(first)
            plain_size = len(first)
            if target_compressed and not second:
                # the common case: the whole file fits one chunk, compress in one call
                sink.write(_compressor(level).compress(first))
            else:
                writer = (
                    _compressor(level).stream_writer(
                        cast(IO[bytes], sink),
                        size=size_hint if size_hint is not None else -1,
                        closefd=False,
                    )
                    if target_compressed
                    else None
                )
                dest: _Sink | zstandard.ZstdCompressionWriter = sink if writer is None else writer
                dest.write(first)
                while second:
                    plain_size += len(second)
                    if digest is not None:
                        digest.update(second)
                    dest.write(second)
                    second = source.reader.read(CHUNK)
                if writer is not None:
                    writer.flush(zstandard.FLUSH_FRAME)
        sink.finish()
    except zstandard.ZstdError as exc:
        raise CorruptZstd(f"{source.where}: damaged zstd data ({exc})") from exc
    return sink.written, plain_size, (_b64(digest.digest()) if digest is not None else None)


def _remove_other_forms(target_plain: Path, keep: Path) -> None:
    for form in FORMS:
        other = target_plain.with_name(target_plain.name + FORM_SUFFIXES[form])
        if other != keep:
            try:
                other.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise wrap_os_error(exc, other, "remove") from exc


def _one_frame(data: _Bytes) -> bytes | None:
    """Plain content of one intact zstd frame of known size (the Beiwe case), else ``None``."""
    return one_frame(data, _decompressor(), ONE_SHOT_MAX)


def _one_shot(
    data: _Bytes, src_form: Form, target_form: Form, level: int, where: str
) -> tuple[_Bytes, int, str] | None:
    """Convert a whole small file held in memory: (bytes to store, plain size, SHA-1).

    Returns ``None`` when the input needs the streaming path: anything but one intact zstd
    frame of known size (several or skippable frames, unknown or large content size, and
    damaged data, which the streaming path reports as :class:`CorruptZstd`).
    """
    if src_form == "zst":
        plain = _one_frame(data)
        if plain is None:
            return None
        _limits.check(len(plain), len(data), where)
        sha1 = _b64(_sha1(plain).digest())
        return (plain if target_form == "plain" else data), len(plain), sha1
    if src_form == "plain":
        sha1 = _b64(_sha1(data).digest())
        out = data if target_form == "plain" else _compressor(level).compress(data)
        return out, len(data), sha1
    return None


def write_data_file(
    source: BinaryIO | bytes,
    target: str | os.PathLike[str],
    *,
    source_form: str = "zst",
    form: str = "plain",
    key: LockKey | str | None = None,
    level: int = DEFAULT_LEVEL,
    overwrite: bool = True,
    fsync: bool = False,
    remove_other_forms: bool = True,
    size_hint: int | None = None,
) -> StoredFile:
    """Store one data file from a stream, in the requested form, atomically.

    This is what mano-sync calls for every zip member: v2 members are ``source_form="zst"``,
    v1 members ``"plain"``. Compressed input is validated (frame structure, content size,
    checksums) while it streams; compressed output is copied without recompression.

    Args:
        source: A readable binary stream (e.g. ``Archive.open(member)``); not closed. Or the
            whole stored bytes of a small file (e.g. ``Archive.read(member)``): converted in
            one call with the same checks, written with one write.
        target: The plain path, e.g. ``out/ab12cd34/gps/2020-10-05 02_00_00+00_00.csv``; the
            form's suffixes are appended. Missing folders are created.
        source_form: The form of the bytes in ``source`` (``zst``, ``plain``, ``lock``,
            ``zst.lock``).
        form: ``plain``, ``zst`` or ``lock`` (an alias of ``zst.lock``: compressed, then
            encrypted).
        key: A :class:`LockKey` (derive once per run with :func:`derive_key`); needed to write
            ``lock`` or to read a locked source. A passphrase string is accepted but derives a
            new key for every call.
        level: zstd level 1-22 when compressing plain input.
        overwrite: Replace an existing target (default); when False raise :class:`TargetExists`.
        fsync: fsync file and folder before returning.
        remove_other_forms: After success, delete other forms of the same file (e.g. the old
            ``.csv`` when ``.csv.zst`` was written) so the tree holds one copy.
        size_hint: The plain size if known, recorded in the zstd frame header of large files.

    Returns:
        A :class:`StoredFile`.

    Raises:
        CorruptZstd: ``source`` is not complete, valid zstd data (nothing is written).
        WrongPassphrase, KeyRequired, InvalidOption, TargetExists, PermissionDenied, DiskFull,
        LocalIOError.
    """
    src_form = source_form if source_form in FORMS else None
    if src_form is None:
        raise InvalidOption(f"unknown source form {source_form!r}; use one of {', '.join(FORMS)}")
    target_form = _canonical_target_form(form)
    validate_level(level)
    lock_key = _as_key(key)
    if target_form == "zst.lock":
        if lock_key is None:
            raise KeyRequired("writing a locked file needs a key: pass key=derive_key(passphrase)")
        if not lock_key.key:
            lock_key = _fresh_key_from(lock_key)
    if isinstance(source, bytes | bytearray | memoryview):
        if target_form != "zst.lock":
            final_str = os.fspath(target) + FORM_SUFFIXES[target_form]
            done = _one_shot(source, src_form, target_form, level, final_str)
            if done is not None:
                stored_bytes, one_size, one_sha1 = done
                mtime = write_bytes_atomic(
                    final_str, stored_bytes, overwrite=overwrite, fsync=fsync
                )
                final_path = Path(final_str)
                if remove_other_forms:
                    _remove_other_forms(Path(target), final_path)
                return StoredFile(
                    final_path, target_form, len(stored_bytes), one_size, one_sha1, mtime
                )
        source = io.BytesIO(source)
    plain_target = Path(target)
    final = plain_target.with_name(plain_target.name + FORM_SUFFIXES[target_form])
    where = str(final)
    with atomic_writer(final, overwrite=overwrite, fsync=fsync, buffering=0) as out:
        opened = _OpenSource(source, src_form, lock_key, where, _extension(plain_target))
        written, plain_size, sha1 = _convert_stream(
            opened, out, target_form, lock_key, level, size_hint, want_hash=True
        )
        mtime = os.fstat(out.fileno()).st_mtime_ns  # unbuffered: every byte is written
    if remove_other_forms:
        _remove_other_forms(plain_target, final)
    assert sha1 is not None
    return StoredFile(final, target_form, written, plain_size, sha1, mtime)


def _fresh_key_from(reading: LockKey) -> LockKey:
    from mano_files._crypto import derive_key

    passphrase = reading._passphrase
    if passphrase is None:  # pragma: no cover - reading keys always carry one
        raise KeyRequired("a passphrase is needed to lock files")
    return derive_key(passphrase)


def convert_file(
    src: str,
    dst_plain: str,
    target_form: Form,
    *,
    key: LockKey | None,
    level: int,
    overwrite: bool,
    fsync: bool = False,
    want_hash: bool = False,
    check: Callable[[], None] | None = None,
) -> tuple[int, int, str, str | None]:
    """Convert one file on disk (used by the tree operations).

    ``check`` runs once the new file is written, before it is renamed into place; raising
    there leaves nothing behind (the tree operations check that the source did not change).

    Returns:
        (bytes_in, bytes_out, final_path, sha1_b64 or None).
    """
    final = dst_plain + FORM_SUFFIXES[target_form]
    try:
        fh = open(src, "rb", buffering=0)  # noqa: SIM115 - closed below
        size_in = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise wrap_os_error(exc, src, "read") from exc
    try:
        with atomic_writer(final, overwrite=overwrite, fsync=fsync, buffering=0) as out:
            opened = _OpenSource(
                fh, form_of(src), key, src, _extension_of(os.path.basename(dst_plain))
            )
            hint = size_in if opened.form == "plain" else None
            written, _plain, sha1 = _convert_stream(
                opened, out, target_form, key, level, hint, want_hash
            )
            if check is not None:
                check()
    except ManoFilesError:
        raise
    except OSError as exc:
        raise wrap_os_error(exc, src, "read") from exc
    except (ValueError, EOFError) as exc:
        raise CorruptFile(f"{src}: unreadable ({exc})") from exc
    finally:
        fh.close()
    return size_in, written, final, sha1
