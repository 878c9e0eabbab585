"""The sync manifest: ``<out>/.mano-sync.sqlite``.

One SQLite database (WAL mode) per study folder. It records every data file mano-sync put in
the tree and what it knows about each participant. A row is written only after its file is on
disk (atomically, by mano-files), so the manifest never claims a file that is not there; a file
on disk without a row (a run killed in between) is simply fetched and replaced again.

Readers (for example ``mano compare``) can open it without the sync machinery::

    from mano_sync import Manifest
    with Manifest(out / ".mano-sync.sqlite", readonly=True) as m:
        for row in m.files():
            print(row.path, row.sha1_b64)
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from mano_sync._errors import ManifestError
from mano_sync._names import CHUNKED_PREFIX as _CHUNKED
from mano_sync._names import UNCHUNKED_STREAMS

logger = logging.getLogger(__name__)

__all__ = ["MANIFEST_NAME", "Manifest", "ManifestFile", "ParticipantState"]

MANIFEST_NAME = ".mano-sync.sqlite"
#: 2: the ``dirs`` table; no index on storage_key (it cost ~6 µs per inserted row and only
#: served by_storage_key). Older mano-sync versions refuse schema 2, so every row of a
#: schema-2 manifest was written by code that lists its folder.
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path         TEXT PRIMARY KEY,  -- relative plain path: <pid>/<stream>/[<survey>/]<name>
    participant  TEXT NOT NULL,
    stream       TEXT NOT NULL,
    time_bin     INTEGER NOT NULL,  -- unix seconds of the file's time bin
    zip_name     TEXT NOT NULL,     -- member name it last arrived under (v1 form, no .zst)
    storage_key  TEXT,              -- the server's storage path (registry key), if known
    size         INTEGER NOT NULL,  -- plain (decompressed, decrypted) size in bytes
    size_on_disk INTEGER NOT NULL,
    sha1_b64     TEXT,              -- base64 SHA-1 of the plain content
    md5_b64      TEXT,              -- base64 MD5 (only for adopted mano 0.6.0 files)
    form         TEXT NOT NULL,     -- plain | zst | lock | zst.lock
    mtime_ns     INTEGER NOT NULL,  -- of the file on disk when recorded
    fetched_at   TEXT NOT NULL      -- ISO-8601 UTC
);
CREATE INDEX IF NOT EXISTS files_by_time ON files (participant, time_bin);
-- the few unchunked files among the many hourly ones (the sweep asks for these over all time)
CREATE INDEX IF NOT EXISTS files_unchunked ON files (participant, time_bin) WHERE {unchunked};
CREATE TABLE IF NOT EXISTS participants (
    participant    TEXT PRIMARY KEY,
    first_hour     INTEGER,   -- first data hour seen (unix seconds)
    last_hour      INTEGER,   -- last data hour seen
    synced_through INTEGER,   -- every window up to this instant completed at least once
    last_success   TEXT       -- ISO-8601 UTC end of the last fully successful sync
);
CREATE TABLE IF NOT EXISTS coverage (
    participant    TEXT NOT NULL,
    stream         TEXT NOT NULL,
    synced_through INTEGER NOT NULL,  -- this stream is complete from first data up to here
    PRIMARY KEY (participant, stream)
);
CREATE TABLE IF NOT EXISTS daily_bytes (
    participant TEXT NOT NULL,
    day         INTEGER NOT NULL,  -- UTC day start (unix seconds)
    bytes       INTEGER NOT NULL,  -- the server's summary-statistics byte count at last sync
    PRIMARY KEY (participant, day)
);
-- Every folder that holds recorded files, and its state when all of them were last seen on
-- disk: a folder whose inode, mtime and ctime are unchanged had no entry created, removed or
-- renamed since, so a re-sync need not stat its files one by one.
CREATE TABLE IF NOT EXISTS dirs (
    dir          TEXT PRIMARY KEY,  -- relative, '/'-separated, with a trailing '/'
    participant  TEXT NOT NULL,
    ino          INTEGER,           -- NULL: not verified yet
    mtime_ns     INTEGER,
    ctime_ns     INTEGER
);
CREATE INDEX IF NOT EXISTS dirs_by_participant ON dirs (participant);
"""

