"""JSON endpoints (docs/beiwe-server.md#json-endpoints), answered from the synthetic study.

Byte totals (data quantities, summary statistics) are summed from the actual rendered files,
so they agree with what get-data returns.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, TypeVar, cast

from mano_testing._synth import (
    ALL_DATA_STREAMS,
    UPLOAD_NAMES,
    FileSpec,
    Participant,
    Study,
    hash_key_name,
    survey_schedule,
)

if TYPE_CHECKING:
    from mano_testing._server import ServerState

_T = TypeVar("_T")

__all__ = ["PARTICIPANT_SCOPED", "STUDY_SCOPED", "Result", "participant_endpoint", "study_endpoint"]

JSON = "application/json"
HTML = "text/html; charset=utf-8"
DJANGO_500 = (
    b'<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n'
    b"<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
)

STUDY_SCOPED = frozenset(
    {
        "get-study-settings",
        "get-participant-data-quantities",
        "get-interventions",
        "get-survey-history",
        "get-participant-table-data",
        "get-summary-statistics",
    }
)
PARTICIPANT_SCOPED = frozenset(
    {
        "get-participant-file-hashes",
        "get-participant-upload-history",
        "get-participant-heartbeat-history",
        "get-participant-version-history",
        "get-participant-device-status-history",
        "get-participant-notification-history",
    }
)

JASMINE = [
    "jasmine_distance_diameter",
    "jasmine_distance_from_home",
    "jasmine_distance_traveled",
    "jasmine_flight_distance_average",
    "jasmine_flight_distance_stddev",
    "jasmine_flight_duration_average",
    "jasmine_flight_duration_stddev",
    "jasmine_home_duration",
    "jasmine_gyration_radius",
    "jasmine_significant_location_count",
    "jasmine_significant_location_entropy",
    "jasmine_pause_time",
    "jasmine_obs_duration",
    "jasmine_obs_day",
    "jasmine_obs_night",
    "jasmine_total_flight_time",
    "jasmine_av_pause_duration",
    "jasmine_sd_pause_duration",
]
WILLOW = [
    "willow_incoming_text_count",
    "willow_incoming_text_degree",
    "willow_incoming_text_length",
    "willow_outgoing_text_count",
    "willow_outgoing_text_degree",
    "willow_outgoing_text_length",
    "willow_incoming_text_reciprocity",
    "willow_outgoing_text_reciprocity",
    "willow_outgoing_MMS_count",
    "willow_incoming_MMS_count",
    "willow_incoming_call_count",
    "willow_incoming_call_degree",
    "willow_incoming_call_duration",
    "willow_outgoing_call_count",
    "willow_outgoing_call_degree",
    "willow_outgoing_call_duration",
    "willow_missed_call_count",
    "willow_missed_callers",
    "willow_uniq_individual_call_or_text_count",
]
SYCAMORE = [
    "sycamore_total_surveys",
    "sycamore_total_completed_surveys",
    "sycamore_total_opened_surveys",
    "sycamore_average_time_to_submit",
    "sycamore_average_time_to_open",
    "sycamore_average_duration",
]
OAK = ["oak_walking_time", "oak_steps", "oak_cadence"]
BYTES_FIELDS = [f"beiwe_{s}_bytes" for s in sorted(ALL_DATA_STREAMS)]
SUMMARY_FIELDS = (
    ["date", "participant_id", "study_id", "timezone"]
    + BYTES_FIELDS
    + JASMINE
    + WILLOW
    + SYCAMORE
    + OAK
)


@dataclass(frozen=True, slots=True)
class Result:
    """What a view returns."""

    status: int
    body: bytes
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    streamed: bool = False
    tiny_chunks: bool = False  # a string response iterated character by character


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def _zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # pragma: no cover - no tz database on this machine
        from datetime import timezone

        return timezone(timedelta(hours=-5), "EST")


def _z(when: datetime) -> str:
    """orjson with OMIT_MICROSECONDS | UTC_Z."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _files_of(state: ServerState, pid: str) -> list[FileSpec]:
    world = state.world
    out: list[FileSpec] = []
    for stream in ALL_DATA_STREAMS:
        slot = world.index.get((pid, stream))
        if slot is not None:
            out.extend(s for s in slot.specs if s.storage_path not in state.missing)
    return out


def _sizes(state: ServerState, specs: list[FileSpec]) -> list[tuple[FileSpec, int]]:
    store = state.store
    with state.lock:
        gens = [state.generation(s.storage_path) for s in specs]
    return [(s, store.meta(s, g).plain_size) for s, g in zip(specs, gens, strict=True)]


