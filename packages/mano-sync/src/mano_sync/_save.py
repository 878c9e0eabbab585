"""Extract a validated get-data archive into the study tree and record it in the manifest.

For each member: check the name (never write outside the layout), find its storage path in the
archive's registry, pick the on-disk name (stable across runs, ``_N`` collisions decided by
storage path and content hash so a file is never overwritten by a different one), skip it when
the tree already holds the same content, otherwise write it atomically through mano-files and
only then record it in the manifest.
"""

from __future__ import annotations

import base64
import collections
import concurrent.futures as cf
import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import zstandard

from mano_sync._errors import UnsafeMember, is_disk_full
from mano_sync._manifest import Manifest, ManifestFile, form_suffix, utc_now_iso
from mano_sync._names import (
    MemberName,
    parse_member,
    parse_storage_key,
    storage_key_from_member,
)
from mano_sync._safety import SafeFolders
from mano_sync._types import SyncFailure

if TYPE_CHECKING:
    from mano_api import Archive, ArchiveMember
    from mano_files import WriterProcess

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: Members at least this big (in the zip) are written by the pool, smaller ones inline.
PARALLEL_MIN_BYTES = 256 * 1024
#: Members smaller than this (in the zip) are read and converted in one call, not streamed.
ONE_SHOT_MAX_BYTES = 64 * 1024
#: Small new files sent to the helper process per batch (two batches are kept in flight).
_WRITER_BATCH = 128
#: Manifest rows of written files are inserted this many at a time.
_ROW_BATCH = 128


@dataclass
class SaveContext:
    """Everything the saver needs that does not change during a run.

    Attributes:
        out: The study folder.
        study_id: The study (to rebuild storage paths of chunked files).
        manifest: The open manifest.
        lock_streams: Streams written locked (``.zst.lock``).
        key: The lock key derived once for the run (needed when ``lock_streams``).
        keep_compressed: Store ``.zst`` instead of plain files (streams not locked).
        level: zstd level for re-compression (only used when converting plain input).
        pool: Threads writing members in parallel (``None``: write in the calling thread).
        writer: The slot's helper process storing small new files on another core, started
            on first use (``None``: every file is written in this process).
    """

    out: Path
    study_id: str
    manifest: Manifest
    lock_streams: frozenset[str] = frozenset()
    key: Any = None
    keep_compressed: bool = False
    level: int = 2
    pool: cf.Executor | None = None
    writer: LazyWriter | None = None

    def form_for(self, stream: str) -> str:
        """The on-disk form of a newly written file of ``stream``."""
        if stream in self.lock_streams:
            return "zst.lock"
        return "zst" if self.keep_compressed else "plain"


class LazyWriter:
    """A save slot's helper process, started the first time there are small files to store.

    A re-sync with nothing new never pays for starting it.
    """

    def __init__(self, start: Callable[[], WriterProcess | None]) -> None:
        self._start = start
        self._writer: WriterProcess | None = None
        self._tried = False

    def get(self) -> WriterProcess | None:
        """The running helper, or ``None`` (it could not start, or it died)."""
        if not self._tried:
            self._tried = True
            self._writer = self._start()
        w = self._writer
        return w if w is not None and w.alive else None

    def close(self) -> None:
        """Stop the helper if it was started (again: a no-op)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None


@dataclass
class SaveCounts:
    """Per-participant counters filled by :func:`save_archive`."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    received: int = 0
    write_errors: int = 0
    bytes_written: int = 0
    failed: list[SyncFailure] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


_LOCKED_FORMS = frozenset({"lock", "zst.lock"})


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _member_hashes(archive: Archive, raw_name: str, zst: bool) -> tuple[str, str]:
    """Base64 SHA-1 and MD5 of a member's plain content (streamed)."""
    sha1 = hashlib.sha1()
    md5 = hashlib.md5()
    with archive.open(raw_name) as fh:
        src: BinaryIO = fh
        if zst:
            reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
            while chunk := reader.read(_CHUNK):
                sha1.update(chunk)
                md5.update(chunk)
            return _b64(sha1.digest()), _b64(md5.digest())
        while chunk := src.read(_CHUNK):
            sha1.update(chunk)
            md5.update(chunk)
    return _b64(sha1.digest()), _b64(md5.digest())