_FORM_SUFFIX = {"plain": "", "zst": ".zst", "lock": ".lock", "zst.lock": ".zst.lock"}


def form_suffix(form: str) -> str:
    """The suffix a form appends to the plain name (``""``, ``.zst``, ``.lock``, ``.zst.lock``)."""
    return _FORM_SUFFIX[form]


#: A file's registry value in SQL: its SHA-1, else its MD5 (as ``sha1 or md5`` in Python).
_VALUE = "COALESCE(NULLIF(sha1_b64, ''), md5_b64)"
#: The partial index ``files_unchunked`` covers the rows this term selects; a query uses it
#: only when its WHERE holds the very same term, so queries for unchunked streams add it.
_UNCHUNKED_TERM = "stream IN ({})".format(", ".join(f"'{s}'" for s in sorted(UNCHUNKED_STREAMS)))


def _streams_sql(names: list[str]) -> str:
    """`` AND stream IN (?, ...)`` for ``names``, with the unchunked index's own term when
    they are all unchunked (same rows; it lets SQLite skip the hourly files)."""
    sql = f" AND stream IN ({','.join('?' * len(names))})"
    if names and UNCHUNKED_STREAMS.issuperset(names):
        sql += f" AND {_UNCHUNKED_TERM}"
    return sql


@dataclass(frozen=True, slots=True)
class ManifestFile:
    """One data file the manifest knows.

    Attributes:
        path: Relative plain path (``<pid>/<stream>/[<survey>/]<name>``, ``/``-separated).
        participant: Patient id.
        stream: Data stream.
        time_bin: Unix seconds of the time bin.
        zip_name: The zip member name it last arrived under (without ``.zst``).
        storage_key: The server's storage path (as the registry gives it), if known.
        size: Plain size in bytes.
        size_on_disk: Size of the stored file.
        sha1_b64: Base64 SHA-1 of the plain content (``None`` only for adopted locked files
            hashed without a passphrase).
        md5_b64: Base64 MD5 from a mano 0.6.0 ``.registry`` (adopted files only).
        form: ``plain``, ``zst``, ``lock`` or ``zst.lock``.
        mtime_ns: Modification time of the stored file when recorded.
        fetched_at: When it was written (ISO-8601 UTC).
    """

    path: str
    participant: str
    stream: str
    time_bin: int
    zip_name: str
    storage_key: str | None
    size: int
    size_on_disk: int
    sha1_b64: str | None
    md5_b64: str | None
    form: str
    mtime_ns: int
    fetched_at: str

    @property
    def disk_path(self) -> str:
        """Relative path of the stored file, form suffix included."""
        return self.path + _FORM_SUFFIX[self.form]


@dataclass(frozen=True, slots=True)
class ParticipantState:
    """What the manifest knows about one participant.

    Attributes:
        participant: Patient id.
        first_hour: First data hour seen (unix seconds), if any.
        last_hour: Last data hour seen, if any.
        synced_through: Every request window up to this instant completed at least once.
        last_success: ISO-8601 UTC time the last fully successful sync of them finished.
    """

    participant: str
    first_hour: int | None
    last_hour: int | None
    synced_through: int | None
    last_success: str | None


_COLUMNS = (
    "path, participant, stream, time_bin, zip_name, storage_key, size, size_on_disk, "
    "sha1_b64, md5_b64, form, mtime_ns, fetched_at"
)


def folder_of(path: str) -> str:
    """The folder of a relative path as the ``dirs`` table keys it (with its trailing ``/``)."""
    return path[: path.rfind("/") + 1]


def folder_state(st: os.stat_result) -> tuple[int, int, int]:
    """What is recorded of a folder, and compared: inode, mtime and ctime."""
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _range(folder: str) -> tuple[str, str]:
    """Bounds of the paths under ``folder`` (which ends with ``/``; ``'0'`` follows ``'/'``)."""
    return folder, folder[:-1] + "0"


