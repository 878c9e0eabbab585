"""Zip member names, on-disk paths and server storage paths (registry keys).

Three names exist for one Beiwe file (docs/beiwe-server.md#member-names to #registry):

* the zip member name ``<pid>/<stream>/[<survey>/]<YYYY-MM-DD HH_MM_SS+00_00>[_N].<ext>[.zst]``,
  which is also the on-disk path below the output folder (minus ``.zst``; ``_N`` only when
  two files collide);
* the storage path, which the server uses as registry key:
  ``CHUNKED_DATA/<study>/<pid>/<stream>/[<survey>/]<YYYY-MM-DDTHH:00:00>.csv`` for hourly
  chunks and ``<study>/<pid>/<uploadName>/[<survey>/]<unix_ms>.<ext>`` for unchunked uploads;
* the registry key we *send*: the storage path without ``CHUNKED_DATA/`` (rule 2, compared by
  hash) -- for unchunked files the raw path itself.

Everything here is pure string work, so it is easy to test and cheap to run on 50k names.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass

from mano_files import STREAMS, SURVEY_STREAMS
from mano_sync._errors import UnsafeMember

__all__ = [
    "ALL_STREAMS",
    "CHUNKED_PREFIX",
    "UNCHUNKED_STREAMS",
    "MemberName",
    "StorageSlot",
    "parse_member",
    "parse_storage_key",
    "registry_key_to_send",
    "storage_key_from_member",
]

CHUNKED_PREFIX = "CHUNKED_DATA/"

#: The 19 data streams the server accepts (docs/beiwe-server.md#streams): mano-files' list, shared by the tree tools.
ALL_STREAMS: tuple[str, ...] = STREAMS
UNCHUNKED_STREAMS = frozenset({"survey_answers", "audio_recordings", "ambient_audio"})
#: camelCase upload folder of the unchunked streams (storage paths) and back.
UPLOAD_NAMES = {
    "survey_answers": "surveyAnswers",
    "audio_recordings": "voiceRecording",
    "ambient_audio": "ambientAudio",
}
_STREAM_OF_UPLOAD = {v: k for k, v in UPLOAD_NAMES.items()}

UNKNOWN_SURVEY = "unknown_survey_id"
_SURVEY_RE = re.compile(r"^[A-Za-z0-9]{24}$")
_PID_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_FILE_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2}) (?P<h>\d{2})_(?P<m>\d{2})_(?P<s>\d{2})(?P<frac>\.\d{1,6})?"
    r"\+00_00(?:_(?P<n>[1-9]\d{0,5}))?\.(?P<ext>[A-Za-z0-9]{1,8})$"
)
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


@functools.lru_cache(maxsize=4096)
def _day_seconds(date: str) -> int | None:
    """Unix seconds of ``YYYY-MM-DD`` 00:00 UTC, or ``None`` for an impossible date."""
    try:
        day = _dt.datetime(int(date[:4]), int(date[5:7]), int(date[8:10]), tzinfo=_dt.UTC)
    except ValueError:
        return None
    return int(day.timestamp())


def _seconds(date: str, hour: str, minute: str, second: str) -> int | None:
    """Unix seconds of a UTC date and time given as digit strings (``None`` if impossible)."""
    day = _day_seconds(date)
    h, m, s = int(hour), int(minute), int(second)
    if day is None or h > 23 or m > 59 or s > 59:
        return None
    return day + h * 3600 + m * 60 + s


@dataclass(frozen=True, slots=True)
class MemberName:
    """A validated zip member name.

    Attributes:
        name: The member name without ``.zst`` (as a v1 zip would carry it).
        participant: Patient id (first segment).
        stream: Data stream folder.
        survey: Survey folder, or ``None`` for streams without one.
        stem: ``YYYY-MM-DD HH_MM_SS+00_00`` (with fractional seconds if any).
        collision: ``N`` of a ``_N`` suffix the server added, else 0.
        ext: File extension without the dot (``csv``, ``wav``, ``mp4``, ...).
        time_bin: Unix seconds of the file's time bin (float only for legacy fractions).
    """

    name: str
    participant: str
    stream: str
    survey: str | None
    stem: str
    collision: int
    ext: str
    time_bin: float

    @property
    def folder(self) -> str:
        """``<pid>/<stream>[/<survey>]``."""
        parts = [self.participant, self.stream]
        if self.survey is not None:
            parts.append(self.survey)
        return "/".join(parts)

    def with_collision(self, n: int) -> str:
        """The relative plain path this file gets with collision number ``n`` (0: none)."""
        suffix = f"_{n}" if n else ""
        return f"{self.folder}/{self.stem}{suffix}.{self.ext}"

    @property
    def base_name(self) -> str:
        """The relative plain path without any ``_N`` collision suffix."""
        return self.with_collision(0)

    @property
    def hour(self) -> int:
        """Start of the UTC hour holding the time bin (unix seconds)."""
        return int(self.time_bin) // 3600 * 3600


def parse_member(
    raw: str,
    *,
    participants: frozenset[str] | set[str] | None = None,
    streams: frozenset[str] | set[str] | None = None,
    zst: bool = False,
) -> MemberName:
    """Validate a zip member name and split it.

    Args:
        raw: The member name exactly as in the zip.
        participants: Patient ids that were requested; other first segments are refused.
        streams: Streams that were requested (default: all 19).
        zst: Whether the member must carry a ``.zst`` suffix (get-data v2).

    Returns:
        The parsed name (``.zst`` removed).

    Raises:
        UnsafeMember: For absolute paths, ``..``, backslashes, drive letters, NUL bytes, and
            anything not shaped like ``<pid>/<stream>/[<survey>/]<time>.<ext>`` for a
            requested participant and stream.
    """
    if not raw:
        raise UnsafeMember(raw, "empty name")
    if "\x00" in raw:
        raise UnsafeMember(raw, "NUL byte in name")
    if "\\" in raw:
        raise UnsafeMember(raw, "backslash in name")
    if raw.startswith("/"):
        raise UnsafeMember(raw, "absolute path")
    if _DRIVE_RE.match(raw):
        raise UnsafeMember(raw, "drive letter")
    parts = raw.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UnsafeMember(raw, "empty, '.' or '..' path segment")
    name = raw
    if zst:
        if not name.endswith(".zst"):
            raise UnsafeMember(raw, "get-data v2 member without .zst suffix")
        name = name[:-4]
        parts[-1] = parts[-1][:-4]
    if len(parts) not in (3, 4):
        raise UnsafeMember(raw, "not <participant>/<stream>/[<survey>/]<file>")
    pid, stream = parts[0], parts[1]
    if not _PID_RE.match(pid):
        raise UnsafeMember(raw, "malformed participant id")
    if participants is not None and pid not in participants:
        raise UnsafeMember(raw, f"participant {pid!r} was not requested")
    if stream not in ALL_STREAMS:
        raise UnsafeMember(raw, f"unknown data stream {stream!r}")
    if streams is not None and stream not in streams:
        raise UnsafeMember(raw, f"data stream {stream!r} was not requested")
    survey: str | None = None
    if stream in SURVEY_STREAMS:
        if len(parts) != 4:
            raise UnsafeMember(raw, f"{stream} file without a survey folder")
        survey = parts[2]
        if survey != UNKNOWN_SURVEY and not _SURVEY_RE.match(survey):
            raise UnsafeMember(raw, "malformed survey id folder")
    elif len(parts) != 3:
        raise UnsafeMember(raw, f"{stream} file inside a sub-folder")
    match = _FILE_RE.match(parts[-1])
    if match is None:
        raise UnsafeMember(raw, "file name is not '<YYYY-MM-DD HH_MM_SS+00_00>.<ext>'")
    when = _seconds(match["date"], match["h"], match["m"], match["s"])
    if when is None:
        raise UnsafeMember(raw, "impossible date in file name")
    frac = float(match["frac"]) if match["frac"] else 0.0
    stem = parts[-1][: match.start("n") - 1] if match["n"] else parts[-1][: match.start("ext") - 1]
    return MemberName(
        name=name,
        participant=pid,
        stream=stream,
        survey=survey,
        stem=stem,
        collision=int(match["n"]) if match["n"] else 0,
        ext=match["ext"],
        time_bin=float(when) + frac,
    )


@dataclass(frozen=True, slots=True)
class StorageSlot:
    """What a storage path says about its file (to match it with zip members).

    Attributes:
        participant: Patient id.
        stream: Data stream (snake_case).
        survey: Survey folder if the path has one.
        second: Whole unix seconds of the time bin.
        chunked: Whether the path is an hourly chunk (``CHUNKED_DATA/``).
    """

    participant: str
    stream: str
    survey: str | None
    second: int
    chunked: bool


_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$")


def _iso_seconds(text: str) -> int | None:
    match = _ISO_RE.match(text)
    if match is None:
        return None
    return _seconds(text[:10], match[4], match[5], match[6])


def parse_storage_key(key: str) -> StorageSlot | None:
    """Parse a registry key (storage path, with or without ``CHUNKED_DATA/``).

    Returns:
        The slot, or ``None`` when the key has an unknown shape.
    """
    chunked = key.startswith(CHUNKED_PREFIX)
    parts = key[len(CHUNKED_PREFIX) :].split("/") if chunked else key.split("/")
    if len(parts) < 4:
        return None
    pid, folder = parts[1], parts[2]
    stem, dot, ext = parts[-1].rpartition(".")
    if not dot:
        return None
    if folder in _STREAM_OF_UPLOAD and not chunked:
        stream = _STREAM_OF_UPLOAD[folder]
        if not stem.isdigit():
            return None
        second = int(stem[:10]) if len(stem) > 10 else int(stem)
        survey = parts[3] if len(parts) == 5 else None
        return StorageSlot(pid, stream, survey, second, False)
    if folder not in ALL_STREAMS:
        return None
    sec = _iso_seconds(stem)
    if sec is None:
        return None
    survey = parts[3] if len(parts) == 5 else None
    return StorageSlot(pid, folder, survey, sec, True)


def storage_key_from_member(member: MemberName, study_id: str) -> str | None:
    """Rebuild the full storage path of an hourly chunk from its member name (docs/beiwe-server.md#storage-paths).

    Returns:
        ``CHUNKED_DATA/<study>/<pid>/<stream>/[<survey>/]<YYYY-MM-DDTHH:00:00>.csv``, or ``None``
        for unchunked streams (their storage paths hold millisecond upload times the zip name
        drops) and for legacy ``unknown_survey_id`` timings.
    """
    if member.stream in UNCHUNKED_STREAMS or member.survey == UNKNOWN_SURVEY:
        return None
    when = _dt.datetime.fromtimestamp(int(member.time_bin), _dt.UTC)
    folder = member.folder.split("/", 1)[1]
    return f"{CHUNKED_PREFIX}{study_id}/{member.participant}/{folder}/{when:%Y-%m-%dT%H:%M:%S}.csv"


def registry_key_to_send(storage_key: str) -> str:
    """The key to send for a stored file: storage path minus ``CHUNKED_DATA/`` (rule 2).

    Sending the full ``CHUNKED_DATA/`` path would make the server skip the file by presence
    alone, even after it changed (docs/beiwe-server.md#registry, rule 1). Unchunked paths have no prefix and are
    sent as they are (rule 1: presence skips them, which is right -- uploads never change).
    """
    if storage_key.startswith(CHUNKED_PREFIX):
        return storage_key[len(CHUNKED_PREFIX) :]
    return storage_key


def slot_of_member(member: MemberName) -> tuple[str, str, int]:
    """Matching key shared by a member and its storage path: (pid, stream, second)."""
    return (member.participant, member.stream, int(member.time_bin))