def _cached(state: ServerState, key: tuple[str, str], compute: Callable[[], _T]) -> _T:
    """``compute()``, kept until stored content changes (late data, vanished objects).

    A real server answers data quantities, summary statistics and the participant table from
    tables its tasks fill; summing every file per request made these the emulator's slowest
    calls.
    """
    with state.lock:
        version = state.content_version
        hit = state.cache.get(key)
    if hit is not None and hit[0] == version:
        return cast(_T, hit[1])
    value = compute()
    with state.lock:
        state.cache[key] = (version, value)
    return value


def _sized_files(state: ServerState, pid: str) -> list[tuple[FileSpec, int]]:
    """A participant's files with their plain sizes, as the statistics count them."""

    def counted() -> list[FileSpec]:
        return [s for s in _files_of(state, pid) if s.storage_path not in state.unstated]

    return _cached(state, ("sized", pid), lambda: _sizes(state, counted()))


# -- study-scoped -------------------------------------------------------------------------------


def study_endpoint(
    state: ServerState,
    name: str,
    study: Study,
    form: Mapping[str, list[str]],
    query: Mapping[str, list[str]],
) -> Result:
    """Answer a study-scoped endpoint (docs/beiwe-server.md#json-endpoints)."""
    if name == "get-study-settings":
        return _study_settings(study)
    if name == "get-participant-data-quantities":
        return _quantities(state, study)
    if name == "get-interventions":
        return Result(200, _dumps(_interventions(study)))
    if name == "get-survey-history":
        return _survey_history(study)
    if name == "get-participant-table-data":
        return _participant_table(state, study, form)
    return _summary_statistics(state, study, query)


def _study_settings(study: Study) -> Result:
    surveys = []
    for index, survey in enumerate(study.surveys):
        if survey.deleted:
            continue
        entry: dict[str, object] = {
            "content": list(survey.questions),
            "survey_type": survey.survey_type,
            "settings": {"trigger_on_first_download": index == 0, "randomize": False},
            "name": survey.name,
        }
        entry.update(survey_schedule(study, index))
        surveys.append(entry)
    body = _dumps(
        {
            "surveys": surveys,
            "device_settings": study.device_settings,
            "interventions": list(study.interventions),
            "study_time_zone": study.timezone,
        }
    )
    filename = study.name.replace(" ", "_") + "_surveys_and_settings.json"
    return Result(200, body, JSON, {"Content-Disposition": f'attachment; filename="{filename}"'})


def _quantities(state: ServerState, study: Study) -> Result:
    out: dict[str, dict[str, int]] = {}
    for participant in study.participants:
        totals = {f"{s}_bytes": 0 for s in sorted(ALL_DATA_STREAMS)}
        for spec, size in _sized_files(state, participant.patient_id):
            totals[f"{spec.stream}_bytes"] += size
        out[participant.patient_id] = totals
    return Result(200, _dumps(out))


def _interventions(study: Study) -> dict[str, dict[str, dict[str, str | None]]]:
    relative = [s for i, s in enumerate(study.surveys) if i == 1 and not s.deleted]
    if not relative:
        return {}
    out: dict[str, dict[str, dict[str, str | None]]] = {}
    for participant in study.participants:
        if participant.registered is None or participant.deleted:
            continue
        out[participant.patient_id] = {
            relative[0].object_id: {
                study.interventions[0]: participant.registered.date().isoformat()
            }
        }
    return out


def _survey_history(study: Study) -> Result:
    out: dict[str, list[dict[str, object]]] = {}
    base = datetime(2023, 12, 1, 15, 4, 5, tzinfo=UTC)
    for index, survey in enumerate(study.surveys):
        archives: list[dict[str, object]] = [
            {"archive_start": (base + timedelta(days=index)).isoformat(),
             "survey_json": list(survey.questions[:-1] or survey.questions)}
        ]  # fmt: skip
        archives.append(
            {"archive_start": (base + timedelta(days=20 + index, microseconds=250000)).isoformat(),
             "survey_json": list(survey.questions)}
        )  # fmt: skip
        out[survey.object_id] = archives
    filename = f"{study.object_id}_surveys_history_data.json"
    return Result(
        200, _dumps(out), "text/json", {"Content-Disposition": f'attachment; filename="{filename}"'},
        streamed=True, tiny_chunks=True,
    )  # fmt: skip


TABLE_TAIL = [
    "First Registration Date",
    "Last Registration",
    "Last Timezone",
    "Last Upload",
    "Last Survey Download",
    "Last Set Password",
    "Last Push Token Update",
    "Last Device Settings Update",
    "Last OS Version",
    "App Version Code",
    "App Version Name",
    "Last Heartbeat",
]