@dataclass
class _Item:
    raw: str
    name: MemberName
    key: str | None
    expected: str | None  # registry value (base64 SHA-1 when we sent a registry)
    sha1: str | None = None
    md5: str | None = None
    size: int = 0  # bytes in the zip
    member: ArchiveMember | None = None


def _compatible(name: MemberName, survey: str | None) -> bool:
    if survey is None or name.survey is None:
        return True
    return survey == name.survey


def _match_keys(
    archive: Archive, items: list[_Item], registry: dict[str, str], zst: bool, study_id: str
) -> None:
    """Fill ``key``/``expected`` of every item from the archive's registry."""
    slots: dict[tuple[str, str, int], list[tuple[str, str, str | None]]] = {}
    for key, value in registry.items():
        slot = parse_storage_key(key)
        if slot is not None:
            slots.setdefault((slot.participant, slot.stream, slot.second), []).append(
                (key, value, slot.survey)
            )
    groups: dict[tuple[str, str, int], list[_Item]] = {}
    for item in items:
        n = item.name
        groups.setdefault((n.participant, n.stream, int(n.time_bin)), []).append(item)
    for slot_id, group in groups.items():
        cands = slots.get(slot_id, [])
        if len(group) == 1:
            compatible = [c for c in cands if _compatible(group[0].name, c[2])]
            if len(compatible) == 1:
                group[0].key, group[0].expected = compatible[0][0], compatible[0][1]
                continue
        # Collisions (or an unclear registry): decide by content hash.
        used: set[str] = set()
        for item in sorted(group, key=lambda i: i.raw):
            item.sha1, item.md5 = _member_hashes(archive, item.raw, zst)
            for key, value, survey in cands:
                if key in used or not _compatible(item.name, survey):
                    continue
                if value and value in (item.sha1, item.md5):
                    item.key, item.expected = key, value
                    used.add(key)
                    break
        for item in group:
            if item.key is None:
                rebuilt = storage_key_from_member(item.name, study_id)
                if rebuilt is not None and not any(c[0] == rebuilt for c in cands if c[0] in used):
                    item.key = rebuilt


class _Known:
    """The manifest rows an archive can touch, loaded with one query per participant."""

    def __init__(self, manifest: Manifest, items: list[_Item]) -> None:
        self.by_path: dict[str, ManifestFile] = {}
        self.by_key: dict[str, ManifestFile] = {}
        spans: dict[str, tuple[int, int]] = {}
        for item in items:
            t = int(item.name.time_bin)
            lo, hi = spans.get(item.name.participant, (t, t))
            spans[item.name.participant] = (min(lo, t), max(hi, t))
        for pid, (lo, hi) in spans.items():
            for row in manifest.files(pid, start=lo, end=hi):
                self.add(row)

    def add(self, row: ManifestFile) -> None:
        old = self.by_path.get(row.path)
        if old is not None and old.storage_key is not None:
            self.by_key.pop(old.storage_key, None)
        self.by_path[row.path] = row
        if row.storage_key is not None:
            self.by_key.setdefault(row.storage_key, row)


def _free_path(
    known: _Known, item: _Item, archive: Archive, zst: bool, taken: set[str]
) -> tuple[str, ManifestFile | None]:
    """The relative plain path for an item and the manifest row currently there."""
    if item.key is not None:
        existing = known.by_key.get(item.key)
        if existing is not None and existing.path not in taken:
            return existing.path, existing
    n = 0
    while True:
        path = item.name.with_collision(n)
        n = 2 if n == 0 else n + 1
        if path in taken:
            continue
        row = known.by_path.get(path)
        if row is None:
            return path, None
        if item.key is not None and row.storage_key == item.key:
            return path, row
        if row.storage_key is None or item.key is None:
            # Unknown storage path on one side: same file only if the content is the same.
            if item.sha1 is None:
                item.sha1, item.md5 = _member_hashes(archive, item.raw, zst)
            if row.sha1_b64 == item.sha1 or (row.sha1_b64 is None and row.md5_b64 == item.md5):
                return path, row
        # occupied by a different file: try the next _N name


