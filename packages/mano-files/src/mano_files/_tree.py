"""Tree operations: compress, decompress, lock, unlock, hash and verify whole data folders.

Every operation walks the folder (a study folder, a participant folder, any folder inside the
layout, or a single data file), touches only Beiwe data files (their last path components must
read ``<pid>/<stream>/[<survey_id>/]<time>.<ext>[.zst][.lock]``), and leaves hidden files, other
files and symbolic links alone, listing them in :attr:`TreeSummary.skipped_paths`. Files are
processed in parallel by ``workers`` threads (zstd, AES and SHA-1 release the GIL); one file
failing never stops the others. Each operation first deletes ``.*.mano-tmp`` leftovers of
interrupted runs.

compress/decompress/lock/unlock hand all forms of one file to :mod:`mano_files._settle`,
which deletes a source only through :func:`mano_files._replace.retire_source` (the deletion
rule) and reports forms that differ as conflicts; a full disk stops the run at once.
"""

from __future__ import annotations

import base64
import binascii
import logging
import operator
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar

from mano_files._atomic import is_temp_name, remove_stale_temp_files
from mano_files._datafile import (
    DEFAULT_LEVEL,
    _hash_path,
    reading_key,
    validate_level,
)
from mano_files._errors import (
    DiskFull,
    InvalidDataPath,
    InvalidOption,
    LocalIOError,
    ManifestError,
    ManoFilesError,
    wrap_os_error,
)
from mano_files._paths import (
    FORM_SUFFIXES,
    SURVEY_STREAMS,
    DataPath,
    Form,
    data_folder_stream,
    data_name_form,
    parse_data_path,
    plain_name,
    validate_streams,
)
from mano_files._settle import Conflict, FormCopy, Group, Spec, settle

if TYPE_CHECKING:
    from mano_files._crypto import LockKey
    from mano_files._hashcache import HashCache

__all__ = [
    "Conflict",
    "FileFailure",
    "ProgressEvent",
    "TreeSummary",
    "VerifyReport",
    "compress_tree",
    "decompress_tree",
    "default_workers",
    "hash_tree",
    "iter_data_files",
    "lock_tree",
    "set_default_workers",
    "unlock_tree",
    "verify_tree",
]

logger = logging.getLogger(__name__)

Outcome = Literal["done", "skipped", "failed", "conflict"]
_RACY_NS: Final = 100_000_000  # files changed this close to being hashed are not cached

_default_workers: int | None = None


def set_default_workers(n: int | None) -> None:
    """Set the worker count used when an operation gets ``workers=None`` (None: all cores)."""
    global _default_workers
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise InvalidOption(f"the number of threads must be a positive integer, not {n!r}")
    _default_workers = n


def default_workers() -> int:
    """The worker count used when none is given: :func:`set_threads` or ``os.cpu_count()``."""
    return _default_workers or os.cpu_count() or 1


@dataclass(frozen=True, slots=True)
class FileFailure:
    """A path and why it failed or was left alone."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Reported to the ``progress`` callback once per data file, from the calling thread.

    Attributes:
        path: The file handled.
        outcome: ``done``, ``skipped``, ``failed`` or ``conflict`` (forms that differ).
        bytes_in: Bytes read (the file's size).
        bytes_out: Bytes written.
        completed: Files finished so far, this one included.
        total: Data files the operation will look at.
        reason: Why it was skipped or failed.
    """

    path: Path
    outcome: Outcome
    bytes_in: int
    bytes_out: int
    completed: int
    total: int
    reason: str | None = None