def _last_upload(state: ServerState, participant: Participant) -> datetime | None:
    def compute() -> datetime | None:
        specs = _files_of(state, participant.patient_id)
        if not specs:
            return None
        last = max(s.time_bin for s in specs)
        return last.replace(microsecond=0) + timedelta(minutes=61, seconds=7)

    return _cached(state, ("last_upload", participant.patient_id), compute)


def _status(participant: Participant, last: datetime | None) -> str:
    if participant.registered is None:
        return "Not Registered"
    if last is None:
        return "Inactive"
    age = datetime.now(UTC) - last
    if age < timedelta(minutes=5):
        return "Active (just now)"
    if age < timedelta(hours=1):
        return "Active (last hour)"
    if age < timedelta(days=1):
        return "Active (past day)"
    if age < timedelta(days=7):
        return "Active (past week)"
    return "Inactive"


def _versions(participant: Participant) -> tuple[str, str, str]:
    if participant.os_type == "IOS":
        return "17.2.1", "251", "2.5.1"
    return "13", "362", "3.6.2-release"


def _participant_table(state: ServerState, study: Study, form: Mapping[str, list[str]]) -> Result:
    values = form.get("data_format") or []
    data_format = values[-1] if values else ""
    if data_format not in ("json", "json_table", "csv"):
        return Result(
            400,
            b"Invalid required data_format parameter, only 'csv' and 'json' supported",
            HTML,
        )
    zone = _zone(study.timezone)
    interventions = sorted(study.interventions, key=str.casefold)
    fields = sorted(study.custom_fields, key=str.casefold)
    columns = [
        "Created On",
        "Patient ID",
        "Status",
        "OS Type",
        *interventions,
        *fields,
        *TABLE_TAIL,
    ]
    rows: list[list[object]] = []
    for participant in sorted(study.participants, key=lambda p: p.patient_id):
        if participant.deleted:
            continue
        reg = participant.registered
        last = _last_upload(state, participant)
        os_version, code, vname = _versions(participant)
        rnd = random.Random(participant.seed)
        row: list[object] = [
            participant.created.astimezone(zone).date().isoformat(),
            participant.patient_id,
            _status(participant, last),
            participant.os_type,
        ]
        for name in interventions:
            row.append(reg.date().isoformat() if reg and name == study.interventions[0] else "")
        for name in fields:
            row.append(
                rnd.choice(("Boston", "Chicago"))
                if name == "Site"
                else ("A" if rnd.random() < 0.5 else "")
            )
        if reg is None:
            row += [None, None, "", None, None, None, None, None, None, None, None, None]
        else:
            row += [reg, reg, study.timezone, last, reg + timedelta(minutes=2), reg,
                    reg + timedelta(minutes=1), reg + timedelta(minutes=3), os_version, code, vname,
                    last]  # fmt: skip
        rows.append(row)
    if data_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [
                    v.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S (%Z)")
                    if isinstance(v, datetime)
                    else ("None" if v is None else v)
                    for v in row
                ]
            )
        return Result(200, buffer.getvalue().encode(), "text/csv")
    converted = [
        [v.astimezone(zone).isoformat() if isinstance(v, datetime) else v for v in row]
        for row in rows
    ]
    if data_format == "json_table":
        return Result(200, _dumps([columns, *converted]))
    return Result(200, _dumps([dict(zip(columns, row, strict=True)) for row in converted]))


def _daily_rows(
    state: ServerState, study: Study, participant: Participant
) -> list[dict[str, object]]:
    """A participant's summary-statistics rows, one per day with data (every field)."""

    def compute() -> list[dict[str, object]]:
        zone = _zone(study.timezone)
        per_day: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(BYTES_FIELDS, 0))
        for spec, size in _sized_files(state, participant.patient_id):
            per_day[spec.time_bin.date()][f"beiwe_{spec.stream}_bytes"] += size
        rows: list[dict[str, object]] = []
        for day, totals in sorted(per_day.items()):
            rnd = random.Random(f"{participant.seed}:{day}")
            has_gps = totals["beiwe_gps_bytes"] > 0
            row: dict[str, object] = {
                "date": day.isoformat(),
                "participant_id": participant.patient_id,
                "study_id": study.object_id,
                "timezone": datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
                .astimezone(zone)
                .tzname(),
            }
            row.update(totals)
            for name in JASMINE:
                row[name] = (round(rnd.random() * 5000, 3) if name != "jasmine_pause_time" else
                             "[]") if has_gps else None  # fmt: skip
            for name in WILLOW:
                row[name] = rnd.randrange(0, 12) if participant.os_type == "ANDROID" else None
            for name in SYCAMORE:
                row[name] = round(rnd.random() * 3, 3)
            for name in OAK:
                row[name] = (
                    round(rnd.random() * 4000, 1) if totals["beiwe_accelerometer_bytes"] else None
                )
            rows.append(row)
        return rows

    return _cached(state, ("daily_rows", f"{study.object_id}/{participant.patient_id}"), compute)