def utc_now_iso() -> str:
    """Current UTC time as ISO-8601 without microseconds."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class Manifest:
    """The SQLite manifest of one study folder (thread-safe; one connection, one lock).

    Args:
        path: The database file (normally ``<out>/.mano-sync.sqlite``) or the output folder.
        study_id: When given, the manifest is bound to this study; opening a manifest of a
            different study raises :class:`ManifestError`.
        readonly: Open read-only (never creates or migrates anything).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        study_id: str | None = None,
        readonly: bool = False,
    ) -> None:
        p = Path(path)
        if p.is_dir():
            p = p / MANIFEST_NAME
        self.path = p
        self._lock = threading.RLock()
        self._pending = 0
        self._listed: set[str] = set()  # folders known to be in the dirs table
        try:
            if readonly:
                if not p.exists():
                    raise ManifestError(f"no manifest at {p}; run a sync first")
                self._db = sqlite3.connect(
                    f"{p.as_uri()}?mode=ro", uri=True, check_same_thread=False
                )
            else:
                self._db = sqlite3.connect(p, check_same_thread=False, timeout=30)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.executescript(_SCHEMA.format(unchunked=_UNCHUNKED_TERM))
                self._init_meta(study_id)
                self._db.commit()
        except sqlite3.Error as exc:
            raise ManifestError(
                f"cannot open the manifest {p}: {exc}; move it aside to rebuild it"
            ) from exc
        if readonly and study_id is not None and self.study_id not in (None, study_id):
            raise ManifestError(f"{p} belongs to study {self.study_id}, not {study_id}")

    def _init_meta(self, study_id: str | None) -> None:
        rows = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        version = int(rows.get("schema", SCHEMA_VERSION))
        if version > SCHEMA_VERSION:
            raise ManifestError(
                f"{self.path} was written by a newer mano-sync (schema {version}); upgrade mano"
            )
        if version < 2:
            # list the folders of the files once (rtrim(path, <path without its '/'s>) is the
            # path up to its last '/'); later rows list theirs as they are recorded
            self._db.execute("DROP INDEX IF EXISTS files_by_key")
            self._db.execute("DROP TRIGGER IF EXISTS files_dir")  # a development version's
            self._db.execute(
                "INSERT OR IGNORE INTO dirs (dir, participant) "
                "SELECT DISTINCT rtrim(path, replace(path, '/', '')), participant FROM files"
            )
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
        )
        if study_id is not None:
            known = rows.get("study_id")
            if known is not None and known != study_id:
                raise ManifestError(
                    f"{self.path.parent} holds study {known}, not {study_id}; "
                    "use a separate folder per study"
                )
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('study_id', ?)", (study_id,)
            )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Commit what is pending and close the database."""
        with self._lock:
            try:
                self._db.commit()
            finally:
                self._db.close()

    def __enter__(self) -> Manifest:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def commit(self) -> None:
        """Make every recorded row durable."""
        with self._lock:
            self._db.commit()
            self._pending = 0

    # -- reading ---------------------------------------------------------------------------

    @property
    def study_id(self) -> str | None:
        """The study this manifest belongs to, if recorded."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='study_id'").fetchone()
        return None if row is None else str(row[0])

    def files(
        self,
        participant: str | None = None,
        *,
        start: int | None = None,
        end: int | None = None,
    ) -> list[ManifestFile]:
        """Rows of the manifest, sorted by path.

        Args:
            participant: Only this participant's files.
            start: Only files whose time bin is ``>= start`` (unix seconds).
            end: Only files whose time bin is ``<= end``.
        """
        sql = f"SELECT {_COLUMNS} FROM files"
        where: list[str] = []
        args: list[object] = []
        if participant is not None:
            where.append("participant = ?")
            args.append(participant)
        if start is not None:
            where.append("time_bin >= ?")
            args.append(start)
        if end is not None:
            where.append("time_bin <= ?")
            args.append(end)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY path"
        with self._lock:
            return [ManifestFile(*row) for row in self._db.execute(sql, args)]

    def count(self, participant: str, streams: Iterable[str] | None = None) -> int:
        """How many files of a participant (optionally only some streams) are recorded."""
        sql = "SELECT COUNT(*) FROM files WHERE participant = ?"
        args: list[object] = [participant]
        if streams is not None:
            names = list(streams)
            sql += f" AND stream IN ({','.join('?' * len(names))})"
            args.extend(names)
        with self._lock:
            return int(self._db.execute(sql, args).fetchone()[0])

    def count_from(self, participant: str, start: int) -> int:
        """How many of a participant's files have ``time_bin >= start``."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM files WHERE participant = ? AND time_bin >= ?",
                (participant, start),
            ).fetchone()
        return int(row[0])

    def nth_time_bin(self, participant: str, start: int, n: int) -> int | None:
        """Time bin of the ``n``-th file (0-based) at or after ``start``, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT time_bin FROM files WHERE participant = ? AND time_bin >= ? "
                "ORDER BY time_bin LIMIT 1 OFFSET ?",
                (participant, start, n),
            ).fetchone()
        return None if row is None else int(row[0])

    def time_bins(
        self, participant: str, streams: Iterable[str], start: int | None, end: int | None
    ) -> list[int]:
        """Sorted time bins of a participant's files of ``streams`` within ``[start, end]``."""
        sql, args = self._range_query(
            "time_bin", participant, -(2**62) if start is None else start, end, streams
        )
        with self._lock:
            return sorted(int(r[0]) for r in self._db.execute(sql, args))

    def registry_pairs(
        self,
        participant: str,
        start: int,
        end: int | None,
        streams: Iterable[str] | None = None,
    ) -> list[tuple[str, str]]:
        """``(key to send, value)`` of the files :meth:`registry_rows` would give that have a
        storage path and a content hash (nearly all): the key is the storage path without
        ``CHUNKED_DATA/`` (see ``mano_sync._names.registry_key_to_send``), the value the
        SHA-1, else the MD5. Built in SQL: a registry of thousands of files costs no Python
        per file. :meth:`registry_rows` gives the others."""
        sql, args = self._range_query(
            f"CASE WHEN substr(storage_key, 1, {len(_CHUNKED)}) = '{_CHUNKED}' "
            f"THEN substr(storage_key, {len(_CHUNKED) + 1}) ELSE storage_key END, {_VALUE}",
            participant,
            start,
            end,
            streams,
        )
        sql += f" AND storage_key IS NOT NULL AND {_VALUE} IS NOT NULL AND {_VALUE} != ''"
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _range_query(
        self,
        columns: str,
        participant: str,
        start: int,
        end: int | None,
        streams: Iterable[str] | None,
    ) -> tuple[str, list[object]]:
        """``SELECT columns`` of a participant's files with ``start <= time_bin <= end``, of
        ``streams`` (``None``: all), and its arguments."""
        sql = f"SELECT {columns} FROM files WHERE participant = ? AND time_bin >= ?"
        args: list[object] = [participant, start]
        if end is not None:
            sql += " AND time_bin <= ?"
            args.append(end)
        if streams is not None:
            names = list(streams)
            sql += _streams_sql(names)
            args.extend(names)
        return sql, args

    def registry_rows(
        self,
        participant: str,
        start: int,
        end: int | None,
        streams: Iterable[str] | None = None,
    ) -> list[tuple[str, str, str | None, str | None, str | None, str]]:
        """``(path, stream, storage_key, sha1_b64, md5_b64, zip_name)`` of the files in the
        range that :meth:`registry_pairs` leaves out (no storage path or no hash): the few a
        registry needs Python for. The streams are picked in SQL, so a sweep over all time for
        the unchunked files never builds rows for the many hourly ones."""
        sql, args = self._range_query(
            "path, stream, storage_key, sha1_b64, md5_b64, zip_name",
            participant,
            start,
            end,
            streams,
        )
        sql += f" AND (storage_key IS NULL OR {_VALUE} IS NULL OR {_VALUE} = '')"
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def dirs(self, participant: str) -> list[tuple[str, int | None, int | None, int | None]]:
        """``(folder, ino, mtime_ns, ctime_ns)`` of the folders holding a participant's files.

        The numbers are the folder's state when every recorded file in it was last seen on
        disk (``None``: never verified). Folders end with ``/``.
        """
        with self._lock:
            return list(
                self._db.execute(
                    "SELECT dir, ino, mtime_ns, ctime_ns FROM dirs WHERE participant = ?",
                    (participant,),
                )
            )

    def dir_entries(self, folder: str) -> list[tuple[str, str, int, int, str]]:
        """``(path, form, size_on_disk, time_bin, stream)`` of the files directly in ``folder``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT path, form, size_on_disk, time_bin, stream FROM files "
                "WHERE path > ? AND path < ?",
                _range(folder),
            ).fetchall()
        return [r for r in rows if r[0].find("/", len(folder)) < 0]

    def lower_coverage(self, participant: str, stream: str, hour: int) -> None:
        """A file of ``stream`` from ``hour`` was lost: the stream is complete only up to there.

        Not committed: the caller commits it with the rows it forgets, so a run killed before
        fetching the file again still re-checks from that hour next time.
        """
        with self._lock:
            self._db.execute(
                "UPDATE coverage SET synced_through = MIN(synced_through, ?) "
                "WHERE participant = ? AND stream = ?",
                (hour, participant, stream),
            )
            self._db.execute(
                "UPDATE participants SET synced_through = MIN(synced_through, ?) "
                "WHERE participant = ? AND synced_through IS NOT NULL",
                (hour, participant),
            )

    def set_dir_states(self, states: Iterable[tuple[str, os.stat_result | None]]) -> None:
        """Record folders as verified at the given state (``None``: check their files again)."""
        with self._lock:
            self._db.executemany(
                "UPDATE dirs SET ino = ?, mtime_ns = ?, ctime_ns = ? WHERE dir = ?",
                [
                    (None, None, None, d) if st is None else (*folder_state(st), d)
                    for d, st in states
                ],
            )
            self._db.commit()
            self._pending = 0

    def __iter__(self) -> Iterator[ManifestFile]:
        return iter(self.files())

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    def get(self, path: str) -> ManifestFile | None:
        """The row of one relative plain path, if any."""
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM files WHERE path = ?", (path,))
            found = row.fetchone()
        return None if found is None else ManifestFile(*found)

    def by_storage_key(self, key: str) -> ManifestFile | None:
        """The row recorded for a storage path (registry key), if any."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM files WHERE storage_key = ? ORDER BY path LIMIT 1", (key,)
            ).fetchone()
        return None if row is None else ManifestFile(*row)

    def participants(self) -> list[ParticipantState]:
        """Every participant the manifest has state for, sorted."""
        with self._lock:
            rows = self._db.execute(
                "SELECT participant, first_hour, last_hour, synced_through, last_success "
                "FROM participants ORDER BY participant"
            ).fetchall()
        return [ParticipantState(*r) for r in rows]

    def participant(self, participant: str) -> ParticipantState:
        """State of one participant (all ``None`` when unknown)."""
        with self._lock:
            row = self._db.execute(
                "SELECT participant, first_hour, last_hour, synced_through, last_success "
                "FROM participants WHERE participant = ?",
                (participant,),
            ).fetchone()
        if row is None:
            return ParticipantState(participant, None, None, None, None)
        return ParticipantState(*row)

    def data_hours(self, participant: str) -> tuple[int | None, int | None]:
        """First and last time bin recorded for a participant's files."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(time_bin), MAX(time_bin) FROM files WHERE participant = ?",
                (participant,),
            ).fetchone()
        return (row[0], row[1])

    def get_meta(self, key: str) -> str | None:
        """A value of the manifest's ``meta`` table."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def synced_through(self, participant: str, streams: Iterable[str]) -> int | None:
        """Up to when every one of ``streams`` is complete from the first data, or ``None``."""
        names = list(streams)
        with self._lock:
            rows = dict(
                self._db.execute(
                    "SELECT stream, synced_through FROM coverage WHERE participant = ?",
                    (participant,),
                ).fetchall()
            )
        if any(n not in rows for n in names):
            return None
        return min(int(rows[n]) for n in names) if names else None

    def daily_bytes(self, participant: str) -> dict[int, int]:
        """The server's per-day byte counts recorded at the participant's last full sync."""
        with self._lock:
            rows = self._db.execute(
                "SELECT day, bytes FROM daily_bytes WHERE participant = ?", (participant,)
            ).fetchall()
        return {int(d): int(b) for d, b in rows}

    # -- writing ---------------------------------------------------------------------------

    def set_daily_bytes(self, participant: str, daily: dict[int, int]) -> None:
        """Replace a participant's recorded per-day byte counts (committed at once)."""
        with self._lock:
            self._db.execute("DELETE FROM daily_bytes WHERE participant = ?", (participant,))
            self._db.executemany(
                "INSERT INTO daily_bytes (participant, day, bytes) VALUES (?, ?, ?)",
                [(participant, d, b) for d, b in sorted(daily.items())],
            )
            self._db.commit()
            self._pending = 0

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the ``meta`` table (committed at once)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
            self._db.commit()
            self._pending = 0

    def record(self, entry: ManifestFile, *, replaces: Iterable[str] = ()) -> None:
        """Insert or replace a file's row (call only once the file is on disk).

        Args:
            entry: The row.
            replaces: Other relative paths whose rows this file supersedes.
        """
        with self._lock:
            for old in replaces:
                if old != entry.path:
                    self._db.execute("DELETE FROM files WHERE path = ?", (old,))
            self._insert([entry])

    def record_many(self, entries: Iterable[ManifestFile]) -> None:
        """Insert or replace many rows in one statement (each file must already be on disk)."""
        with self._lock:
            self._insert(list(entries))

    def _insert(self, entries: list[ManifestFile]) -> None:
        if not entries:
            return
        self._db.executemany(
            f"INSERT OR REPLACE INTO files ({_COLUMNS}) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e.path,
                    e.participant,
                    e.stream,
                    e.time_bin,
                    e.zip_name,
                    e.storage_key,
                    e.size,
                    e.size_on_disk,
                    e.sha1_b64,
                    e.md5_b64,
                    e.form,
                    e.mtime_ns,
                    e.fetched_at,
                )
                for e in entries
            ],
        )
        listed = self._listed
        new = {}
        for e in entries:
            folder = folder_of(e.path)
            if folder and folder not in listed:
                new[folder] = e.participant
        if new:
            self._db.executemany(
                "INSERT OR IGNORE INTO dirs (dir, participant) VALUES (?, ?)", new.items()
            )
            listed.update(new)
        self._pending += len(entries)
        if self._pending >= 256:
            self._db.commit()
            self._pending = 0

    def forget(self, path: str) -> None:
        """Delete a file's row (the file is gone or will be fetched again)."""
        with self._lock:
            self._db.execute("DELETE FROM files WHERE path = ?", (path,))

    def update_participant(
        self,
        participant: str,
        *,
        synced_through: int | None = None,
        streams: Iterable[str] = (),
        success: bool = False,
    ) -> None:
        """Refresh a participant's first/last hour from its files and record progress.

        Args:
            participant: Patient id.
            synced_through: Raise the "every window up to here completed" mark to this.
            streams: The streams that mark applies to.
            success: Stamp ``last_success`` with the current time.
        """
        with self._lock:
            first, last = self.data_hours(participant)
            self._db.execute(
                "INSERT OR IGNORE INTO participants (participant) VALUES (?)", (participant,)
            )
            self._db.execute(
                "UPDATE participants SET first_hour = ?, last_hour = ? WHERE participant = ?",
                (first, last, participant),
            )
            if synced_through is not None:
                self._db.executemany(
                    "INSERT INTO coverage (participant, stream, synced_through) VALUES (?, ?, ?) "
                    "ON CONFLICT (participant, stream) DO UPDATE SET "
                    "synced_through = MAX(synced_through, excluded.synced_through)",
                    [(participant, s, synced_through) for s in streams],
                )
                self._db.execute(
                    "UPDATE participants SET synced_through = MAX(COALESCE(synced_through, 0), ?) "
                    "WHERE participant = ?",
                    (synced_through, participant),
                )
            if success:
                self._db.execute(
                    "UPDATE participants SET last_success = ? WHERE participant = ?",
                    (utc_now_iso(), participant),
                )
            self._db.commit()
            self._pending = 0
