"""Stage 1, plan: what to ask the server for, and the registry each request carries.

Per participant (:class:`Asker`):

* the hour ranges to fetch: from the first data on a first run (or with ``recheck_days=None``),
  else from ``recheck_days`` before the last data, plus lost local files, days whose server
  statistics changed and hours the file-hash list flags (when that endpoint works);
* the registry of a request: what we hold in its window, keyed so the server skips what is
  unchanged (chunked files: hash-compared; unchunked files: skipped by their exact storage
  path with a non-empty value);
* which participants share requests (re-checks, the unchunked sweep), bounded by
  :data:`~mano_sync._policy.MAX_REGISTRY` entries and :data:`~mano_sync._policy.MAX_BATCH`
  participants.

The windows themselves are sized by :class:`mano_sync._plan.WindowPlanner`.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mano_sync import _policy
from mano_sync._manifest import Manifest
from mano_sync._names import (
    ALL_STREAMS,
    CHUNKED_PREFIX,
    UNCHUNKED_STREAMS,
    parse_member,
    registry_key_to_send,
    storage_key_from_member,
)
from mano_sync._plan import DAY, EARLIEST, HOUR, Window, WindowPlanner, floor_hour
from mano_sync._policy import SENTINEL_KEY, SENTINEL_VALUE
from mano_sync._statistics import ParticipantInfo

if TYPE_CHECKING:
    from mano_api import BeiweClient

logger = logging.getLogger(__name__)

__all__ = ["Asker", "Sweep"]

Ranges = list[tuple[int, int | None]]


@dataclass(frozen=True, slots=True)
class Sweep:
    """One request of the unchunked sweep (:meth:`Asker.sweeps`).

    Attributes:
        pids: Participants asked for.
        start: First hour (``None``: from the beginning).
        end: Last hour, inclusive (``None``: up to now).
        streams: The unchunked streams asked for.
        registry: Every unchunked file held in that range, keyed by exact storage path.
    """

    pids: list[str]
    start: int | None
    end: int | None
    streams: tuple[str, ...]
    registry: dict[str, str]


def _normalise_hash(value: object) -> str | None:
    """Accept base64 or hex SHA-1 values (docs/beiwe-server.md#file-hashes); ``None`` for anything else."""
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 40 and all(c in "0123456789abcdefABCDEF" for c in value):
        import base64

        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    return value.strip()


class Asker:
    """Decides the requests of one run (see the module docstring).

    Args:
        client: For the file-hash list.
        study_id: The study (storage paths hold it).
        manifest: What the tree holds.
        streams: Streams of this run (``None``: all).
        start: The user's start (``None``: from the first data).
        end: The user's end (``None``: up to now).
        recheck_days: Days re-checked before each participant's last data (``None``: all).
        use_file_hashes: Whether get-participant-file-hashes may be called this run.
    """

    def __init__(
        self,
        client: BeiweClient,
        study_id: str,
        manifest: Manifest,
        *,
        streams: tuple[str, ...] | None,
        start: _dt.datetime | None,
        end: _dt.datetime | None,
        recheck_days: float | None,
        use_file_hashes: bool,
    ) -> None:
        self.client = client
        self.study_id = study_id
        self.manifest = manifest
        self.streams = streams
        self.stream_names: tuple[str, ...] = streams or ALL_STREAMS
        self.start = start
        self.end = end
        self.recheck_days = recheck_days
        self.use_file_hashes = use_file_hashes
        # get-participant-file-hashes: None = not tried this run, True = works, False = failed
        self._hashes_state: bool | None = None
        self._hashes_lock = threading.Lock()
        base = getattr(client, "base_url", "") or ""
        self._hashes_key = f"file_hashes_failed:{base}"

    def hash_ranges(self, pid: str) -> list[tuple[int, int | None]]:
        """Hours the server's file-hash list says changed (when that endpoint works).

        The deployed server answers 500 whenever a participant has data. After a failure the
        manifest remembers it for this server and the endpoint is not called again for
        ``FILE_HASHES_RETRY_SECONDS`` (a week); within a run the first call is made alone, so
        at most one call fails per run.
        """
        with self._hashes_lock:
            if not self._hashes_usable():
                return []
            if self._hashes_state is None:  # the first call of the run: the others wait
                hashes = self._file_hashes(pid)
                self._hashes_state = hashes is not None
                if hashes is None:
                    return []
                return self._hash_list_ranges(pid, hashes)
        hashes = self._file_hashes(pid)
        if hashes is None:
            with self._hashes_lock:
                self._hashes_state = False
            return []
        return self._hash_list_ranges(pid, hashes)

    def _hashes_usable(self) -> bool:
        if not self.use_file_hashes or self._hashes_state is False:
            return False
        if self._hashes_state is None:
            failed = self.manifest.get_meta(self._hashes_key)
            if failed is not None:
                try:
                    when = _dt.datetime.fromisoformat(failed).timestamp()
                except ValueError:
                    when = 0.0
                if time.time() - when < _policy.FILE_HASHES_RETRY_SECONDS:
                    self._hashes_state = False
                    return False
        return True

    def _file_hashes(self, pid: str) -> dict[str, str] | None:
        try:
            hashes = self.client.file_hashes(pid)
        except Exception as exc:  # optional endpoint: ignore any failure
            logger.debug("file hashes unavailable for %s: %s", pid, exc)
            hashes = None
        if hashes is None:
            logger.info(
                "get-participant-file-hashes fails on this server; not asking it again for %d days",
                _policy.FILE_HASHES_RETRY_SECONDS // 86400,
            )
            self.manifest.set_meta(
                self._hashes_key, _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
            )
        return hashes

    def _hash_list_ranges(self, pid: str, hashes: dict[str, str]) -> list[tuple[int, int | None]]:
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

    def changed_days(self, pid: str, info: ParticipantInfo) -> list[tuple[int, int | None]]:
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

    def expected_stat_bytes_of(self, pid: str, info: ParticipantInfo) -> int | None:
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

    def ranges(
        self, pid: str, info: ParticipantInfo, extra: list[tuple[int, int | None]]
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

    def bounded(self, pid: str, planner: WindowPlanner, window: Window | None) -> Window | None:
        """Shorten a window whose registry would exceed ``_policy.MAX_REGISTRY`` entries.

        Big registries are slow for the server (silent before the first byte) and proxies
        refuse big bodies (nginx's default 1 MiB -> 413).
        """
        if window is None:
            return None
        nth = self.manifest.nth_time_bin(pid, window.start, _policy.MAX_REGISTRY)
        if nth is None or (window.stop is not None and nth >= window.stop):
            return window
        cut = floor_hour(nth) - HOUR
        if cut < window.start:
            return window  # one hour holds that many files: send it whole
        return planner.shorten(window, cut)

    def registry_for(
        self, pid: str, window: Window, streams: tuple[str, ...] | None = None
    ) -> dict[str, str]:
        """What we hold in a window, as the registry the server compares.

        Chunked files go under their storage path without ``CHUNKED_DATA/`` with their SHA-1,
        so the server compares content; unchunked files (they never change) under their exact
        storage path with a non-empty value, which the server skips by presence. ``streams``
        narrows the run's streams.
        """
        stop = window.stop
        end = None if stop is None else stop - 1
        wanted = self.streams if streams is None else streams
        # the usual file (storage path and hash known) is keyed and valued in SQL
        registry = dict(self.manifest.registry_pairs(pid, window.start, end, wanted))
        rows = self.manifest.registry_rows(pid, window.start, end, wanted)
        for path, stream, key, sha1, md5, zip_name in rows:
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

    # the unchunked sweep ------------------------------------------------------------------

    def sweep_streams(self) -> tuple[str, ...]:
        """The unchunked streams of this run (the sweep asks for these)."""
        return tuple(s for s in self.stream_names if s in UNCHUNKED_STREAMS)

    def sweeps(self, pids: Iterable[str]) -> list[Sweep]:
        """Requests that bring every unchunked file of ``pids`` not held yet, at any age.

        Survey answers and audio are stored with the phone's creation time as time bin and
        counted by no server statistic, so a late one can land in any old hour, also before
        the first day the statistics know. One request over all time (or the user's range)
        per batch of participants finds them all: its registry names every unchunked file
        held, by exact storage path, and the server sends only the others. A batch holds at
        most ``MAX_BATCH`` participants and ``MAX_REGISTRY`` registry entries; a participant
        holding more is split into consecutive time ranges.
        """
        streams = self.sweep_streams()
        if not streams:
            return []
        lo = floor_hour(self.start.timestamp()) if self.start else None
        hi = floor_hour(self.end.timestamp()) if self.end else None
        limit = max(1, _policy.MAX_REGISTRY)
        whole: list[tuple[str, int]] = []
        out: list[Sweep] = []
        for pid in sorted(pids):
            bins = self.manifest.time_bins(pid, streams, lo, None if hi is None else hi + HOUR - 1)
            if len(bins) <= limit:
                whole.append((pid, len(bins)))
                continue
            begin, i = lo, 0
            while len(bins) - i > limit:
                end = floor_hour(bins[i + limit - 1]) - HOUR
                if end < floor_hour(bins[i]):
                    end = floor_hour(bins[i + limit - 1])  # one hour holds that many: whole
                j = bisect.bisect_right(bins, end + HOUR - 1)
                out.append(self._sweep([pid], begin, end, streams))
                begin, i = end + HOUR, j
            out.append(self._sweep([pid], begin, hi, streams))
        batch: list[str] = []
        size = 0
        for pid, n in whole:
            if batch and (size + n > limit or len(batch) >= _policy.MAX_BATCH):
                out.append(self._sweep(batch, lo, hi, streams))
                batch, size = [], 0
            batch.append(pid)
            size += n
        if batch:
            out.append(self._sweep(batch, lo, hi, streams))
        return out

    def _sweep(
        self, pids: list[str], start: int | None, end: int | None, streams: tuple[str, ...]
    ) -> Sweep:
        window = Window(EARLIEST if start is None else start, end)
        registry: dict[str, str] = {}
        for pid in pids:
            registry.update(self.registry_for(pid, window, streams))
        if len(registry) > 1:
            registry.pop(SENTINEL_KEY, None)
        return Sweep(pids, start, end, streams, registry)

    def recheck_start(
        self, pid: str, info: ParticipantInfo, extra: list[tuple[int, int | None]]
    ) -> int | None:
        """Where the participant's re-check begins, when that is all it needs (else ``None``).

        Such participants share requests (:meth:`recheck_together`): a completed earlier sync,
        no lost, changed or hash-flagged files, no explicit time range.
        """
        if extra or self.start is not None or self.end is not None or self.recheck_days is None:
            return None
        if self.manifest.synced_through(pid, self.stream_names) is None:
            return None
        ranges = self.ranges(pid, info, [])
        if len(ranges) != 1 or ranges[0][1] is not None:
            return None
        return ranges[0][0]

    def recheck_batches(self, starts: dict[str, int]) -> list[list[str]]:
        """Group participants that only need a re-check into shared requests.

        Sorted by where their re-check starts; a batch starts at its first member's start and
        sends every member's files from there, so it closes before its registry would exceed
        ``_policy.MAX_REGISTRY`` entries or it would hold ``_policy.MAX_BATCH`` participants. Alone, a
        participant keeps its own request.
        """
        batches: list[list[str]] = []
        batch: list[str] = []
        size = 0
        for pid in sorted(starts, key=lambda p: (starts[p], p)):
            n = self.manifest.count_from(pid, starts[batch[0]] if batch else starts[pid])
            if batch and (size + n > _policy.MAX_REGISTRY or len(batch) >= _policy.MAX_BATCH):
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
