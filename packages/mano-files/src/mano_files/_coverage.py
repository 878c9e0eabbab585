"""How complete is a Beiwe study tree? Hours, files and bytes per participant, stream and day.

The scan reads folder listings only: file names and the sizes ``os.scandir`` hands back. It never
opens, decompresses or decrypts a data file, so plain, ``.zst``, ``.lock`` and ``.zst.lock`` files
(in any mix) all count the same way, and a tree of 100,000 files is scanned in well under a second
or two on ordinary disks.

Definitions (all times UTC, all hours clock hours ``HH:00``–``HH:59``):

* **Hour with data**: a clock hour in which a participant has at least one file of a stream. The
  hour comes from the file name (``YYYY-MM-DD HH_MM_SS+00_00.<ext>``). For hourly chunked streams
  that is the chunk's hour; for unchunked streams (``survey_answers``, ``audio_recordings``,
  ``ambient_audio``) it is the hour the file's own timestamp falls in. ``hours`` in a day row is
  the number of distinct such hours, 0–24.
* **Active period** of a participant: from the first to the last hour with data of *any* stream,
  both included (clipped to ``start``/``end`` when given). Its length is ``active_hours``.
* **Expected hours** of a stream: the participant's active period, for every stream that is
  *expected* for that participant; 0 for the others. A stream is expected unless

  - the study settings are known and switch it off (``device_settings`` booleans, docs/beiwe-server.md#study-settings; the
    survey streams are expected only when the study has surveys of the matching type), or
  - the settings are unknown and no participant of the tree has any file of the stream (the study
    evidently does not collect it), or
  - the participant's phone OS never produces it: ``devicemotion``, ``ios_log``, ``proximity``
    and ``reachability`` are iOS-only; ``app_log``, ``bluetooth``, ``calls``, ``texts`` and
    ``wifi`` are Android-only. The OS is taken from ``participant_os`` when given, else inferred
    from the streams present: any file of an iOS-only stream and none of an Android-only one means
    iOS, and vice versa. When the OS is unknown (neither, or both after a phone switch) an
    OS-specific stream is expected only if the participant has data for it.

  ``share`` = hours with data / expected hours (``None`` when not expected).
* **Missing day**: a UTC day between the participant's first and last day of data (both included)
  without a single file of any stream.
* **Longest gap**: the longest run of consecutive clock hours inside the active period without a
  file of any stream, in hours, with the first empty hour as ``longest_gap_start``. Per stream the
  same is computed over the participant's active period, so a stream that stopped early has a
  trailing gap that runs to the end of the active period.
* **Kind**: ``sensor`` streams (``accelerometer``, ``ambient_audio``, ``bluetooth``,
  ``devicemotion``, ``gps``, ``gyro``, ``magnetometer``, ``wifi``) are sampled on a duty cycle and
  should have data nearly every hour the phone is on; the others are ``event`` streams (calls,
  texts, surveys, logs, screen and network events) whose share is informative only.
* **Score** of a participant (used to sort worst first): the mean share of the participant's
  expected sensor streams, or the share of active hours with any data when no sensor stream is
  expected.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from mano_files._paths import STREAMS

logger = logging.getLogger(__name__)

#: Every stream the server knows (docs/beiwe-server.md#streams), in its documented order.
_ALL_STREAMS: tuple[str, ...] = STREAMS

SENSOR_STREAMS: frozenset[str] = frozenset(
    {
        "accelerometer",
        "ambient_audio",
        "bluetooth",
        "devicemotion",
        "gps",
        "gyro",
        "magnetometer",
        "wifi",
    }
)
IOS_ONLY_STREAMS: frozenset[str] = frozenset(
    {"devicemotion", "ios_log", "proximity", "reachability"}
)
ANDROID_ONLY_STREAMS: frozenset[str] = frozenset({"app_log", "bluetooth", "calls", "texts", "wifi"})

# device_settings boolean -> stream it switches (docs/beiwe-server.md#study-settings); the names happen to be equal.
_SETTING_STREAMS: tuple[str, ...] = (
    "accelerometer",
    "ambient_audio",
    "bluetooth",
    "calls",
    "devicemotion",
    "gps",
    "gyro",
    "magnetometer",
    "power_state",
    "proximity",
    "reachability",
    "texts",
    "wifi",
)

# <YYYY-MM-DD>[ T]<HH>_<MM>_<SS>[.ffffff]+00_00[_N].<ext>[.zst][.lock]
_NAME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[ T](\d{2})_\d{2}_\d{2}(?:\.\d+)?\+00_00(?:_\d+)?"
    r"\.[A-Za-z0-9]+(\.zst)?(\.lock)?"
)

_MAX_IGNORED = 50


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One participant × stream × UTC day: the tidy unit of the report.

    Attributes:
        participant: Beiwe patient id (the folder name).
        stream: Data stream (folder name).
        day: UTC day.
        hours: Distinct clock hours of that day with at least one file (0–24).
        files: Number of files.
        bytes: Bytes on disk (compressed/encrypted size when the file is).
        expected: Whether the stream is expected for this participant (see module docs).
    """

    participant: str
    stream: str
    day: date
    hours: int
    files: int
    bytes: int
    expected: bool