@dataclass(frozen=True)
class TreeSummary:
    """What a tree operation did.

    Attributes:
        done: Data files converted (or hashed).
        skipped: Data files left as they were (already in the wanted form, stream not
            selected, target exists...).
        failed: Files that failed, with reasons.
        bytes_in: Bytes read from the files done.
        bytes_out: Bytes written (for hash: plain bytes hashed).
        skipped_paths: Entries worth telling the user about that were left alone: refused
            overwrites, hidden files, symbolic links, files that are not Beiwe data.
        hashes: For :func:`hash_tree`: ``{plain relpath: sha1_b64}``; empty otherwise.
        conflicts: Files stored in several forms whose contents differ; none of their forms
            was changed or deleted (for :func:`hash_tree`: forms hashed to different values).
    """

    done: int
    skipped: int
    failed: list[FileFailure]
    bytes_in: int
    bytes_out: int
    skipped_paths: list[FileFailure] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file failed and no forms of a file disagree."""
        return not self.failed and not self.conflicts

    @property
    def links(self) -> list[FileFailure]:
        """Symbolic links left alone (never followed: what lies behind them was not handled)."""
        return [p for p in self.skipped_paths if p.reason == _SYMLINK]


Progress = Callable[[ProgressEvent], None]


# --------------------------------------------------------------------------- walking


def iter_data_files(
    folder: str | os.PathLike[str],
    *,
    streams: Iterable[str] | None = None,
    skipped: list[FileFailure] | None = None,
) -> Iterator[tuple[Path, DataPath]]:
    """Yield ``(path, DataPath)`` for every Beiwe data file under ``folder`` (sorted walk).

    Hidden entries are not entered; mano's own state files (``.mano-*``) and temp files are
    passed over silently, other hidden entries, symbolic links and non-data files are appended
    to ``skipped`` (when given) with the reason. ``folder`` may also be a single data file.

    Args:
        folder: A study folder, any folder inside one, or one data file.
        streams: Only yield files of these streams (default: all).
        skipped: A list collecting what was left alone.

    Raises:
        LocalIOError: ``folder`` does not exist or cannot be listed.
    """
    for path, dp, _entry in _walk(folder, streams, skipped):
        yield Path(path), dp


def _note(skipped: list[FileFailure] | None, path: str, reason: str) -> None:
    if skipped is not None:
        skipped.append(FileFailure(Path(path), reason))


_NOT_DATA: Final = "not a Beiwe data file: left alone"


def _consider(
    path: str, wanted: frozenset[str] | None, skipped: list[FileFailure] | None
) -> DataPath | None:
    try:
        dp = parse_data_path(path)
    except InvalidDataPath:
        _note(skipped, path, _NOT_DATA)
        return None
    if wanted is not None and dp.stream not in wanted:
        return None
    return dp


_FORM_ENDS: Final = (".zst", ".lock")
#: ``(name, stat or None, reason)``: a regular file (with its ``lstat``) when ``reason`` is
#: None, otherwise an entry left alone and why (kept in walk order so reports list entries as
#: they are met).
_FileEntries = list[tuple[str, "os.stat_result | None", "str | None"]]
#: ``stat`` relative to an open folder (one path lookup instead of a walk from the root) where
#: the platform has it; elsewhere (Windows) ``os.scandir`` hands out the same results.
_AT: Final = os.stat in os.supports_dir_fd and os.listdir in os.supports_fd
_by_name = operator.attrgetter("name")


_LOCKED: Final[tuple[Form, ...]] = ("zst.lock", "lock")
_HIDDEN: Final = "hidden entry: left alone"
_SYMLINK: Final = "symbolic link: left alone"
_SPECIAL: Final = "not a regular file: left alone"


def _classify(
    name: str, st: os.stat_result, current: str, files: _FileEntries, subdirs: list[str]
) -> None:
    mode = st.st_mode
    if stat.S_ISREG(mode):
        files.append((name, st, None))
    elif stat.S_ISLNK(mode):
        files.append((name, None, _SYMLINK))
    elif stat.S_ISDIR(mode):
        subdirs.append(os.path.join(current, name))
    else:
        files.append((name, None, _SPECIAL))


def _hidden(name: str, files: _FileEntries) -> None:
    if not (name.startswith(".mano-") or is_temp_name(name)):
        files.append((name, None, _HIDDEN))


def _list_folder(current: str, files: _FileEntries, subdirs: list[str]) -> None:
    """Sort a folder's entries into ``files`` (see :data:`_FileEntries`) and ``subdirs``.

    One ``lstat`` per non-hidden entry (relative to the open folder where the platform allows);
    an entry gone since the listing is left out.
    """
    if not _AT:
        with os.scandir(current) as it:
            for entry in sorted(it, key=_by_name):
                name = entry.name
                if name[0] == ".":
                    _hidden(name, files)
                    continue
                try:
                    _classify(name, entry.stat(follow_symlinks=False), current, files, subdirs)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    files.append((name, None, f"cannot inspect: {exc.strerror or exc}"))
        return
    fd = os.open(current, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        names = os.listdir(fd)
        names.sort()
        lstat_at = os.stat
        s_isreg = stat.S_ISREG
        append = files.append
        for name in names:
            if name[0] == ".":
                _hidden(name, files)
                continue
            try:
                st = lstat_at(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:  # gone since the listing
                continue
            except OSError as exc:
                append((name, None, f"cannot inspect: {exc.strerror or exc}"))
                continue
            if s_isreg(st.st_mode):  # the common case, inline
                append((name, st, None))
            else:
                _classify(name, st, current, files, subdirs)
    finally:
        os.close(fd)


def _scan_dirs(
    folder: str | os.PathLike[str],
    skipped: list[FileFailure] | None,
    lister: Callable[[str, _FileEntries, list[str]], None] = _list_folder,
) -> Iterator[tuple[str, _FileEntries]]:
    """Yield ``(folder path, entries)`` per folder: its regular, non-hidden files (sorted).

    Entries left alone inside a folder come with their reason (see :data:`_FileEntries`);
    the folder itself failing to list, or a symbolic-link root, go to ``skipped``. When
    ``folder`` is a single file, yields its parent with that one name and its stat (without
    calling ``lister``, which lists one folder: :func:`_list_folder` or a wrapper of it).
    """
    root = Path(folder)
    try:
        if root.is_symlink():
            _note(skipped, str(root), _SYMLINK)
            return
        if root.is_file():
            head, tail = os.path.split(str(root.absolute()))
            yield head, [(tail, root.lstat(), None)]
            return
        if not root.is_dir():
            raise FileNotFoundError(2, "No such file or directory", str(root))
    except OSError as exc:
        raise wrap_os_error(exc, root, "read") from exc

    stack = [str(root.absolute())]
    while stack:
        current = stack.pop()
        subdirs: list[str] = []
        files: _FileEntries = []
        try:
            lister(current, files, subdirs)
        except OSError as exc:
            _note(skipped, current, f"cannot list folder: {exc.strerror or exc}")
            continue
        if files:
            yield current, files
        stack.extend(reversed(subdirs))


def _scan(
    folder: str | os.PathLike[str], skipped: list[FileFailure] | None
) -> Iterator[tuple[str, os.stat_result | None]]:
    """Yield every regular, non-hidden file under ``folder`` (sorted); note what is left alone."""
    for current, files in _scan_dirs(folder, skipped):
        prefix = current + os.sep
        for name, entry, reason in files:
            if reason is None:
                yield prefix + name, entry
            else:
                _note(skipped, prefix + name, reason)


def _walk(
    folder: str | os.PathLike[str],
    streams: Iterable[str] | None,
    skipped: list[FileFailure] | None,
) -> Iterator[tuple[str, DataPath, os.stat_result | None]]:
    wanted = validate_streams(streams) if streams is not None else None
    for path, entry in _scan(folder, skipped):
        dp = _consider(path, wanted, skipped)
        if dp is not None:
            yield path, dp, entry


# --------------------------------------------------------------------------- running


_Result = tuple[Outcome, int, int, "str | None", Any]
#: One job: a path and what the operation needs of it (a :class:`DataPath` for hashing, the
#: file's form for the tree tools, which only need the walk's check that it is a data file).
_J = TypeVar("_J")
_Job = tuple[str, DataPath]


class _Tally:
    """One worker's counts when no callback needs each result on the calling thread."""

    __slots__ = (
        "bytes_in", "bytes_out", "conflicts", "done", "failed", "skipped", "skipped_paths"
    )  # fmt: skip

    def __init__(self) -> None:
        self.done = self.skipped = self.bytes_in = self.bytes_out = 0
        self.failed: list[FileFailure] = []
        self.skipped_paths: list[FileFailure] = []
        self.conflicts: list[Conflict] = []

    def add(self, path: str, result: _Result) -> None:
        outcome, b_in, b_out, reason, extra = result
        if outcome == "conflict":
            self.conflicts.append(extra)
            logger.warning("%s: %s", path, reason)
        elif outcome == "done":
            self.done += 1
            self.bytes_in += b_in
            self.bytes_out += b_out
        elif outcome == "skipped":
            self.skipped += 1
            if reason:
                self.skipped_paths.append(FileFailure(Path(path), reason))
        else:
            self.failed.append(FileFailure(Path(path), reason or "failed"))
            logger.warning("%s: %s", path, reason)

    def merge(self, other: _Tally) -> None:
        self.done += other.done
        self.skipped += other.skipped
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.failed.extend(other.failed)
        self.skipped_paths.extend(other.skipped_paths)
        self.conflicts.extend(other.conflicts)


