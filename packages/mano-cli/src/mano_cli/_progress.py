"""Progress bars on stderr (files and bytes, rate, ETA, one row per participant).

Hidden when stderr is not a terminal or with ``-q``; the libraries only call callbacks or
yield events, and this module is the only place that renders them.
"""

from __future__ import annotations

from types import TracebackType

from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from mano_cli._context import Settings

__all__ = ["ProgressView"]


class ProgressView:
    """Rows keyed by a name (a participant, a phase); each counts files and bytes."""

    def __init__(self, s: Settings, *, transient: bool = False) -> None:
        self.enabled = s.show_progress
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._files: dict[str, tuple[int, int | None]] = {}
        if self.enabled:
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(bar_width=20),
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

    def _files_text(self, key: str) -> str:
        done, total = self._files.get(key, (0, None))
        return f"{done}/{total} files" if total is not None else f"{done} files"

    def row(self, key: str, description: str | None = None, *, total_bytes: int | None = None,
            total_files: int | None = None) -> None:
        """Create (or update the totals of) a row."""
        if self._progress is None:
            return
        done, old_total = self._files.get(key, (0, None))
        self._files[key] = (done, total_files if total_files is not None else old_total)
        if key not in self._tasks:
            self._tasks[key] = self._progress.add_task(
                description or key, total=total_bytes, files=self._files_text(key)
            )
        else:
            self._progress.update(self._tasks[key], total=total_bytes, files=self._files_text(key))

    def advance(self, key: str, *, files: int = 0, nbytes: int = 0) -> None:
        """Count finished files and transferred bytes on a row (created on first use)."""
        if self._progress is None:
            return
        if key not in self._tasks:
            self.row(key)
        done, total = self._files.get(key, (0, None))
        self._files[key] = (done + files, total)
        self._progress.update(self._tasks[key], advance=nbytes, files=self._files_text(key))

    def set_bytes(self, key: str, completed: int) -> None:
        """Set the absolute byte count of a row (for callbacks that report totals so far)."""
        if self._progress is None:
            return
        if key not in self._tasks:
            self.row(key)
        self._progress.update(self._tasks[key], completed=completed)

    def finish(self, key: str) -> None:
        """Mark a row complete."""
        if self._progress is None or key not in self._tasks:
            return
        task = self._tasks[key]
        total = self._progress.tasks[task].total if task < len(self._progress.tasks) else None
        if total is not None:
            self._progress.update(task, completed=total)


# MofNCompleteColumn is re-exported for symmetry with Rich users; keep the import used.
_ = MofNCompleteColumn