@dataclass(frozen=True, slots=True)
class StreamCoverage:
    """One stream of one participant over the whole report window.

    Attributes:
        stream: Data stream name.
        kind: ``"sensor"`` or ``"event"`` (see module docs).
        expected: Whether missing hours of this stream count as missing data.
        note: Why the stream is not expected (empty when it is).
        hours: Distinct clock hours with data.
        days: Distinct UTC days with data.
        files: Number of files.
        bytes: Bytes on disk.
        expected_hours: The participant's active hours when expected, else 0.
        share: ``hours / expected_hours``, or ``None`` when not expected.
        longest_gap_hours: Longest run of hours in the active period without this stream
            (``None`` when not expected).
    """

    stream: str
    kind: str
    expected: bool
    note: str
    hours: int
    days: int
    files: int
    bytes: int
    expected_hours: int
    share: float | None
    longest_gap_hours: int | None


@dataclass(frozen=True, slots=True)
class ParticipantCoverage:
    """Everything the report knows about one participant.

    Attributes:
        participant: Beiwe patient id.
        os: ``"ios"``, ``"android"`` or ``None`` when unknown.
        first_day: First UTC day with data, ``None`` when the participant has none.
        last_day: Last UTC day with data.
        first_hour: Start of the first hour with data (aware UTC).
        last_hour: Start of the last hour with data (aware UTC).
        active_hours: Hours from ``first_hour`` to ``last_hour``, both included.
        hours_with_data: Distinct hours with a file of any stream.
        days_with_data: Distinct days with a file of any stream.
        missing_days: Days from ``first_day`` to ``last_day`` without any file.
        longest_gap_hours: Longest run of empty hours inside the active period.
        longest_gap_start: First hour of that run (``None`` when there is no gap).
        files: Number of files.
        bytes: Bytes on disk.
        completeness: ``hours_with_data / active_hours`` (``None`` without data).
        score: Mean share of expected sensor streams, else ``completeness`` (sort key).
        streams: Per-stream coverage, in the server's stream order (streams with data or expected).
    """

    participant: str
    os: str | None
    first_day: date | None
    last_day: date | None
    first_hour: datetime | None
    last_hour: datetime | None
    active_hours: int
    hours_with_data: int
    days_with_data: int
    missing_days: tuple[date, ...]
    longest_gap_hours: int
    longest_gap_start: datetime | None
    files: int
    bytes: int
    completeness: float | None
    score: float | None
    streams: tuple[StreamCoverage, ...]

    def stream(self, name: str) -> StreamCoverage | None:
        """The coverage of one stream, or ``None`` when it is neither present nor expected."""
        for item in self.streams:
            if item.stream == name:
                return item
        return None


