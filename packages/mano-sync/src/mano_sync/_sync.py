"""The public calls of the sync engine: :func:`sync_study`, :func:`backfill`, :func:`download`
and :func:`save`.

The engine runs in stages, one module each: plan (:mod:`mano_sync._ask`, windows in
:mod:`mano_sync._plan`, statistics in :mod:`mano_sync._statistics`) -> fetch
(:mod:`mano_sync._fetch`) -> save (:mod:`mano_sync._save`) -> record (:mod:`mano_sync._record`,
the manifest in :mod:`mano_sync._manifest`), wired together by :mod:`mano_sync._run`; every
tunable lives in :mod:`mano_sync._policy`.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as _dt
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mano_sync._adopt import adopt_tree, needs_adoption
from mano_sync._errors import ManoSyncError, disk_full_error, is_disk_full
from mano_sync._fetch import open_client, request_archive
from mano_sync._inputs import STUDY_ID_RE, TimeArg, derive_lock_key, streams_arg, to_utc
from mano_sync._lock import FolderLock
from mano_sync._manifest import MANIFEST_NAME, Manifest
from mano_sync._policy import DEFAULT_RECHECK_DAYS, DEFAULT_REQUEST_BYTES, SAVERS
from mano_sync._record import clean_temp_files
from mano_sync._run import ProgressCallback, _Run, sync_all
from mano_sync._save import LazyWriter, SaveContext, SaveCounts, save_archive
from mano_sync._shard import Shard
from mano_sync._shardstate import ShardLock, state_manifest
from mano_sync._side_inputs import save_side_inputs
from mano_sync._statistics import study_statistics
from mano_sync._types import SaveResult, SyncSummary

if TYPE_CHECKING:
    from mano_api import Archive, BeiweClient
    from mano_files import WriterProcess

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RECHECK_DAYS",
    "DEFAULT_REQUEST_BYTES",
    "backfill",
    "download",
    "save",
    "sync_study",
]

# kept for callers of the older private names
_streams_arg = streams_arg
_to_utc = to_utc


# -- public: download / save --------------------------------------------------------------


def download(
    credentials: Any,
    study_id: str,
    participant_ids: Sequence[str] | str | None = None,
    data_streams: Iterable[str] | str | None = None,
    start: TimeArg = None,
    end: TimeArg = None,
    *,
    registry: Mapping[str, str] | None = None,
    version: int = 2,
    tmp_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
    client: BeiweClient | None = None,
) -> Archive:
    """One get-data request, returned as a validated archive.

    Uses get-data v2 (zstd members) and falls back to v1 when the server has no v2 route.

    Args:
        credentials: ``mano_auth.Credentials`` or a keyring-section dict.
        study_id: The study's 24-character id.
        participant_ids: Patient ids (``None``: every participant).
        data_streams: Streams (``None``: all).
        start: First hour to include (UTC; date, datetime or ISO string).
        end: Last hour to include (inclusive).
        registry: Skip-list sent to the server (storage path without ``CHUNKED_DATA/`` ->
            base64 SHA-1 of the plain content).
        version: 2 (default) or 1.
        tmp_dir: Where the archive's temporary file goes.
        progress: Called with the bytes received so far while the body streams.
        client: An open ``mano_api.BeiweClient`` to reuse.

    Returns:
        The ``mano_api.Archive`` (a context manager; closing deletes its temporary file).
    """
    pids = [participant_ids] if isinstance(participant_ids, str) else participant_ids
    c, owned = open_client(credentials, client)
    try:
        archive, _ = request_archive(
            c,
            study_id,
            participants=pids,
            streams=streams_arg(data_streams),
            start=to_utc(start, what="start"),
            end=to_utc(end, what="end"),
            registry=registry,
            version=version,
            tmp_dir=tmp_dir,
            progress=progress,
        )
        return archive
    finally:
        if owned:
            c.close()


def save(
    archive: Archive,
    output_folder: str | os.PathLike[str],
    *,
    study_id: str | None = None,
    participants: Iterable[str] | None = None,
    data_streams: Iterable[str] | None = None,
    lock: Iterable[str] | None = None,
    passphrase: str | None = None,
    keep_compressed: bool = False,
) -> SaveResult:
    """Extract a get-data archive into ``<out>/<pid>/<stream>/[<survey>/]<name>``.

    Members are checked first: absolute paths, ``..``, backslashes, drive letters and names not
    shaped like the Beiwe layout (or for participants / streams not listed) are refused and
    reported, never written. Every file is written atomically and recorded in the folder's
    manifest, so a later :func:`sync_study` knows it.

    Args:
        archive: A ``mano_api.Archive`` (from :func:`download`).
        output_folder: The study folder.
        study_id: The study (recorded in the manifest; taken from it when omitted).
        participants: Accept only these participants' members (default: any).
        data_streams: Accept only these streams (default: all).
        lock: Streams to store locked (``.zst.lock``); needs ``passphrase``.
        passphrase: Passphrase for locking.
        keep_compressed: Store ``.zst`` files instead of plain ones.

    Returns:
        What was written, found current, or refused.

    Raises:
        SyncLocked: Another run holds the folder's lock.
        PassphraseRequired: ``lock`` without ``passphrase``.
    """
    out = Path(output_folder)
    lock_streams, key = derive_lock_key(lock, passphrase)
    out.mkdir(parents=True, exist_ok=True)
    with FolderLock(out), Manifest(out, study_id=study_id) as manifest:
        ctx = SaveContext(
            out=out,
            study_id=study_id or manifest.study_id or "",
            manifest=manifest,
            lock_streams=lock_streams,
            key=key,
            keep_compressed=keep_compressed,
        )
        counts: dict[str, SaveCounts] = {}
        stray = save_archive(
            ctx,
            archive,
            participants=participants,
            streams=streams_arg(data_streams),
            counts=lambda p: counts.setdefault(p, SaveCounts()),
        )
        for pid in counts:
            manifest.update_participant(pid)
    failed = list(stray)
    for c in counts.values():
        failed.extend(c.failed)
    return SaveResult(
        new=sum(c.new for c in counts.values()),
        updated=sum(c.updated for c in counts.values()),
        unchanged=sum(c.unchanged for c in counts.values()),
        failed=tuple(failed),
        bytes_written=sum(c.bytes_written for c in counts.values()),
        paths=tuple(sorted(p for c in counts.values() for p in c.paths)),
    )


def _start_writer() -> WriterProcess | None:
    """The helper process that stores small files on a second core (``None``: write here)."""
    from mano_files import TMP_SUFFIX, WriterProcess

    return WriterProcess.start(TMP_SUFFIX)


def sync_study(
    credentials: Any,
    study_id: str,
    output_folder: str | os.PathLike[str],
    *,
    participants: Iterable[str] | str | None = None,
    data_streams: Iterable[str] | str | None = None,
    start: TimeArg = None,
    end: TimeArg = None,
    lock: Iterable[str] | None = (),
    passphrase: str | None = None,
    keep_compressed: bool = False,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    version: int = 2,
    recheck_days: float | str | None = DEFAULT_RECHECK_DAYS,
    request_bytes: int = DEFAULT_REQUEST_BYTES,
    use_file_hashes: bool = True,
    verify_files: bool = False,
    client: BeiweClient | None = None,
    shard: Shard | None = None,
    force_lock: bool = False,
) -> SyncSummary:
    """Bring ``output_folder`` up to date with the server for all or chosen participants.

    The first run fetches everything from each participant's first data; later runs fetch only
    what is new or changed: the last ``recheck_days`` of each participant's data are
    re-checked with a registry of content hashes (the server skips what is unchanged), days
    whose server statistics changed are re-checked, missing or altered local files are fetched
    again, and survey answers and audio not held yet are fetched whatever their age (they count
    in no server statistic, and phones upload them days late). Files recorded in the manifest are
    trusted while their folder is unchanged since they were last verified (no entry created,
    removed or renamed); the files of any changed folder are stat-ed one by one. A run can be
    killed at any moment; the next one resumes.

    Args:
        credentials: ``mano_auth.Credentials`` or a keyring-section dict.
        study_id: The study's 24-character id (a unique name or id prefix is resolved).
        output_folder: The study folder (created if needed; one folder per study).
        participants: Patient ids (``None``: every participant of the study).
        data_streams: Streams (``None``: all 19).
        start: Ignore data before this (UTC date/datetime/ISO string).
        end: Ignore data after this (inclusive hour).
        lock: Streams to store encrypted (``.zst.lock``); needs ``passphrase``.
        passphrase: Passphrase for ``lock`` and for hashing adopted ``.lock`` files.
        keep_compressed: Store ``.zst`` files (as the server sends them) instead of plain ones.
        workers: Participants synced in parallel (default ``min(4, cpu count)``).
        progress: Callback receiving :class:`SyncProgress` events.
        version: get-data version (2, falling back to 1 when the server lacks v2).
        recheck_days: Days before each participant's last data whose hourly chunks are
            re-checked for late rewrites; ``"all"`` (or ``None``) re-checks every stream's
            whole history with the full hash registry, still transferring only what changed
            (the weekly companion of a nightly run). Late survey answers and audio are found
            at any age on every run: one request per batch of participants asks for every
            unchunked file not held yet.
        request_bytes: Target archive size per request.
        use_file_hashes: Ask get-participant-file-hashes for changed files. After a failure
            (the deployed server fails it whenever data exist) the manifest remembers it for
            this server and it is not called again for a week; at most one call fails per run.
        verify_files: Stat every recorded file, also in unchanged folders (finds files edited
            in place to another size; ``mano verify`` compares content hashes).
        client: An open ``mano_api.BeiweClient`` to reuse.
        shard: Sync only this slice of the participants; shards of one folder may run at
            the same time, on several nodes (see ``mano_sync._shardstate``).
        force_lock: Lock with ``passphrase`` even when the folder's passphrase check says
            it was locked with another one.

    Returns:
        New, updated, unchanged and failed files, bytes and per-participant details.

    Raises:
        SyncLocked: Another run holds ``<out>/.mano-sync.lock``.
        PassphraseRequired: ``lock`` without ``passphrase``.
        mano_files.PassphraseMismatch: ``lock`` with another passphrase than the folder's.
        ManifestError: The folder belongs to another study or its manifest is unusable.
        mano_api.ManoAPIError: Credentials, study or server problems that stop the whole run.
    """
    t0 = time.monotonic()
    if isinstance(recheck_days, str):
        if recheck_days.strip().lower() != "all":
            raise ManoSyncError(
                f"recheck_days must be a number of days or 'all', not {recheck_days!r}"
            )
        recheck_days = None
    out = Path(output_folder)
    streams = streams_arg(data_streams)
    start_dt = to_utc(start, what="start")
    end_dt = to_utc(end, what="end")
    if end_dt is not None:  # a future end (e.g. 9999-12-31) means up to now
        end_dt = min(end_dt, _dt.datetime.now(_dt.UTC))
    lock_streams, key = derive_lock_key(lock, passphrase)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    workers = max(1, int(workers))
    out.mkdir(parents=True, exist_ok=True)
    if key is not None:  # one passphrase per tree (see mano_files.check_lock_passphrase)
        from mano_files import check_lock_passphrase

        check_lock_passphrase(out, key, force=force_lock)
    # One helper per save slot. A first sync (no manifest yet) starts them now, so their
    # interpreters come up on other cores while this one imports the HTTP stack and plans;
    # later runs start one when it first has small files to store (a re-sync with nothing new
    # starts none).
    from mano_files import WriterProcess

    helpers = [LazyWriter(_start_writer) for _ in range(SAVERS if WriterProcess.usable() else 0)]
    if not (out / MANIFEST_NAME).exists():
        for helper in helpers:
            helper.get()
    owned = False
    try:
        c, owned = open_client(credentials, client)
        if not STUDY_ID_RE.match(study_id):
            # a name or id prefix: storage paths and the manifest need the real id
            study_id = c.resolve_study(study_id).id
        with (
            FolderLock(out) if shard is None else ShardLock(out, shard) as folder_lock,
            Manifest(state_manifest(out, study_id, shard), study_id=study_id) as manifest,
            contextlib.ExitStack() as stack,  # closed first: the write pool before the manifest
        ):
            if participants is None:
                pids = sorted(c.participant_ids(study_id))
            elif isinstance(participants, str):
                pids = [participants]
            else:
                pids = list(dict.fromkeys(participants))
            if shard is not None:
                pids = shard.select(pids)
            # Only a run that did not finish (killed) can leave temp files in the tree; a
            # shard leaves the study folder's own to plain runs (other shards' are in use).
            interrupted = manifest.get_meta("run_state") != "finished"
            clean_temp_files(out, pids, deep=interrupted, study_level=shard is None)
            manifest.set_meta("run_state", "running")
            if needs_adoption(out, manifest):
                adopt_tree(out, manifest, study_id=study_id, passphrase=passphrase)
            # Forest's side inputs are four small requests of their own: they go while the
            # statistics and the data are fetched instead of after them.
            side_pool = cf.ThreadPoolExecutor(1, thread_name_prefix="mano-side")
            stack.callback(side_pool.shutdown, wait=True, cancel_futures=True)
            side = side_pool.submit(save_side_inputs, c, study_id, out, manifest)
            infos = study_statistics(
                c, study_id, pids, streams, all_participants=participants is None
            )
            write_pool = cf.ThreadPoolExecutor(
                max(2, min(8, os.cpu_count() or 2)), thread_name_prefix="mano-write"
            )
            stack.callback(write_pool.shutdown, wait=True, cancel_futures=True)
            save_ctx = SaveContext(
                out=out,
                study_id=study_id,
                manifest=manifest,
                lock_streams=lock_streams,
                key=key,
                keep_compressed=keep_compressed,
                pool=write_pool,
            )
            run = _Run(
                client=c,
                study_id=study_id,
                out=out,
                manifest=manifest,
                folder_lock=folder_lock,
                streams=streams,
                start=start_dt,
                end=end_dt,
                # with helpers, SAVERS archives at once (one helper each); without, one (GIL)
                save_slots=[dataclasses.replace(save_ctx, writer=h) for h in helpers] or [save_ctx],
                version=version,
                recheck_days=recheck_days,
                request_bytes=request_bytes,
                progress=progress,
                use_file_hashes=use_file_hashes,
                verify_files=verify_files,
            )
            run.total = len(pids)
            expected = [run.ask.expected_stat_bytes_of(p, infos[p]) for p in pids]
            known = [e for e in expected if e is not None]
            run.expected_stat_bytes = sum(known) if known and len(known) == len(pids) else None
            run.emit("plan", None, f"{len(pids)} participants")
            with cf.ThreadPoolExecutor(workers, thread_name_prefix="mano-sync") as pool:
                results, errors = sync_all(run, pool, pids, infos)
            if errors:
                if is_disk_full(errors[0]):
                    raise disk_full_error(out) from errors[0]
                raise errors[0]
            side.result()  # Forest's settings/history JSON (server failures never raise)
            summary = SyncSummary.combine(
                results,
                elapsed=time.monotonic() - t0,
                version=run.version,
                extra_failures=tuple(run.stray),
            )
            manifest.set_meta("run_state", "finished")
            run.emit("done", None)
            return summary
    finally:
        for helper in helpers:
            helper.close()
        if owned:
            c.close()


def backfill(
    credentials: Any,
    study_id: str,
    participant_id: str,
    output_folder: str | os.PathLike[str],
    start_date: TimeArg = None,
    end_date: TimeArg = None,
    data_streams: Iterable[str] | str | None = None,
    lock: Iterable[str] | None = None,
    passphrase: str | None = None,
    **options: Any,
) -> SyncSummary:
    """Sync one participant (the mano 0.6.0 call, kept working).

    The positional order matches the newest mano: ``backfill(keyring, study_id, user_id,
    output_dir, start_date, end_date, data_streams, lock, passphrase)``. Unlike mano 0.6.0 it
    starts at the participant's first data, never sleeps, and re-checks recent hours on every
    run instead of marking the participant complete forever.

    Args:
        credentials: ``mano_auth.Credentials`` or a keyring-section dict (``URL``,
            ``ACCESS_KEY``, ``SECRET_KEY``).
        study_id: The study's id.
        participant_id: The patient id.
        output_folder: The study folder (files go to ``<output_folder>/<participant_id>/``).
        start_date: Ignore data before this.
        end_date: Ignore data after this.
        data_streams: Streams (``None``: all).
        lock: Streams to store encrypted; needs ``passphrase``.
        passphrase: Passphrase for ``lock``.
        **options: Any keyword of :func:`sync_study` (``keep_compressed``, ``progress``, ...).

    Returns:
        The :class:`SyncSummary` of this participant.
    """
    return sync_study(
        credentials,
        study_id,
        output_folder,
        participants=[participant_id],
        data_streams=data_streams,
        start=start_date,
        end=end_date,
        lock=lock or (),
        passphrase=passphrase,
        **options,
    )
