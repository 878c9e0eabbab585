"""The sync engine: plan, download, save, record -- for one participant or a whole study."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as _dt
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mano_sync._adopt import adopt_tree, needs_adoption
from mano_sync._errors import ManoSyncError, PassphraseRequired
from mano_sync._lock import FolderLock, change_ns
from mano_sync._manifest import MANIFEST_NAME, Manifest, folder_of, folder_state, form_suffix
from mano_sync._names import (
    ALL_STREAMS,
    CHUNKED_PREFIX,
    UNCHUNKED_STREAMS,
    parse_member,
    registry_key_to_send,
    storage_key_from_member,
)
from mano_sync._plan import DAY, EARLIEST, HOUR, Window, WindowPlanner, floor_hour
from mano_sync._save import LazyWriter, SaveContext, SaveCounts, save_archive
from mano_sync._types import ParticipantSummary, SaveResult, SyncFailure, SyncProgress, SyncSummary

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

#: Re-check this many days before a participant's last data on every run (late uploads).
DEFAULT_RECHECK_DAYS = 3.0
#: Target archive bytes per get-data request.
DEFAULT_REQUEST_BYTES = 128 * 1024 * 1024
#: Smallest byte budget per request when a participant's data is split for pipelining.
MIN_REQUEST_BYTES = 2 * 1024 * 1024
#: Archives saved at the same time, each with a helper process (mano_files.WriterProcess)
#: storing its small files on another core while the saving thread decides names and records
#: rows. Two keep a helper busy across archive boundaries (quick study, 2 cores: 1.83 s vs
#: 2.01 s for one). Without helpers one archive is saved at a time: two savers doing the file
#: work in threads only trade the GIL (on 2 cores four took longer than one, with three times
#: its kernel time).
SAVERS = 2
#: Most registry entries sent in one request (about 400 kB of JSON).
MAX_REGISTRY = 4000
#: Most participants whose recent days are re-checked in one shared request.
MAX_BATCH = 10
#: Registry entry sent when there is nothing to send, so the server answers with SHA-1
#: registry values (docs/beiwe-server.md#registry: MD5s, and "" for unchunked files, otherwise). It matches
#: no storage path and no content hash.
SENTINEL_KEY = "mano-sync/no-such-file"
SENTINEL_VALUE = "-"
_TMP_RE = re.compile(r"^\..*\.mano-tmp$")
_STUDY_ID_RE = re.compile(r"^[A-Za-z0-9]{24}$")

ProgressCallback = Callable[[SyncProgress], None]
TimeArg = str | _dt.date | _dt.datetime | None


# -- small helpers ------------------------------------------------------------------------


def _to_utc(value: TimeArg, *, what: str) -> _dt.datetime | None:
    """Accept a date, datetime or ISO-ish string (mano 0.6.0 style ``2015-9-01T00:00:00``)."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value.astimezone(_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    text = str(value).strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return _dt.datetime.strptime(text, fmt).replace(tzinfo=_dt.UTC)
        except ValueError:
            pass
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ManoSyncError(
            f"cannot read {what} {value!r}; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)"
        ) from None
    return parsed.replace(tzinfo=_dt.UTC) if parsed.tzinfo is None else parsed.astimezone(_dt.UTC)


