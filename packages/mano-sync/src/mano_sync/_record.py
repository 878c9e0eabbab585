"""Stage 4, record -- and the local half of planning: what the tree still holds.

The manifest (:mod:`mano_sync._manifest`) records every file a run saved. Before a run asks
the server for anything, :meth:`LocalTree.check_local` finds recorded files that were lost or
altered on disk (so they are fetched again); after saving, :meth:`LocalTree.mark_verified`
records the folders written as verified, so the next run trusts them without a stat per file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

from mano_sync._lock import FolderLock, change_ns
from mano_sync._manifest import Manifest, folder_state, form_suffix
from mano_sync._plan import floor_hour

logger = logging.getLogger(__name__)

__all__ = ["LocalTree", "clean_temp_files"]

_TMP_RE = re.compile(r"^\..*\.mano-tmp$")


def clean_temp_files(
    out: Path, participants: Iterable[str], *, deep: bool, study_level: bool = True
) -> int:
    """Delete ``.*.mano-tmp`` leftovers of killed runs (study folder; participants' when deep)."""
    removed = 0
    tops = [out, *(out / p for p in participants)] if deep else [out]
    if not study_level:
        tops = tops[1:]
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


class LocalTree:
    """The study folder as the manifest knows it, and how far its folder times are trusted.

    Args:
        out: The study folder.
        manifest: Its open manifest.
        folder_lock: The run's lock (its time stamps order folder changes).
        streams: Streams of this run (``None``: all).
        verify_files: Stat every recorded file, also in folders whose state is unchanged.
    """

    def __init__(
        self,
        out: Path,
        manifest: Manifest,
        folder_lock: FolderLock,
        *,
        streams: tuple[str, ...] | None,
        verify_files: bool,
    ) -> None:
        self.out = out
        self.base = os.fspath(out) + os.sep
        self.manifest = manifest
        self.folder_lock = folder_lock
        self.streams = streams
        self.verify_files = verify_files
        # folder states are trusted unless this file system was seen not to move folder times
        self.trust_folders = manifest.get_meta("folder_times") != "unreliable"
        self.run_stamp = folder_lock.touch()  # every folder this run writes to changes after it

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

    def check_local(self, pid: str) -> list[tuple[int, int | None]]:
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

    def mark_verified(self, pid: str, written: Iterable[str]) -> None:
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
