"""Atomic writes: hidden temp file in the target folder, then ``os.replace``."""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Final

from mano_files._errors import TargetExists, wrap_os_error

__all__ = [
    "TMP_SUFFIX",
    "atomic_writer",
    "is_temp_name",
    "remove_stale_temp_files",
    "temp_path_for",
    "write_bytes_atomic",
    "write_new_file",
]

logger = logging.getLogger(__name__)

#: Suffix of every temp file mano writes; ``.*.mano-tmp`` files are garbage once no run is active.
TMP_SUFFIX: Final = ".mano-tmp"
_BUFFER: Final = 1 << 20
_OPEN_FLAGS: Final = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def temp_path_for(target: str | os.PathLike[str]) -> str:
    """Return a fresh hidden temp path ``.<name>.<random>.mano-tmp`` beside ``target``."""
    folder, name = os.path.split(os.fspath(target))
    return os.path.join(folder, f".{name}.{os.urandom(6).hex()}{TMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of mano's temp files."""
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


def _fsync_dir(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _publish(tmp: str, target: str, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, target)
        return
    try:
        # link() refuses to clobber atomically, unlike replace().
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from exc
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _create_temp(target: str, overwrite: bool) -> tuple[str, int]:
    """Refuse an existing ``target`` unless ``overwrite``; open a new hidden temp file beside it.

    The target's folder is created when missing. Returns ``(temp path, open fd)``.
    """
    if not overwrite and os.path.lexists(target):
        raise wrap_os_error(FileExistsError(errno.EEXIST, "exists"), target, "write")
    tmp = temp_path_for(target)
    try:
        try:
            fd = os.open(tmp, _OPEN_FLAGS, 0o666)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            fd = os.open(tmp, _OPEN_FLAGS, 0o666)
    except OSError as exc:
        raise wrap_os_error(exc, target, "write") from exc
    return tmp, fd


def _commit(tmp: str, target: str, overwrite: bool, fsync: bool) -> None:
    """Publish the finished temp file as ``target`` (and make the rename durable if asked)."""
    _publish(tmp, target, overwrite)
    if fsync:
        _fsync_dir(os.path.dirname(target) or ".")


def _discard(tmp: str, target: str, exc: BaseException) -> None:
    """After a failed write: remove the temp file; OS errors become :class:`LocalIOError`."""
    try:
        os.unlink(tmp)
    except OSError:
        pass
    if isinstance(exc, OSError) and not isinstance(exc, TargetExists):
        raise wrap_os_error(exc, target, "write") from exc


@contextmanager
def atomic_writer(
    target: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    fsync: bool = False,
    buffering: int = _BUFFER,
) -> Iterator[BinaryIO]:
    """Open a hidden temp file beside ``target``; publish it over ``target`` on success.

    On any exception the temp file is removed and ``target`` is left as it was.

    Args:
        target: The final path; its folder is created if missing.
        overwrite: Replace an existing ``target``; when False raise :class:`TargetExists`.
        fsync: fsync the file and its folder before returning (durable, slower).
        buffering: As for :func:`open`; 0 gives a raw file (fewer copies for large writes,
            but ``write`` may then write less than asked).

    Yields:
        A binary file object to write to.

    Raises:
        TargetExists: ``target`` exists and ``overwrite`` is False.
        LocalIOError: permission denied, disk full, other OS failures (as subclasses).
    """
    target = os.fspath(target)
    tmp, fd = _create_temp(target, overwrite)
    try:
        with open(fd, "wb", buffering=buffering) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        _commit(tmp, target, overwrite, fsync)
    except BaseException as exc:
        _discard(tmp, target, exc)
        raise


def write_bytes_atomic(
    target: str | os.PathLike[str],
    data: bytes | bytearray | memoryview,
    *,
    overwrite: bool = True,
    fsync: bool = False,
) -> int:
    """Write ``data`` to ``target`` atomically: the one-shot form of :func:`atomic_writer`.

    Same guarantees (hidden temp file beside ``target``, removed on failure; ``os.replace`` or
    a non-clobbering link to publish) without a file object: one ``os.write`` loop on a raw fd.

    Returns:
        The file's modification time in nanoseconds (what ``os.stat(target)`` then reports).

    Raises:
        TargetExists: ``target`` exists and ``overwrite`` is False.
        LocalIOError: permission denied, disk full, other OS failures (as subclasses).
    """
    target = os.fspath(target)
    tmp, fd = _create_temp(target, overwrite)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
            mtime_ns = os.fstat(fd).st_mtime_ns  # renaming keeps it
        finally:
            os.close(fd)
        _commit(tmp, target, overwrite, fsync)
        return mtime_ns
    except BaseException as exc:
        _discard(tmp, target, exc)
        raise


#: ``O_TMPFILE`` where the platform has it; switched off for the process when the file system
#: or ``/proc`` refuses it (then :func:`write_new_file` uses a named temp file).
_O_TMPFILE: Final = getattr(os, "O_TMPFILE", 0)
_TMPFILE_FLAGS: Final = os.O_WRONLY | _O_TMPFILE | getattr(os, "O_CLOEXEC", 0)
_UNSUPPORTED: Final = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOTSUP}
_tmpfile = {"usable": bool(_O_TMPFILE), "proc_fd": -1}
_tmpfile_lock = threading.Lock()


def _proc_fd() -> int:
    """An open ``/proc/self/fd`` folder (to link an unnamed file by its descriptor), or -1."""
    if _tmpfile["proc_fd"] < 0:
        with _tmpfile_lock:
            if _tmpfile["proc_fd"] < 0:
                try:
                    _tmpfile["proc_fd"] = os.open(
                        "/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
                    )
                except OSError:
                    _tmpfile["usable"] = False
    return _tmpfile["proc_fd"]


def _write_unnamed(
    target: str,
    data: bytes | bytearray | memoryview,
    fsync: bool,
    before_publish: Callable[[], None] | None = None,
) -> bool:
    """Write ``data`` to an unnamed file in ``target``'s folder, then link it as ``target``.

    The name appears only once the content is complete, and ``linkat`` refuses an existing
    name; a crash leaves nothing behind (an unnamed file vanishes with its descriptor).
    Returns False, having written nothing, when the file system or ``/proc`` does not allow
    it (switched off for the process then).
    """
    folder = os.path.dirname(target) or "."
    try:
        try:
            fd = os.open(folder, _TMPFILE_FLAGS, 0o666)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(folder, _TMPFILE_FLAGS, 0o666)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            _tmpfile["usable"] = False
            return False
        raise wrap_os_error(exc, target, "write") from exc
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if fsync:
            os.fsync(fd)
        proc = _proc_fd()
        if proc < 0:
            return False
        if before_publish is not None:
            before_publish()  # raising leaves no name behind: the file vanishes with its fd
        try:
            os.link(str(fd), target, src_dir_fd=proc, follow_symlinks=True)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
                raise
            _tmpfile["usable"] = False  # e.g. no linkat through /proc here
            return False
    except OSError as exc:
        raise wrap_os_error(exc, target, "write") from exc
    finally:
        os.close(fd)
    if fsync:
        _fsync_dir(folder)
    return True


def write_new_file(
    target: str | os.PathLike[str],
    data: bytes | bytearray | memoryview,
    *,
    fsync: bool = False,
    before_publish: Callable[[], None] | None = None,
) -> None:
    """Create ``target`` holding ``data``, never replacing anything and never seen half-written.

    The tree operations' way to publish a converted file. On Linux the content goes to an
    unnamed file in the target folder (``O_TMPFILE``) that is linked under its name once
    complete: no temp name to create, rename and remove, so three fewer changes to the folder
    per file than :func:`write_bytes_atomic`, and nothing to clean up after a crash. Elsewhere
    (or where the file system refuses ``O_TMPFILE``) it is :func:`write_bytes_atomic` with
    ``overwrite=False``.

    ``before_publish`` runs once the content is written and before the name appears; raising
    there publishes nothing (how the tree tools refuse a source that changed meanwhile).

    Raises:
        TargetExists: ``target`` exists (it is left as it was).
        LocalIOError: permission denied, disk full, other OS failures (as subclasses).
    """
    target = os.fspath(target)
    if _tmpfile["usable"] and _write_unnamed(target, data, fsync, before_publish):
        return
    if before_publish is None:
        write_bytes_atomic(target, data, overwrite=False, fsync=fsync)
        return
    with atomic_writer(target, overwrite=False, fsync=fsync, buffering=0) as out:
        view = memoryview(data)
        while view:
            view = view[out.write(view) or 0 :]
        before_publish()


def remove_stale_temp_files(folder: str | os.PathLike[str]) -> int:
    """Delete ``.*.mano-tmp`` leftovers of interrupted runs anywhere under ``folder``.

    Do not call while another mano process writes into the same tree.

    Returns:
        The number of files removed.
    """
    removed = 0
    stack = [os.fspath(folder)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif is_temp_name(entry.name) and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed += 1
                    logger.info("removed leftover temp file %s", entry.path)
            except OSError as exc:
                logger.warning("could not remove leftover temp file %s: %s", entry.path, exc)
    return removed