def _streams_arg(data_streams: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Validate a stream selection; ``None`` means all 19."""
    if data_streams is None:
        return None
    items = [data_streams] if isinstance(data_streams, str) else list(data_streams)
    out: list[str] = []
    for s in items:
        name = str(s).strip()
        if name not in ALL_STREAMS:
            raise ManoSyncError(
                f"unknown data stream {name!r}; choose from: {', '.join(ALL_STREAMS)}"
            )
        if name not in out:
            out.append(name)
    if not out or set(out) == set(ALL_STREAMS):
        return None
    return tuple(out)


def _clean_temp_files(out: Path, participants: Iterable[str], *, deep: bool) -> int:
    """Delete ``.*.mano-tmp`` leftovers of killed runs (study folder; participants' when deep)."""
    removed = 0
    tops = [out, *(out / p for p in participants)] if deep else [out]
    for top in tops:
        if not top.is_dir():
            continue
        walker = (
            [(str(top), [], [e.name for e in os.scandir(top) if e.is_file()])]
            if top == out
            else os.walk(top)
        )
        for folder, _dirs, files in walker:
            for name in files:
                if _TMP_RE.match(name):
                    try:
                        os.unlink(os.path.join(folder, name))
                        removed += 1
                    except OSError:
                        pass
    if removed:
        logger.info("removed %d temporary files left by an interrupted run", removed)
    return removed


def _open_client(credentials: Any, client: BeiweClient | None) -> tuple[BeiweClient, bool]:
    if client is not None:
        return client, False
    from mano_api import BeiweClient

    return BeiweClient(credentials), True


class _Stopped(ManoSyncError):
    """Internal: raised from the download progress hook to abandon a download at once."""


def _is_fatal(exc: BaseException) -> bool:
    """Errors that no other participant or window can get past."""
    from mano_api import AccessDenied, ClientConfigurationError, StudyNotFound

    return isinstance(exc, AccessDenied | StudyNotFound | ClientConfigurationError)


def _request_archive(
    client: BeiweClient,
    study_id: str,
    *,
    participants: Sequence[str] | None,
    streams: Sequence[str] | None,
    start: _dt.datetime | None,
    end: _dt.datetime | None,
    registry: Mapping[str, str] | None,
    version: int,
    tmp_dir: str | os.PathLike[str] | None,
    progress: Callable[[int], None] | None,
) -> tuple[Archive, int]:
    """One get-data request; falls back from v2 to v1 when the server has no v2 route."""
    from mano_api import EndpointNotFound

    try:
        archive = client.download(
            study_id,
            participants=list(participants) if participants else None,
            streams=list(streams) if streams else None,
            start=start,
            end=end,
            registry=dict(registry) if registry else None,
            version=version,
            tmp_dir=tmp_dir,
            progress=progress,
        )
        return archive, version
    except EndpointNotFound:
        if version != 2:
            raise
        logger.warning("the server has no /get-data/v2 route; falling back to /get-data/v1")
    return _request_archive(
        client,
        study_id,
        participants=participants,
        streams=streams,
        start=start,
        end=end,
        registry=registry,
        version=1,
        tmp_dir=tmp_dir,
        progress=progress,
    )


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
    c, owned = _open_client(credentials, client)
    try:
        archive, _ = _request_archive(
            c,
            study_id,
            participants=pids,
            streams=_streams_arg(data_streams),
            start=_to_utc(start, what="start"),
            end=_to_utc(end, what="end"),
            registry=registry,
            version=version,
            tmp_dir=tmp_dir,
            progress=progress,
        )
        return archive
    finally:
        if owned:
            c.close()


def _derive_lock_key(
    lock: Iterable[str] | None, passphrase: str | None
) -> tuple[frozenset[str], Any]:
    streams = frozenset(_streams_arg(lock) or ALL_STREAMS) if lock else frozenset()
    if not streams:
        return streams, None
    if not passphrase:
        raise PassphraseRequired(
            "locking data streams needs a passphrase; pass passphrase= (or set it in the keyring)"
        )
    from mano_files import derive_key

    return streams, derive_key(passphrase)


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
    lock_streams, key = _derive_lock_key(lock, passphrase)
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
            streams=_streams_arg(data_streams),
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


# -- the engine ----------------------------------------------------------------------------


@dataclass
class _ParticipantInfo:
    """What the server's statistics say about one participant."""

    total_bytes: int | None = None  # data quantities for the selected streams
    daily: dict[int, int] = field(default_factory=dict)  # UTC day start -> bytes
    stats_through: int | None = None  # last day the study's statistics cover


class _Run:
    """State shared by the workers of one sync run."""

    def __init__(
        self,
        *,
        client: BeiweClient,
        study_id: str,
        out: Path,
        manifest: Manifest,
        folder_lock: FolderLock,
        streams: tuple[str, ...] | None,
        start: _dt.datetime | None,
        end: _dt.datetime | None,
        save_slots: list[SaveContext],
        version: int,
        recheck_days: float | None,
        request_bytes: int,
        progress: ProgressCallback | None,
        use_file_hashes: bool,
        verify_files: bool = False,
    ) -> None:
        self.client = client
        self.study_id = study_id
        self.out = out
        self.base = os.fspath(out) + os.sep
        self.manifest = manifest
        self.folder_lock = folder_lock
        self.streams = streams
        self.stream_names: tuple[str, ...] = streams or ALL_STREAMS
        self.start = start
        self.end = end
        self.version = version
        self.recheck_days = recheck_days
        self.request_bytes = request_bytes
        self.progress_cb = progress
        self.use_file_hashes = use_file_hashes
        self.verify_files = verify_files
        # folder states are trusted unless this file system was seen not to move folder times
        self.trust_folders = manifest.get_meta("folder_times") != "unreliable"
        self.run_stamp = folder_lock.touch()  # every folder this run writes to changes after it
        self.t0 = time.monotonic()
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self.files = 0
        self.bytes = 0
        # statistics bytes this run expects to fetch; times the learnt ratio = archive bytes
        self.expected_stat_bytes: int | None = None
        self.done = 0
        self.total = 0
        self.per_files: dict[str, int] = {}
        self.per_bytes: dict[str, int] = {}
        self.ratio = 0.5  # archive bytes per statistics byte, learnt across participants
        self.stray: list[SyncFailure] = []
        # One archive per save slot at a time while every worker keeps downloading.
        self._save_slots: queue.SimpleQueue[SaveContext] = queue.SimpleQueue()
        for ctx in save_slots:
            self._save_slots.put(ctx)

    @contextlib.contextmanager
    def save_slot(self) -> Iterator[SaveContext]:
        """Wait for a free save slot; its context (and helper process) is this thread's."""
        ctx = self._save_slots.get()
        try:
            yield ctx
        finally:
            self._save_slots.put(ctx)

    # progress ---------------------------------------------------------------------------

    def emit(self, event: str, participant: str | None, message: str = "") -> None:
        if self.progress_cb is None:
            return
        with self._lock:
            ev = SyncProgress(
                event=event,
                participant=participant,
                files=self.files,
                bytes=self.bytes,
                expected_bytes=(
                    None
                    if self.expected_stat_bytes is None
                    else max(self.bytes, int(self.expected_stat_bytes * self.ratio))
                ),
                elapsed=time.monotonic() - self.t0,
                participants_done=self.done,
                participants_total=self.total,
                participant_files=self.per_files.get(participant or "", 0),
                participant_bytes=self.per_bytes.get(participant or "", 0),
                message=message,
            )
            try:
                self.progress_cb(ev)
            except Exception:  # a broken progress display must not break the sync
                logger.exception("progress callback failed")

    def add_bytes(self, participant: str | None, n: int) -> None:
        with self._lock:
            self.bytes += n
            if participant is not None:
                self.per_bytes[participant] = self.per_bytes.get(participant, 0) + n

    def add_file(self, participant: str) -> None:
        with self._lock:
            self.files += 1
            self.per_files[participant] = self.per_files.get(participant, 0) + 1

    # per participant ----------------------------------------------------------------------

    # local files --------------------------------------------------------------------------
    #
    # A folder records the state (inode, mtime, ctime) it had when every file the manifest
    # lists in it was last seen on disk. Creating, removing or renaming an entry changes a
    # folder's mtime and ctime, so a folder still in that state needs no per-file check. The
    # state only counts when it is older than a time stamp taken before the files were
    # looked at (``FolderLock.touch``): a change after that stamp gets a later ctime, even
    # on file systems whose clocks tick every few milliseconds.

    def _folder_stat(self, folder: str) -> os.stat_result:
        return os.stat(self.base + folder)

    def _stale_folders(self, pid: str) -> list[tuple[str, os.stat_result | None]]:
        """The participant's folders that changed since their files were last verified, each
        with the state just seen (``None``: gone, or not looked at since nothing is trusted)."""
        stale: list[tuple[str, os.stat_result | None]] = []
        for folder, ino, mtime, ctime in self.manifest.dirs(pid):
            if self.streams is not None and folder.split("/", 2)[1] not in self.streams:
                continue
            if self.verify_files or not self.trust_folders:
                stale.append((folder, None))
                continue
            try:
                st = self._folder_stat(folder)
            except OSError:
                stale.append((folder, None))
                continue
            if ino is None or folder_state(st) != (ino, mtime, ctime):
                stale.append((folder, st))
        return stale

    def _settled(self, folder: str, stamp: int | None) -> os.stat_result | None:
        """The folder's state, if it has not changed since ``stamp`` (else ``None``)."""
        if not self.trust_folders or stamp is None:
            return None
        try:
            st = self._folder_stat(folder)
        except OSError:
            return None
        return st if change_ns(st) < stamp else None

    def _check_local(self, pid: str) -> list[tuple[int, int | None]]:
        """Stat the files of the participant's changed folders; forget lost or altered ones.

        Returns:
            Hour ranges to fetch again.
        """
        stale = self._stale_folders(pid)
        if not stale:
            return []
        stamp = self.folder_lock.touch()
        ranges: list[tuple[int, int | None]] = []
        base = self.base
        stat = os.stat
        states: list[tuple[str, os.stat_result | None]] = []
        for folder, _ in stale:
            lost = 0
            for path, form, size, time_bin, stream in self.manifest.dir_entries(folder):
                try:
                    ok = stat(base + path + form_suffix(form)).st_size == size
                except OSError:
                    ok = False
                if not ok:
                    logger.info(
                        "%s%s is missing or altered; fetching it again", path, form_suffix(form)
                    )
                    hour = floor_hour(time_bin)
                    # committed together with the forgotten row: should this run stop before
                    # fetching it, the next one still re-checks from this hour
                    self.manifest.lower_coverage(pid, stream, hour)
                    self.manifest.forget(path)
                    ranges.append((hour, hour))
                    lost += 1
            states.append((folder, None if lost else self._settled(folder, stamp)))
        self.manifest.set_dir_states(states)
        return ranges

    def _mark_verified(self, pid: str, written: Iterable[str]) -> None:
        """After saving: record the folders this run wrote to as verified, if all is there.

        Every file was just written and checked by this run, so a listing that holds every
        recorded name (with its form's suffix) is enough; anything unusual leaves the folder
        for the next run's per-file check. A folder written to by this run whose change time
        is older than the run's start shows a file system that does not move folder times
        (some FUSE and object-store mounts): then no folder of this tree is trusted again.
        """
        if self.run_stamp is None:
            return  # no time stamps on this file system: nothing is trusted
        moved = stuck = False
        for folder in written:
            with contextlib.suppress(OSError):
                if change_ns(self._folder_stat(folder)) < self.run_stamp:
                    stuck = True
                else:
                    moved = True
        if stuck and self.trust_folders:
            logger.warning(
                "%s: folder times do not change when files do on this file system; every "
                "re-sync will stat every file",
                self.out,
            )
            self.trust_folders = False
            self.manifest.set_meta("folder_times", "unreliable")
        elif moved and not stuck and not self.trust_folders:
            # seen working again (the earlier verdict may have come from a clock step)
            self.trust_folders = True
            self.manifest.set_meta("folder_times", "ok")
        stale = self._stale_folders(pid)
        if not stale or not self.trust_folders:
            return
        stamp = self.folder_lock.touch()
        latest = max((change_ns(st) for _, st in stale if st is not None), default=0)
        for _ in range(10):  # the folders changed in the stamp's clock tick: wait for the next
            if stamp is None or stamp > latest:
                break
            time.sleep(0.005)
            stamp = self.folder_lock.touch()
        states: list[tuple[str, os.stat_result | None]] = []
        for folder, _ in stale:
            try:
                present = set(os.listdir(self.base + folder))
            except OSError:
                continue
            cut = len(folder)
            wanted = (p[cut:] + form_suffix(f) for p, f, *_ in self.manifest.dir_entries(folder))
            if present.issuperset(wanted):
                states.append((folder, self._settled(folder, stamp)))
        self.manifest.set_dir_states(states)

    def _hash_ranges(self, pid: str) -> list[tuple[int, int | None]]:
        """Hours the server's file-hash list says changed (when that endpoint works)."""
        if not self.use_file_hashes:
            return []
        try:
            hashes = self.client.file_hashes(pid)
        except (
            Exception
        ) as exc:  # optional endpoint (docs/beiwe-server.md#file-hashes): ignore any failure
            logger.debug("file hashes unavailable for %s: %s", pid, exc)
            hashes = None
        if hashes is None:
            # Current servers fail it for everyone with data: do not ask again this run.
            self.use_file_hashes = False
            return []
        if not hashes:
            return []
        known: dict[tuple[str, str, int], set[str]] = {}
        for row in self.manifest.files(pid):
            slot = (row.stream, row.zip_name.rsplit("/", 1)[0], int(row.time_bin))
            known.setdefault(slot, set()).add(row.sha1_b64 or "")
        ranges: list[tuple[int, int | None]] = []
        for name, value in hashes.items():
            try:
                m = parse_member(name)  # mano-api turned the server's T into a space
            except Exception:
                continue
            if self.streams is not None and m.stream not in self.streams:
                continue
            norm = _normalise_hash(value)
            have = known.get((m.stream, m.folder, int(m.time_bin)))
            if norm is None or (have is not None and norm in have):
                continue
            ranges.append((m.hour, m.hour))
        return ranges

    def _changed_days(self, pid: str, info: _ParticipantInfo) -> list[tuple[int, int | None]]:
        """Days whose server byte count changed since our last full sync (late uploads).

        The statistics' days may be in the study's time zone, so a day is widened by one day
        on each side.
        """
        if not info.daily or self.manifest.synced_through(pid, self.stream_names) is None:
            return []
        before = self.manifest.daily_bytes(pid)
        if not before:
            return []
        ranges: list[tuple[int, int | None]] = []
        for day, size in info.daily.items():
            if before.get(day, 0) != size:
                ranges.append((day - DAY, day + 2 * DAY - HOUR))
        if ranges:
            logger.info(
                "%s: server statistics changed on %d day(s); re-checking them", pid, len(ranges)
            )
        return ranges

    def expected_stat_bytes_of(self, pid: str, info: _ParticipantInfo) -> int | None:
        """Statistics bytes of the days this run will have to transfer for ``pid``."""
        if not info.daily:
            return 0 if info.total_bytes == 0 else None
        through = self.manifest.synced_through(pid, self.stream_names)
        lo = floor_hour(self.start.timestamp()) - DAY if self.start else None
        hi = floor_hour(self.end.timestamp()) if self.end else None
        before = self.manifest.daily_bytes(pid) if through is not None else {}
        total = 0
        for day, size in info.daily.items():
            if (lo is not None and day < lo) or (hi is not None and day > hi):
                continue
            if through is None or day >= through - DAY:
                total += size
            else:
                total += abs(size - before.get(day, 0))
        return total

    def _ranges(
        self, pid: str, info: _ParticipantInfo, extra: list[tuple[int, int | None]]
    ) -> list[tuple[int, int | None]]:
        user_start = floor_hour(self.start.timestamp()) if self.start else None
        user_end = floor_hour(self.end.timestamp()) if self.end else None
        state = self.manifest.participant(pid)
        through = self.manifest.synced_through(pid, self.stream_names)
        first_stat = min((d for d, b in info.daily.items() if b > 0), default=None)
        if user_start is not None:
            # an explicit range is checked whole (the registry keeps it cheap)
            begin = user_start
        elif through is None or self.recheck_days is None:
            candidates = [x for x in (first_stat, state.first_hour) if x is not None]
            begin = min(candidates) if candidates else EARLIEST
        else:
            anchor = min(through, state.last_hour or through)
            begin = floor_hour(anchor - self.recheck_days * DAY)
        main: tuple[int, int | None] = (floor_hour(begin), user_end)
        ranges = [main] + [r for r in extra if user_start is None or (r[1] or 0) >= user_start]
        if user_end is not None:
            ranges = [
                (s, e if e is not None and e <= user_end else user_end)
                for s, e in ranges
                if s <= user_end
            ]
        return ranges

    def _bounded(self, pid: str, planner: WindowPlanner, window: Window | None) -> Window | None:
        """Shorten a window whose registry would exceed ``MAX_REGISTRY`` entries.

        Big registries are slow for the server (silent before the first byte) and proxies
        refuse big bodies (nginx's default 1 MiB -> 413).
        """
        if window is None:
            return None
        nth = self.manifest.nth_time_bin(pid, window.start, MAX_REGISTRY)
        if nth is None or (window.stop is not None and nth >= window.stop):
            return window
        cut = floor_hour(nth) - HOUR
        if cut < window.start:
            return window  # one hour holds that many files: send it whole
        return planner.shorten(window, cut)

    def registry_for(self, pid: str, window: Window) -> dict[str, str]:
        """What we hold in a window, as the registry the server compares (docs/beiwe-server.md#registry, rule 2)."""
        registry: dict[str, str] = {}
        stop = window.stop
        streams = self.streams
        rows = self.manifest.registry_rows(pid, window.start, None if stop is None else stop - 1)
        for path, stream, key, sha1, md5, zip_name in rows:
            if streams is not None and stream not in streams:
                continue
            value = sha1 or md5
            if key is None:
                try:
                    key = storage_key_from_member(parse_member(zip_name), self.study_id)
                except Exception:
                    key = None
            if key is None or not value:
                if key is not None and not key.startswith(CHUNKED_PREFIX):
                    # unchunked upload known by path only (adopted locked file): rule 1 skips
                    # it by presence, and uploads never change
                    registry[key] = SENTINEL_VALUE
                elif stream in UNCHUNKED_STREAMS and sha1:
                    # audio rule 3 matches by value only; the key is irrelevant
                    registry[f"mano-sync/{path}"] = sha1
                continue
            registry[registry_key_to_send(key)] = value
        if not registry:
            registry[SENTINEL_KEY] = SENTINEL_VALUE
        return registry

    def _get(
        self,
        pids: list[str],
        start: _dt.datetime,
        end: _dt.datetime | None,
        registry: dict[str, str],
        *,
        owner: str | None,
    ) -> Archive:
        """One get-data request, its bytes counted for ``owner`` (``None``: shared)."""
        last = [0]

        def on_bytes(n: int) -> None:
            if self.stop.is_set():
                raise _Stopped("the sync was interrupted")
            delta, last[0] = n - last[0], n
            if delta > 0:
                self.add_bytes(owner, delta)
                self.emit("bytes", owner)

        archive, version = _request_archive(
            self.client,
            self.study_id,
            participants=pids,
            streams=self.streams,
            start=start,
            end=end,
            registry=registry,
            version=self.version,
            # same file system as the tree; a killed run's leftover is cleaned at next start
            tmp_dir=self.out,
            progress=on_bytes,
        )
        self.version = version
        # count what the progress callback did not see (e.g. retried attempts excluded)
        if archive.size > last[0]:
            self.add_bytes(owner, archive.size - last[0])
        return archive

    def fetch(self, pid: str, window: Window) -> tuple[Archive, int, float]:
        """Download one window; returns the archive, its size and when the request started."""
        sent = time.time()
        registry = self.registry_for(pid, window)
        start = _dt.datetime.fromtimestamp(window.start, _dt.UTC)
        end = None if window.end is None else _dt.datetime.fromtimestamp(window.end, _dt.UTC)
        self.emit(
            "request",
            pid,
            f"{start:%Y-%m-%d %H:00} .. {'now' if end is None else format(end, '%Y-%m-%d %H:59')}",
        )
        archive = self._get([pid], start, end, registry, owner=pid)
        return archive, archive.size, sent

    def prepare(
        self, pid: str, info: _ParticipantInfo
    ) -> list[tuple[int, int | None]] | ParticipantSummary:
        """Local checks and what besides recent days needs fetching (or a skip summary)."""
        damaged = self._check_local(pid)
        if info.total_bytes == 0 and not damaged and self.manifest.count(pid) == 0:
            self.emit("participant", pid, "no data on the server")
            return ParticipantSummary(pid, skipped="no data on the server")
        return damaged + self._hash_ranges(pid) + self._changed_days(pid, info)

    def recheck_start(
        self, pid: str, info: _ParticipantInfo, extra: list[tuple[int, int | None]]
    ) -> int | None:
        """Where the participant's re-check begins, when that is all it needs (else ``None``).

        Such participants share requests (:meth:`recheck_together`): a completed earlier sync,
        no lost, changed or hash-flagged files, no explicit time range.
        """
        if extra or self.start is not None or self.end is not None or self.recheck_days is None:
            return None
        if self.manifest.synced_through(pid, self.stream_names) is None:
            return None
        ranges = self._ranges(pid, info, [])
        if len(ranges) != 1 or ranges[0][1] is not None:
            return None
        return ranges[0][0]

    def sync_participant(
        self,
        pid: str,
        info: _ParticipantInfo,
        extra: list[tuple[int, int | None]] | None = None,
    ) -> ParticipantSummary:
        counts = SaveCounts()
        requests = 0
        received_bytes = 0
        failures: list[SyncFailure] = []
        if extra is None:
            prepared = self.prepare(pid, info)
            if isinstance(prepared, ParticipantSummary):
                return prepared
            extra = prepared
        ranges = self._ranges(pid, info, extra)
        # At least ~4 windows for a participant's expected bytes, so downloading the next
        # window overlaps saving this one; never more than request_bytes per request.
        expected = sum(info.daily.values()) * self.ratio if info.daily else None
        budget = self.request_bytes
        if expected is not None:
            budget = int(min(budget, max(MIN_REQUEST_BYTES, expected / 4)))
        planner = WindowPlanner(
            ranges,
            daily_bytes=info.daily or None,
            budget=budget,
            now=time.time(),
            ratio=self.ratio,
            stats_through=info.stats_through,
        )

        def counter(p: str) -> SaveCounts:
            if p != pid:  # members of another participant were already refused
                return SaveCounts()
            return counts

        def on_file(p: str, _path: str) -> None:
            self.add_file(p)
            self.emit("file", p, _path)

        gap = False
        with cf.ThreadPoolExecutor(1, thread_name_prefix=f"mano-fetch-{pid}") as pool:
            window = self._bounded(pid, planner, planner.next())
            fut = pool.submit(self.fetch, pid, window) if window else None
            while fut is not None and window is not None:
                try:
                    archive, size, started = fut.result()
                except _Stopped:
                    break
                except Exception as exc:
                    if _is_fatal(exc):
                        raise
                    failures.append(SyncFailure(pid, None, f"download failed: {exc}"))
                    logger.warning("participant %s: %s", pid, exc)
                    break
                requests += 1
                received_bytes += size
                planner.feedback(window, size, len(archive))
                self.ratio = planner.ratio
                nxt = (
                    self._bounded(pid, planner, planner.next()) if not self.stop.is_set() else None
                )
                fut = pool.submit(self.fetch, pid, nxt) if nxt is not None else None
                with archive, self.save_slot() as save_ctx:
                    stray = save_archive(
                        save_ctx,
                        archive,
                        participants=[pid],
                        streams=self.streams,
                        counts=counter,
                        on_file=on_file,
                        should_stop=self.stop.is_set,
                    )
                self.stray.extend(stray)
                if self.stop.is_set():
                    break
                through = window.stop if window.stop is not None else floor_hour(started)
                # "complete from the first data up to here" only holds when no start was given
                # and every file so far was written
                gap = gap or counts.write_errors > 0
                self.manifest.update_participant(
                    pid,
                    synced_through=None if gap or self.start is not None else through,
                    streams=self.stream_names,
                )
                window = nxt
            if fut is not None:
                fut.cancel()
        return self._finish(pid, info, counts, failures, requests, received_bytes)

    def _finish(
        self,
        pid: str,
        info: _ParticipantInfo,
        counts: SaveCounts,
        failures: list[SyncFailure],
        requests: int,
        received_bytes: int,
    ) -> ParticipantSummary:
        """Record how the participant's sync ended and summarise it."""
        failures = failures + counts.failed
        if (counts.new or counts.updated) and not self.stop.is_set():
            self._mark_verified(pid, {folder_of(p) for p in counts.paths})
        finished = not self.stop.is_set() and not any(f.name is None for f in failures)
        self.manifest.update_participant(pid, success=finished and not failures)
        if finished and not failures and info.daily:
            self.manifest.set_daily_bytes(pid, info.daily)
        total_rows = self.manifest.count(pid, self.streams)
        unchanged = max(0, total_rows - counts.new - counts.updated)
        with self._lock:
            self.done += 1
        self.emit("participant", pid)
        return ParticipantSummary(
            participant=pid,
            new=counts.new,
            updated=counts.updated,
            unchanged=unchanged,
            failed=tuple(failures),
            bytes_downloaded=received_bytes,
            files_downloaded=counts.received,
            requests=requests,
        )

    # re-checks shared by several participants ----------------------------------------------

    def recheck_batches(self, starts: dict[str, int]) -> list[list[str]]:
        """Group participants that only need a re-check into shared requests.

        Sorted by where their re-check starts; a batch starts at its first member's start and
        sends every member's files from there, so it closes before its registry would exceed
        ``MAX_REGISTRY`` entries or it would hold ``MAX_BATCH`` participants. Alone, a
        participant keeps its own request.
        """
        batches: list[list[str]] = []
        batch: list[str] = []
        size = 0
        for pid in sorted(starts, key=lambda p: (starts[p], p)):
            n = self.manifest.count_from(pid, starts[batch[0]] if batch else starts[pid])
            if batch and (size + n > MAX_REGISTRY or len(batch) >= MAX_BATCH):
                batches.append(batch)
                batch, size = [], 0
                n = self.manifest.count_from(pid, starts[pid])
            batch.append(pid)
            size += n
        if batch:
            batches.append(batch)
        return batches

    def shared_registry(self, pids: list[str], start: int) -> dict[str, str]:
        """The registry of a shared re-check: every participant's files from ``start`` on."""
        window = Window(start, None)
        registry: dict[str, str] = {}
        for pid in pids:
            registry.update(self.registry_for(pid, window))
        if len(registry) > 1:
            registry.pop(SENTINEL_KEY, None)
        return registry

    def recheck_together(
        self,
        pids: list[str],
        start: int,
        infos: Mapping[str, _ParticipantInfo],
        registry: dict[str, str],
    ) -> list[ParticipantSummary]:
        """One request re-checking several participants from ``start`` to now, sending
        ``registry`` (:meth:`shared_registry`).

        Raises:
            Exception: When the request fails (nothing was recorded; sync them one by one).
        """
        begin = _dt.datetime.fromtimestamp(start, _dt.UTC)
        for pid in pids:
            self.emit("request", pid, f"{begin:%Y-%m-%d %H:00} .. now (with {len(pids) - 1} more)")
        sent = time.time()
        archive = self._get(pids, begin, None, registry, owner=None)
        counts = {pid: SaveCounts() for pid in pids}
        received = dict.fromkeys(pids, 0)
        for member in archive:
            who = member.name.split("/", 1)[0]
            if who in received:
                received[who] += member.size

        def on_file(p: str, _path: str) -> None:
            self.add_file(p)
            self.emit("file", p, _path)

        with archive, self.save_slot() as save_ctx:
            stray = save_archive(
                save_ctx,
                archive,
                participants=pids,
                streams=self.streams,
                counts=lambda p: counts.get(p) or SaveCounts(),
                on_file=on_file,
                should_stop=self.stop.is_set,
            )
        self.stray.extend(stray)
        # the zip's own bytes (headers, registry) are shared evenly, so totals add up to what
        # came over the wire; the request is counted once, for the first participant
        overhead = max(0, archive.size - sum(received.values()))
        share, rest = divmod(overhead, len(pids))
        summaries = []
        for i, pid in enumerate(pids):
            if not self.stop.is_set() and counts[pid].write_errors == 0:
                self.manifest.update_participant(
                    pid, synced_through=floor_hour(sent), streams=self.stream_names
                )
            got = received[pid] + share + (rest if i == 0 else 0)
            summaries.append(self._finish(pid, infos[pid], counts[pid], [], int(i == 0), got))
        return summaries


def _sync_all(
    run: _Run, pool: cf.ThreadPoolExecutor, pids: list[str], infos: dict[str, _ParticipantInfo]
) -> tuple[list[ParticipantSummary], list[BaseException]]:
    """Sync every participant on ``pool``; returns their summaries and run-stopping errors.

    First every participant's local files are checked and its extra work found. Those that
    only need their recent days re-checked share requests (a few instead of one each: on a
    nightly run of a big study most participants are like that); a shared request that
    fails hands its participants to their own syncs.
    """
    results: list[ParticipantSummary] = []
    errors: list[BaseException] = []
    pending: dict[cf.Future[Any], tuple[str, list[str]]] = {}

    def failed(pid: str, exc: BaseException) -> None:
        if _is_fatal(exc) or not isinstance(exc, Exception):
            run.stop.set()
            errors.append(exc)
        else:
            logger.exception("participant %s failed", pid, exc_info=exc)
            results.append(
                ParticipantSummary(pid, failed=(SyncFailure(pid, None, f"sync failed: {exc}"),))
            )

    def drain() -> Iterator[tuple[cf.Future[Any], str, list[str]]]:
        while pending:
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                kind, who = pending.pop(fut)
                yield fut, kind, who

    extras: dict[str, list[tuple[int, int | None]]] = {}
    try:
        for p in pids:
            pending[pool.submit(run.prepare, p, infos[p])] = ("prepare", [p])
        for fut, _kind, (pid,) in drain():
            try:
                prepared = fut.result()
            except Exception as exc:
                failed(pid, exc)
                continue
            if isinstance(prepared, ParticipantSummary):
                results.append(prepared)
            else:
                extras[pid] = prepared
        if errors:
            return results, errors
        starts = {}
        for p in pids:
            if p in extras:
                begin = run.recheck_start(p, infos[p], extras[p])
                if begin is not None:
                    starts[p] = begin
        shared = [b for b in run.recheck_batches(starts) if len(b) > 1]
        batched = {p for b in shared for p in b}
        alone = [p for p in pids if p in extras and p not in batched]
        for batch in shared:
            # registries are read here, one after another: in the pool's threads the reads
            # only queue for the manifest and the GIL (~4x the wall time on 2 cores)
            start = starts[batch[0]]
            registry = run.shared_registry(batch, start)
            fut = pool.submit(run.recheck_together, batch, start, infos, registry)
            pending[fut] = ("batch", batch)
        for p in alone:
            pending[pool.submit(run.sync_participant, p, infos[p], extras[p])] = ("one", [p])
        for fut, kind, who in drain():
            try:
                outcome = fut.result()
            except Exception as exc:
                if kind == "batch" and not _is_fatal(exc) and not run.stop.is_set():
                    logger.info("a shared re-check failed (%s); syncing %s one by one", exc, who)
                    for p in who:
                        pending[pool.submit(run.sync_participant, p, infos[p], extras[p])] = (
                            "one",
                            [p],
                        )
                    continue
                if kind == "batch" and isinstance(exc, _Stopped):
                    for p in who:
                        results.append(
                            ParticipantSummary(p, failed=(SyncFailure(p, None, str(exc)),))
                        )
                    continue
                failed(who[0], exc)
                continue
            if kind == "batch":
                results.extend(outcome)
            else:
                results.append(outcome)
    except BaseException:
        run.stop.set()
        for f in pending:
            f.cancel()
        raise
    return results, errors


def _normalise_hash(value: object) -> str | None:
    """Accept base64 or hex SHA-1 values (docs/beiwe-server.md#file-hashes); ``None`` for anything else."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 40 and all(c in "0123456789abcdefABCDEF" for c in value):
        import base64

        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    return value.strip()


def _study_statistics(
    client: BeiweClient,
    study_id: str,
    pids: list[str],
    streams: tuple[str, ...] | None,
    *,
    all_participants: bool = False,
) -> dict[str, _ParticipantInfo]:
    """Per participant: bytes per day (summary statistics) and in total.

    Data quantities are the sums of the same daily rows (docs/beiwe-server.md#data-quantities), so they are asked for
    only when summary statistics fail or are empty. All-zero numbers usually mean the server
    never computed statistics, so then nobody is skipped and windows adapt instead.
    """
    infos = {p: _ParticipantInfo() for p in pids}
    wanted = set(streams or ALL_STREAMS)
    fields = ["date", "participant_id", *(f"beiwe_{s}_bytes" for s in ALL_STREAMS)]
    any_data = False
    try:
        rows = client.summary_statistics(
            study_id, participant_ids=None if all_participants else pids, fields=fields
        )
        for row in rows:
            who = row.get("participant_id")
            day = row.get("date")
            if not isinstance(who, str) or who not in infos or not isinstance(day, str):
                continue
            total = 0
            for k, v in row.items():
                if (
                    k.startswith("beiwe_")
                    and k.endswith("_bytes")
                    and isinstance(v, int)
                    and k[len("beiwe_") : -len("_bytes")] in wanted
                ):
                    total += v
            d = _dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=_dt.UTC)
            infos[who].daily[int(d.timestamp())] = total
            any_data = any_data or total > 0
    except Exception as exc:
        logger.info("summary statistics unavailable (%s); trying data quantities", exc)
    if any_data:
        for info in infos.values():
            info.total_bytes = sum(info.daily.values())
    else:
        for info in infos.values():
            info.daily.clear()
        try:
            quantities = client.data_quantities(study_id)
        except Exception as exc:
            logger.info("data quantities unavailable (%s); planning adaptively", exc)
            quantities = {}
        for pid, per_stream in quantities.items():
            if pid in infos:
                total = sum(
                    int(v) for k, v in per_stream.items() if str(k).removesuffix("_bytes") in wanted
                )
                infos[pid].total_bytes = total
                any_data = any_data or total > 0
        if not any_data:
            for info in infos.values():
                info.total_bytes = None
    through = max((d for info in infos.values() for d in info.daily), default=None)
    for info in infos.values():
        info.stats_through = through
    _confirm_empty(client, study_id, infos)
    return infos


def _confirm_empty(client: BeiweClient, study_id: str, infos: dict[str, _ParticipantInfo]) -> None:
    """Only skip a zero-byte participant when the server also never received an upload.

    Statistics are computed periodically, so a participant who enrolled today has data but no
    bytes yet. The participant table's "Last Upload" tells them apart (one request).
    """
    empty = [p for p, info in infos.items() if info.total_bytes == 0]
    if not empty:
        return
    try:
        records = client.participant_table_records(study_id)
        uploads = {str(r.get("Patient ID")): r.get("Last Upload") for r in records}
    except Exception as exc:
        logger.info("participant table unavailable (%s); not skipping anyone", exc)
        uploads = {}
    for pid in empty:
        if pid not in uploads or uploads[pid]:
            infos[pid].total_bytes = None  # unknown: sync them (registry keeps it cheap)


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
    recheck_days: float | None = DEFAULT_RECHECK_DAYS,
    request_bytes: int = DEFAULT_REQUEST_BYTES,
    use_file_hashes: bool = True,
    verify_files: bool = False,
    client: BeiweClient | None = None,
) -> SyncSummary:
    """Bring ``output_folder`` up to date with the server for all or chosen participants.

    The first run fetches everything from each participant's first data; later runs fetch only
    what is new or changed: the last ``recheck_days`` of each participant's data are
    re-checked with a registry of content hashes (the server skips what is unchanged), and
    missing or altered local files are fetched again. Files recorded in the manifest are
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
        recheck_days: Days before each participant's last data to re-check for late uploads;
            ``None`` re-checks everything (by hash, still transferring only changes).
        request_bytes: Target archive size per request.
        use_file_hashes: Ask get-participant-file-hashes for changed files (ignored when the
            server fails it, as current servers do).
        verify_files: Stat every recorded file, also in unchanged folders (finds files edited
            in place to another size; ``mano verify`` compares content hashes).
        client: An open ``mano_api.BeiweClient`` to reuse.

    Returns:
        New, updated, unchanged and failed files, bytes and per-participant details.

    Raises:
        SyncLocked: Another run holds ``<out>/.mano-sync.lock``.
        PassphraseRequired: ``lock`` without ``passphrase``.
        ManifestError: The folder belongs to another study or its manifest is unusable.
        mano_api.ManoAPIError: Credentials, study or server problems that stop the whole run.
    """
    t0 = time.monotonic()
    out = Path(output_folder)
    streams = _streams_arg(data_streams)
    start_dt = _to_utc(start, what="start")
    end_dt = _to_utc(end, what="end")
    lock_streams, key = _derive_lock_key(lock, passphrase)
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    workers = max(1, int(workers))
    out.mkdir(parents=True, exist_ok=True)
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
        c, owned = _open_client(credentials, client)
        if not _STUDY_ID_RE.match(study_id):
            # a name or id prefix: storage paths and the manifest need the real id
            study_id = c.resolve_study(study_id).id
        with (
            FolderLock(out) as folder_lock,
            Manifest(out, study_id=study_id) as manifest,
            contextlib.ExitStack() as stack,  # closed first: the write pool before the manifest
        ):
            if participants is None:
                pids = sorted(c.participant_ids(study_id))
            elif isinstance(participants, str):
                pids = [participants]
            else:
                pids = list(dict.fromkeys(participants))
            # Only a run that did not finish (killed) can leave temp files in the tree.
            interrupted = manifest.get_meta("run_state") != "finished"
            _clean_temp_files(out, pids, deep=interrupted)
            manifest.set_meta("run_state", "running")
            if needs_adoption(out, manifest):
                adopt_tree(out, manifest, study_id=study_id, passphrase=passphrase)
            infos = _study_statistics(
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
            expected = [run.expected_stat_bytes_of(p, infos[p]) for p in pids]
            known = [e for e in expected if e is not None]
            run.expected_stat_bytes = sum(known) if known and len(known) == len(pids) else None
            run.emit("plan", None, f"{len(pids)} participants")
            with cf.ThreadPoolExecutor(workers, thread_name_prefix="mano-sync") as pool:
                results, errors = _sync_all(run, pool, pids, infos)
            if errors:
                raise errors[0]
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