def save_archive(
    ctx: SaveContext,
    archive: Archive,
    *,
    participants: Iterable[str] | None,
    streams: Iterable[str] | None,
    counts: Callable[[str], SaveCounts],
    on_file: Callable[[str, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[SyncFailure]:
    """Write every safe member of ``archive`` into the tree; record each in the manifest.

    Args:
        ctx: The run's save context.
        archive: A validated archive (mano-api).
        participants: Patient ids whose members are accepted (``None``: any well-formed id).
        streams: Streams accepted (``None``: all).
        counts: Returns the counters of a participant (created on first use).
        on_file: Called as ``on_file(participant, relative_path)`` after each member.
        should_stop: Polled between members; when it returns True saving stops early.

    Returns:
        Failures not attributable to a requested participant (refused member names).
    """
    from mano_files import write_data_file

    zst = archive.version == 2
    pids = frozenset(participants) if participants is not None else None
    stream_set = frozenset(streams) if streams is not None else None
    stray: list[SyncFailure] = []
    items: list[_Item] = []
    safe = SafeFolders(ctx.out)
    for member in archive.members():
        try:
            name = parse_member(member.name, participants=pids, streams=stream_set, zst=zst)
        except UnsafeMember as exc:
            logger.warning("refused zip member %r: %s", member.name, exc.reason)
            first = member.name.split("/", 1)[0]
            failure = SyncFailure(
                first if pids and first in pids else None,
                member.name,
                f"refused zip member: {exc.reason}; nothing was written for it",
            )
            if failure.participant is not None:
                counts(failure.participant).failed.append(failure)
            else:
                stray.append(failure)
            continue
        problem = safe.problem(name.folder)
        if problem is not None:
            logger.warning("refused zip member %r: %s", member.name, problem)
            c = counts(name.participant)
            c.failed.append(SyncFailure(name.participant, member.name, problem))
            c.write_errors += 1
            continue
        items.append(_Item(member.name, name, None, None, size=member.size, member=member))
    if not items:  # nothing new or changed (a re-check that found nothing): no bookkeeping
        return stray
    _match_keys(archive, items, archive.registry, zst, ctx.study_id)
    # Deterministic order: by name, then storage path, so collision numbering is stable.
    items.sort(key=lambda i: (i.name.base_name, i.key or "", i.sha1 or "", i.raw))
    taken: set[str] = set()
    known = _Known(ctx.manifest, items)
    lock = threading.Lock()
    fetched_at = utc_now_iso()
    jobs: list[tuple[_Item, str, ManifestFile | None]] = []
    out_str = os.fspath(ctx.out)
    source_form = "zst" if zst else "plain"
    forms: dict[str, str] = {}

    def form_of(item: _Item) -> str:
        form = forms.get(item.name.stream)
        if form is None:
            form = forms[item.name.stream] = ctx.form_for(item.name.stream)
        return form

    # Small new files go to the helper process in batches while this thread goes on deciding
    # names (and later records what the helper stored); everything else is written here.
    lazy = ctx.writer
    writer: WriterProcess | None = None
    spool = os.fspath(archive.path)
    batch: list[tuple[_Item, str, ManifestFile | None]] = []
    in_flight: collections.deque[list[tuple[_Item, str, ManifestFile | None]]] = collections.deque()

    def for_writer(item: _Item, row: ManifestFile | None) -> bool:
        nonlocal writer, lazy
        m = item.member
        if lazy is None or row is not None or m is None or m.offset < 0:
            return False
        form = form_of(item)
        if item.size >= ONE_SHOT_MAX_BYTES or not (form == "plain" or (zst and form == "zst")):
            return False
        if writer is None:
            writer = lazy.get()
            if writer is None:
                lazy = None  # none for this archive: write everything here
                return False
        return True

    def send(part: list[tuple[_Item, str, ManifestFile | None]]) -> None:
        wire: list[tuple[int, int, int, str, str]] = []
        for item, path, _ in part:
            m = item.member
            assert m is not None  # for_writer() only lets members with an offset through
            wire.append((m.offset, m.size, m.crc, os.path.join(out_str, path), form_of(item)))
        if writer is not None and writer.send(spool, source_form, wire):
            in_flight.append(part)
            if len(in_flight) >= 2:
                collect()
        else:
            jobs.extend(part)

    def collect() -> None:
        part = in_flight.popleft()
        results = writer.receive() if writer is not None else None
        if results is None or len(results) != len(part):
            results = [None] * len(part)  # the helper is gone: store them here
        for (item, path, row), done in zip(part, results, strict=True):
            if done is None:
                write(item, path, row)
            else:
                sha1_b64, plain_size, on_disk, mtime_ns = done
                record(item, path, row, form_of(item), sha1_b64, plain_size, on_disk, mtime_ns)

    pending: list[ManifestFile] = []

    def flush_locked() -> None:
        ctx.manifest.record_many(pending)
        pending.clear()

    def flush() -> None:
        with lock:
            flush_locked()

    def write(item: _Item, path: str, row: ManifestFile | None) -> None:
        if should_stop is not None and should_stop():
            return
        pid = item.name.participant
        form = form_of(item)
        if row is not None and row.form in _LOCKED_FORMS and form not in _LOCKED_FORMS:
            # never put plaintext where the tree holds a locked copy
            if ctx.key is None:
                c = counts(pid)
                reason = (
                    f"{row.disk_path} is locked here and the server's copy changed; not "
                    f"replaced by an unencrypted one (sync with --lock {item.name.stream} and "
                    "the study's passphrase)"
                )
                with lock:
                    c.failed.append(SyncFailure(pid, item.raw, reason))
                    c.write_errors += 1
                return
            form = "zst.lock"
        try:
            src: BinaryIO | bytes
            if item.size < ONE_SHOT_MAX_BYTES:
                src = archive.read(item.raw)  # one pread, CRC re-checked
            else:
                src = archive.open(item.raw)
            try:
                stored = write_data_file(
                    src,
                    os.path.join(out_str, path),
                    source_form=source_form,
                    form=form,
                    key=ctx.key if form == "zst.lock" else None,
                    level=ctx.level,
                    # a new file has no other form to clean up (saves 3 syscalls per file)
                    remove_other_forms=row is not None,
                )
            finally:
                if not isinstance(src, bytes):
                    src.close()
            mtime_ns = stored.mtime_ns
            if mtime_ns is None:
                mtime_ns = os.stat(stored.path).st_mtime_ns
        except Exception as exc:  # one bad member must not stop the others
            if is_disk_full(exc):  # ... but a full disk stops them all
                raise
            logger.warning("could not write %s: %s", path, exc)
            c = counts(pid)
            with lock:
                c.failed.append(SyncFailure(pid, item.raw, f"not written: {exc}"))
                c.write_errors += 1
            return
        record(
            item,
            path,
            row,
            stored.form,
            stored.sha1_b64,
            stored.plain_size,
            stored.size_on_disk,
            mtime_ns,
        )

    def record(
        item: _Item,
        path: str,
        row: ManifestFile | None,
        form: str,
        sha1_b64: str,
        plain_size: int,
        size_on_disk: int,
        mtime_ns: int,
    ) -> None:
        """Count a file that is safely on disk and queue its manifest row."""
        name = item.name
        pid = name.participant
        if item.expected and len(item.expected) == 28 and item.expected != sha1_b64:
            logger.warning(
                "%s: content SHA-1 %s differs from the server's registry value %s",
                path,
                sha1_b64,
                item.expected,
            )
        entry = ManifestFile(
            path=path,
            participant=pid,
            stream=name.stream,
            time_bin=int(name.time_bin),
            zip_name=item.raw[:-4] if zst else item.raw,
            storage_key=item.key,
            size=plain_size,
            size_on_disk=size_on_disk,
            sha1_b64=sha1_b64,
            md5_b64=None,
            form=form,
            mtime_ns=mtime_ns,
            fetched_at=fetched_at,
        )
        c = counts(pid)
        old_form = row if row is not None and row.form != form else None
        if old_form is not None:
            # Same file, new form: drop the old one only once the new row is durable.
            flush()
            ctx.manifest.record(entry)
            ctx.manifest.commit()
            (ctx.out / old_form.disk_path).unlink(missing_ok=True)
        with lock:
            if old_form is None:
                # Rows are batched (one executemany per _ROW_BATCH): the file is on disk.
                pending.append(entry)
                if len(pending) >= _ROW_BATCH:
                    flush_locked()
            if row is None:
                c.new += 1
            else:
                c.updated += 1
            c.bytes_written += size_on_disk
            c.paths.append(path + form_suffix(form))
        if on_file is not None:
            on_file(pid, path)

    futures: list[cf.Future[None]] = []
    try:
        # Phase 1, in order: names are decided here, so collision numbering is deterministic.
        for item in items:
            if should_stop is not None and should_stop():
                break
            pid = item.name.participant
            c = counts(pid)
            c.received += 1
            try:
                path, row = _free_path(known, item, archive, zst, taken)
            except (OSError, ValueError) as exc:
                c.failed.append(SyncFailure(pid, item.raw, f"cannot read member: {exc}"))
                c.write_errors += 1
                continue
            taken.add(path)
            expected_hash = item.sha1 or item.expected
            if row is not None and expected_hash and expected_hash in (row.sha1_b64, row.md5_b64):
                try:
                    st = os.stat(ctx.out / row.disk_path)
                    intact = st.st_size == row.size_on_disk
                except OSError:
                    intact = False
                if intact:
                    if item.key is not None and row.storage_key != item.key:
                        fixed = _replace_key(row, item.key, item.raw, zst)
                        ctx.manifest.record(fixed)
                        known.add(fixed)
                    c.unchanged += 1
                    if on_file is not None:
                        on_file(pid, path)
                    continue
            if for_writer(item, row):
                batch.append((item, path, row))
                if len(batch) >= _WRITER_BATCH:
                    send(batch)
                    batch = []
            else:
                jobs.append((item, path, row))
        if batch and not (should_stop is not None and should_stop()):
            send(batch)
        batch = []

        # Phase 2: write, in parallel when a pool is given (zstd and SHA-1 release the GIL,
        # and file-system latency overlaps). Each row is recorded right after its file is on
        # disk. Small files go inline: for them thread hand-offs cost more than they save.
        if ctx.pool is not None:
            big = [job for job in jobs if job[0].size >= PARALLEL_MIN_BYTES]
            futures = [ctx.pool.submit(write, *job) for job in big]
        for job in jobs:
            if ctx.pool is None or job[0].size < PARALLEL_MIN_BYTES:
                write(*job)
        while in_flight:
            collect()
    finally:
        if writer is not None:
            if in_flight:
                # interrupted: results still on their way would be read as the next archive's
                writer.close()
            else:
                writer.release()
        for fut in futures:
            fut.exception()  # wait for every write before the last rows are recorded
        flush()
    for fut in futures:
        fut.result()
    ctx.manifest.commit()
    return stray


def _replace_key(row: ManifestFile, key: str, raw: str, zst: bool) -> ManifestFile:
    return ManifestFile(
        path=row.path,
        participant=row.participant,
        stream=row.stream,
        time_bin=row.time_bin,
        zip_name=raw[:-4] if zst else raw,
        storage_key=key,
        size=row.size,
        size_on_disk=row.size_on_disk,
        sha1_b64=row.sha1_b64,
        md5_b64=row.md5_b64,
        form=row.form,
        mtime_ns=row.mtime_ns,
        fetched_at=row.fetched_at,
    )
