"""Persistent hash cache: ``<root>/.mano-hashes.sqlite`` maps (path, size, mtime_ns) to SHA-1.

One row per folder (``<pid>/<stream>/[<survey>/]``) holding a JSON object of that folder's
files, so a warm :func:`~mano_files.hash_tree` reads a few dozen rows instead of one per file
and decodes each folder only when it walks into it. Beside it, each folder has a *fingerprint*
row: a digest of its files' sorted names, sizes and mtimes with their hashes in that order, so
a folder whose listing still has that digest takes every hash at once, without decoding and
comparing file by file (the warm scan of a study then costs little more than its ``lstat``
calls). Caches written by earlier versions (one row per file, table ``hashes``; no
fingerprints) are converted on first open.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

from mano_files._errors import wrap_os_error

__all__ = ["CACHE_NAME", "HashCache", "fingerprint"]

logger = logging.getLogger(__name__)

#: File name of the cache inside the study folder (hidden, so Forest ignores it).
CACHE_NAME: Final = ".mano-hashes.sqlite"
_VERSION: Final = 3
_SCHEMA: Final = (
    "CREATE TABLE IF NOT EXISTS folders (folder TEXT PRIMARY KEY, files TEXT NOT NULL)",
    # version 3: one fingerprint per folder (see fingerprint()); versions 2 ignore the table
    "CREATE TABLE IF NOT EXISTS fingerprints"
    " (folder TEXT PRIMARY KEY, digest BLOB NOT NULL, sha1s TEXT NOT NULL)",
)

#: ``{name: [size, mtime_ns, sha1_b64]}`` of one folder, as stored (JSON arrays).
FolderEntries = dict[str, list[int | str]]


def fingerprint(names: str, sizes: Sequence[int], mtimes: Sequence[int]) -> bytes:
    """Digest of one folder's files: their names, sizes and mtimes, in sorted name order.

    ``names`` are the sorted names joined by NUL characters (which no name holds). Two
    listings with the same fingerprint hold the same files with the same sizes and mtimes (up
    to a SHA-256 collision): what a cache entry is trusted on. A value outside 64 bits
    gives an empty digest, which matches no stored one.
    """
    text = names.encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(array("q", (len(text), len(sizes))).tobytes())
    digest.update(text)  # the lengths first: no two listings give the same bytes
    try:
        digest.update(array("q", sizes).tobytes())
        digest.update(array("q", mtimes).tobytes())
    except OverflowError:
        return b""
    return digest.digest()


def _fingerprint_row(entries: FolderEntries) -> tuple[bytes, str] | None:
    """``(fingerprint, SHA-1s joined by newlines in name order)`` of a folder's entries."""
    names = sorted(entries)
    sizes: list[int] = []
    mtimes: list[int] = []
    sha1s: list[str] = []
    for name in names:
        entry = entries[name]
        # only what the file-by-file check would match: an int size and mtime (a "12" or
        # a True written by someone else matches no stat there, so it gets no fingerprint)
        if not (isinstance(entry, list) and len(entry) == 3):
            return None
        size, mtime, sha1 = entry
        if type(size) is not int or type(mtime) is not int or not isinstance(sha1, str):
            return None
        if "\n" in sha1:  # pragma: no cover - base64 never holds one
            return None
        sizes.append(size)
        mtimes.append(mtime)
        sha1s.append(sha1)
    digest = fingerprint("\0".join(names), sizes, mtimes)
    return (digest, "\n".join(sha1s)) if digest else None


def _split(relpath: str) -> tuple[str, str]:
    """``"a/b/c.csv"`` → ``("a/b/", "c.csv")``; a bare name → ``("", name)``."""
    cut = relpath.rfind("/") + 1
    return relpath[:cut], relpath[cut:]


