"""How `mano sync` shows jobs: progress notes without a terminal, one line per job, exit codes.

Cron rules: with ``-q`` nothing at all is printed when every job succeeds, and one line per
problem otherwise (naming the job). Without a terminal (and without ``-q``) there are no
progress bars: at most one progress line a minute on stderr, then the summary.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from mano_cli._context import Settings, jsonable
from mano_cli._errors import EXIT_OK, EXIT_PARTIAL, classify
from mano_cli._output import table

if TYPE_CHECKING:
    from mano_sync import Job, JobResult, SyncProgress

__all__ = ["NOTE_INTERVAL", "ProgressNote", "job_exit_code", "job_json", "log_result", "show_jobs"]

logger = logging.getLogger("mano_cli.jobs")

#: Seconds between two progress lines when stderr is not a terminal.
NOTE_INTERVAL = 60.0


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


class ProgressNote:
    """One plain progress line on stderr at most every ``NOTE_INTERVAL`` seconds (no TTY)."""

    def __init__(self, s: Settings, *, interval: float = NOTE_INTERVAL) -> None:
        self.enabled = not s.quiet and not s.show_progress
        self._s = s
        self._interval = interval
        self._last = time.monotonic()
        self._latest: dict[str, SyncProgress] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, event: SyncProgress) -> None:
        if not self.enabled:
            return
        with self._lock:
            self._latest[label] = event
            now = time.monotonic()
            if now - self._last < self._interval:
                return
            self._last = now
            parts = []
            for name, ev in self._latest.items():
                if ev.event == "done":
                    continue
                parts.append(
                    f"{name}: {ev.participants_done}/{ev.participants_total} participants, "
                    f"{ev.files} files, {_size(ev.bytes)}"
                )
            self._latest = {k: v for k, v in self._latest.items() if v.event != "done"}
        if parts:
            self._s.err.print(
                "mano: progress: " + "; ".join(parts), markup=False, highlight=False, soft_wrap=True
            )

    def for_job(self, job: Job, event: SyncProgress) -> None:
        self(job.name, event)


def _folder(result: JobResult) -> Any:
    return result.folder or result.job.output or result.job.output_root


def job_exit_code(result: JobResult) -> int:
    """The exit code of one job (0, 1 for failed files, else the error's code)."""
    if result.error is not None:
        return classify(result.error).exit_code
    return EXIT_OK if result.ok else EXIT_PARTIAL


def job_line(result: JobResult) -> str:
    """The one problem line of a job that did not fully succeed."""
    if result.error is not None:
        return f"job {result.job.name}: {classify(result.error).message}"
    assert result.summary is not None
    first = result.summary.failed[0]
    return (
        f"job {result.job.name}: {len(result.summary.failed)} file(s) failed (first: {first}); "
        "rerun to retry them, -v lists all"
    )


def job_json(result: JobResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "job": result.job.name,
        "study": result.study_name,
        "study_id": result.study_id,
        "server": result.server,
        "folder": None if _folder(result) is None else str(_folder(result)),
        "status": result.status,
        "exit_code": job_exit_code(result),
        "elapsed": round(result.elapsed, 3),
    }
    if result.job.shard is not None:
        data["shard"] = str(result.job.shard)
    if result.summary is not None:
        summ = jsonable(result.summary)
        summ["failed"] = [str(f) for f in result.summary.failed]
        summ["ok"] = result.summary.ok
        data["summary"] = summ
    if result.error is not None:
        data["error"] = classify(result.error).message
    return data


def log_result(result: JobResult) -> None:
    """One log record per job and one per error (JSON lines in --log-file)."""
    record = job_json(result)
    record.pop("summary", None)
    if result.summary is not None:
        s = result.summary
        record.update(
            new=s.new,
            updated=s.updated,
            unchanged=s.unchanged,
            failed=len(s.failed),
            bytes_downloaded=s.bytes_downloaded,
        )
    level = logging.INFO if result.ok else logging.ERROR
    logger.log(level, "job %s: %s", result.job.name, result.status, extra={"mano": record})
    if result.error is not None:
        logger.error(
            "%s",
            job_line(result),
            extra={"mano": {"job": result.job.name, "error": classify(result.error).message}},
        )
    elif result.summary is not None:
        for failure in result.summary.failed:
            logger.warning(
                "job %s: failed: %s",
                result.job.name,
                failure,
                extra={
                    "mano": {
                        "job": result.job.name,
                        "participant": failure.participant,
                        "file": failure.name,
                        "error": failure.reason,
                    }
                },
            )


def show_jobs(s: Settings, results: list[JobResult], *, json_output: bool) -> int:
    """Print the summary (one line per job) and the problem lines; return the exit code.

    The exit code is the worst (highest) of the jobs' codes; 0 when every job succeeded.
    """
    from mano_cli._output import dumps, write_text

    for result in results:
        if not result.ok:
            s.err.print(f"mano: error: {job_line(result)}", markup=False, highlight=False)
    if json_output:
        write_text(dumps([job_json(r) for r in results]), None)
    elif not s.quiet:
        rows = []
        for r in results:
            summ = r.summary
            rows.append(
                (
                    r.job.name,
                    r.status,
                    summ.new if summ else "",
                    summ.updated if summ else "",
                    summ.unchanged if summ else "",
                    len(summ.failed) if summ else "",
                    _size(summ.bytes_downloaded) if summ else "",
                    str(_folder(r) or ""),
                )
            )
        table(
            s,
            ["job", "status", "new", "updated", "unchanged", "failed", "downloaded", "folder"],
            rows,
        )
    return max((job_exit_code(r) for r in results), default=EXIT_OK)
