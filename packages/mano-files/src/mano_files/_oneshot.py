"""Whole-file zstd conversions for the tree operations: one read, one call, one write.

Most Beiwe data files are small (KB to a few MB). For those, the tree operations read the
whole file, compress or decompress it with a single call on the worker thread's reusable zstd
context (python-zstandard releases the GIL for the whole call, so workers really run in
parallel) and publish the result atomically with a single write. Anything unusual (bigger
than :data:`ONE_SHOT_MAX`, several frames, no content size in the frame header, damaged data)
returns ``None`` so the caller uses the streaming path, which does the authoritative checks
and raises the usual errors; nothing is written before a conversion has fully succeeded.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import Final

from mano_files import _datafile
from mano_files._atomic import atomic_writer, write_new_file
from mano_files._datafile import _compressor, _decompressor
from mano_files._errors import wrap_os_error
from mano_files._writer import one_frame

__all__ = ["ONE_SHOT_MAX", "compress_whole", "decompress_whole", "sha1_b64"]

#: Largest file (stored and plain size) converted in memory; bigger ones stream. Memory per
#: worker stays below about twice this.
ONE_SHOT_MAX: Final = 16 << 20


def _read_small(path: str, size: int | None = None) -> bytes | None:
    """The whole file, or None when it is bigger than :data:`ONE_SHOT_MAX`.

    ``size``: the file's size from a ``stat`` the caller already made (the walk's), so no
    ``fstat`` is needed; a file whose size differs now returns None (the streaming path copes,
    and the caller's check before publishing refuses a file that changed).
    """
    if size is not None and size > ONE_SHOT_MAX:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise wrap_os_error(exc, path, "read") from exc
    try:
        if size is None:
            size = os.fstat(fd).st_size
            if size > ONE_SHOT_MAX:
                return None
        data = os.read(fd, size + 1)
        if len(data) != size:  # changed under us, or a short read: let the stream path cope
            return None
        return data
    except OSError as exc:
        raise wrap_os_error(exc, path, "read") from exc
    finally:
        os.close(fd)


#: Called after the new file is written and before it is renamed into place; raising stops
#: the rename (e.g. :meth:`mano_files._replace.Snapshot.check` when the source changed).
BeforePublish = Callable[[], None]


def sha1_b64(data: bytes) -> str:
    """Base64 SHA-1 of bytes in memory."""
    return base64.b64encode(_datafile._sha1(data).digest()).decode("ascii")


def _publish(
    final: str, data: bytes, *, overwrite: bool, fsync: bool, check: BeforePublish | None
) -> None:
    if not overwrite:  # the usual case: a new file, no temp name to create, rename and remove
        write_new_file(final, data, fsync=fsync, before_publish=check)
        return
    with atomic_writer(final, overwrite=True, fsync=fsync, buffering=0) as out:
        view = memoryview(data)
        while view:
            view = view[out.write(view) or 0 :]
        if check is not None:
            check()


def decompress_whole(
    src: str,
    final: str,
    *,
    overwrite: bool,
    fsync: bool,
    check: BeforePublish | None = None,
    size: int | None = None,
) -> tuple[int, int, bytes] | None:
    """Decompress a small single-frame ``.zst`` file to ``final`` in one go (``size``: the
    source's size from a recent ``stat``, saving one).

    Returns:
        ``(bytes_in, bytes_out, plain content)`` (the bytes the new file holds, for the
        deletion rule's read-back), or None when the streaming path must handle the file
        (nothing was written then).

    Raises:
        TargetExists, PermissionDenied, DiskFull, LocalIOError: As the streaming path.
    """
    data = _read_small(src, size)
    if data is None:
        return None
    # one intact frame of known, non-zero size (libzstd checks size, checksum, trailing
    # bytes); anything else, damage included, is the streaming path's to check and report
    plain = one_frame(data, _decompressor(), ONE_SHOT_MAX)
    if plain is None:
        return None
    _datafile._limits.check(len(plain), len(data), src)
    _publish(final, plain, overwrite=overwrite, fsync=fsync, check=check)
    return len(data), len(plain), plain


def compress_whole(
    src: str,
    final: str,
    *,
    level: int,
    overwrite: bool,
    fsync: bool,
    check: BeforePublish | None = None,
    size: int | None = None,
) -> tuple[int, int, bytes] | None:
    """Compress a small plain file to ``final`` (checksum and content size in the frame;
    ``size`` as for :func:`decompress_whole`).

    Returns:
        ``(bytes_in, bytes_out, plain content read)``, or None when the file is too big for
        one call.

    Raises:
        TargetExists, PermissionDenied, DiskFull, LocalIOError: As the streaming path.
    """
    data = _read_small(src, size)
    if data is None:
        return None
    packed = _compressor(level).compress(data)
    _publish(final, packed, overwrite=overwrite, fsync=fsync, check=check)
    return len(data), len(packed), data