class HashCache:
    """SHA-1 cache of a data tree keyed by relative path, size and mtime (nanoseconds).

    An entry is only trusted when size and mtime_ns both still match, so an edited file is
    re-hashed. Use as a context manager; one instance per thread. Writers to the same file
    from several processes are serialised by SQLite (each update is read-modify-write of the
    folders it touches inside one ``BEGIN IMMEDIATE`` transaction).

    Args:
        root: The folder whose files are cached (keys are POSIX paths relative to it).
        path: The database file; ``<root>/.mano-hashes.sqlite`` by default.
    """

    def __init__(self, root: str | os.PathLike[str], *, path: str | os.PathLike[str] | None = None):
        self.root = Path(root)
        self.path = Path(path) if path is not None else self.root / CACHE_NAME
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._prepare()
        except sqlite3.DatabaseError as exc:
            logger.warning("hash cache %s is unreadable (%s); starting a new one", self.path, exc)
            self._db.close()
            self._reset()
        except OSError as exc:  # pragma: no cover - sqlite reports most errors as DatabaseError
            raise wrap_os_error(exc, self.path, "open the hash cache") from exc

    def _prepare(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == _VERSION:
            return
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                db.execute(statement)
            old = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hashes'"
            ).fetchone()
            if old is not None:  # version 1: one row per file
                rows = db.execute("SELECT path, size, mtime_ns, sha1_b64 FROM hashes").fetchall()
                self._update(rows, ())
                db.execute("DROP TABLE hashes")
            # version 2 (or a version 2 program that wrote here since): fingerprint every
            # folder afresh from its entries
            db.execute("DELETE FROM fingerprints")
            for folder, text in db.execute("SELECT folder, files FROM folders").fetchall():
                self._write_fingerprint(folder, self.decode(text))
            db.execute(f"PRAGMA user_version = {_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _reset(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._prepare()

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

    def folders(self) -> dict[str, str]:
        """Every folder's entries, undecoded: ``{"<pid>/<stream>/": json_text}``.

        Decode one with :meth:`decode` when it is needed (the fast path of ``hash_tree``).
        """
        return dict(self._db.execute("SELECT folder, files FROM folders").fetchall())

    def fingerprints(self) -> dict[str, tuple[bytes, str]]:
        """Every cached folder with its fingerprint: ``{"<pid>/<stream>/": (digest, sha1s)}``.

        ``digest`` is :func:`fingerprint` of the folder's cached files (empty when it has
        none stored), ``sha1s`` their hashes joined by newlines, in the same (sorted name)
        order: a folder whose regular files have this fingerprint today holds exactly these
        files, sizes and mtimes. Other folders need their entries (:meth:`entries`).
        """
        rows = self._db.execute(
            "SELECT f.folder, p.digest, p.sha1s FROM folders AS f"
            " LEFT JOIN fingerprints AS p ON p.folder = f.folder"
        ).fetchall()
        return {folder: (bytes(digest or b""), sha1s or "") for folder, digest, sha1s in rows}

    def entries(self, folder: str) -> FolderEntries:
        """One folder's entries (``"<pid>/<stream>/"``), ``{}`` when it has none."""
        row = self._db.execute("SELECT files FROM folders WHERE folder = ?", (folder,)).fetchone()
        return self.decode(row[0]) if row is not None else {}

    @staticmethod
    def decode(text: str) -> FolderEntries:
        """One folder's entries: ``{name: [size, mtime_ns, sha1_b64]}``."""
        try:
            entries = json.loads(text)
        except ValueError:
            return {}
        return entries if isinstance(entries, dict) else {}

    def load(self) -> dict[str, tuple[int, int, str]]:
        """Return every entry: ``{relpath: (size, mtime_ns, sha1_b64)}``."""
        out: dict[str, tuple[int, int, str]] = {}
        for folder, text in self.folders().items():
            for name, (size, mtime, sha1) in self.decode(text).items():
                out[folder + name] = (int(size), int(mtime), str(sha1))
        return out

    def get(self, relpath: str, size: int, mtime_ns: int) -> str | None:
        """The cached SHA-1 for a file, or None when absent or stale."""
        folder, name = _split(relpath)
        entry = self.entries(folder).get(name)
        if entry is None or entry[0] != size or entry[1] != mtime_ns:
            return None
        return str(entry[2])

    def put_many(self, rows: Iterable[tuple[str, int, int, str]]) -> None:
        """Insert or replace ``(relpath, size, mtime_ns, sha1_b64)`` rows in one transaction."""
        self._transaction(rows, ())

    def put(self, relpath: str, size: int, mtime_ns: int, sha1_b64: str) -> None:
        """Insert or replace one entry."""
        self.put_many([(relpath, size, mtime_ns, sha1_b64)])

    def forget(self, relpaths: Iterable[str]) -> None:
        """Delete entries (e.g. of files that no longer exist)."""
        self._transaction((), relpaths)

    def _transaction(self, rows: Iterable[tuple[str, int, int, str]], gone: Iterable[str]) -> None:
        self._db.execute("PRAGMA synchronous=NORMAL")  # a cache: WAL without fsync per commit
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._update(rows, gone)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _update(self, rows: Iterable[tuple[str, int, int, str]], gone: Iterable[str]) -> None:
        """Apply puts and deletes folder by folder (inside the caller's transaction)."""
        puts: defaultdict[str, list[tuple[str, list[int | str]]]] = defaultdict(list)
        for relpath, size, mtime, sha1 in rows:
            folder, name = _split(relpath)
            puts[folder].append((name, [size, mtime, sha1]))
        drops: defaultdict[str, list[str]] = defaultdict(list)
        for relpath in gone:
            folder, name = _split(relpath)
            drops[folder].append(name)
        db = self._db
        for folder in puts.keys() | drops.keys():
            row = db.execute("SELECT files FROM folders WHERE folder = ?", (folder,)).fetchone()
            entries = self.decode(row[0]) if row is not None else {}
            entries.update(puts.get(folder, ()))
            for name in drops.get(folder, ()):
                entries.pop(name, None)
            if entries:
                text = json.dumps(entries, separators=(",", ":"), sort_keys=True)
                db.execute("INSERT OR REPLACE INTO folders VALUES (?, ?)", (folder, text))
            elif row is not None:
                db.execute("DELETE FROM folders WHERE folder = ?", (folder,))
            self._write_fingerprint(folder, entries)

    def _write_fingerprint(self, folder: str, entries: FolderEntries) -> None:
        """Store the fingerprint of a folder's entries (none for an empty folder)."""
        row = _fingerprint_row(entries) if entries else None
        if row is None:
            self._db.execute("DELETE FROM fingerprints WHERE folder = ?", (folder,))
        else:
            self._db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?, ?, ?)", (folder, *row))