class _Feed:
    """Hands out jobs so that workers stay in different folders.

    The (sorted) job list is cut into one contiguous segment per worker; each worker takes
    its own segment from the front, then helps the fullest remaining segment from the back.
    Workers creating files in the same folder at the same time serialise on the folder's
    lock in the kernel; disjoint segments avoid that almost entirely.
    """

    __slots__ = ("_jobs", "_lock", "_segments")

    def __init__(self, jobs: list[tuple[str, Any]], n: int) -> None:
        self._jobs = jobs
        self._lock = threading.Lock()
        step, extra = divmod(len(jobs), n)
        bounds = [0]
        for i in range(n):
            bounds.append(bounds[-1] + step + (1 if i < extra else 0))
        self._segments = [[bounds[i], bounds[i + 1]] for i in range(n)]

    def next(self, slot: int) -> tuple[str, Any] | None:
        """The next job for worker ``slot``, or None when every job was handed out."""
        with self._lock:
            own = self._segments[slot]
            if own[0] < own[1]:
                own[0] += 1
                return self._jobs[own[0] - 1]
            fullest = max(self._segments, key=lambda seg: seg[1] - seg[0])
            if fullest[0] < fullest[1]:
                fullest[1] -= 1
                return self._jobs[fullest[1]]
            return None


