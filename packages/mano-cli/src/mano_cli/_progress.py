"""Progress bars on stderr (files and bytes, rate, ETA, one row per participant).

Hidden when stderr is not a terminal or with ``-q``; the libraries only call callbacks or
yield events, and this module is the only place that renders them.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mano_cli._context import Settings

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ProgressView"]


class ProgressView:
    """Rows keyed by a name (``total``, a participant, …), each with files and bytes.

    All methods are no-ops when progress is hidden, and safe to call from worker threads.
    """

    def __init__(self, s: Settings, *, transient: bool = False) -> None:
        self.enabled = s.show_progress
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()
        if self.enabled:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=24),
                TextColumn("{task.fields[files]}", markup=False),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=s.err,
                transient=transient,
            )

    def __enter__(self) -> ProgressView:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(
        self,
        key: str,
        *,
        description: str | None = None,
        files: int | None = None,
        files_total: int | None = None,
        completed: int | None = None,
        total: int | None = None,
        advance: int = 0,
    ) -> None:
        """Create or update row ``key`` with absolute counts (or ``advance`` bytes)."""
        if self._progress is None:
            return
        with self._lock:
            if key not in self._tasks:
                self._tasks[key] = self._progress.add_task(
                    description or key, total=total, files="", nfiles=0, nfiles_total=None
                )
            task_id = self._tasks[key]
            task = self._task(task_id)
            fields: dict[str, Any] = dict(task.fields)
            if files is not None:
                fields["nfiles"] = files
            if files_total is not None:
                fields["nfiles_total"] = files_total
            n, n_total = fields["nfiles"], fields["nfiles_total"]
            fields["files"] = f"{n}/{n_total} files" if n_total is not None else f"{n} files"
            kwargs: dict[str, Any] = dict(fields)
            if description is not None:
                kwargs["description"] = description
            if completed is not None:
                kwargs["completed"] = completed
            if total is not None:
                kwargs["total"] = max(total, completed or 0, int(task.completed))
            if advance:
                kwargs["advance"] = advance
            self._progress.update(task_id, **kwargs)

    def _task(self, task_id: TaskID) -> Any:
        assert self._progress is not None
        return next(t for t in self._progress.tasks if t.id == task_id)

    def finish(self, key: str) -> None:
        """Mark row ``key`` complete (its total becomes what was done)."""
        if self._progress is None or key not in self._tasks:
            return
        with self._lock:
            task_id = self._tasks[key]
            done = self._task(task_id).completed
            self._progress.update(task_id, total=max(done, 1), completed=max(done, 1))