def _summary_statistics(state: ServerState, study: Study, query: Mapping[str, list[str]]) -> Result:
    errors: list[str] = []

    def last(key: str) -> str | None:
        values = query.get(key)
        return values[-1] if values else None

    def parse_date(key: str, label: str) -> date | None:
        text = last(key)
        if text is None or text == "":
            return None
        try:
            return date.fromisoformat(text) if len(text) == 10 else date.fromisoformat("x")
        except ValueError:
            errors.append(
                f"{label} could not be interpreted as a date. Dates should be formatted as YYYY-MM-DD"
            )
            return None

    start = parse_date("start_date", "start date")
    end = parse_date("end_date", "end date")
    limit: int | None = None
    if last("limit"):
        try:
            limit = int(last("limit") or "")
        except ValueError:
            errors.append(f"{last('limit')} is not a valid limit")
    ordered_by = last("ordered_by") or "date"
    if ordered_by not in SUMMARY_FIELDS:
        errors.append(f"{ordered_by} is not a valid field")
    direction = last("order_direction")
    if direction not in (None, "", "ascending", "descending"):
        errors.append(f"{direction} is not a valid order direction")
    fields = SUMMARY_FIELDS
    if last("fields"):
        fields = [f.strip() for f in (last("fields") or "").split(",") if f.strip()]
        errors += [f"{f} is not a valid field" for f in fields if f not in SUMMARY_FIELDS]
    pids: set[str] | None = None
    if last("participant_ids"):
        pids = {p.strip() for p in (last("participant_ids") or "").split(",") if p.strip()}
    if errors:
        return Result(400, _dumps({"errors": errors}))
    rows: list[dict[str, object]] = []
    for participant in study.participants:
        if pids is not None and participant.patient_id not in pids:
            continue
        for row in _daily_rows(state, study, participant):
            day = date.fromisoformat(str(row["date"]))
            if (start and day < start) or (end and day > end):
                continue
            rows.append(row)
    descending = direction == "descending" or (not direction and ordered_by == "date")
    rows.sort(key=lambda r: (r["participant_id"], r["date"]))
    rows.sort(key=lambda r: (r[ordered_by] is None, r[ordered_by] if r[ordered_by] is not None else 0),
              reverse=descending)  # fmt: skip
    if limit is not None:
        rows = rows[: max(limit, 0)]
    out = [{k: r[k] for k in fields} for r in rows]
    return Result(200, _dumps(out), JSON, streamed=True)


# -- participant-scoped ---------------------------------------------------------------------------


def _omit(form: Mapping[str, list[str]]) -> bool:
    values = form.get("omit_keys") or []
    return bool(values) and values[-1].lower() == "true"


def participant_endpoint(
    state: ServerState, name: str, participant: Participant, form: Mapping[str, list[str]]
) -> Result:
    """Answer a participant-scoped endpoint (docs/beiwe-server.md#participant-endpoints,
    #file-hashes)."""
    if name == "get-participant-file-hashes":
        return _file_hashes(state, participant)
    if name == "get-participant-upload-history":
        return _upload_history(state, participant, _omit(form))
    if name == "get-participant-heartbeat-history":
        return _heartbeats(state, participant, _omit(form))
    if name == "get-participant-version-history":
        return _version_history(participant, _omit(form))
    if name == "get-participant-device-status-history":
        return _device_status(state, participant)
    return _notifications(state, participant, any(k.lower() == "utc" for k in form))


def _file_hashes(state: ServerState, participant: Participant) -> Result:
    specs = _files_of(state, participant.patient_id)
    if state.profile != "fixed":
        if specs:
            # orjson cannot serialise the raw SHA-1 bytes (docs/beiwe-server.md#file-hashes)
            return Result(500, DJANGO_500, HTML)
        return Result(200, b"{}")
    out: dict[str, str] = {}
    with state.lock:
        gens = [state.generation(s.storage_path) for s in specs]
    for spec, generation in zip(specs, gens, strict=True):
        folder, _, base = spec.zip_name.rpartition("/")
        ext = base.rpartition(".")[2]
        key = f"{folder}/{hash_key_name(spec.time_bin)}.{ext}"
        out[key] = state.store.meta(spec, generation).sha1_b64
    return Result(200, _dumps(out))