def _run(
    jobs: list[tuple[str, _J]],
    work: Callable[[str, _J], _Result],
    *,
    workers: int | None,
    progress: Progress | None,
    skipped_paths: list[FileFailure],
    on_result: Callable[[str, _J, _Result], None] | None = None,
    pre_done: int = 0,
) -> TreeSummary:
    n_workers = workers if workers is not None else default_workers()
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InvalidOption(f"workers must be a positive integer, not {workers!r}")
    total = len(jobs) + pre_done
    if not jobs:  # e.g. a warm hash cache: no threads to start
        return TreeSummary(0, 0, [], 0, 0, skipped_paths)
    completed = pre_done
    main = _Tally()
    full: list[DiskFull] = []  # the disk filled up: stop at once, report it once
    results: queue.SimpleQueue[tuple[str, _J, _Result] | None] = queue.SimpleQueue()
    stop = threading.Event()
    n_threads = max(1, min(n_workers, len(jobs)))
    feed = _Feed(jobs, n_threads)

    # Without a progress callback or result hook nothing has to run on the calling thread:
    # each worker keeps its own tally (merged at the end, in job order of the segments), so
    # the calling thread is not woken (and does not contend for the GIL) once per file.
    quiet = progress is None and on_result is None
    tallies: list[_Tally] = [_Tally() for _ in range(n_threads)]

    def worker(slot: int) -> None:
        tally = tallies[slot]
        try:
            while not stop.is_set():
                job = feed.next(slot)
                if job is None:
                    return
                path, dp = job
                try:
                    result = work(path, dp)
                except DiskFull as exc:
                    full.append(exc)
                    stop.set()
                    return
                except ManoFilesError as exc:
                    result = ("failed", 0, 0, str(exc), None)
                except OSError as exc:
                    result = ("failed", 0, 0, str(wrap_os_error(exc, path, "process")), None)
                except Exception as exc:  # a bug or an unexpected library error: keep going
                    logger.exception("unexpected error on %s", path)
                    result = ("failed", 0, 0, f"unexpected error: {exc!r}", None)
                if quiet:
                    tally.add(path, result)
                else:
                    results.put((path, dp, result))
        finally:
            results.put(None)

    from concurrent.futures import ThreadPoolExecutor  # no jobs (returned above): no threads

    pool = ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="mano-files")
    try:
        futures = [pool.submit(worker, slot) for slot in range(n_threads)]
        if quiet:
            for future in futures:
                future.result()
        finished = 0
        while finished < n_threads:
            try:
                item = results.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                finished += 1
                continue
            path, dp, result = item
            outcome, b_in, b_out, reason, _extra = result
            completed += 1
            main.add(path, result)
            if on_result is not None:
                on_result(path, dp, result)
            if progress is not None:
                event = ProgressEvent(Path(path), outcome, b_in, b_out, completed, total, reason)
                progress(event)
    except BaseException:
        stop.set()
        raise
    finally:
        stop.set()
        pool.shutdown(wait=True)
    if full:
        raise full[0]
    for tally in tallies:
        main.merge(tally)
    skipped_paths.extend(main.skipped_paths)
    return TreeSummary(
        main.done, main.skipped, main.failed, main.bytes_in, main.bytes_out, skipped_paths,
        conflicts=main.conflicts,
    )  # fmt: skip


def _walk_forms(
    folder: str | os.PathLike[str],
    streams: Iterable[str] | None,
    skipped: list[FileFailure] | None,
) -> Iterator[tuple[str, Form, os.stat_result | None]]:
    """What :func:`_walk` yields, with the file's form instead of its :class:`DataPath`.

    The tree tools need no more of a name than that it is a data file and its form: the
    folder is checked once (``<pid>/<stream>[/<survey_id>]``), each name against its stream
    (the checks of :func:`parse_data_path`, without building a ``DataPath`` per file).
    """
    wanted = validate_streams(streams) if streams is not None else None
    for current, files in _scan_dirs(folder, skipped):
        prefix = current + os.sep
        stream = data_folder_stream(current)
        skip_all = stream is not None and wanted is not None and stream not in wanted
        for name, entry, reason in files:
            if reason is not None:
                _note(skipped, prefix + name, reason)
                continue
            form = data_name_form(name, stream) if stream is not None else None
            if form is None:
                _note(skipped, prefix + name, _NOT_DATA)
            elif not skip_all:
                yield prefix + name, form, entry


def _prepare(
    folder: str | os.PathLike[str], streams: Iterable[str] | None, clean_tmp: bool
) -> tuple[list[tuple[str, Form]], dict[str, Group], list[FileFailure]]:
    """Walk ``folder``: one job per plain path, with every form of it found (its group)."""
    if clean_tmp and Path(folder).is_dir():
        remove_stale_temp_files(folder)
    skipped_paths: list[FileFailure] = []
    jobs: list[tuple[str, Form]] = []
    groups: dict[str, Group] = {}
    by_plain: dict[str, Group] = {}
    for path, form, entry in _walk_forms(folder, streams, skipped_paths):
        plain = path if form == "plain" else path[: len(path) - len(FORM_SUFFIXES[form])]
        group = by_plain.get(plain)
        if group is None:
            group = by_plain[plain] = {}
            groups[path] = group
            jobs.append((path, form))
        group[form] = (path, entry)
    return jobs, groups, skipped_paths


def _settle_all(
    folder: str | os.PathLike[str],
    streams: Iterable[str] | None,
    spec: Spec,
    workers: int | None,
    progress: Progress | None,
    before: Callable[[dict[str, Group]], None] | None = None,
) -> TreeSummary:
    jobs, groups, skipped_paths = _prepare(folder, streams, clean_tmp=True)
    if before is not None:
        before(groups)

    def work(path: str, form: Form) -> _Result:
        return settle(groups[path], spec)

    return _run(jobs, work, workers=workers, progress=progress, skipped_paths=skipped_paths)


# --------------------------------------------------------------------------- operations


