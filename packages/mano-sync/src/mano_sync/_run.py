"""One sync run: the stages wired together, participants in parallel, progress.

For each participant: :class:`~mano_sync._record.LocalTree` checks what the tree still holds,
:class:`~mano_sync._ask.Asker` decides the hour ranges and registries (stage 1, plan),
:class:`~mano_sync._fetch.Fetcher` downloads one window while the previous one is saved
(stage 2), :func:`~mano_sync._save.save_archive` writes and verifies the files (stage 3) and
the manifest records how far the participant is complete (stage 4). Participants that only need
a re-check share requests.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import datetime as _dt
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mano_sync import _policy
from mano_sync._ask import Asker, Sweep
from mano_sync._fetch import Fetcher, Stopped, is_fatal
from mano_sync._lock import FolderLock
from mano_sync._manifest import Manifest, folder_of
from mano_sync._names import ALL_STREAMS
from mano_sync._plan import Window, WindowPlanner, floor_hour
from mano_sync._record import LocalTree
from mano_sync._save import SaveContext, SaveCounts, save_archive
from mano_sync._statistics import ParticipantInfo
from mano_sync._types import ParticipantSummary, SyncFailure, SyncProgress

if TYPE_CHECKING:
    from mano_api import Archive, BeiweClient

logger = logging.getLogger(__name__)

__all__ = ["ProgressCallback", "sync_all"]

ProgressCallback = Callable[[SyncProgress], None]


class _Run:
    """State shared by the workers of one sync run: the stages' objects, progress, save slots."""

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
        self.study_id = study_id
        self.out = out
        self.manifest = manifest
        self.streams = streams
        self.stream_names: tuple[str, ...] = streams or ALL_STREAMS
        self.start = start
        self.end = end
        self.request_bytes = request_bytes
        self.progress_cb = progress
        self.stop = threading.Event()
        self.local = LocalTree(
            out, manifest, folder_lock, streams=streams, verify_files=verify_files
        )
        self.ask = Asker(
            client,
            study_id,
            manifest,
            streams=streams,
            start=start,
            end=end,
            recheck_days=recheck_days,
            use_file_hashes=use_file_hashes,
        )
        self.fetcher = Fetcher(
            client,
            study_id,
            streams=streams,
            version=version,
            tmp_dir=out,
            stop=self.stop,
            on_bytes=self._on_bytes,
        )
        self.t0 = time.monotonic()
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

    @property
    def version(self) -> int:
        """The get-data version in use (2, or 1 after a fallback)."""
        return self.fetcher.version

    def _on_bytes(self, owner: str | None, n: int) -> None:
        self.add_bytes(owner, n)
        self.emit("bytes", owner)

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

    def fetch(self, pid: str, window: Window) -> tuple[Archive, int, float]:
        """Download one window; returns the archive, its size and when the request started."""
        sent = time.time()
        registry = self.ask.registry_for(pid, window)
        start = _dt.datetime.fromtimestamp(window.start, _dt.UTC)
        end = None if window.end is None else _dt.datetime.fromtimestamp(window.end, _dt.UTC)
        self.emit(
            "request",
            pid,
            f"{start:%Y-%m-%d %H:00} .. {'now' if end is None else format(end, '%Y-%m-%d %H:59')}",
        )
        archive = self.fetcher.get([pid], start, end, registry, owner=pid)
        return archive, archive.size, sent

    def prepare(
        self, pid: str, info: ParticipantInfo
    ) -> list[tuple[int, int | None]] | ParticipantSummary:
        """Local checks and what besides recent days needs fetching (or a skip summary)."""
        damaged = self.local.check_local(pid)
        if info.total_bytes == 0 and not damaged and self.manifest.count(pid) == 0:
            self.emit("participant", pid, "no data on the server")
            return ParticipantSummary(pid, skipped="no data on the server")
        return damaged + self.ask.hash_ranges(pid) + self.ask.changed_days(pid, info)

    def sync_participant(
        self,
        pid: str,
        info: ParticipantInfo,
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
        ranges = self.ask.ranges(pid, info, extra)
        # At least ~4 windows for a participant's expected bytes, so downloading the next
        # window overlaps saving this one; never more than request_bytes per request.
        expected = sum(info.daily.values()) * self.ratio if info.daily else None
        budget = self.request_bytes
        if expected is not None:
            budget = int(min(budget, max(_policy.MIN_REQUEST_BYTES, expected / 4)))
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
            window = self.ask.bounded(pid, planner, planner.next())
            fut = pool.submit(self.fetch, pid, window) if window else None
            while fut is not None and window is not None:
                try:
                    archive, size, started = fut.result()
                except Stopped:
                    break
                except Exception as exc:
                    if is_fatal(exc):
                        raise
                    failures.append(SyncFailure(pid, None, f"download failed: {exc}"))
                    logger.warning("participant %s: %s", pid, exc)
                    break
                requests += 1
                received_bytes += size
                planner.feedback(window, size, len(archive))
                self.ratio = planner.ratio
                nxt = (
                    self.ask.bounded(pid, planner, planner.next())
                    if not self.stop.is_set()
                    else None
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
        info: ParticipantInfo,
        counts: SaveCounts,
        failures: list[SyncFailure],
        requests: int,
        received_bytes: int,
    ) -> ParticipantSummary:
        """Record how the participant's sync ended and summarise it."""
        failures = failures + counts.failed
        if (counts.new or counts.updated) and not self.stop.is_set():
            self.local.mark_verified(pid, {folder_of(p) for p in counts.paths})
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

    def recheck_together(
        self,
        pids: list[str],
        start: int,
        infos: Mapping[str, ParticipantInfo],
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
        archive = self.fetcher.get(pids, begin, None, registry, owner=None)
        counts, received = self._save_shared(archive, pids, self.streams)
        summaries = []
        for i, pid in enumerate(pids):
            if not self.stop.is_set() and counts[pid].write_errors == 0:
                self.manifest.update_participant(
                    pid, synced_through=floor_hour(sent), streams=self.stream_names
                )
            summaries.append(
                self._finish(pid, infos[pid], counts[pid], [], int(i == 0), received[pid])
            )
        return summaries

    def _save_shared(
        self, archive: Archive, pids: Sequence[str], streams: Sequence[str] | None
    ) -> tuple[dict[str, SaveCounts], dict[str, int]]:
        """Save an archive that several participants share; per participant its counts and
        the bytes it received. The zip's own bytes (headers, registry) are shared evenly, so
        totals add up to what came over the wire (the remainder goes to the first)."""
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
                participants=list(pids),
                streams=streams,
                counts=lambda p: counts.get(p) or SaveCounts(),
                on_file=on_file,
                should_stop=self.stop.is_set,
            )
        self.stray.extend(stray)
        overhead = max(0, archive.size - sum(received.values()))
        share, rest = divmod(overhead, len(pids))
        for i, pid in enumerate(pids):
            received[pid] += share + (rest if i == 0 else 0)
        return counts, received

    # the unchunked sweep ------------------------------------------------------------------

    def sweep(self, sweep: Sweep) -> dict[str, ParticipantSummary]:
        """One request of the unchunked sweep; per participant what it brought.

        Raises:
            Exception: When the request fails (nothing was recorded).
        """
        start = None if sweep.start is None else _dt.datetime.fromtimestamp(sweep.start, _dt.UTC)
        end = None if sweep.end is None else _dt.datetime.fromtimestamp(sweep.end, _dt.UTC)
        for pid in sweep.pids:
            self.emit("request", pid, f"{', '.join(sweep.streams)}: files not held, any time")
        archive = self.fetcher.get(
            sweep.pids, start, end, sweep.registry, owner=None, streams=sweep.streams
        )
        counts, received = self._save_shared(archive, sweep.pids, sweep.streams)
        out: dict[str, ParticipantSummary] = {}
        for i, pid in enumerate(sweep.pids):
            c = counts[pid]
            if (c.new or c.updated) and not self.stop.is_set():
                self.local.mark_verified(pid, {folder_of(p) for p in c.paths})
            if c.failed:
                self.manifest.update_participant(pid, success=False)
            out[pid] = ParticipantSummary(
                participant=pid,
                new=c.new,
                updated=c.updated,
                failed=tuple(c.failed),
                bytes_downloaded=received[pid],
                files_downloaded=c.received,
                requests=int(i == 0),
            )
        return out


def _merge(base: ParticipantSummary, more: ParticipantSummary) -> ParticipantSummary:
    """A participant's summary with what the sweep brought added."""
    return dataclasses.replace(
        base,
        new=base.new + more.new,
        updated=base.updated + more.updated,
        # files the sweep rewrote were counted unchanged before
        unchanged=max(0, base.unchanged - more.updated),
        failed=base.failed + more.failed,
        bytes_downloaded=base.bytes_downloaded + more.bytes_downloaded,
        files_downloaded=base.files_downloaded + more.files_downloaded,
        requests=base.requests + more.requests,
    )


def _sweep_all(
    run: _Run,
    pool: cf.ThreadPoolExecutor,
    pids: list[str],
    results: list[ParticipantSummary],
    errors: list[BaseException],
) -> list[ParticipantSummary]:
    """Run the unchunked sweep (:meth:`Asker.sweeps`) for ``pids`` after their windows.

    It comes last so its registries hold everything this run already saved (nothing is sent
    twice). A failed shared request is retried per participant; a participant whose sweep
    still fails gets a failure in its summary (the next run's sweep asks again).
    """
    if not pids:
        return results
    extra: dict[str, list[ParticipantSummary]] = {}
    pending: dict[cf.Future[dict[str, ParticipantSummary]], Sweep] = {}
    try:
        for sweep in run.ask.sweeps(pids):
            pending[pool.submit(run.sweep, sweep)] = sweep
        _drain_sweeps(run, pool, pending, extra, errors)
    except BaseException:
        run.stop.set()
        for fut in pending:
            fut.cancel()
        raise
    merged: list[ParticipantSummary] = []
    for summary in results:
        for part in extra.pop(summary.participant, []):
            summary = _merge(summary, part)
        merged.append(summary)
    return merged


def _drain_sweeps(
    run: _Run,
    pool: cf.ThreadPoolExecutor,
    pending: dict[cf.Future[dict[str, ParticipantSummary]], Sweep],
    extra: dict[str, list[ParticipantSummary]],
    errors: list[BaseException],
) -> None:
    """Collect the sweeps' results; a failed shared one is asked again per participant."""
    while pending:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            sweep = pending.pop(fut)
            try:
                for pid, part in fut.result().items():
                    extra.setdefault(pid, []).append(part)
            except Exception as exc:
                if is_fatal(exc):
                    run.stop.set()
                    errors.append(exc)
                    continue
                if len(sweep.pids) > 1 and not run.stop.is_set():
                    logger.info(
                        "a shared request failed (%s); asking for %s one by one", exc, sweep.pids
                    )
                    for p in sweep.pids:
                        for alone in run.ask.sweeps([p]):
                            pending[pool.submit(run.sweep, alone)] = alone
                    continue
                for p in sweep.pids:
                    run.manifest.update_participant(p, success=False)
                    reason = f"download of {', '.join(sweep.streams)} failed: {exc}"
                    failure = ParticipantSummary(p, failed=(SyncFailure(p, None, reason),))
                    extra.setdefault(p, []).append(failure)


def sync_all(
    run: _Run, pool: cf.ThreadPoolExecutor, pids: list[str], infos: dict[str, ParticipantInfo]
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
        if is_fatal(exc) or not isinstance(exc, Exception):
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
                begin = run.ask.recheck_start(p, infos[p], extras[p])
                if begin is not None:
                    starts[p] = begin
        shared = [b for b in run.ask.recheck_batches(starts) if len(b) > 1]
        batched = {p for b in shared for p in b}
        alone = [p for p in pids if p in extras and p not in batched]
        for batch in shared:
            # registries are read here, one after another: in the pool's threads the reads
            # only queue for the manifest and the GIL (~4x the wall time on 2 cores)
            start = starts[batch[0]]
            registry = run.ask.shared_registry(batch, start)
            fut = pool.submit(run.recheck_together, batch, start, infos, registry)
            pending[fut] = ("batch", batch)
        for p in alone:
            pending[pool.submit(run.sync_participant, p, infos[p], extras[p])] = ("one", [p])
        for fut, kind, who in drain():
            try:
                outcome = fut.result()
            except Exception as exc:
                if kind == "batch" and not is_fatal(exc) and not run.stop.is_set():
                    logger.info("a shared re-check failed (%s); syncing %s one by one", exc, who)
                    for p in who:
                        pending[pool.submit(run.sync_participant, p, infos[p], extras[p])] = (
                            "one",
                            [p],
                        )
                    continue
                if kind == "batch" and isinstance(exc, Stopped):
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
        if not errors and not run.stop.is_set():
            # participants whose requests failed are left to the next run
            whole = {
                r.participant
                for r in results
                if not r.skipped and not any(f.name is None for f in r.failed)
            }
            results = _sweep_all(run, pool, [p for p in pids if p in whole], results, errors)
    except BaseException:
        run.stop.set()
        for f in pending:
            f.cancel()
        raise
    return results, errors