@dataclass(frozen=True)
class CoverageReport:
    """The result of :func:`coverage`.

    Attributes:
        root: The scanned study folder.
        start: First UTC day of the window, or ``None``.
        end: Last UTC day of the window, or ``None``.
        settings_known: Whether study settings decided which streams are expected.
        participants: One entry per participant folder, sorted by id.
        rows: Tidy rows: for every participant, every listed stream and every day of the
            participant's first..last day, sorted by participant, stream, day (zero rows
            included, so a missing day is an explicit 0).
        files: Total data files counted.
        bytes: Total bytes on disk of those files.
        forms: Files per storage form: ``plain``, ``zst``, ``lock``, ``zst.lock``.
        ignored: Paths (relative to root) that are not data files, at most 50 listed.
        ignored_count: How many such paths there were in all.
        duplicates: Data files stored in two forms in the same folder (e.g. ``X.csv`` and
            ``X.csv.zst``), at most 50 listed: Forest reads both and counts the data twice.
        duplicate_count: How many such files there were in all.
    """

    root: Path
    start: date | None
    end: date | None
    settings_known: bool
    participants: tuple[ParticipantCoverage, ...]
    rows: tuple[CoverageRow, ...]
    files: int
    bytes: int
    forms: Mapping[str, int] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    ignored_count: int = 0
    duplicates: tuple[str, ...] = ()
    duplicate_count: int = 0

    @property
    def streams(self) -> tuple[str, ...]:
        """Every stream listed for any participant, in the server's stream order."""
        seen = {s.stream for p in self.participants for s in p.streams}
        return tuple(s for s in _stream_order(seen))

    @property
    def first_day(self) -> date | None:
        """First day with data of any participant."""
        days = [p.first_day for p in self.participants if p.first_day is not None]
        return min(days) if days else None

    @property
    def last_day(self) -> date | None:
        """Last day with data of any participant."""
        days = [p.last_day for p in self.participants if p.last_day is not None]
        return max(days) if days else None

    def worst_first(self) -> tuple[ParticipantCoverage, ...]:
        """Participants sorted worst first: lowest score, then most missing days, longest gap."""

        def key(p: ParticipantCoverage) -> tuple[float, int, int, str]:
            score = -1.0 if p.score is None else p.score
            return (score, -len(p.missing_days), -p.longest_gap_hours, p.participant)

        return tuple(sorted(self.participants, key=key))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: summary per participant and stream, plus the tidy rows."""
        return {
            "root": str(self.root),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "settings_known": self.settings_known,
            "files": self.files,
            "bytes": self.bytes,
            "forms": dict(self.forms),
            "ignored": list(self.ignored),
            "ignored_count": self.ignored_count,
            "duplicates": list(self.duplicates),
            "duplicate_count": self.duplicate_count,
            "participants": [_participant_dict(p) for p in self.participants],
            "rows": [
                {
                    "participant": r.participant,
                    "stream": r.stream,
                    "date": r.day.isoformat(),
                    "hours": r.hours,
                    "files": r.files,
                    "bytes": r.bytes,
                    "expected": r.expected,
                }
                for r in self.rows
            ],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """The report as JSON text (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(), indent=indent)

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the tidy rows as CSV (atomically) and return the path.

        Columns: ``participant,stream,date,hours,files,bytes,expected`` — one row per
        participant × stream × day, zero rows included.
        """
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["participant", "stream", "date", "hours", "files", "bytes", "expected"])
        for r in self.rows:
            writer.writerow(
                [
                    r.participant,
                    r.stream,
                    r.day.isoformat(),
                    r.hours,
                    r.files,
                    r.bytes,
                    int(r.expected),
                ]
            )
        return write_text_atomic(Path(path), buffer.getvalue())

    def to_html(
        self, path: str | os.PathLike[str], *, title: str | None = None, surveys: Any = None
    ) -> Path:
        """Write one self-contained HTML file (heatmaps and summary table) and return its path.

        ``surveys``: a :class:`~mano_files.SurveyReport` to add as a section.
        """
        from mano_files._report_html import render_html

        return write_text_atomic(Path(path), render_html(self, title=title, surveys=surveys))


def coverage(
    tree: str | os.PathLike[str],
    *,
    settings: Any = None,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
    participants: Iterable[str] | None = None,
    participant_os: Mapping[str, str] | None = None,
) -> CoverageReport:
    """Scan a study tree and report hours, files and bytes per participant, stream and day.

    Args:
        tree: The study folder (``<tree>/<pid>/<stream>/[<survey>/]<time>.<ext>[.zst][.lock]``).
        settings: Study settings, when known: the get-study-settings JSON (a mapping with
            ``device_settings`` and ``surveys``), just its ``device_settings`` mapping, or any
            object with a ``device_settings`` attribute (and optionally ``surveys``).
        start: First UTC day (or hour, for a datetime) to count; files before it are ignored.
        end: Last UTC day (or hour) to count, included.
        participants: Only these participant folders (default: all).
        participant_os: Known phone OS per participant (``"ios"``/``"android"``), overriding
            the inference from streams.

    Returns:
        The :class:`CoverageReport`.

    Raises:
        NotADirectoryError: ``tree`` is not a folder.
    """
    root = Path(tree)
    if not root.is_dir():
        raise NotADirectoryError(f"{root} is not a folder; pass the study folder you synced into")
    lo = _hour_bound(start, first=True)
    hi = _hour_bound(end, first=False)
    wanted = None if participants is None else set(participants)
    enabled = _enabled_streams(settings)

    scan = _Scan(root, lo, hi)
    with os.scandir(root) as entries:
        top = sorted((e for e in entries if not e.name.startswith(".")), key=lambda e: e.name)
    pids: list[str] = []
    for entry in top:
        if not entry.is_dir():
            if not entry.name.endswith(_SIDE_INPUT_SUFFIXES):  # Forest's JSON belong there
                scan.ignore(entry.name)
            continue
        if wanted is not None and entry.name not in wanted:
            continue
        pids.append(entry.name)
        scan.participant(entry.name, entry.path)

    seen_streams = {stream for (_, stream) in scan.stream_hours}
    results = [
        _summarise(pid, scan, enabled, seen_streams, (participant_os or {}).get(pid))
        for pid in pids
    ]
    rows: list[CoverageRow] = []
    summaries: list[ParticipantCoverage] = []
    for summary, pid_rows in results:
        summaries.append(summary)
        rows.extend(pid_rows)
    return CoverageReport(
        root=root,
        start=None if lo is None else _day_of(lo),
        end=None if hi is None else _day_of(hi),
        settings_known=enabled is not None,
        participants=tuple(summaries),
        rows=tuple(rows),
        files=scan.files,
        bytes=scan.bytes,
        forms=dict(scan.forms),
        ignored=tuple(scan.ignored),
        ignored_count=scan.ignored_count,
        duplicates=tuple(scan.duplicates),
        duplicate_count=scan.duplicate_count,
    )


class _Scan:
    """Accumulates per (participant, stream, day) hour bitmasks, file counts and bytes."""

    def __init__(self, root: Path, lo: int | None, hi: int | None) -> None:
        self.root = root
        self.lo = lo
        self.hi = hi
        # (pid, stream, day ordinal) -> [hour bitmask, files, bytes]
        self.cells: dict[tuple[str, str, int], list[int]] = {}
        self.stream_hours: dict[tuple[str, str], set[int]] = {}
        self.any_hours: dict[str, set[int]] = {}
        self.files = 0
        self.bytes = 0
        self.forms: dict[str, int] = {"plain": 0, "zst": 0, "lock": 0, "zst.lock": 0}
        self.ignored: list[str] = []
        self.ignored_count = 0
        self.duplicates: list[str] = []
        self.duplicate_count = 0
        self._days: dict[str, int] = {}

    def ignore(self, relative: str) -> None:
        self.ignored_count += 1
        if len(self.ignored) < _MAX_IGNORED:
            self.ignored.append(relative)

    def participant(self, pid: str, path: str) -> None:
        self.any_hours.setdefault(pid, set())
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                if not entry.is_dir() or name not in _STREAM_SET:
                    self.ignore(f"{pid}/{name}")
                    continue
                self._folder(pid, name, entry.path, f"{pid}/{name}", nested=True)

    def _folder(self, pid: str, stream: str, path: str, relative: str, *, nested: bool) -> None:
        cells = self.cells
        hours_any = self.any_hours[pid]
        hours_stream = self.stream_hours.setdefault((pid, stream), set())
        days = self._days
        lo, hi = self.lo, self.hi
        match = _NAME.fullmatch
        forms_seen: dict[str, str] = {}  # name without .zst/.lock -> the first form's name
        try:
            iterator = os.scandir(path)
        except OSError as exc:
            logger.warning("cannot list %s: %s", path, exc)
            self.ignore(relative)
            return
        with iterator as entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                if entry.is_dir():
                    if nested:  # survey sub-folder
                        self._folder(pid, stream, entry.path, f"{relative}/{name}", nested=False)
                    else:
                        self.ignore(f"{relative}/{name}")
                    continue
                m = match(name)
                if m is None:
                    self.ignore(f"{relative}/{name}")
                    continue
                day_text = m.group(1)
                day = days.get(day_text)
                if day is None:
                    try:
                        day = date.fromisoformat(day_text).toordinal()
                    except ValueError:
                        self.ignore(f"{relative}/{name}")
                        continue
                    days[day_text] = day
                hour_of_day = int(m.group(2))
                if hour_of_day > 23:
                    self.ignore(f"{relative}/{name}")
                    continue
                hour = day * 24 + hour_of_day
                if (lo is not None and hour < lo) or (hi is not None and hour > hi):
                    continue
                try:
                    size = entry.stat().st_size
                except OSError as exc:  # vanished or unreadable between listing and stat
                    logger.warning("cannot stat %s: %s", entry.path, exc)
                    self.ignore(f"{relative}/{name}")
                    continue
                key = (pid, stream, day)
                cell = cells.get(key)
                if cell is None:
                    cells[key] = [1 << hour_of_day, 1, size]
                else:
                    cell[0] |= 1 << hour_of_day
                    cell[1] += 1
                    cell[2] += size
                hours_any.add(hour)
                hours_stream.add(hour)
                self.files += 1
                self.bytes += size
                zst, lock = m.group(3), m.group(4)
                form = ("zst.lock" if zst else "lock") if lock else ("zst" if zst else "plain")
                self.forms[form] += 1
                logical = name.removesuffix(".lock").removesuffix(".zst")
                other = forms_seen.setdefault(logical, name)
                if other != name:
                    self.duplicate_count += 1
                    if len(self.duplicates) < _MAX_IGNORED:
                        first, second = sorted((other, name))
                        self.duplicates.append(f"{relative}/{first} + {second}")


_STREAM_SET = frozenset(_ALL_STREAMS)
#: Files `mano sync` saves at the study root for Forest (settings, interventions, history).
_SIDE_INPUT_SUFFIXES = (
    "_surveys_and_settings.json",
    "_intervention_data.json",
    "_surveys_history_data.json",
)
_STREAM_INDEX = {s: i for i, s in enumerate(_ALL_STREAMS)}


def _stream_order(streams: Iterable[str]) -> list[str]:
    return sorted(streams, key=lambda s: (_STREAM_INDEX.get(s, len(_STREAM_INDEX)), s))


def _summarise(
    pid: str,
    scan: _Scan,
    enabled: frozenset[str] | None,
    seen_streams: set[str],
    given_os: str | None,
) -> tuple[ParticipantCoverage, list[CoverageRow]]:
    hours = scan.any_hours.get(pid, set())
    present = {s for (p, s), h in scan.stream_hours.items() if p == pid and h}
    os_name = _normalise_os(given_os) if given_os else _infer_os(present)

    expected: dict[str, str] = {}  # stream -> note ("" = expected)
    candidates = set(_ALL_STREAMS) if enabled is not None else set(seen_streams)
    for stream in candidates | present:
        expected[stream] = _why_not_expected(stream, enabled, seen_streams, present, os_name)
    listed = [s for s in _stream_order(expected) if s in present or not expected[s]]

    if not hours:
        streams = tuple(
            StreamCoverage(s, _kind(s), not expected[s], expected[s], 0, 0, 0, 0, 0, None, None)
            for s in listed
        )
        empty = ParticipantCoverage(
            pid, os_name, None, None, None, None, 0, 0, 0, (), 0, None, 0, 0, None, None, streams
        )
        return empty, []

    first, last = min(hours), max(hours)
    active = last - first + 1
    first_day, last_day = first // 24, last // 24
    day_set = {h // 24 for h in hours}
    missing = tuple(date.fromordinal(d) for d in range(first_day, last_day + 1) if d not in day_set)
    gap, gap_start = _longest_gap(hours, first, last)

    stream_items: list[StreamCoverage] = []
    rows: list[CoverageRow] = []
    total_files = total_bytes = 0
    sensor_shares: list[float] = []
    for stream in listed:
        is_expected = not expected[stream]
        s_hours = scan.stream_hours.get((pid, stream), set())
        s_files = s_bytes = s_days = 0
        for day in range(first_day, last_day + 1):
            cell = scan.cells.get((pid, stream, day))
            if cell is None:
                rows.append(CoverageRow(pid, stream, date.fromordinal(day), 0, 0, 0, is_expected))
                continue
            mask, n, size = cell
            s_files += n
            s_bytes += size
            s_days += 1
            rows.append(
                CoverageRow(
                    pid, stream, date.fromordinal(day), mask.bit_count(), n, size, is_expected
                )
            )
        total_files += s_files
        total_bytes += s_bytes
        share: float | None = None
        s_gap: int | None = None
        if is_expected:
            share = len(s_hours) / active
            s_gap = _longest_gap(s_hours, first, last)[0]
            if stream in SENSOR_STREAMS:
                sensor_shares.append(share)
        stream_items.append(
            StreamCoverage(
                stream=stream,
                kind=_kind(stream),
                expected=is_expected,
                note=expected[stream],
                hours=len(s_hours),
                days=s_days,
                files=s_files,
                bytes=s_bytes,
                expected_hours=active if is_expected else 0,
                share=share,
                longest_gap_hours=s_gap,
            )
        )
    completeness = len(hours) / active
    score = sum(sensor_shares) / len(sensor_shares) if sensor_shares else completeness
    summary = ParticipantCoverage(
        participant=pid,
        os=os_name,
        first_day=date.fromordinal(first_day),
        last_day=date.fromordinal(last_day),
        first_hour=_hour_datetime(first),
        last_hour=_hour_datetime(last),
        active_hours=active,
        hours_with_data=len(hours),
        days_with_data=len(day_set),
        missing_days=missing,
        longest_gap_hours=gap,
        longest_gap_start=None if gap_start is None else _hour_datetime(gap_start),
        files=total_files,
        bytes=total_bytes,
        completeness=completeness,
        score=score,
        streams=tuple(stream_items),
    )
    return summary, rows


def _why_not_expected(
    stream: str,
    enabled: frozenset[str] | None,
    seen_streams: set[str],
    present: set[str],
    os_name: str | None,
) -> str:
    """Empty string when the stream is expected, else a short reason."""
    if enabled is not None:
        if stream not in enabled:
            return "switched off in the study settings"
    elif stream not in seen_streams:
        return "no participant has this stream"
    ios_only, android_only = stream in IOS_ONLY_STREAMS, stream in ANDROID_ONLY_STREAMS
    if os_name == "android" and ios_only:
        return "iOS-only stream; participant uses Android"
    if os_name == "ios" and android_only:
        return "Android-only stream; participant uses iOS"
    if os_name is None and (ios_only or android_only) and stream not in present:
        return "OS-specific stream; participant's OS unknown"
    return ""


def _infer_os(present: set[str]) -> str | None:
    ios = bool(present & IOS_ONLY_STREAMS)
    android = bool(present & ANDROID_ONLY_STREAMS)
    if ios and not android:
        return "ios"
    if android and not ios:
        return "android"
    return None


def _normalise_os(value: str) -> str | None:
    text = value.strip().lower()
    if text in {"ios", "iphone", "iphone os"}:
        return "ios"
    if text == "android":
        return "android"
    return None


def _kind(stream: str) -> str:
    return "sensor" if stream in SENSOR_STREAMS else "event"


def _enabled_streams(settings: Any) -> frozenset[str] | None:
    """Streams the study settings switch on, or ``None`` when settings are not given."""
    if settings is None:
        return None
    if isinstance(settings, Mapping):
        device = settings.get("device_settings", settings)
        surveys = settings.get("surveys")
    else:
        device = getattr(settings, "device_settings", None)
        surveys = getattr(settings, "surveys", None)
    if not isinstance(device, Mapping):
        raise TypeError(
            "settings must be the study-settings JSON, its device_settings mapping, "
            "or an object with a device_settings attribute"
        )
    on = {s for s in _SETTING_STREAMS if bool(device.get(s, False))}
    on |= {"identifiers", "app_log", "ios_log"}  # always collected
    if surveys is None:
        on |= {"survey_answers", "survey_timings", "audio_recordings"}
    else:
        types = {
            str(s.get("survey_type", ""))
            if isinstance(s, Mapping)
            else str(getattr(s, "survey_type", ""))
            for s in surveys
        }
        if types:
            on.add("survey_timings")
        if "tracking_survey" in types:
            on.add("survey_answers")
        if "audio_survey" in types:
            on.add("audio_recordings")
    return frozenset(on)


def _longest_gap(hours: set[int], first: int, last: int) -> tuple[int, int | None]:
    """Longest run of hours in ``first..last`` not in ``hours``, and where it starts."""
    best, best_start = 0, None
    previous = first - 1
    for hour in sorted(h for h in hours if first <= h <= last):
        run = hour - previous - 1
        if run > best:
            best, best_start = run, previous + 1
        previous = hour
    run = last - previous
    if run > best:
        best, best_start = run, previous + 1
    return best, best_start


def _hour_bound(value: date | datetime | None, *, first: bool) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.date().toordinal() * 24 + value.hour
    return value.toordinal() * 24 + (0 if first else 23)


def _hour_datetime(hour: int) -> datetime:
    day = date.fromordinal(hour // 24)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour % 24)


def _day_of(hour: int) -> date:
    return date.fromordinal(hour // 24)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _participant_dict(p: ParticipantCoverage) -> dict[str, Any]:
    return {
        "participant": p.participant,
        "os": p.os,
        "first_day": _iso(p.first_day),
        "last_day": _iso(p.last_day),
        "first_hour": _iso(p.first_hour),
        "last_hour": _iso(p.last_hour),
        "active_hours": p.active_hours,
        "hours_with_data": p.hours_with_data,
        "days_with_data": p.days_with_data,
        "missing_days": [d.isoformat() for d in p.missing_days],
        "longest_gap_hours": p.longest_gap_hours,
        "longest_gap_start": _iso(p.longest_gap_start),
        "files": p.files,
        "bytes": p.bytes,
        "completeness": p.completeness,
        "score": p.score,
        "streams": [
            {
                "stream": s.stream,
                "kind": s.kind,
                "expected": s.expected,
                "note": s.note,
                "hours": s.hours,
                "days": s.days,
                "files": s.files,
                "bytes": s.bytes,
                "expected_hours": s.expected_hours,
                "share": s.share,
                "longest_gap_hours": s.longest_gap_hours,
            }
            for s in p.streams
        ],
    }


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` via a hidden temp file in the same folder.

    Permissions follow the umask (a report is for the lab's group too, unlike mkstemp's 0600).
    """
    from mano_files._atomic import write_bytes_atomic

    write_bytes_atomic(path, text.encode("utf-8"))
    return path
