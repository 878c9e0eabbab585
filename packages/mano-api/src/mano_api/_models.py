"""Typed results of the non-download endpoints (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "DeviceStatusRecord",
    "HeartbeatRecord",
    "NotificationRecord",
    "ParticipantTable",
    "Study",
    "StudySettings",
    "Survey",
    "SurveyArchive",
    "UploadRecord",
    "VersionRecord",
    "parse_datetime",
]


def parse_datetime(value: object) -> datetime | None:
    """Parse the server's ISO datetimes (``...Z``, ``+00:00``, ``-05:00``); naive means UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _parse_date(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


@dataclass(frozen=True, order=True)
class Study:
    """A study the credentials can access: 24-character object id and name."""

    id: str
    name: str

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass(frozen=True)
class Survey:
    """One survey of a study's settings export (ids are removed by the server)."""

    name: str
    survey_type: str
    content: list[Any]
    settings: dict[str, Any]
    timings: list[list[int]]
    absolute_timings: list[list[int]]
    relative_timings: list[list[Any]]

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Survey:
        """Build from one element of ``surveys``."""
        return cls(
            name=str(obj.get("name") or ""),
            survey_type=str(obj.get("survey_type") or ""),
            content=list(obj.get("content") or []),
            settings=dict(obj.get("settings") or {}),
            timings=list(obj.get("timings") or []),
            absolute_timings=list(obj.get("absolute_timings") or []),
            relative_timings=list(obj.get("relative_timings") or []),
        )


@dataclass(frozen=True)
class StudySettings:
    """The study's settings export (``/get-study-settings/v1``).

    Attributes:
        device_settings: Every device setting, e.g. ``{"gps": True, "gps_on_duration_seconds": 60}``.
        surveys: The non-deleted surveys.
        interventions: Intervention names.
        study_time_zone: IANA name such as ``"America/New_York"``.
        raw: The whole JSON object as received.
    """

    device_settings: dict[str, Any]
    surveys: tuple[Survey, ...]
    interventions: tuple[str, ...]
    study_time_zone: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> StudySettings:
        """Build from the endpoint's JSON object."""
        return cls(
            device_settings=dict(obj.get("device_settings") or {}),
            surveys=tuple(
                Survey.from_json(s) for s in obj.get("surveys") or [] if isinstance(s, dict)
            ),
            interventions=tuple(str(i) for i in obj.get("interventions") or []),
            study_time_zone=obj.get("study_time_zone"),
            raw=obj,
        )


@dataclass(frozen=True)
class SurveyArchive:
    """One archived version of a survey (``/get-survey-history/v1``)."""

    archive_start: datetime | None
    survey_json: Any


@dataclass(frozen=True)
class UploadRecord:
    """One file upload received by the server."""

    file_name: str
    file_size: int
    timestamp: datetime | None

    @classmethod
    def from_json(cls, obj: Any) -> UploadRecord:
        """Build from a keyed object or the positional ``omit_keys`` form."""
        if isinstance(obj, list):
            size, stamp, name = (obj + [None, None, None])[:3]
            obj = {"file_size": size, "timestamp": stamp, "file_name": name}
        return cls(
            file_name=str(obj.get("file_name") or ""),
            file_size=int(obj.get("file_size") or 0),
            timestamp=parse_datetime(obj.get("timestamp")),
        )


@dataclass(frozen=True)
class HeartbeatRecord:
    """One app heartbeat."""

    timestamp: datetime | None

    @classmethod
    def from_json(cls, obj: Any) -> HeartbeatRecord:
        """Build from ``{"timestamp": ...}`` or a bare timestamp string."""
        stamp = obj.get("timestamp") if isinstance(obj, dict) else obj
        return cls(timestamp=parse_datetime(stamp))


@dataclass(frozen=True)
class VersionRecord:
    """One app/OS version change reported by the phone (strings may be ``"missing"``)."""

    app_version_code: str
    app_version_name: str
    os_version: str
    created_on: datetime | None

    @classmethod
    def from_json(cls, obj: Any) -> VersionRecord:
        """Build from a keyed object or the positional ``omit_keys`` form."""
        if isinstance(obj, list):
            keys = ("app_version_code", "app_version_name", "os_version", "created_on")
            obj = dict(zip(keys, obj, strict=False))
        return cls(
            app_version_code=str(obj.get("app_version_code")),
            app_version_name=str(obj.get("app_version_name")),
            os_version=str(obj.get("os_version")),
            created_on=parse_datetime(obj.get("created_on")),
        )


@dataclass(frozen=True)
class DeviceStatusRecord:
    """One extensive device-status report."""

    created_on: datetime | None
    endpoint: str
    app_os: str
    os_version: str
    app_version: str
    device_status: Any

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> DeviceStatusRecord:
        """Build from one element of the endpoint's list."""
        return cls(
            created_on=parse_datetime(obj.get("created_on")),
            endpoint=str(obj.get("endpoint") or ""),
            app_os=str(obj.get("app_os") or ""),
            os_version=str(obj.get("os_version") or ""),
            app_version=str(obj.get("app_version") or ""),
            device_status=obj.get("device_status"),
        )


@dataclass(frozen=True)
class NotificationRecord:
    """One survey push notification sent to a participant.

    ``confirmed_received`` is ``None`` when the device never confirmed (the server says false).
    """

    survey_id: str
    timestamp: datetime | None
    type: str | None
    scheduled_time: datetime | None
    confirmed_received: datetime | None
    uuid: str | None
    resend: bool
    push_rejected: bool

    @classmethod
    def from_json(cls, survey_id: str, obj: dict[str, Any]) -> NotificationRecord:
        """Build from one element of a survey's list."""
        kind = obj.get("type")
        uuid = obj.get("uuid")
        return cls(
            survey_id=survey_id,
            timestamp=parse_datetime(obj.get("timestamp")),
            type=str(kind) if kind is not None else None,
            scheduled_time=parse_datetime(obj.get("scheduled_time")),
            confirmed_received=parse_datetime(obj.get("confirmed_received")),
            uuid=str(uuid) if uuid is not None else None,
            resend=bool(obj.get("resend")),
            push_rejected=bool(obj.get("push_rejected")),
        )


@dataclass(frozen=True)
class ParticipantTable:
    """The study's participant table (``/get-participant-table-data/v1``, ``json_table``).

    Attributes:
        columns: Column names in the server's order.
        rows: One tuple of cells per non-deleted participant, sorted by patient id.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """Every value of one column."""
        index = self.columns.index(name)
        return [row[index] if index < len(row) else None for row in self.rows]


def parse_intervention_dates(obj: dict[str, Any]) -> dict[str, dict[str, dict[str, date | None]]]:
    """``{pid: {survey_id: {intervention: date | None}}}`` from the interventions JSON."""
    result: dict[str, dict[str, dict[str, date | None]]] = {}
    for pid, surveys in obj.items():
        if not isinstance(surveys, dict):
            continue
        result[pid] = {
            survey_id: {name: _parse_date(day) for name, day in (names or {}).items()}
            for survey_id, names in surveys.items()
            if isinstance(names, dict) or names is None
        }
    return result
