"""Run settings shared by every row: mode sizes, folders, cores, the mano 0.6.0 reference."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import refs
from benchlib.measure import NotMeasured
from benchlib.trees import Tree, TreeSpec, build


@dataclass(frozen=True)
class Mode:
    """Sizes for one mode (smoke / quick / full).

    Attributes:
        name: ``smoke``, ``quick`` or ``full``.
        repeats: Timed runs per side (the best counts; all are kept).
        slow_repeats: Runs for slow references (mano 0.6.0), at most ``repeats``.
        sync_repeats: Runs per side for the sync and re-sync rows.
        data_tree: Tree of hourly CSVs of every stream for compress / lock / hash.
        small_tree: Tree of many small files (accelerometer, GPS and power state hours, median
            a few kB) for the same rows: the per-file cost.
        lock06_per_stream: Files per stream locked by mano 0.6.0 (100,000 PBKDF2 rounds each).
        lock06_small_per_stream: The same for the small-file tree.
        startup_repeats: Runs per side of the CLI start-up rows.
        report_tree: Many-file tree for the report row.
        sync_participants, sync_days, sync_scale: Emulated study for the sync rows.
        resync_participants, resync_days, resync_scale: Emulated study for the re-sync row.
        big_download_mb: Size of the one-request v2 download for the client RSS row (0 = skip).
        mano06: Whether to run mano 0.6.0 at all.
    """

    name: str
    repeats: int
    slow_repeats: int
    sync_repeats: int
    data_tree: TreeSpec
    small_tree: TreeSpec
    lock06_per_stream: int
    lock06_small_per_stream: int
    startup_repeats: int
    report_tree: TreeSpec
    sync_participants: int
    sync_days: int
    sync_scale: float
    resync_participants: int
    resync_days: int
    resync_scale: float
    big_download_mb: int
    mano06: bool


#: The small-file tree (real study trees are mostly small files): 8 participants × 240 hours
#: of accelerometer, GPS and power state at a tenth of real rates (~80 kB, ~4.5 kB and
#: ~0.2 kB an hour; median a few kB), 90 % of hours present: ~5,200 files in quick and full.
SMALL_STREAMS = ("accelerometer", "gps", "power_state")
SMALL_TREE = TreeSpec(
    "small-files",
    participants=8,
    hours=240,
    scale=0.1,
    streams=SMALL_STREAMS,
    coverage=0.9,
)

MODES = {
    "smoke": Mode(
        name="smoke",
        repeats=1,
        slow_repeats=1,
        sync_repeats=1,
        data_tree=TreeSpec("smoke-data", participants=2, hours=3, scale=0.01),
        small_tree=TreeSpec(
            "smoke-small",
            participants=2,
            hours=6,
            scale=0.1,
            streams=SMALL_STREAMS,
            coverage=0.9,
        ),
        lock06_per_stream=1,
        lock06_small_per_stream=1,
        startup_repeats=1,
        report_tree=TreeSpec("smoke-report", participants=2, hours=12, scale=0.001),
        sync_participants=2,
        sync_days=1,
        sync_scale=1.0,
        resync_participants=2,
        resync_days=1,
        resync_scale=1.0,
        big_download_mb=0,
        mano06=False,
    ),
    "quick": Mode(
        name="quick",
        repeats=3,
        slow_repeats=1,
        sync_repeats=3,
        data_tree=TreeSpec("quick-data", participants=2, hours=48, scale=0.25),
        small_tree=SMALL_TREE,
        lock06_per_stream=4,
        lock06_small_per_stream=20,
        startup_repeats=7,
        report_tree=TreeSpec("report-100k", participants=34, hours=336, scale=0.001),
        sync_participants=4,
        sync_days=14,
        # the emulator's content became realistic (bursts at the phones' sampling rates):
        # scale 1 now holds about what scale 10 held before (~20 MB of zstd for this study)
        sync_scale=1.0,
        resync_participants=4,
        resync_days=14,
        resync_scale=1.0,
        big_download_mb=0,
        mano06=True,
    ),
    "full": Mode(
        name="full",
        repeats=5,
        slow_repeats=2,
        sync_repeats=3,
        data_tree=TreeSpec("full-data", participants=4, hours=168, scale=0.5),
        small_tree=SMALL_TREE,
        lock06_per_stream=20,
        lock06_small_per_stream=60,
        startup_repeats=11,
        report_tree=TreeSpec("report-100k", participants=34, hours=336, scale=0.001),
        sync_participants=8,
        sync_days=14,
        sync_scale=4.0,  # ~ the bytes scale 50 gave before the realistic content
        resync_participants=20,
        resync_days=21,
        resync_scale=0.1,  # ~ the bytes scale 1 gave before: the same 56,798 files
        big_download_mb=1024,
        mano06=True,
    ),
}


@dataclass
class Context:
    """Everything a row needs."""

    mode: Mode
    work: Path
    root: Path
    install: bool
    cores: int = field(default_factory=lambda: len(os.sched_getaffinity(0)))
    _trees: dict[str, Tree] = field(default_factory=dict)
    _mano06: refs.Mano06 | NotMeasured | None = None
    _discarded: int = 0

    def tree(self, spec: TreeSpec) -> Tree:
        """Build (or reuse) a generated tree."""
        if spec.name not in self._trees:
            self._trees[spec.name] = build(spec, self.work)
        return self._trees[spec.name]

    def scratch(self, name: str) -> Path:
        """An empty scratch folder under the work folder (a previous one is discarded)."""
        path = self.work / "scratch" / name
        self.discard(path)
        path.mkdir(parents=True)
        return path

    def discard(self, path: Path) -> None:
        """Move a finished output aside instead of deleting it; the run deletes it at its end.

        Deleting thousands of files right before a timed run taxes that run, not the deleter:
        on ext4 without a journal (this VM's root disk) the inode allocator skips every inode
        freed in the last minutes one by one, so creating a file cost 0.7-1 ms instead of
        60-70 µs of kernel time for minutes after a 5,000-file tree was removed. A rename
        frees nothing, so every side starts from the same disk state.
        """
        if not os.path.lexists(path):
            return
        trash = self.work / "scratch" / ".trash"
        trash.mkdir(parents=True, exist_ok=True)
        self._discarded += 1
        os.replace(path, trash / f"{self._discarded}-{path.name}")

    def mano06(self) -> refs.Mano06:
        """The mano 0.6.0 reference, or :class:`NotMeasured` (cached either way)."""
        if self._mano06 is None:
            if not self.mode.mano06:
                self._mano06 = NotMeasured(f"{self.mode.name} mode skips mano 0.6.0")
            else:
                try:
                    self._mano06 = refs.mano06(install=self.install)
                except NotMeasured as exc:
                    self._mano06 = exc
        if isinstance(self._mano06, NotMeasured):
            raise self._mano06
        return self._mano06