def compress_tree(
    folder: str | os.PathLike[str],
    *,
    level: int = DEFAULT_LEVEL,
    delete_original: bool = False,
    overwrite: bool = False,
    streams: Iterable[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    fsync: bool = False,
) -> TreeSummary:
    """Compress every plain data file to ``.zst`` (checksummed frame with content size).

    Args:
        folder: Study folder, a folder inside it, or one data file.
        level: zstd level 1-22 (2, like the server, by default).
        delete_original: Delete each plain file once its ``.zst`` is safely written.
        overwrite: Replace existing ``.zst`` files; otherwise such files are skipped.
        streams: Only these streams (default: all).
        workers: Parallel threads (default: :func:`set_threads` or all cores).
        progress: Called with a :class:`ProgressEvent` after each data file.
        fsync: fsync every written file (durable, slower).

    Returns:
        A :class:`TreeSummary`; locked and already compressed files count as skipped.
    """
    validate_level(level)
    spec = Spec(
        sources=("plain",), target="zst", done_forms=("zst",), blockers=_LOCKED,
        delete=delete_original, overwrite=overwrite, level=level, fsync=fsync,
    )  # fmt: skip
    return _settle_all(folder, streams, spec, workers, progress)


def decompress_tree(
    folder: str | os.PathLike[str],
    *,
    delete_zst: bool = False,
    overwrite: bool = False,
    streams: Iterable[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    fsync: bool = False,
) -> TreeSummary:
    """Decompress every ``.zst`` data file to its plain form (multi-frame files read whole).

    Args:
        folder: Study folder, a folder inside it, or one data file.
        delete_zst: Delete each ``.zst`` once its plain file is safely written.
        overwrite: Replace existing plain files; otherwise such files are skipped.
        streams, workers, progress, fsync: As for :func:`compress_tree`.

    Returns:
        A :class:`TreeSummary`; damaged ``.zst`` files are failures (nothing is written).
    """
    spec = Spec(
        sources=("zst",), target="plain", done_forms=("plain",), blockers=_LOCKED,
        delete=delete_zst, overwrite=overwrite, fsync=fsync,
    )  # fmt: skip
    return _settle_all(folder, streams, spec, workers, progress)


def _writing_key(passphrase: str | LockKey) -> LockKey:
    from mano_files._crypto import LockKey, derive_key  # encryption loads on first use

    if isinstance(passphrase, LockKey):
        if passphrase.key:
            return passphrase
        if passphrase._passphrase is None:  # pragma: no cover
            raise InvalidOption("the key carries no passphrase")
        return derive_key(passphrase._passphrase)
    return derive_key(passphrase)


def _reading_key(passphrase: str | LockKey) -> LockKey:
    from mano_files._crypto import LockKey

    return passphrase if isinstance(passphrase, LockKey) else reading_key(passphrase)


def lock_tree(
    folder: str | os.PathLike[str],
    passphrase: str | LockKey,
    *,
    streams: Iterable[str] | None = None,
    level: int = DEFAULT_LEVEL,
    delete_original: bool = True,
    overwrite: bool = False,
    force: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    fsync: bool = False,
) -> TreeSummary:
    """Encrypt data files at rest: compress, then encrypt to ``.csv.zst.lock`` (cryptease format).

    The tree keeps one passphrase: the first lock writes an encrypted check value
    (``.mano-lock-check`` in the study folder); a later lock with another passphrase raises
    :class:`PassphraseMismatch` before anything is written, unless ``force``.

    The key is derived once for the whole run (one salt, a fresh IV per file); cryptease and
    mano 0.6.0 read the result. ``.zst`` files are encrypted as they are (no recompression).

    Args:
        folder: Study folder, a folder inside it, or one data file.
        passphrase: The passphrase, or a :class:`LockKey` from :func:`derive_key`.
        streams: Streams to lock (default: all), e.g. ``["gps", "audio_recordings"]``.
        level: zstd level for plain files.
        delete_original: Delete the unlocked file once the locked one is written (default:
            yes; keeping plaintext beside it would defeat the purpose).
        overwrite: Replace existing ``.zst.lock`` files; otherwise such files are skipped.
        force: Lock even when the tree's check says it was locked with another passphrase.
        workers, progress, fsync: As for :func:`compress_tree`.

    Returns:
        A :class:`TreeSummary`; already locked files count as skipped.
    """
    validate_level(level)
    _reading_key(passphrase)  # validates a passphrase before the walk (a LockKey as it is)
    key = _writing_key(passphrase)
    spec = Spec(
        sources=("plain", "zst"), target="zst.lock", done_forms=_LOCKED,
        delete=delete_original, overwrite=overwrite, key=key, level=level, fsync=fsync,
    )  # fmt: skip

    def check(groups: dict[str, Group]) -> None:
        probe = next(
            (g[f][0] for g in groups.values() for f in _LOCKED if f in g), None
        )  # a tree locked before checks existed: one of its files must open
        from mano_files._passcheck import check_lock_passphrase

        check_lock_passphrase(folder, key, force=force, probe=probe)

    return _settle_all(folder, streams, spec, workers, progress, before=check)


def unlock_tree(
    folder: str | os.PathLike[str],
    passphrase: str | LockKey,
    *,
    keep_compressed: bool = False,
    streams: Iterable[str] | None = None,
    delete_locked: bool = True,
    overwrite: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    fsync: bool = False,
) -> TreeSummary:
    """Decrypt ``.lock`` / ``.zst.lock`` files to plain files (or ``.zst`` with keep_compressed).

    Keys are derived once per salt: a tree written by mano costs one derivation, a mano 0.6.0
    tree (one salt per file) one per file. A wrong passphrase is detected (zstd magic and
    checksums for ``.zst.lock``, a plausibility check of the content for legacy ``.lock``) and
    nothing is written for that file.

    Args:
        folder: Study folder, a folder inside it, or one data file.
        passphrase: The passphrase (or a :class:`LockKey` carrying it).
        keep_compressed: Write ``.csv.zst`` instead of ``.csv`` (legacy plain ``.lock`` files
            are compressed on the way).
        streams: Only these streams (default: all).
        delete_locked: Delete the locked file once the unlocked one is written (default yes).
        overwrite: Replace existing targets; otherwise such files are skipped.
        workers, progress, fsync: As for :func:`compress_tree`.
    """
    key = _reading_key(passphrase)
    target: Form = "zst" if keep_compressed else "plain"
    spec = Spec(
        sources=("zst.lock", "lock"), target=target, done_forms=(target,),
        delete=delete_locked, overwrite=overwrite, key=key, fsync=fsync,
    )  # fmt: skip
    return _settle_all(folder, streams, spec, workers, progress)


def _find_cache_root(folder: Path) -> Path:
    """The study folder holding (or to hold) the hash cache: an ancestor with mano state."""
    from mano_files._hashcache import CACHE_NAME

    start = folder if folder.is_dir() else folder.parent
    probe = start.absolute()
    for candidate in (probe, *list(probe.parents)[:3]):
        if (candidate / CACHE_NAME).exists() or (candidate / ".mano-sync.sqlite").exists():
            return candidate
    return probe


def hash_tree(
    folder: str | os.PathLike[str],
    *,
    passphrase: str | LockKey | None = None,
    streams: Iterable[str] | None = None,
    cache: bool = True,
    trust_cache: bool = True,
    workers: int | None = None,
    progress: Progress | None = None,
) -> TreeSummary:
    """SHA-1 (base64) of the plain content of every data file, in any form.

    Results are cached in ``.mano-hashes.sqlite`` in the study folder (the nearest ancestor
    already holding mano state, else ``folder``), keyed by relative path, size and mtime_ns,
    so an unchanged tree re-hashes at the speed of ``stat``.

    Args:
        folder: Study folder, a folder inside it, or one data file.
        passphrase: Needed to hash ``.lock`` files (otherwise they fail with KeyRequired).
        streams: Only these streams (default: all).
        cache: Use and update the persistent cache.
        trust_cache: Take the hash of a file whose size and mtime match the cache from the
            cache (fast); False reads every file and refreshes the cache.
        workers, progress: As for :func:`compress_tree`.

    Returns:
        A :class:`TreeSummary` whose ``hashes`` maps each file's plain relative path
        (``<pid>/<stream>/[<survey>/]<name>``, no ``.zst``/``.lock``) to its ``sha1_b64``;
        ``bytes_in`` counts bytes read, ``bytes_out`` plain bytes hashed. A file stored in
        several forms whose contents differ is listed in ``conflicts``.
    """
    # sqlite3: only the hash scan needs it
    from mano_files._hashcache import HashCache, fingerprint

    key = _reading_key(passphrase) if passphrase is not None else None
    skipped_paths: list[FileFailure] = []
    hashes: dict[str, str] = {}
    store: HashCache | None = None
    # "<pid>/<stream>/": (fingerprint, SHA-1s); a folder's entries are read only when needed
    cached_folders: dict[str, tuple[bytes, str]] = {}
    cache_root = Path(folder)
    if cache:
        cache_root = _find_cache_root(Path(folder))
        try:
            store = HashCache(cache_root)
            cached_folders = store.fingerprints()
        except (LocalIOError, OSError) as exc:
            logger.warning("hash cache unavailable (%s); hashing without it", exc)
            store = None
    cache_root_s = str(cache_root.absolute())
    prefix_len = len(cache_root_s) + 1

    def rel(path: str) -> str:
        if not path.startswith(cache_root_s):
            return path
        tail = path[prefix_len:]
        return tail if os.sep == "/" else tail.replace(os.sep, "/")

    misses: list[_Job] = []
    differing: dict[str, str] = {}  # plain relpath -> plain path, when forms hash differently
    hits = hit_bytes = 0
    hit_events: list[tuple[str, int]] = []  # only collected for the progress callback
    wanted = validate_streams(streams) if streams is not None else None
    prune = streams is None and Path(folder).absolute() == cache_root.absolute()
    gone: list[str] = []  # cached relpaths no longer on disk (pruned from a whole-tree hash)
    hit_folders: set[str] = set()  # folder keys whose cached hashes are in ``hashes`` already
    sep = os.sep

    def take(
        current: str, names: list[str], sha1s: list[str], sizes: list[int], by_file: bool
    ) -> None:
        """Take cached hashes of files in ``current`` (known data files: names not parsed)."""
        nonlocal hits, hit_bytes
        parts = current.rsplit(sep, 3)
        tail = parts[-3:] if parts[-2] in SURVEY_STREAMS else parts[-2:]
        if wanted is not None and tail[1] not in wanted:
            return
        folder_key = "/".join(tail) + "/"
        hits += len(names)
        hit_bytes += sum(sizes)
        if progress is not None:
            hit_events.extend(zip([current + sep + name for name in names], sizes, strict=True))
        if not by_file and folder_key not in hit_folders:
            # plain names, folder key met for the first time: none of its keys is in
            # ``hashes`` yet and no two forms of one file can meet
            hashes.update(zip([folder_key + name for name in names], sha1s, strict=True))
        else:
            for name, sha1 in zip(names, sha1s, strict=True):
                plain = plain_name(name) if name.endswith(_FORM_ENDS) else name
                rel_key = folder_key + plain
                if hashes.setdefault(rel_key, sha1) != sha1:
                    differing[rel_key] = current + sep + plain
        hit_folders.add(folder_key)

    def entries(rel_prefix: str) -> dict[str, list[Any]]:
        """One cached folder's entries, read from the cache only when a scan needs them."""
        return store.entries(rel_prefix) if store is not None else {}

    def match(current: str, files: _FileEntries, rel_prefix: str) -> None:
        """Take the files whose size and mtime equal their cache entry, one by one."""
        cached = entries(rel_prefix)
        names: list[str] = []
        sha1s: list[str] = []
        sizes: list[int] = []
        rest: _FileEntries = []
        for item in files:
            name, st, reason = item
            if reason is None and st is not None:
                entry = cached.pop(name, None)
                if (
                    trust_cache
                    and entry is not None
                    and entry[0] == st.st_size
                    and entry[1] == st.st_mtime_ns
                ):
                    names.append(name)
                    sha1s.append(entry[2])
                    sizes.append(st.st_size)
                    continue
            rest.append(item)
        files[:] = rest
        if prune and cached:  # cached names not seen in this folder
            gone.extend(rel_prefix + name for name in cached)
        if names:
            take(current, names, sha1s, sizes, True)

    listed = [""]  # the folder the lister listed last

    def lister(current: str, files: _FileEntries, subdirs: list[str]) -> None:
        """List one folder, then take what the cache says of its files out of ``files``."""
        _list_folder(current, files, subdirs)
        listed[0] = current
        rel_prefix = rel(current + sep)
        known = cached_folders.pop(rel_prefix, None)
        if known is None:
            return
        if trust_cache and known[0]:  # the whole folder as it was cached?
            names = [name for name, st, _reason in files if st is not None]
            stats = [st for _name, st, _reason in files if st is not None]
            sizes = [st.st_size for st in stats]
            mtimes = [st.st_mtime_ns for st in stats]
            joined = "\0".join(names)
            sha1s = known[1].split("\n")
            if fingerprint(joined, sizes, mtimes) == known[0] and len(sha1s) == len(names):
                # a name with a form suffix (or merely holding one) is taken file by file
                take(current, names, sha1s, sizes, ".zst" in joined or ".lock" in joined)
                if len(names) == len(files):
                    files.clear()
                else:
                    files[:] = [item for item in files if item[1] is None]
                return
        match(current, files, rel_prefix)

    for current, files in _scan_dirs(folder, skipped_paths, lister):
        prefix = current + sep
        if current != listed[0] and cached_folders.pop(rel(prefix), None) is not None:
            match(current, files, rel(prefix))  # a single data file given as the folder
        for name, _st, reason in files:
            path = prefix + name
            if reason is not None:
                _note(skipped_paths, path, reason)
                continue
            dp = _consider(path, wanted, skipped_paths)
            if dp is not None:
                misses.append((path, dp))
    if prune:  # folders not walked at all are gone too
        for rel_prefix in cached_folders:
            gone.extend(rel_prefix + name for name in entries(rel_prefix))

    total = hits + len(misses)
    if progress is not None:
        for i, (path, size) in enumerate(hit_events, 1):
            progress(ProgressEvent(Path(path), "done", size, 0, i, total, "cached"))
    new_rows: list[tuple[str, int, int, str]] = []

    def work(path: str, dp: DataPath) -> _Result:
        before = os.stat(path)
        sha1, plain_size = _hash_path(path, key)
        after = os.stat(path)
        stable = (
            before.st_size == after.st_size
            and before.st_mtime_ns == after.st_mtime_ns
            and after.st_mtime_ns < time.time_ns() - _RACY_NS
        )
        row = (rel(path), after.st_size, after.st_mtime_ns, sha1) if stable else None
        return ("done", before.st_size, plain_size, None, (sha1, row))

    def on_result(path: str, dp: DataPath, result: _Result) -> None:
        if result[0] == "done":
            sha1, row = result[4]
            if hashes.setdefault(dp.plain_relpath, sha1) != sha1:
                differing[dp.plain_relpath] = os.path.join(os.path.dirname(path), dp.plain_name)
            if row is not None:
                new_rows.append(row)

    summary = _run(
        misses,
        work,
        workers=workers,
        progress=progress if progress is None else _shift(progress, total),
        skipped_paths=skipped_paths,
        on_result=on_result,
        pre_done=hits,
    )
    if store is not None:
        try:
            if new_rows:
                store.put_many(new_rows)
            if gone:
                store.forget(gone)
        finally:
            store.close()
    return TreeSummary(
        summary.done + hits,
        summary.skipped,
        summary.failed,
        summary.bytes_in + hit_bytes,
        summary.bytes_out,
        summary.skipped_paths,
        hashes,
        [_describe_forms(plain, key) for _rel, plain in sorted(differing.items())],
    )


def _describe_forms(plain: str, key: LockKey | None) -> Conflict:
    """The forms of ``plain`` on disk with their sizes and plain SHA-1 (a rare, slow path)."""
    copies = []
    for suffix in FORM_SUFFIXES.values():
        path = plain + suffix
        try:
            size = os.lstat(path).st_size
            sha1 = _hash_path(path, key)[0]
        except (OSError, ManoFilesError):
            continue
        copies.append(FormCopy(Path(path), size, sha1))
    return Conflict(Path(plain), tuple(copies))


def _shift(progress: Progress, total: int) -> Progress:
    def wrapped(event: ProgressEvent) -> None:
        progress(
            ProgressEvent(
                event.path,
                event.outcome,
                event.bytes_in,
                event.bytes_out,
                event.completed,
                total,
                event.reason,
            )
        )

    return wrapped


# --------------------------------------------------------------------------- verify


@dataclass(frozen=True)
class VerifyReport:
    """Local files compared with a manifest.

    Attributes:
        matched: Files whose hash equals the manifest's.
        mismatched: Plain relpaths whose content differs from the manifest.
        missing: In the manifest, absent locally.
        extra: Present locally, absent from the manifest.
        failed: Local files that could not be hashed.
        unchecked: Manifest entries without a usable hash (empty or null values).
        conflicts: Files stored in several forms whose contents differ (each is also in
            ``mismatched`` when the manifest lists it).
        fast: Hashes of files unchanged since they were last hashed came from the cache.
    """

    matched: int
    mismatched: list[str]
    missing: list[str]
    extra: list[str]
    failed: list[FileFailure]
    unchecked: list[str] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    fast: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing is mismatched, missing, failed or in conflicting forms."""
        return not (self.mismatched or self.missing or self.failed or self.conflicts)


def _normalise_key(key: str) -> str:
    try:
        dp = parse_data_path(key.strip().lstrip("/"))
    except InvalidDataPath:
        return key
    name = dp.plain_name
    if len(name) > 10 and name[10] == "T":  # the file-hashes endpoint's isoformat names
        name = f"{name[:10]} {name[11:]}"
    return f"{dp.folder}/{name}"


def _normalise_hash(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if len(text) == 40:
        try:
            return base64.b64encode(bytes.fromhex(text)).decode("ascii")
        except ValueError:
            pass
    try:
        if len(base64.b64decode(text, validate=True)) == 20:
            return text
    except (binascii.Error, ValueError):
        pass
    return None


def load_manifest(manifest: Mapping[str, Any] | str | os.PathLike[str]) -> dict[str, str | None]:
    """Read a manifest: a mapping or a JSON file of ``{relpath: sha1_b64 or hex}``.

    Keys are normalised to plain relpaths (``.zst``/``.lock`` removed, ``T`` separators of the
    server's file-hashes endpoint turned into spaces); values to base64, or None when unusable.
    """
    import json  # only verify reads manifests

    data: Any
    if isinstance(manifest, Mapping):
        data = manifest
    else:
        try:
            with open(manifest, encoding="utf-8") as fh:
                data = json.load(fh)
        except OSError as exc:
            raise ManifestError(f"cannot read manifest {os.fspath(manifest)!r}: {exc}") from exc
        except ValueError as exc:
            raise ManifestError(
                f"manifest {os.fspath(manifest)!r} is not valid JSON: {exc}"
            ) from exc
        if not isinstance(data, dict):
            raise ManifestError(
                f"manifest {os.fspath(manifest)!r} must be a JSON object of path -> sha1"
            )
    return {_normalise_key(str(k)): _normalise_hash(v) for k, v in data.items()}


def verify_tree(
    folder: str | os.PathLike[str],
    manifest: Mapping[str, Any] | str | os.PathLike[str],
    *,
    passphrase: str | LockKey | None = None,
    streams: Iterable[str] | None = None,
    cache: bool = True,
    fast: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Read every data file, hash it (via :func:`hash_tree`) and compare with a manifest.

    Every form of a file is read and must match (``X.csv`` and ``X.csv.zst`` both).

    Args:
        folder: The study folder (manifest keys are relative to it:
            ``<pid>/<stream>/[<survey>/]<name>``, any form suffix).
        manifest: ``{relpath: sha1}`` (base64 or hex) or the path of a JSON file holding one.
        passphrase, streams, cache, workers, progress: As for :func:`hash_tree`.
        fast: Trust the hash cache for files whose size and mtime did not change (a file
            edited in place with its mtime restored then goes unnoticed); default: read all.

    Returns:
        A :class:`VerifyReport`.
    """
    expected = load_manifest(manifest)
    if streams is not None:
        chosen = validate_streams(streams)
        expected = {
            k: v for k, v in expected.items() if k.split("/")[1:2] and k.split("/")[1] in chosen
        }
    summary = hash_tree(
        folder, passphrase=passphrase, streams=streams, cache=cache, trust_cache=fast,
        workers=workers, progress=progress,
    )  # fmt: skip
    differing = {
        _normalise_key(str(c.path.relative_to(Path(folder).absolute())))
        for c in summary.conflicts
        if c.path.is_relative_to(Path(folder).absolute())
    }
    failed_plain = set()
    for failure in summary.failed:
        try:
            failed_plain.add(parse_data_path(failure.path).plain_relpath)
        except InvalidDataPath:
            pass
    matched = 0
    mismatched: list[str] = []
    missing: list[str] = []
    unchecked: list[str] = []
    for rel, want in sorted(expected.items()):
        have = summary.hashes.get(rel)
        if have is None:
            if rel not in failed_plain:
                missing.append(rel)
        elif want is None:
            unchecked.append(rel)
        elif have == want and rel not in differing:
            matched += 1
        else:
            mismatched.append(rel)
    extra = sorted(set(summary.hashes) - set(expected))
    return VerifyReport(
        matched, mismatched, missing, extra, summary.failed, unchecked, summary.conflicts, fast
    )
