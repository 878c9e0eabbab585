"""State of shard runs: several nodes syncing one study folder at once (``--shard K/N``).

A shard run must not write what another node writes, so it keeps its own state::

    <out>/.mano-sync.lock                  held SHARED by every shard (a plain sync holds it
                                           exclusively, so plain runs and shards exclude each
                                           other; shards do not)
    <out>/.mano-shards/K-of-N.lock         held exclusively by shard K/N (two copies of the same
                                           shard exclude each other)
    <out>/.mano-shards/K-of-N.sqlite       the shard's own manifest: rows of its participants only

Only one process ever writes a shard's manifest, and no shard writes the study manifest, so no
SQLite file is written from two nodes (SQLite's locking is not to be trusted over NFS). Shards
touch only their participants' folders; study-level temp files are left to the next plain run.

A new shard manifest starts as a copy of the study manifest's rows for the shard's participants
(read with ``immutable=1``: nothing writes it while shards hold the lock). A plain sync, and
every tree command, first folds the shard manifests back into the study manifest (under its
exclusive lock) and deletes them, so ``mano sync``/``mano verify`` then see one tree.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import sqlite3
from pathlib import Path

from mano_sync._errors import ManifestError, SyncLocked
from mano_sync._lock import LOCK_NAME, FolderLock, _try_lock, _unlock
from mano_sync._manifest import MANIFEST_NAME, Manifest
from mano_sync._shard import Shard

__all__ = [
    "SHARDS_DIR",
    "ShardLock",
    "merge_shards",
    "prepare_shard_manifest",
    "shard_paths",
    "state_manifest",
]

logger = logging.getLogger(__name__)

SHARDS_DIR = ".mano-shards"
#: Tables whose rows belong to one participant (a ``participant`` column).
_PER_PARTICIPANT = ("files", "participants", "coverage", "daily_bytes", "dirs")
#: Study-wide facts a shard manifest copies (and a merge keeps the strictest of).
_META = ("adopted", "folder_times")

try:  # pragma: no cover - platform dependent
    import fcntl

    def _try_shared(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

except ImportError:  # pragma: no cover - Windows: shards exclude each other there
    _try_shared = _try_lock


def shard_paths(out: Path, shard: Shard) -> tuple[Path, Path]:
    """``(lock file, manifest)`` of ``shard`` in study folder ``out``."""
    base = out / SHARDS_DIR / f"{shard.index}-of-{shard.count}"
    return base.with_suffix(".lock"), base.with_suffix(".sqlite")


class ShardLock(FolderLock):
    """The study lock held shared plus this shard's own lock, held exclusively.

    Behaves as :class:`FolderLock` for the sync (``touch`` stamps the shard's own lock file).

    Raises:
        SyncLocked: A plain sync (or tree command) runs on the folder, or this shard already
            runs somewhere.
    """

    def __init__(self, folder: str | os.PathLike[str], shard: Shard) -> None:
        super().__init__(folder)
        self.folder = Path(folder)
        self.shard = shard
        self.path = shard_paths(self.folder, shard)[0]
        self._study_fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        study = self.folder / LOCK_NAME
        study_fd = os.open(study, os.O_RDWR | os.O_CREAT, 0o666)
        if not _try_shared(study_fd):
            holder = os.pread(study_fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(study_fd)
            raise SyncLocked(str(study), holder)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        if not _try_lock(fd):
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            os.close(fd)
            os.close(study_fd)
            raise SyncLocked(str(self.path), f"shard {self.shard} {holder}".strip())
        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {now}\n".encode(), 0)
        self._study_fd, self._fd = study_fd, fd

    def release(self) -> None:
        fd, study_fd = self._fd, self._study_fd
        self._fd = self._study_fd = None
        try:
            if fd is not None:
                try:
                    os.ftruncate(fd, 0)
                    _unlock(fd)
                finally:
                    os.close(fd)
        finally:
            if study_fd is not None:
                try:
                    _unlock(study_fd)
                finally:
                    os.close(study_fd)


def state_manifest(out: Path, study_id: str, shard: Shard | None) -> Path:
    """The manifest a run uses, made ready under its lock.

    A plain run (``shard=None``) first folds shard manifests into the study manifest; a shard
    run gets its own manifest (created from the study manifest's rows on its first run).
    """
    if shard is None:
        merge_shards(out, study_id=study_id)
        return out / MANIFEST_NAME
    return prepare_shard_manifest(out, shard, study_id)


def _columns(db: sqlite3.Connection, schema: str, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA {schema}.table_info({table})")]


def prepare_shard_manifest(out: Path, shard: Shard, study_id: str) -> Path:
    """The shard's manifest, created from the study manifest's rows of its participants.

    Call while holding :class:`ShardLock`. An existing shard manifest is kept (it is newer
    than the study manifest's rows: a plain sync would have merged and removed it).
    """
    path = shard_paths(out, shard)[1]
    if path.exists():
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.mano-tmp")
    tmp.unlink(missing_ok=True)
    with Manifest(tmp, study_id=study_id):
        pass  # the schema
    db = sqlite3.connect(tmp)
    try:
        main = out / MANIFEST_NAME
        if main.exists():
            db.execute("ATTACH DATABASE ? AS study", (f"{main.as_uri()}?mode=ro&immutable=1",))
            known = dict(db.execute("SELECT key, value FROM study.meta").fetchall())
            if known.get("study_id") not in (None, study_id):
                raise ManifestError(
                    f"{out} holds study {known['study_id']}, not {study_id}; "
                    "use a separate folder per study"
                )
            owned = [
                p
                for (p,) in db.execute("SELECT participant FROM study.participants")
                if shard.owns(p)
            ] + [
                p
                for (p,) in db.execute("SELECT DISTINCT participant FROM study.files")
                if shard.owns(p)
            ]
            marks = ",".join("?" * len(set(owned)))
            for table in _PER_PARTICIPANT:
                if not owned:
                    break
                cols = ",".join(_columns(db, "main", table))
                db.execute(
                    f"INSERT OR REPLACE INTO main.{table} ({cols}) SELECT {cols} FROM "
                    f"study.{table} WHERE participant IN ({marks})",
                    sorted(set(owned)),
                )
            for key in _META:
                if key in known:
                    db.execute(
                        "INSERT OR REPLACE INTO main.meta (key, value) VALUES (?, ?)",
                        (key, known[key]),
                    )
            db.commit()
            db.execute("DETACH DATABASE study")
        # Adoption scans the whole tree (other shards' files too): only a plain sync adopts.
        db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('adopted', 'by a plain sync')")
        db.commit()
    finally:
        db.close()
    os.replace(tmp, path)
    return path


def merge_shards(out: str | os.PathLike[str], *, study_id: str | None = None) -> int:
    """Fold every shard manifest of ``out`` into the study manifest, then delete them.

    Call while holding the study folder's exclusive lock (``FolderLock``): no shard runs then.
    For a participant found in several shard manifests (shards of different N), the newest
    file wins. Returns the number of shard manifests merged.
    """
    folder = Path(out)
    shards_dir = folder / SHARDS_DIR
    if not shards_dir.is_dir():
        return 0
    found = sorted(shards_dir.glob("*-of-*.sqlite"), key=lambda p: p.stat().st_mtime_ns)
    if not found:
        return 0
    with Manifest(folder, study_id=study_id):
        pass  # the study manifest exists, with its schema
    db = sqlite3.connect(folder / MANIFEST_NAME, timeout=30)
    try:
        study = dict(db.execute("SELECT key, value FROM meta").fetchall()).get("study_id")
        for shard_db in found:
            db.execute("ATTACH DATABASE ? AS shard", (str(shard_db),))
            meta = dict(db.execute("SELECT key, value FROM shard.meta").fetchall())
            if study is not None and meta.get("study_id") not in (None, study):
                db.execute("DETACH DATABASE shard")
                raise ManifestError(
                    f"{shard_db} belongs to study {meta.get('study_id')}, not {study}; move it "
                    "aside"
                )
            owned = [p for (p,) in db.execute("SELECT participant FROM shard.participants")]
            owned += [p for (p,) in db.execute("SELECT DISTINCT participant FROM shard.files")]
            people = sorted(set(owned))
            marks = ",".join("?" * len(people))
            for table in _PER_PARTICIPANT if people else ():
                cols = ",".join(_columns(db, "main", table))
                db.execute(f"DELETE FROM main.{table} WHERE participant IN ({marks})", people)
                db.execute(
                    f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM shard.{table} "
                    f"WHERE participant IN ({marks})",
                    people,
                )
            if meta.get("folder_times") == "unreliable":
                db.execute(
                    "INSERT OR REPLACE INTO main.meta (key, value) "
                    "VALUES ('folder_times', 'unreliable')"
                )
            db.commit()
            db.execute("DETACH DATABASE shard")
            logger.info("merged %s (%d participants) into the manifest", shard_db.name, len(people))
    finally:
        db.close()
    for shard_db in found:
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(f"{shard_db}{extra}").unlink(missing_ok=True)
    return len(found)
