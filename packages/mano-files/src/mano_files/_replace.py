"""The one rule for deleting or replacing a user's data file, used by every tree tool.

A source file is removed (or replaced) only after

1. its new form is fully written, flushed and renamed into place,
2. the new file has been read back and its plain content equals the bytes read from the
   source: byte for byte when the conversion held them in memory (small files), else by
   SHA-1 (files streamed through), and
3. the source's ``(size, mtime_ns, inode)`` is still what it was before it was read.

Otherwise both files are kept and the caller reports the file: :class:`SourceChanged` when
the source moved under the reader, :class:`ReadBackMismatch` when the new file is not what
was read. :func:`retire_source` is that last step; :class:`Snapshot` is what "unchanged"
means. Nothing here prints or decides policy (which file is the source, what to do with a
conflict): the tree operations do, through :mod:`mano_files._settle`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mano_files._datafile import CHUNK, _hash_path, _open_plain
from mano_files._errors import ReadBackMismatch, SourceChanged, wrap_os_error
from mano_files._paths import form_of

if TYPE_CHECKING:  # encryption loads only for locked forms
    from mano_files._crypto import LockKey

__all__ = ["Snapshot", "content_hash", "reads_back_as", "retire_source"]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What identifies one version of a file: size, modification time (ns) and inode."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: str | os.PathLike[str]) -> Snapshot:
        """The snapshot of ``path`` now (``lstat``: a link is never followed).

        Raises:
            LocalIOError: the file cannot be inspected.
        """
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise wrap_os_error(exc, path, "read") from exc
        return cls.from_stat(st)

    @classmethod
    def from_stat(cls, st: os.stat_result) -> Snapshot:
        """The snapshot a ``stat`` result describes."""
        return cls(st.st_size, st.st_mtime_ns, st.st_ino)

    def check(self, path: str | os.PathLike[str], *, during: str = "while being read") -> None:
        """Raise :class:`SourceChanged` unless ``path`` is still this version of the file."""
        try:
            now = Snapshot.from_stat(os.lstat(path))
        except FileNotFoundError:
            raise SourceChanged(
                f"{os.fspath(path)}: file disappeared {during}; nothing was deleted"
            ) from None
        except OSError as exc:
            raise wrap_os_error(exc, path, "read") from exc
        if now != self:
            raise SourceChanged(
                f"{os.fspath(path)}: file changed {during} (size {self.size} -> {now.size}); "
                "both copies were kept: run again when nothing writes to it"
            )


def content_hash(path: str | os.PathLike[str], key: LockKey | None = None) -> tuple[str, int]:
    """``(base64 SHA-1, size)`` of a data file's plain content, read from disk now (any form).

    Raises:
        CorruptFile, WrongPassphrase, KeyRequired, LocalIOError: as reading does.
    """
    return _hash_path(os.fspath(path), key)


def reads_back_as(path: str | os.PathLike[str], plain: bytes, key: LockKey | None = None) -> bool:
    """Whether the plain content of the data file ``path``, read from disk now, is ``plain``.

    Any form (a ``.zst`` is decompressed with its checks, a locked one decrypted with ``key``).

    Raises:
        CorruptFile, WrongPassphrase, KeyRequired, LocalIOError: as reading does.
    """
    path = os.fspath(path)
    size = len(plain)
    pos = 0
    if form_of(path) == "plain":
        try:
            with open(path, "rb", buffering=0) as fh:
                while chunk := fh.read(size - pos + 1):
                    end = pos + len(chunk)
                    # bytes == bytes is a memcmp (a memoryview compares item by item)
                    if end > size or chunk != (plain if end - pos == size else plain[pos:end]):
                        return False
                    pos = end
        except OSError as exc:
            raise wrap_os_error(exc, path, "read") from exc
        return pos == size
    with _open_plain(Path(path), key) as raw:
        while chunk := raw.read(CHUNK):
            end = pos + len(chunk)
            if end > size or chunk != (plain if end - pos == size else plain[pos:end]):
                return False
            pos = end
    return pos == size


def retire_source(
    source: str | os.PathLike[str],
    before: Snapshot,
    source_sha1: str,
    replacement: str | os.PathLike[str],
    *,
    key: LockKey | None = None,
    replacement_sha1: str | None = None,
    source_plain: bytes | None = None,
) -> None:
    """Delete ``source`` now that ``replacement`` holds its content, if and only if that is proven.

    Args:
        source: The file to delete.
        before: Its snapshot taken before its content was read.
        source_sha1: SHA-1 (base64) of the plain bytes read from ``source``.
        replacement: The new file, already renamed into place.
        key: Needed when ``replacement`` is locked.
        replacement_sha1: The replacement's plain SHA-1 if this run already read it back from
            disk after it was published (saves a second read); else it is read now.
        source_plain: The plain bytes read from ``source``, when the conversion held them in
            memory: the replacement is then read back and compared with them byte for byte
            (``source_sha1`` is not used; no hashing at all).

    Raises:
        ReadBackMismatch: the replacement does not read back as the source (both kept).
        SourceChanged: the source changed since ``before`` (both kept).
        LocalIOError: the source cannot be deleted.
    """
    if source_plain is not None:
        if not reads_back_as(replacement, source_plain, key):
            raise ReadBackMismatch(
                f"{os.fspath(replacement)} does not read back as the bytes read from "
                f"{os.fspath(source)}; both were kept"
            )
    else:
        if replacement_sha1 is None:
            replacement_sha1 = content_hash(replacement, key)[0]
        if replacement_sha1 != source_sha1:
            raise ReadBackMismatch(
                f"{os.fspath(replacement)} does not read back as {os.fspath(source)} "
                f"(SHA-1 {replacement_sha1} != {source_sha1}); both were kept"
            )
    before.check(source, during="since it was read")
    try:
        os.unlink(source)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise wrap_os_error(exc, source, "delete") from exc