def _upload_name(spec: FileSpec) -> str:
    if not spec.chunked:
        return spec.storage_path.split("/", 2)[2]
    offset = random.Random(spec.seed).randrange(0, 3_000_000)
    upload = UPLOAD_NAMES[spec.stream]
    if spec.stream == "identifiers":
        return f"identifiers_{spec.t_ms // 1000}.csv"
    if spec.stream == "survey_timings" and spec.survey_id:
        return f"{upload}/{spec.survey_id}/{spec.t_ms + offset}.csv"
    return f"{upload}/{spec.t_ms + offset}.csv"


def _upload_history(state: ServerState, participant: Participant, omit: bool) -> Result:
    rows = []
    for spec in _files_of(state, participant.patient_id):
        received = spec.time_bin.replace(microsecond=0) + timedelta(hours=1, minutes=spec.seed % 50)
        rows.append((received, spec.rows * 48 + 60, _upload_name(spec)))
    rows.sort(key=lambda r: (r[0], r[2]))
    if omit:
        body: list[object] = [[size, _z(when), name] for when, size, name in rows]
    else:
        body = [
            {"file_size": size, "timestamp": _z(when), "file_name": name}
            for when, size, name in rows
        ]
    return Result(200, _dumps(body), JSON, streamed=True)


def _heartbeats(state: ServerState, participant: Participant, omit: bool) -> Result:
    hours = sorted(
        {
            s.time_bin.replace(minute=0, second=0, microsecond=0)
            for s in _files_of(state, participant.patient_id)
        }
    )
    stamps = [_z(h + timedelta(minutes=17)) for h in hours]
    body: list[object] = list(stamps) if omit else [{"timestamp": t} for t in stamps]
    return Result(200, _dumps(body), JSON, streamed=True)


def _version_history(participant: Participant, omit: bool) -> Result:
    if participant.registered is None:
        return Result(200, b"[]", JSON, streamed=True)
    os_version, code, vname = _versions(participant)
    entries = [(str(int(code) - 2), vname.replace(vname[2], str(int(vname[2]) - 1), 1), os_version,
                participant.registered)]  # fmt: skip
    if participant.role == "full":
        entries.append(
            (code, vname, os_version, participant.registered + timedelta(days=3, hours=2))
        )
    if omit:
        body: list[object] = [[c, n, o, _z(w)] for c, n, o, w in entries]
    else:
        body = [
            {"app_version_code": c, "app_version_name": n, "os_version": o, "created_on": _z(w)}
            for c, n, o, w in entries
        ]
    return Result(200, _dumps(body), JSON, streamed=True)


def _device_status(state: ServerState, participant: Participant) -> Result:
    study = state.world.studies[participant.study_id]
    if participant.registered is None or study.participants[0] is not participant:
        return Result(200, b"[]")
    os_version, _, vname = _versions(participant)
    body = [
        {
            "created_on": _z(participant.registered + timedelta(hours=h)),
            "endpoint": endpoint,
            "app_os": participant.os_type,
            "os_version": os_version,
            "app_version": vname,
            "device_status": status,
        }
        for h, endpoint, status in (
            (1, "upload", {"battery": 0.81, "low_power_mode": False}),
            (5, "heartbeat", {}),
        )
    ]
    return Result(200, _dumps(body), JSON, streamed=True)


def _notifications(state: ServerState, participant: Participant, utc: bool) -> Result:
    study = state.world.studies[participant.study_id]
    tracking = [s for s in study.surveys if s.survey_type == "tracking_survey" and not s.deleted]
    if participant.registered is None or not tracking:
        return Result(200, b"{}")
    zone = _zone(study.timezone)
    rnd = random.Random(participant.seed)

    def render(when: datetime) -> str:
        when = when.replace(microsecond=0)
        return _z(when) if utc else when.astimezone(zone).isoformat()

    sends = []
    world = state.world
    for day in range(min(world.days, participant.last_day)):
        local = datetime.combine(
            (world.start + timedelta(days=day)).date(), datetime.min.time(), zone
        ).replace(hour=9)
        sent = local.astimezone(UTC) + timedelta(seconds=rnd.randrange(1, 40))
        rejected = rnd.random() < 0.1
        sends.append(
            {
                "timestamp": render(sent),
                "type": "weekly",
                "scheduled_time": render(local),
                "confirmed_received": False if rejected else _z(sent + timedelta(seconds=3)),
                "uuid": f"{rnd.getrandbits(128):032x}",
                "resend": False,
                "push_rejected": rejected,
            }
        )
    return Result(200, _dumps({tracking[0].object_id: sends}))
