"""Beiwe data-file names: streams, forms and the ``<pid>/<stream>/[<survey>/]<name>`` layout."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import PurePath
from typing import Final, Literal

from mano_files._errors import InvalidDataPath, InvalidOption

__all__ = [
    "AUDIO_STREAMS",
    "FORMS",
    "FORM_SUFFIXES",
    "STREAMS",
    "SURVEY_STREAMS",
    "DataPath",
    "Form",
    "data_folder_stream",
    "data_name_form",
    "form_of",
    "parse_data_path",
    "plain_name",
    "validate_streams",
]

#: The 19 data streams the server accepts (docs/beiwe-server.md#streams), also the stream folder names.
STREAMS: Final[tuple[str, ...]] = (
    "accelerometer",
    "audio_recordings",
    "ambient_audio",
    "app_log",
    "bluetooth",
    "calls",
    "devicemotion",
    "gps",
    "gyro",
    "identifiers",
    "ios_log",
    "magnetometer",
    "power_state",
    "proximity",
    "reachability",
    "survey_answers",
    "survey_timings",
    "texts",
    "wifi",
)

#: Streams whose files sit in a ``<survey_id>/`` sub-folder.
SURVEY_STREAMS: Final[frozenset[str]] = frozenset(
    {"survey_answers", "survey_timings", "audio_recordings"}
)

#: Streams holding audio (WAV/MP4...) instead of CSV.
AUDIO_STREAMS: Final[frozenset[str]] = frozenset({"audio_recordings", "ambient_audio"})

Form = Literal["plain", "zst", "lock", "zst.lock"]

#: Every on-disk form, and the suffix each appends to the plain name.
FORMS: Final[tuple[Form, ...]] = ("plain", "zst", "lock", "zst.lock")
FORM_SUFFIXES: Final[dict[Form, str]] = {
    "plain": "",
    "zst": ".zst",
    "lock": ".lock",
    "zst.lock": ".zst.lock",
}

_STREAM_SET: Final[frozenset[str]] = frozenset(STREAMS)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_NAME_RE = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[ T](?P<h>\d{2})_(?P<mi>\d{2})_(?P<s>\d{2})"
    r"(?:\.(?P<frac>\d{1,6}))?(?P<tz>\+00_00)?(?:_(?P<dup>\d+))?"
    r"\.(?P<ext>[A-Za-z0-9]+)(?P<suffix>(?:\.zst)?(?:\.lock)?)$"
)


def form_of(name: str) -> Form:
    """Return the form a file name's suffixes announce.

    Args:
        name: A file name or path (only the end matters).

    Returns:
        ``"zst.lock"``, ``"lock"``, ``"zst"`` or ``"plain"``.
    """
    if name.endswith(".zst.lock"):
        return "zst.lock"
    if name.endswith(".lock"):
        return "lock"
    if name.endswith(".zst"):
        return "zst"
    return "plain"


def plain_name(name: str) -> str:
    """Strip the form suffixes (``.zst``, ``.lock``, ``.zst.lock``) from a name."""
    suffix = FORM_SUFFIXES[form_of(name)]
    return name[: len(name) - len(suffix)] if suffix else name


def validate_streams(streams: object) -> frozenset[str]:
    """Check a collection of stream names against :data:`STREAMS`.

    Args:
        streams: An iterable of stream names (a single string is refused).

    Returns:
        The names as a frozenset.

    Raises:
        InvalidOption: a name is not one of the 19 Beiwe streams.
    """
    if isinstance(streams, str | bytes):
        raise InvalidOption(f"streams must be a list of stream names, not the string {streams!r}")
    try:
        names = frozenset(str(s) for s in streams)  # type: ignore[attr-defined]
    except TypeError as exc:
        raise InvalidOption("streams must be a list of stream names") from exc
    unknown = sorted(names - _STREAM_SET)
    if unknown:
        raise InvalidOption(
            f"unknown data stream(s) {', '.join(map(repr, unknown))}; "
            f"valid streams: {', '.join(STREAMS)}"
        )
    return names


@dataclass(frozen=True, slots=True)
class DataPath:
    """One Beiwe data file's place in the layout, parsed from its relative path.

    Attributes:
        participant: The participant (patient) id folder.
        stream: One of :data:`STREAMS`.
        survey_id: The survey folder for survey/audio streams, else ``None``.
        name: The file name as on disk, including form suffixes.
        time_bin: The UTC time encoded in the name (aware datetime).
        extension: The data extension without dot (``csv``, ``wav``, ``mp4``...).
        form: ``plain``, ``zst``, ``lock`` or ``zst.lock``.
        duplicate: The server's ``_2``/``_3`` collision counter, if any.
    """

    participant: str
    stream: str
    survey_id: str | None
    name: str
    time_bin: datetime
    extension: str
    form: Form
    duplicate: int | None = None

    @property
    def folder(self) -> str:
        """The relative folder, ``<pid>/<stream>[/<survey_id>]`` (POSIX separators)."""
        if self.survey_id is None:
            return f"{self.participant}/{self.stream}"
        return f"{self.participant}/{self.stream}/{self.survey_id}"

    @property
    def relpath(self) -> str:
        """The relative path as on disk, e.g. ``ab12cd34/gps/2020-10-05 02_00_00+00_00.csv.zst``."""
        return f"{self.folder}/{self.name}"

    @property
    def plain_name(self) -> str:
        """The file name without form suffixes."""
        return plain_name(self.name)

    @property
    def plain_relpath(self) -> str:
        """The relative path without form suffixes: the key all forms of one file share."""
        return f"{self.folder}/{self.plain_name}"

    @property
    def is_audio(self) -> bool:
        """Whether the file holds audio rather than CSV text."""
        return self.stream in AUDIO_STREAMS

    def with_form(self, form: Form) -> DataPath:
        """Return the same file in another form (suffixes replaced)."""
        if form not in FORM_SUFFIXES:
            raise InvalidOption(f"unknown form {form!r}; use one of {', '.join(FORMS)}")
        return replace(self, name=self.plain_name + FORM_SUFFIXES[form], form=form)


def parse_data_path(path: str | os.PathLike[str]) -> DataPath:
    """Parse a Beiwe data file path.

    Accepts ``<pid>/<stream>/[<survey_id>/]<name>[.zst][.lock]`` where the name is a zip member
    time (``2020-10-05 02_00_00+00_00``, the older ``2018-06-16 11_00_00`` without zone, with
    optional fractional seconds, a ``_2`` collision counter, or the hashes endpoint's ``T``
    separator). Longer paths are accepted and only their last components are used, so absolute
    paths work too.

    Args:
        path: A relative or absolute path (``str`` or path-like; ``/`` or the OS separator).

    Returns:
        The parsed :class:`DataPath`.

    Raises:
        InvalidDataPath: the path is not a Beiwe data file path.
    """
    text = os.fspath(path)
    parts: list[str] | tuple[str, ...]
    if isinstance(path, PurePath):
        parts = path.parts
    else:
        parts = _parts(text)
    participant, stream, survey_id = _folder_of(text, parts)
    name = parts[-1]
    match = _match_name(text, name, stream)
    frac = match["frac"]
    dup = match["dup"]
    return DataPath(
        participant=participant,
        stream=stream,
        survey_id=survey_id,
        name=name,
        time_bin=datetime(
            int(match["y"]),
            int(match["mo"]),
            int(match["d"]),
            int(match["h"]),
            int(match["mi"]),
            int(match["s"]),
            int((frac or "0").ljust(6, "0")),
            tzinfo=UTC,
        ),
        extension=match["ext"],
        form=form_of(name),
        duplicate=int(dup) if dup else None,
    )


def _parts(text: str) -> list[str]:
    """The last five components of a path (the most a data path uses), "." and "" dropped."""
    return [p for p in text.replace(os.sep, "/").rsplit("/", 4) if p and p != "."]


def _folder_of(text: str, parts: Sequence[str]) -> tuple[str, str, str | None]:
    """``(participant, stream, survey_id)`` of a data path's folder components.

    Raises:
        InvalidDataPath: the folders are not ``<pid>/<stream>[/<survey_id>]``.
    """
    if len(parts) < 3:
        raise InvalidDataPath(
            f"{text!r} is not a Beiwe data file path: expected "
            "<participant>/<stream>/[<survey_id>/]<YYYY-MM-DD HH_MM_SS+00_00>.<ext>"
        )
    if len(parts) >= 4 and parts[-3] in SURVEY_STREAMS:
        participant, stream, survey_id = parts[-4], parts[-3], parts[-2]
        if not _ID_RE.match(survey_id):
            raise InvalidDataPath(f"{text!r}: {survey_id!r} is not a survey id folder")
    elif parts[-2] in _STREAM_SET:
        participant, stream, survey_id = parts[-3], parts[-2], None
    else:
        raise InvalidDataPath(
            f"{text!r} is not a Beiwe data file path: the folder above the file must be one of "
            "the 19 data streams (or a survey id inside a survey stream)"
        )
    if not _ID_RE.match(participant):
        raise InvalidDataPath(f"{text!r}: {participant!r} is not a participant id folder")
    return participant, stream, survey_id


def _match_name(text: str, name: str, stream: str) -> re.Match[str]:
    """Check a data file name for ``stream``; its parts (the time is known to be valid).

    Raises:
        InvalidDataPath: not a data file name of that stream, or not a real date and time.
    """
    match = _NAME_RE.match(name)
    if match is None:
        raise InvalidDataPath(
            f"{text!r}: file name {name!r} is not a Beiwe data file name "
            "(YYYY-MM-DD HH_MM_SS[+00_00].<ext>[.zst][.lock])"
        )
    ext = match["ext"].lower()
    if ext in ("zst", "lock"):
        raise InvalidDataPath(f"{text!r}: file name {name!r} has no data extension")
    if ext != "csv" and stream not in AUDIO_STREAMS:
        raise InvalidDataPath(f"{text!r}: {stream} files are .csv, not .{match['ext']}")
    # what datetime() accepts: a real day (checked once per date), hour < 24, minute and
    # second < 60; a fraction of at most 6 digits always fits
    if not (
        _real_day(name[:10])
        and int(match["h"]) < 24
        and int(match["mi"]) < 60
        and int(match["s"]) < 60
    ):
        raise InvalidDataPath(f"{text!r}: {name!r} does not hold a valid date and time")
    return match


@functools.lru_cache(maxsize=4096)
def _real_day(day: str) -> bool:
    """Whether ``YYYY-MM-DD`` (digits, as the name pattern guarantees) is a calendar day."""
    try:
        date(int(day[:4]), int(day[5:7]), int(day[8:10]))
    except ValueError:
        return False
    return True


_FORM_OF_SUFFIX: Final[dict[str, Form]] = {v: k for k, v in FORM_SUFFIXES.items()}


def data_name_form(name: str, stream: str) -> Form | None:
    """The form of ``name`` when it is a data file name of ``stream``, else None.

    The checks :func:`parse_data_path` makes of the last component, without building a
    :class:`DataPath`.
    """
    try:
        match = _match_name(name, name, stream)
    except InvalidDataPath:
        return None
    return _FORM_OF_SUFFIX[match["suffix"]]


def data_folder_stream(folder: str) -> str | None:
    """The stream of a folder that holds data files (``<pid>/<stream>[/<survey_id>]``), else
    None. ``folder`` is a path; only its last components count, as for
    :func:`parse_data_path` of a file in it."""
    text = folder.rstrip("/" + os.sep) + "/x"
    try:
        return _folder_of(text, _parts(text))[1]
    except InvalidDataPath:
        return None
