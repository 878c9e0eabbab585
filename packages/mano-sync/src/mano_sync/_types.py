"""Results and progress events of a sync."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = [
    "ParticipantSummary",
    "SaveResult",
    "SyncFailure",
    "SyncProgress",
    "SyncSummary",
]


@dataclass(frozen=True, slots=True)
class SyncFailure:
    """Something that could not be synced.

    Attributes:
        participant: Patient id, or ``None`` for study-wide problems.
        name: The zip member / file concerned, or ``None`` when a whole request failed.
        reason: One line saying what happened (and what to do, where there is something to do).
    """

    participant: str | None
    name: str | None
    reason: str

    def __str__(self) -> str:
        where = " ".join(x for x in (self.participant, self.name and repr(self.name)) if x)
        return f"{where}: {self.reason}" if where else self.reason


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What :func:`mano_sync.save` did with one archive.

    Attributes:
        new: Files written that were not in the tree before.
        updated: Files rewritten because their content changed.
        unchanged: Members whose content the tree already held (not rewritten).
        failed: Members refused or not written, with reasons.
        bytes_written: Bytes written to disk.
        paths: Relative paths written (``/``-separated, form suffix included).
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: tuple[SyncFailure, ...] = ()
    bytes_written: int = 0
    paths: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ParticipantSummary:
    """Outcome for one participant.

    Attributes:
        participant: Patient id.
        new: Files that were not in the tree before.
        updated: Files rewritten because the server's copy changed (or the local one was lost).
        unchanged: Files already current, not transferred.
        failed: Problems, with reasons.
        bytes_downloaded: Archive bytes received for them.
        files_downloaded: Data members received for them.
        requests: get-data requests made for them.
        skipped: Why the participant was not synced at all (e.g. no data), else ``None``.
    """

    participant: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: tuple[SyncFailure, ...] = ()
    bytes_downloaded: int = 0
    files_downloaded: int = 0
    requests: int = 0
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.failed


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """Outcome of :func:`mano_sync.sync_study` / :func:`mano_sync.backfill`.

    Attributes:
        new: Files that were not in the tree before.
        updated: Files rewritten because their content changed.
        unchanged: Files already current (not transferred).
        failed: Every problem, with reasons (refused members, failed requests, ...).
        bytes_downloaded: Archive bytes received.
        files_downloaded: Data members received (new + updated + any resent unchanged ones).
        participants: Per-participant breakdown, keyed by patient id.
        requests: get-data requests made.
        elapsed: Wall time in seconds.
        version: The get-data version used (2, or 1 after a fallback).
    """

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: tuple[SyncFailure, ...] = ()
    bytes_downloaded: int = 0
    files_downloaded: int = 0
    participants: dict[str, ParticipantSummary] = field(default_factory=dict)
    requests: int = 0
    elapsed: float = 0.0
    version: int = 2

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.failed

    @classmethod
    def combine(
        cls,
        parts: list[ParticipantSummary],
        *,
        elapsed: float,
        version: int,
        extra_failures: tuple[SyncFailure, ...] = (),
    ) -> SyncSummary:
        """Sum per-participant summaries into a run summary."""
        failed: list[SyncFailure] = list(extra_failures)
        for p in parts:
            failed.extend(p.failed)
        return cls(
            new=sum(p.new for p in parts),
            updated=sum(p.updated for p in parts),
            unchanged=sum(p.unchanged for p in parts),
            failed=tuple(failed),
            bytes_downloaded=sum(p.bytes_downloaded for p in parts),
            files_downloaded=sum(p.files_downloaded for p in parts),
            participants={p.participant: p for p in sorted(parts, key=lambda x: x.participant)},
            requests=sum(p.requests for p in parts),
            elapsed=elapsed,
            version=version,
        )

    def replace(self, **changes: object) -> SyncSummary:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """A progress event, passed to the ``progress`` callback.

    Events arrive from worker threads (one callback at a time; keep the callback quick).

    Attributes:
        event: ``"plan"`` (participants and expected bytes known), ``"request"`` (a get-data
            request starts), ``"bytes"`` (archive bytes arrived), ``"file"`` (a file was
            written or found current), ``"participant"`` (a participant finished) or
            ``"done"``.
        participant: The participant concerned, or ``None`` for run-wide events.
        files: Files handled so far in this run (written or found current).
        bytes: Archive bytes received so far in this run.
        expected_bytes: Estimate of the run's total archive bytes (from the server's summary
            statistics), or ``None`` when unknown; with ``bytes`` and ``elapsed`` it gives an
            ETA.
        elapsed: Seconds since the run started.
        participants_done: Participants finished so far.
        participants_total: Participants in this run.
        participant_files: Files handled so far for ``participant``.
        participant_bytes: Archive bytes received so far for ``participant``.
        message: Human-readable detail (the request window, a file name, ...).
    """

    event: str
    participant: str | None
    files: int
    bytes: int
    expected_bytes: int | None
    elapsed: float
    participants_done: int
    participants_total: int
    participant_files: int = 0
    participant_bytes: int = 0
    message: str = ""

    @property
    def rate(self) -> float:
        """Average bytes per second so far."""
        return self.bytes / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, estimated from ``expected_bytes`` and the rate, or ``None``."""
        if self.expected_bytes is None or self.rate <= 0:
            return None
        return max(0.0, (self.expected_bytes - self.bytes) / self.rate)
