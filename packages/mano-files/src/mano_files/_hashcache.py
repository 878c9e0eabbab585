"""Persistent hash cache: ``<root>/.mano-hashes.sqlite`` maps (path, size, mtime_ns) to SHA-1."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Final

from mano_files._errors import wrap_os_error

__all__ = ["CACHE_NAME", "HashCache"]

logger = logging.getLogger(__name__)

#: File name of the cache inside the study folder (hidden, so Forest ignores it).
CACHE_NAME: Final = ".mano-hashes.sqlite"
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS hashes ("
    " path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    " sha1_b64 TEXT NOT NULL)"
)


class HashCache:
    """SHA-1 cache of a data tree keyed by relative path, size and mtime (nanoseconds).

    An entry is only trusted when size and mtime_ns both still match, so an edited file is
    re-hashed. Use as a context manager; one instance per thread.

    Args:
        root: The folder whose files are cached (keys are POSIX paths relative to it).
        path: The database file; ``<root>/.mano-hashes.sqlite`` by default.
    """

    def __init__(self, root: str | os.PathLike[str], *, path: str | os.PathLike[str] | None = None):
        self.root = Path(root)
        self.path = Path(path) if path is not None else self.root / CACHE_NAME
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            logger.warning("hash cache %s is unreadable (%s); starting a new one", self.path, exc)
            self._reset()
        except OSError as exc:  # pragma: no cover - sqlite reports most errors as DatabaseError
            raise wrap_os_error(exc, self.path, "open the hash cache") from exc

    def _reset(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute(_SCHEMA)

    def __enter__(self) -> HashCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def load(self) -> dict[str, tuple[int, int, str]]:
        """Return every entry: ``{relpath: (size, mtime_ns, sha1_b64)}``."""
        rows = self._db.execute("SELECT path, size, mtime_ns, sha1_b64 FROM hashes")
        return {path: (size, mtime, sha1) for path, size, mtime, sha1 in rows}

    def get(self, relpath: str, size: int, mtime_ns: int) -> str | None:
        """The cached SHA-1 for a file, or None when absent or stale."""
        row = self._db.execute(
            "SELECT sha1_b64 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
            (relpath, size, mtime_ns),
        ).fetchone()
        return None if row is None else str(row[0])

    def put_many(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        """Insert or replace ``(relpath, size, mtime_ns, sha1_b64)`` rows in one transaction."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", rows)

    def put(self, relpath: str, size: int, mtime_ns: int, sha1_b64: str) -> None:
        """Insert or replace one entry."""
        self.put_many([(relpath, size, mtime_ns, sha1_b64)])

    def forget(self, relpaths: Iterable[str]) -> None:
        """Delete entries (e.g. of files that no longer exist)."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM hashes WHERE path = ?", ((p,) for p in relpaths))
