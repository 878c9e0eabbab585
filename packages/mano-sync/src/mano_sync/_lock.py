"""The per-folder run lock: ``<out>/.mano-sync.lock``.

The lock is an OS advisory lock (``flock``) on a hidden file, so it is released by the kernel
when the holding process dies, however it dies: a lock file left behind by a killed run is never
"stale" and needs no cleanup. The file itself is kept (deleting a lock file races with a process
that has just opened it); its text names the current holder for error messages.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
from pathlib import Path
from types import TracebackType

from mano_sync._errors import SyncLocked

logger = logging.getLogger(__name__)

LOCK_NAME = ".mano-sync.lock"

try:  # pragma: no cover - platform dependent
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]


def change_ns(st: os.stat_result) -> int:
    """When an inode last changed: its ctime (Windows: its mtime; ctime is creation there)."""
    return st.st_mtime_ns if os.name == "nt" else st.st_ctime_ns


class FolderLock:
    """Exclusive, non-blocking lock of one output folder.

    Use as a context manager::

        with FolderLock(out):
            ...

    Raises:
        SyncLocked: When another process (or another ``FolderLock`` in this process) holds it.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`SyncLocked` at once (never waits)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # umask decides (as for the manifest): lab members sharing the folder can take it
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        if not _try_lock(fd):
            try:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            except OSError:
                holder = ""
            os.close(fd)
            raise SyncLocked(str(self.path), holder)
        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        text = f"pid {os.getpid()} on {socket.gethostname()} since {now}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
        self._fd = fd
        logger.debug("locked %s", self.path)

    def release(self) -> None:
        """Release the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)
        logger.debug("unlocked %s", self.path)

    def touch(self) -> int | None:
        """Stamp the lock file with the current time; returns it as the file system sees it.

        Any later change to a folder in the tree gets a change time at or after this value, on
        whichever clock the file system uses (a file server's for network mounts). ``None``
        when the file system would not set the time (then nothing may be trusted by it).
        """
        fd = self._fd
        if fd is None:
            raise RuntimeError(f"{self.path} is not held")
        try:
            if os.utime in os.supports_fd:
                os.utime(fd)
            else:  # pragma: no cover - Windows
                os.utime(self.path)
        except OSError:
            try:  # rewriting the (non-empty) holder line also sets the times
                os.pwrite(fd, os.pread(fd, 4096, 0) or b"\n", 0)
            except OSError:
                return None
        return change_ns(os.fstat(fd))

    @property
    def held(self) -> bool:
        """Whether this object currently holds the lock."""
        return self._fd is not None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
