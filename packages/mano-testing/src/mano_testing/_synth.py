"""Deterministic synthetic Beiwe studies (docs/beiwe-server.md#streams).

The world (studies, researchers, participants, surveys and the list of every stored file) is
built eagerly but cheaply; file *content* is rendered lazily from a per-file seed, so a study of
50,000 files enumerates in a fraction of a second and a file's bytes only exist once somebody
asks for them. The same seed always gives the same ids, the same file list and byte-identical
content.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import random
import string
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mano_testing import _phone
from mano_testing._life import Life
from mano_testing._surveys import (
    NO_ANSWER,
    Delivery,
    answer_options,
    plan_deliveries,
    question_type_name,
)

__all__ = [
    "ALL_DATA_STREAMS",
    "CHUNKED_STREAMS",
    "DEFAULT_START",
    "FileSpec",
    "Participant",
    "Researcher",
    "Study",
    "Survey",
    "World",
    "build_world",
    "render",
    "survey_schedule",
]

#: The 19 valid ``data_streams`` values (docs/beiwe-server.md#streams), in the server's order.
ALL_DATA_STREAMS: tuple[str, ...] = (
    "accelerometer",
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
    "audio_recordings",
    "wifi",
)
UNCHUNKED_STREAMS = frozenset({"survey_answers", "audio_recordings", "ambient_audio"})
CHUNKED_STREAMS = frozenset(ALL_DATA_STREAMS) - UNCHUNKED_STREAMS

#: First day of every synthetic study unless ``start`` is given.
DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

ANDROID = "ANDROID"
IOS = "IOS"

_HEADERS_BOTH: dict[str, str] = {
    "accelerometer": "timestamp,UTC time,accuracy,x,y,z",
    "gps": "timestamp,UTC time,latitude,longitude,altitude,accuracy",
    "identifiers": "timestamp,UTC time,patient_id,MAC,phone_number,device_id,device_os,"
    "os_version,product,brand,hardware_id,manufacturer,model,beiwe_version",
    "magnetometer": "timestamp,UTC time,x,y,z",
    "app_log": "timestamp,UTC time,event",
    "bluetooth": "timestamp,UTC time,hashed MAC,RSSI",
    "calls": "timestamp,UTC time,hashed phone number,call type,duration in seconds",
    "devicemotion": "timestamp,UTC time,roll,pitch,yaw,rotation_rate_x,rotation_rate_y,"
    "rotation_rate_z,gravity_x,gravity_y,gravity_z,user_accel_x,user_accel_y,user_accel_z,"
    "magnetic_field_calibration_accuracy,magnetic_field_x,magnetic_field_y,magnetic_field_z",
    "ios_log": "timestamp,UTC time,launchId,memory,battery,event,msg,d1,d2,d3,d4",
    "proximity": "timestamp,UTC time,event",
    "reachability": "timestamp,UTC time,event",
    "texts": "timestamp,UTC time,hashed phone number,sent vs received,message length,time sent",
    "wifi": "timestamp,UTC time,hashed MAC,frequency,RSSI",
}
_HEADERS_OS: dict[tuple[str, str], str] = {
    ("gyro", ANDROID): "timestamp,UTC time,accuracy,x,y,z",
    ("gyro", IOS): "timestamp,UTC time,x,y,z",
    ("power_state", ANDROID): "timestamp,UTC time,event",
    ("power_state", IOS): "timestamp,UTC time,event,level",
    ("survey_timings", ANDROID): "timestamp,UTC time,question id,survey id,question type,"
    "question text,question answer options,answer",
    ("survey_timings", IOS): "timestamp,UTC time,question id,survey id,question type,"
    "question text,question answer options,answer,event",
}
SURVEY_ANSWERS_HEADER = "question id,question type,question text,question answer options,answer"


def header_for(stream: str, os_type: str) -> str:
    """The CSV header the server writes for ``stream`` and a participant's OS (docs/beiwe-server.md#csv-format)."""
    if stream == "survey_answers":
        return SURVEY_ANSWERS_HEADER
    return _HEADERS_OS.get((stream, os_type)) or _HEADERS_BOTH[stream]


#: Streams each OS produces (when enabled in the study's device settings).
OS_STREAMS: dict[str, tuple[str, ...]] = {
    ANDROID: (
        "accelerometer",
        "app_log",
        "bluetooth",
        "calls",
        "gps",
        "gyro",
        "magnetometer",
        "power_state",
        "texts",
        "wifi",
    ),
    IOS: (
        "accelerometer",
        "devicemotion",
        "gps",
        "gyro",
        "ios_log",
        "magnetometer",
        "power_state",
        "proximity",
        "reachability",
    ),
}
#: Probability that an hour of an active day has a chunk of this stream, and rows per chunk at
#: ``scale=1``.
HOURLY: dict[str, tuple[float, int]] = {
    "accelerometer": (0.95, 24),
    "gps": (0.9, 12),
    "gyro": (0.9, 12),
    "magnetometer": (0.9, 12),
    "devicemotion": (0.9, 10),
    "wifi": (0.85, 8),
    "bluetooth": (0.7, 6),
    "power_state": (0.6, 3),
    "app_log": (0.5, 3),
    "ios_log": (0.5, 3),
    "proximity": (0.4, 3),
    "reachability": (0.3, 2),
    "calls": (0.15, 2),
    "texts": (0.25, 3),
}
#: Device-settings flag that switches each sensor stream on.
STREAM_SETTING: dict[str, str] = {
    "accelerometer": "accelerometer",
    "gps": "gps",
    "gyro": "gyro",
    "magnetometer": "magnetometer",
    "devicemotion": "devicemotion",
    "wifi": "wifi",
    "bluetooth": "bluetooth",
    "power_state": "power_state",
    "proximity": "proximity",
    "reachability": "reachability",
    "calls": "calls",
    "texts": "texts",
    "ambient_audio": "ambient_audio",
}

_ID_CHARS = string.ascii_letters + string.digits
_PATIENT_CHARS = "abcdefghijklmnopqrstuvwxyz123456789"
_KEY_CHARS = string.ascii_letters + string.digits + "/+"

UPLOAD_NAMES: dict[str, str] = {
    "accelerometer": "accel",
    "audio_recordings": "voiceRecording",
    "ambient_audio": "ambientAudio",
    "app_log": "logFile",
    "bluetooth": "bluetoothLog",
    "calls": "callLog",
    "devicemotion": "devicemotion",
    "gps": "gps",
    "gyro": "gyro",
    "identifiers": "identifiers",
    "ios_log": "ios/log",
    "magnetometer": "magnetometer",
    "power_state": "powerState",
    "proximity": "proximity",
    "reachability": "reachability",
    "survey_answers": "surveyAnswers",
    "survey_timings": "surveyTimings",
    "texts": "textsLog",
    "wifi": "wifiLog",
}


def _rand_str(rng: random.Random, chars: str, n: int) -> str:
    return "".join(rng.choice(chars) for _ in range(n))


def object_id(rng: random.Random) -> str:
    """A 24-character ``[A-Za-z0-9]`` object id."""
    return _rand_str(rng, _ID_CHARS, 24)


def patient_id(rng: random.Random) -> str:
    """An 8-character ``[a-z1-9]`` patient id."""
    return _rand_str(rng, _PATIENT_CHARS, 8)


def api_key(rng: random.Random) -> str:
    """A 64-character ``[A-Za-z0-9/+]`` key, like ``generate_random_string(64)``."""
    return _rand_str(rng, _KEY_CHARS, 64)


def time_name(time_bin: datetime) -> str:
    """``str(aware UTC datetime)`` with ``:`` replaced by ``_`` (docs/beiwe-server.md#member-names)."""
    return str(time_bin).replace(":", "_")


def hash_key_name(time_bin: datetime) -> str:
    """``isoformat()`` flavour used by get-participant-file-hashes keys (``T`` separator)."""
    return time_bin.isoformat().replace(":", "_")


@dataclass(frozen=True, slots=True)
class Survey:
    """A survey of a study."""

    object_id: str
    name: str
    survey_type: str  # "tracking_survey" | "audio_survey"
    questions: tuple[dict[str, object], ...]
    deleted: bool = False


@dataclass(slots=True)
class Participant:
    """A participant (patient) of a study."""

    patient_id: str
    study_id: str
    os_type: str
    role: str  # "full" | "stops_early" | "no_data" | "deleted"
    created: datetime
    registered: datetime | None
    last_day: int  # exclusive day index of the last day with data
    home: tuple[float, float]
    seed: int
    deleted: bool = False
    contacts: tuple[str, ...] = ()


@dataclass(slots=True)
class Study:
    """A study with its participants and surveys."""

    object_id: str
    pk: int
    name: str
    deleted: bool
    timezone: str
    surveys: list[Survey]
    participants: list[Participant]
    device_settings: dict[str, object]
    interventions: list[str]
    custom_fields: list[str]


@dataclass(frozen=True, slots=True)
class Researcher:
    """A researcher and their API key."""

    name: str
    access_key: str
    secret_key: str
    site_admin: bool
    active: bool
    studies: frozenset[str]
    salt: bytes = b""
    iterations: int = 1
    secret_hash: bytes = b""

    def check_secret(self, secret: str) -> bool:
        """PBKDF2-SHA256 check like ``ApiKey`` (310,000 iterations on the real server)."""
        derived = hashlib.pbkdf2_hmac("sha256", secret.encode(), self.salt, self.iterations)
        return hmac.compare_digest(derived, self.secret_hash)


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One stored file (a ChunkRegistry row): everything needed to render its content."""

    study_id: str
    participant: str
    os_type: str
    stream: str
    survey_id: str | None
    time_bin: datetime
    storage_path: str
    zip_name: str
    t_ms: int
    seed: int
    rows: int

    @property
    def chunked(self) -> bool:
        """True for hourly chunked streams (registry value MD5), False for unchunked ones."""
        return self.stream in CHUNKED_STREAMS


@dataclass(slots=True)
class _Slot:
    """Files of one participant × stream, sorted by time bin (for bisect filtering)."""

    times: list[datetime] = field(default_factory=list)
    specs: list[FileSpec] = field(default_factory=list)


@dataclass(slots=True)
class World:
    """Everything the emulated server knows."""

    seed: int
    scale: float
    start: datetime
    days: int
    studies: dict[str, Study]
    studies_by_pk: dict[int, Study]
    researchers: dict[str, Researcher]  # by access key
    keys: dict[str, tuple[str, str]]
    participants: dict[str, Participant]  # global, by patient id
    files: dict[str, FileSpec]  # by storage path
    index: dict[tuple[str, str], _Slot]  # (patient id, stream) -> slot
    main_study: str
    lives: dict[str, Life] = field(default_factory=dict)  # by patient id
    #: every scheduled survey delivery per patient id (the ground truth of survey reports)
    deliveries: dict[str, list[Delivery]] = field(default_factory=dict)
    #: survey_timings rows per (patient id, survey id, hour start ms)
    timing_rows: dict[tuple[str, str, int], list[tuple[int, tuple[str, ...]]]] = field(
        default_factory=dict
    )
    #: the submitted delivery per (patient id, survey id, submit ms)
    submissions: dict[tuple[str, str, int], Delivery] = field(default_factory=dict)

    def life(self, participant: Participant) -> Life:
        """The daily life of ``participant`` (built on first use)."""
        life = self.lives.get(participant.patient_id)
        if life is None:
            study = self.studies[participant.study_id]
            life = Life(participant.seed, participant.home, study.timezone, self.start)
            self.lives.setdefault(participant.patient_id, life)
        return life

    def add_file(self, spec: FileSpec) -> None:
        """Register a file, keeping its participant/stream slot sorted."""
        self.files[spec.storage_path] = spec
        slot = self.index.setdefault((spec.participant, spec.stream), _Slot())
        pos = bisect.bisect_right(slot.times, spec.time_bin)
        slot.times.insert(pos, spec.time_bin)
        slot.specs.insert(pos, spec)

    def query(
        self,
        participants: Iterable[str],
        streams: Iterable[str],
        start: datetime | None,
        end: datetime | None,
    ) -> Iterator[FileSpec]:
        """Files of ``participants`` × ``streams`` whose time bin lies in ``[start, end]``."""
        stream_list = list(streams)
        for pid in participants:
            for stream in stream_list:
                slot = self.index.get((pid, stream))
                if slot is None:
                    continue
                lo = 0 if start is None else bisect.bisect_left(slot.times, start)
                hi = len(slot.times) if end is None else bisect.bisect_right(slot.times, end)
                yield from slot.specs[lo:hi]


def _file_seed(seed: int, storage_path: str) -> int:
    digest = hashlib.sha1(f"{seed}|{storage_path}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _questions(rng: random.Random, n: int) -> tuple[dict[str, object], ...]:
    kinds = ("radio_button", "slider", "free_response", "checkbox")
    texts = (
        "How did you sleep last night?",
        "How stressed do you feel right now?",
        "How many hours did you spend outside today?",
        "Rate your mood",
        "Did you exercise today?",
        "How lonely do you feel?",
    )
    out: list[dict[str, object]] = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        question: dict[str, object] = {
            "question_id": f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-a{rng.getrandbits(12):03x}-{rng.getrandbits(48):012x}",
            "question_text": texts[(i + rng.randrange(len(texts))) % len(texts)],
            "question_type": kind,
        }
        if kind in ("radio_button", "checkbox"):
            question["answers"] = [
                {"text": t} for t in ("Not at all", "Several days", "Most days", "Every day")
            ]
        elif kind == "slider":
            question["min"] = 0
            question["max"] = 10
        else:
            question["text_field_type"] = "SINGLE_LINE_TEXT"
        out.append(question)
    return tuple(out)


def default_device_settings() -> dict[str, object]:
    """Device settings of a study (docs/beiwe-server.md#study-settings), with every sensor enabled so all streams occur."""
    consent = {
        key: {"text": f"About {key.replace('_', ' ')}.", "more": ""}
        for key in (
            "welcome",
            "data_gathering",
            "privacy",
            "data_use",
            "time_commitment",
            "study_survey",
            "study_tasks",
            "withdrawing",
        )
    }
    return {
        "accelerometer": True,
        "gps": True,
        "calls": True,
        "texts": True,
        "wifi": True,
        "bluetooth": True,
        "power_state": True,
        "use_anonymized_hashing": True,
        "use_gps_fuzzing": False,
        "call_clinician_button_enabled": True,
        "call_research_assistant_button_enabled": True,
        "ambient_audio": True,
        "proximity": True,
        "gyro": True,
        "magnetometer": True,
        "devicemotion": True,
        "reachability": True,
        "allow_upload_over_cellular_data": False,
        # 10 s of every 5 minutes (the server's default is 10 s on, 10 s off): the same bouts
        # at the same 10 Hz, a thirtieth of the rows, so test studies stay small
        "accelerometer_off_duration_seconds": 290,
        "accelerometer_on_duration_seconds": 10,
        "accelerometer_frequency": 10,
        "ambient_audio_off_duration_seconds": 600,
        "ambient_audio_on_duration_seconds": 600,
        "ambient_audio_bitrate": 24000,
        "ambient_audio_sampling_rate": 44100,
        "bluetooth_on_duration_seconds": 60,
        "bluetooth_total_duration_seconds": 300,
        "bluetooth_global_offset_seconds": 0,
        "check_for_new_surveys_frequency_seconds": 3600,
        "create_new_data_files_frequency_seconds": 900,
        "gps_off_duration_seconds": 600,
        "gps_on_duration_seconds": 60,
        "seconds_before_auto_logout": 600,
        "upload_data_files_frequency_seconds": 3600,
        "voice_recording_max_time_length_seconds": 240,
        "wifi_log_frequency_seconds": 300,
        "gyro_off_duration_seconds": 600,
        "gyro_on_duration_seconds": 60,
        "gyro_frequency": 10,
        "magnetometer_off_duration_seconds": 600,
        "magnetometer_on_duration_seconds": 60,
        "devicemotion_off_duration_seconds": 600,
        "devicemotion_on_duration_seconds": 60,
        "heartbeat_timer_minutes": 60,
        "resend_period_minutes": 180,
        "about_page_text": "This is a synthetic study served by the mano-testing emulator.",
        "call_clinician_button_text": "Call My Clinician",
        "consent_form_text": "I have read and understood the information about the study.",
        "survey_submit_success_toast_text": "Thank you for completing the survey.",
        "heartbeat_message": "Please open the Beiwe app.",
        "consent_sections": consent,
    }


def _rows(base: int, scale: float) -> int:
    return max(1, round(base * scale))


def _spec(
    world: World,
    participant: Participant,
    stream: str,
    time_bin: datetime,
    t_ms: int,
    survey_id: str | None,
    ext: str,
    rows: int,
    *,
    storage_path: str | None = None,
    zip_name: str | None = None,
) -> FileSpec:
    study, pid = participant.study_id, participant.patient_id
    if storage_path is None:
        if stream in CHUNKED_STREAMS:
            stamp = time_bin.strftime("%Y-%m-%dT%H:00:00")
            sub = f"{survey_id}/" if survey_id else ""
            storage_path = f"CHUNKED_DATA/{study}/{pid}/{stream}/{sub}{stamp}.csv"
        elif stream == "ambient_audio":
            storage_path = f"{study}/{pid}/ambientAudio/{t_ms}.{ext}"
        else:
            storage_path = f"{study}/{pid}/{UPLOAD_NAMES[stream]}/{survey_id}/{t_ms}.{ext}"
    if zip_name is None:
        sub = f"{survey_id}/" if survey_id else ""
        zip_name = f"{pid}/{stream}/{sub}{time_name(time_bin)}.{ext}"
    return FileSpec(
        study_id=study,
        participant=pid,
        os_type=participant.os_type,
        stream=stream,
        survey_id=survey_id,
        time_bin=time_bin,
        storage_path=storage_path,
        zip_name=zip_name,
        t_ms=t_ms,
        seed=_file_seed(world.seed, storage_path),
        rows=rows,
    )


def _generate_participant_files(
    world: World, study: Study, participant: Participant, days: int, *, edge_cases: bool
) -> None:
    """Enumerate every stored file of one participant (cheap: no content is rendered)."""
    if participant.role == "no_data" or participant.registered is None:
        return
    rng = random.Random(f"{world.seed}:files:{participant.patient_id}")
    settings = study.device_settings
    scale = world.scale
    reg = participant.registered
    reg_hour = reg.replace(minute=0, second=0, microsecond=0)
    reg_ms = int(reg.timestamp()) * 1000
    world.add_file(_spec(world, participant, "identifiers", reg_hour, reg_ms, None, "csv", 1))
    streams = [
        s for s in OS_STREAMS[participant.os_type] if settings.get(STREAM_SETTING.get(s, ""), True)
    ]
    tracking = [s for s in study.surveys if s.survey_type == "tracking_survey" and not s.deleted]
    audio = [s for s in study.surveys if s.survey_type == "audio_survey" and not s.deleted]
    ext_audio = "mp4" if participant.os_type == IOS else "wav"
    life = world.life(participant)
    phone_off: set[date] = set()
    for day in range(min(days, participant.last_day)):
        day_start = world.start + timedelta(days=day)
        if day > 0 and rng.random() < 0.07:
            # a whole day without data (phone off, app killed): its surveys are never opened
            phone_off.add((day_start + timedelta(hours=12)).astimezone(life.tz).date())
            continue
        off_from = rng.randrange(24) if rng.random() < 0.2 else 99
        off_to = off_from + rng.randrange(2, 6)
        for hour in range(24):
            time_bin = day_start + timedelta(hours=hour)
            if time_bin < reg_hour or off_from <= hour < off_to:
                continue
            hour_ms = int(time_bin.timestamp()) * 1000
            awake = life.awake_during(hour_ms, hour_ms + 3_600_000)
            plan = life.plan_at(hour_ms)
            plugging = hour_ms <= plan.sleep_ms < hour_ms + 3_600_000 or (
                hour_ms <= plan.wake_ms < hour_ms + 3_600_000
            )
            for stream in streams:
                prob, base = HOURLY[stream]
                # the first hour after registration has every sensor (the app starts them all);
                # calls and texts happen while awake; the charger is plugged in at bedtime
                drawn = rng.random() < prob
                if stream in ("calls", "texts"):
                    keep = drawn and awake
                elif stream == "power_state":
                    keep = (drawn and awake) or plugging or time_bin == reg_hour
                else:
                    keep = drawn or time_bin == reg_hour
                if keep:
                    world.add_file(
                        _spec(world, participant, stream, time_bin, hour_ms, None, "csv",
                              _rows(base, scale))
                    )  # fmt: skip
        if audio and day % 3 == 1:
            rec_ms = int(day_start.timestamp()) * 1000 + rng.randrange(9 * 3600_000, 21 * 3600_000)
            rec_bin = datetime.fromtimestamp(rec_ms // 1000, UTC)
            world.add_file(
                _spec(world, participant, "audio_recordings", rec_bin, rec_ms, audio[0].object_id,
                      ext_audio, _rows(16, scale))
            )  # fmt: skip
        if settings.get("ambient_audio") and rng.random() < 0.5:
            amb_ms = int(day_start.timestamp()) * 1000 + rng.randrange(0, 86_400_000)
            amb_bin = datetime.fromtimestamp(amb_ms // 1000, UTC)
            if amb_bin >= reg:
                world.add_file(
                    _spec(world, participant, "ambient_audio", amb_bin, amb_ms, None, "mp4",
                          _rows(16, scale))
                )  # fmt: skip
    end = world.start + timedelta(days=min(days, participant.last_day))
    _add_survey_files(world, study, participant, end, phone_off)
    if edge_cases and tracking:
        _add_edge_cases(world, participant, tracking[0], rng)


def survey_schedule(study: Study, index: int) -> dict[str, object]:
    """The delivery schedule of the study's survey number ``index`` (study time zone).

    Weekly ``timings`` hold seconds into the day per weekday, Sunday first; ``absolute_timings``
    ``[year, month, day, seconds]``; ``relative_timings`` ``[intervention, days after, seconds]``.
    """
    if index == 0:  # weekdays at 09:00
        return {"timings": [[], [32400], [32400], [32400], [32400], [32400], []],
                "absolute_timings": [], "relative_timings": []}  # fmt: skip
    if index == 1:  # a week after the baseline visit, 10:00
        return {"timings": [[] for _ in range(7)], "absolute_timings": [],
                "relative_timings": [[study.interventions[0], 7, 36000]]}  # fmt: skip
    return {"timings": [[], [], [], [64800], [], [], []], "absolute_timings": [[2024, 1, 3, 43200]],
            "relative_timings": []}  # fmt: skip


def intervention_date(participant: Participant) -> date | None:
    """The baseline-visit date of ``participant`` (the day they registered, UTC)."""
    return participant.registered.date() if participant.registered else None


def _add_survey_files(
    world: World, study: Study, participant: Participant, end: datetime, phone_off: set[date]
) -> None:
    """Survey deliveries of the tracking surveys and the files the phone uploads for them."""
    if participant.registered is None or end <= participant.registered:
        return
    life = world.life(participant)
    surveys = [
        (s.object_id, s.questions, survey_schedule(study, index))
        for index, s in enumerate(study.surveys)
        if s.survey_type == "tracking_survey" and not s.deleted
    ]
    deliveries = plan_deliveries(
        seed=world.seed,
        pid=participant.patient_id,
        os_type=participant.os_type,
        surveys=surveys,
        tz=life.tz,
        registered=participant.registered,
        end=end,
        intervention_date=intervention_date(participant),
        phone_off_days=phone_off,
    )
    world.deliveries[participant.patient_id] = deliveries
    for delivery in deliveries:
        sid = delivery.survey_id
        for t, values in delivery.rows:
            hour_ms = t - t % 3_600_000
            key = (participant.patient_id, sid, hour_ms)
            rows = world.timing_rows.get(key)
            if rows is None:
                rows = world.timing_rows[key] = []
                time_bin = datetime.fromtimestamp(hour_ms // 1000, UTC)
                world.add_file(
                    _spec(world, participant, "survey_timings", time_bin, hour_ms, sid, "csv", 0)
                )
            rows.append((t, values))
        if delivery.submitted_ms is not None:
            sub_ms = delivery.submitted_ms
            sub_bin = datetime.fromtimestamp(sub_ms // 1000, UTC)
            world.submissions[(participant.patient_id, sid, sub_ms)] = delivery
            world.add_file(
                _spec(world, participant, "survey_answers", sub_bin, sub_ms, sid, "csv",
                      len(delivery.answers))
            )  # fmt: skip


def _add_edge_cases(
    world: World, participant: Participant, survey: Survey, rng: random.Random
) -> None:
    """Legacy and colliding files real studies contain (docs/beiwe-server.md#member-names)."""
    day_start = world.start
    sid = survey.object_id
    pid = participant.patient_id
    # Two survey submissions in the same second: identical zip names -> `_2` suffix.
    sec = int((day_start + timedelta(hours=23, minutes=30)).timestamp())
    for ms in (sec * 1000 + 120, sec * 1000 + 870):
        world.add_file(
            _spec(world, participant, "survey_answers", datetime.fromtimestamp(sec, UTC), ms,
                  sid, "csv", len(survey.questions))
        )  # fmt: skip
    # A legacy survey_timings chunk stored without a survey folder and without a survey FK.
    legacy_bin = day_start + timedelta(hours=23)
    stamp = legacy_bin.strftime("%Y-%m-%dT%H:00:00")
    world.add_file(
        _spec(world, participant, "survey_timings", legacy_bin, int(legacy_bin.timestamp()) * 1000,
              None, "csv", 4,
              storage_path=f"CHUNKED_DATA/{participant.study_id}/{pid}/survey_timings/{stamp}.csv",
              zip_name=f"{pid}/survey_timings/unknown_survey_id/{time_name(legacy_bin)}.csv")
    )  # fmt: skip
    # A legacy survey answers row whose time bin carries microseconds.
    frac = day_start + timedelta(hours=22, minutes=39, seconds=48, microseconds=384000)
    frac_ms = int(frac.timestamp() * 1000)
    world.add_file(
        _spec(world, participant, "survey_answers", frac, frac_ms, sid, "csv",
              len(survey.questions))
    )  # fmt: skip
    del rng


def build_world(
    *,
    participants: int,
    days: int,
    seed: int,
    scale: float,
    start: datetime = DEFAULT_START,
    edge_cases: bool = False,
    deleted_participants: int = 0,
    auth_iterations: int = 1000,
) -> World:
    """Build the emulated server's whole state for a seed.

    Args:
        participants: Non-deleted participants of the main study.
        days: Days of data, starting at ``start``.
        seed: Everything (ids, keys, file list, content) derives from it.
        scale: Multiplies rows per file (1.0 = a few KB per participant-day-stream).
        start: First day (UTC midnight).
        edge_cases: Add colliding names, a legacy ``unknown_survey_id`` chunk and a
            fractional-seconds name to the first participant.
        deleted_participants: Extra deleted participants (listed by get-participant-ids only).
        auth_iterations: PBKDF2 iterations per secret check (the real server: 310,000).

    Returns:
        The world.
    """
    rng = random.Random(f"{seed}:world")
    world = World(
        seed=seed,
        scale=scale,
        start=start,
        days=days,
        studies={},
        studies_by_pk={},
        researchers={},
        keys={},
        participants={},
        files={},
        index={},
        main_study="",
    )
    used: set[str] = set()

    def new_pid() -> str:
        while True:
            pid = patient_id(rng)
            if pid not in used:
                used.add(pid)
                return pid

    def new_study(pk: int, name: str, *, deleted: bool = False) -> Study:
        surveys = [
            Survey(object_id(rng), "Daily check-in", "tracking_survey", _questions(rng, 4)),
            Survey(object_id(rng), "Weekly mood", "tracking_survey", _questions(rng, 6)),
            Survey(
                object_id(rng),
                "Voice diary",
                "audio_survey",
                ({"prompt": "Tell us about your day."},),
            ),
            Survey(object_id(rng), "Retired survey", "tracking_survey", _questions(rng, 2), True),
        ]
        study = Study(
            object_id=object_id(rng),
            pk=pk,
            name=name,
            deleted=deleted,
            timezone="America/New_York",
            surveys=surveys,
            participants=[],
            device_settings=default_device_settings(),
            interventions=["Baseline visit", "Discharge"],
            custom_fields=["Site", "Cohort"],
        )
        world.studies[study.object_id] = study
        world.studies_by_pk[pk] = study
        return study

    def new_participant(study: Study, index: int, total: int, n_days: int) -> Participant:
        prng = random.Random(f"{seed}:participant:{study.object_id}:{index}")
        os_type = ANDROID if index % 2 == 0 else IOS
        role = "full"
        last_day = n_days
        if total >= 3 and index == total - 1:
            role, last_day = "no_data", 0
        elif total >= 4 and index == 2:
            role, last_day = "stops_early", max(1, (n_days * 3) // 5)
        created = start - timedelta(days=2, hours=prng.randrange(24))
        registered = (
            None
            if role == "no_data"
            else start + timedelta(hours=prng.randrange(0, 6), minutes=prng.randrange(60),
                                   seconds=prng.randrange(60))
        )  # fmt: skip
        participant = Participant(
            patient_id=new_pid(),
            study_id=study.object_id,
            os_type=os_type,
            role=role,
            created=created,
            registered=registered,
            last_day=last_day,
            home=(42.3 + prng.random() * 0.2, -71.2 + prng.random() * 0.2),
            seed=prng.getrandbits(63),
            contacts=tuple(base64.urlsafe_b64encode(prng.randbytes(64)).decode() for _ in range(6)),
        )
        study.participants.append(participant)
        world.participants[participant.patient_id] = participant
        return participant

    main = new_study(1, "Mano Emulated Study")
    second = new_study(2, "Second Study")
    # the model's defaults: no bluetooth, ambient audio or motion sensors -> no such streams
    second.device_settings.update(
        bluetooth=False, ambient_audio=False, devicemotion=False, gyro=False, proximity=False
    )
    third = new_study(3, "Other Lab Study")
    gone = new_study(4, "Deleted Study", deleted=True)
    world.main_study = main.object_id

    for i in range(participants):
        p = new_participant(main, i, participants, days)
        _generate_participant_files(world, main, p, days, edge_cases=edge_cases and i == 0)
    for extra in range(deleted_participants):
        p = new_participant(main, 1000 + extra, 1, 0)
        p.role, p.deleted, p.last_day = "deleted", True, 0
    for i in range(2):
        p = new_participant(second, i, 2, 1)
        p.role, p.last_day = "full", 1
        _generate_participant_files(world, second, p, 1, edge_cases=False)
    new_participant(third, 0, 1, 0).role = "no_data"
    new_participant(gone, 0, 1, 0).role = "no_data"

    def researcher(
        name: str, studies: set[str], *, admin: bool = False, active: bool = True
    ) -> None:
        secret = api_key(rng)
        salt = rng.randbytes(16)
        res = Researcher(
            name=name,
            access_key=api_key(rng),
            secret_key=secret,
            site_admin=admin,
            active=active,
            studies=frozenset(studies),
            salt=salt,
            iterations=auth_iterations,
            secret_hash=hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, auth_iterations),
        )
        world.researchers[res.access_key] = res
        world.keys[name] = (res.access_key, res.secret_key)

    researcher("default", {main.object_id, second.object_id, gone.object_id})
    researcher("admin", set(), admin=True)
    researcher("outsider", {second.object_id, third.object_id})
    researcher("disabled", {main.object_id}, active=False)
    return world


# ---------------------------------------------------------------------------------------------
# content rendering

_WAV_RATE = 8000


def _wav(rng: random.Random, n_samples: int) -> bytes:
    pcm = rng.randbytes(n_samples * 2)
    header = b"RIFF" + struct.pack("<I", 36 + len(pcm)) + b"WAVE"
    fmt = b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, _WAV_RATE, _WAV_RATE * 2, 2, 16)
    return header + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm


def _mp4(rng: random.Random, n_bytes: int) -> bytes:
    ftyp = struct.pack(">I", 24) + b"ftypM4A " + struct.pack(">I", 0) + b"M4A isom"
    payload = rng.randbytes(n_bytes)
    return ftyp + struct.pack(">I", 8 + len(payload)) + b"mdat" + payload


def _fmt_utc_prefix(hour_start_ms: int) -> str:
    return datetime.fromtimestamp(hour_start_ms // 1000, UTC).strftime("%Y-%m-%dT%H:")


def _values(
    stream: str, os_type: str, rng: random.Random, participant: Participant, spec: FileSpec
) -> str:
    r = rng.random
    if stream in ("accelerometer",):
        return f"{'unknown' if os_type == IOS else '3'},{r() * 2 - 1:.6f},{r() * 2 - 1:.6f},{r() * 2 - 0.02:.6f}"
    if stream == "gyro":
        xyz = f"{r() - 0.5:.6f},{r() - 0.5:.6f},{r() - 0.5:.6f}"
        return xyz if os_type == IOS else f"3,{xyz}"
    if stream == "magnetometer":
        return f"{r() * 80 - 40:.4f},{r() * 80 - 40:.4f},{r() * 80 - 40:.4f}"
    if stream == "gps":
        lat, lon = participant.home
        return (
            f"{lat + (r() - 0.5) * 0.01:.7f},{lon + (r() - 0.5) * 0.01:.7f},"
            f"{r() * 40:.1f},{r() * 30 + 3:.3f}"
        )
    if stream == "devicemotion":
        vals = ",".join(f"{r() * 2 - 1:.6f}" for _ in range(12))
        mag = ",".join(f"{r() * 80 - 40:.3f}" for _ in range(3))
        return f"{vals},{rng.choice(('uncalibrated', 'low', 'medium', 'high'))},{mag}"
    if stream == "power_state":
        if os_type == IOS:
            return f"{rng.choice(('Locked', 'Unlocked', 'Charging', 'Unplugged'))},{r():.2f}"
        return rng.choice(
            ("Screen turned on", "Screen turned off", "Power connected", "Power disconnected")
        )
    if stream == "app_log":
        return rng.choice(
            ("Main activity onResume", "Background service started", "Upload succeeded")
        )
    if stream == "ios_log":
        return (
            f"{participant.seed % 100000},{rng.randrange(50, 400)},{r():.2f},"
            f"{rng.choice(('applicationDidBecomeActive', 'didUpload', 'heartbeat'))},"
            f"ok,,,,"
        )
    if stream == "bluetooth":
        return f"{rng.choice(participant.contacts)[:44]},{-rng.randrange(40, 95)}"
    if stream == "wifi":
        return (
            f"{rng.choice(participant.contacts)[:44]},{rng.choice((2412, 2437, 5180, 5745))},"
            f"{-rng.randrange(30, 90)}"
        )
    if stream == "calls":
        return (
            f"{rng.choice(participant.contacts)},"
            f"{rng.choice(('Incoming Call', 'Outgoing Call', 'Missed Call'))},{rng.randrange(0, 900)}"
        )
    if stream == "texts":
        return (
            f"{rng.choice(participant.contacts)},"
            f"{rng.choice(('sent SMS', 'received SMS', 'sent MMS'))},{rng.randrange(1, 300)},"
            f"{spec.t_ms + rng.randrange(3_600_000)}"
        )
    if stream in ("proximity",):
        return rng.choice(("NearFace", "NotNearFace"))
    if stream == "reachability":
        return rng.choice(("unreachable", "reachable via wifi", "reachable via cellular"))
    raise ValueError(stream)


def _identifiers_row(participant: Participant) -> str:
    rng = random.Random(participant.seed)
    mac = base64.urlsafe_b64encode(rng.randbytes(64)).decode()
    phone = base64.urlsafe_b64encode(rng.randbytes(64)).decode()
    device = base64.b64encode(rng.randbytes(32)).decode()
    if participant.os_type == IOS:
        tail = "iOS,17.2.1,iPhone,apple,iPhone14_5,Apple,iPhone 13,2.5.1"
    else:
        tail = "Android,13,panther,google,gs201,Google,Pixel 7,3.6.2-release"
    return f"{participant.patient_id},{mac},{phone},{device},{tail}"


def _survey_timing_rows(
    spec: FileSpec, participant: Participant, survey: Survey | None, rng: random.Random, n: int
) -> list[tuple[int, str]]:
    questions = (
        survey.questions
        if survey and survey.questions
        else ({"question_id": "", "question_text": "", "question_type": ""},)
    )
    sid = spec.survey_id or "unknown_survey_id"
    base = rng.randrange(0, 3_000_000)
    out: list[tuple[int, str]] = []
    for i in range(n):
        q = questions[i % len(questions)]
        base += rng.randrange(1000, 20000)
        offset = min(3_599_999, base)
        answers = q.get("answers")
        options = (
            "[" + "; ".join(str(a["text"]) for a in answers) + "]"
            if isinstance(answers, list)
            else ""
        )
        answer = rng.choice(("Not at all", "Several days", "7", "fine")) if i % 2 else ""
        values = (
            f"{q.get('question_id', '')},{sid},{q.get('question_type', '')},"
            f"{q.get('question_text', '')},{options},{answer}"
        )
        if participant.os_type == IOS:
            values += "," + rng.choice(("present", "changed", "submitted"))
        out.append((offset, values))
    return out


def render(spec: FileSpec, generation: int, world: World) -> bytes:
    """Render the plain (decompressed) bytes of ``spec`` at late-data ``generation``.

    Generation 0 is the original file; every later generation appends rows that arrived late
    (new content, new hashes) as the server's chunk merger does.
    """
    participant = world.participants[spec.participant]
    stream = spec.stream
    rng = random.Random(spec.seed)
    if stream == "audio_recordings":
        n = spec.rows * 256
        data = _mp4(rng, n) if spec.zip_name.endswith(".mp4") else _wav(rng, n // 2)
        return data
    if stream == "ambient_audio":
        return _mp4(rng, spec.rows * 512)
    study = world.studies[spec.study_id]
    survey = next((s for s in study.surveys if s.object_id == spec.survey_id), None)
    submitted = world.submissions.get((spec.participant, spec.survey_id or "", spec.t_ms))
    if stream == "survey_answers" and submitted is not None and survey is not None:
        return _answers_file(submitted, survey, participant.os_type)
    if stream == "survey_answers":
        lines = [SURVEY_ANSWERS_HEADER]
        for q in survey.questions if survey else ():
            answers = q.get("answers")
            options = (
                "[" + "; ".join(str(a["text"]) for a in answers) + "]"
                if isinstance(answers, list)
                else ""
            )
            lines.append(
                f"{q['question_id']},{q['question_type']},{q['question_text']},{options},"
                f"{rng.choice(('Several days', '4', 'ok', 'Not at all'))}"
            )
        return "\n".join(lines).encode()
    hour_ms = spec.t_ms - spec.t_ms % 3_600_000
    rows: list[tuple[int, str]]
    if stream == "identifiers":
        rows = [(spec.t_ms - hour_ms, _identifiers_row(participant))]
    elif stream == "survey_timings":
        session = world.timing_rows.get((spec.participant, spec.survey_id or "", hour_ms))
        if session is not None:
            sid = spec.survey_id or ""
            rows = [(t - hour_ms, ",".join((v[0], sid, *v[1:]))) for t, v in session]
        else:
            rows = _survey_timing_rows(spec, participant, survey, rng, spec.rows)
    elif stream in _LIFELIKE:
        rows = _lifelike_rows(spec, participant, world, rng, hour_ms)
    else:
        rows = _sensor_rows(spec, participant, rng, spec.rows)
    for gen in range(1, generation + 1):
        late_rng = random.Random(spec.seed + gen * 7919)
        if stream == "identifiers":  # the phone registered again within the hour
            first = spec.t_ms - hour_ms
            rows.append((min(3_599_999, first + gen * 60_000), _identifiers_row(participant)))
        elif stream == "survey_timings" or stream in _LIFELIKE:
            rows.extend(_late_copies(rows, late_rng, stream))
        else:
            rows.extend(_sensor_rows(spec, participant, late_rng, max(2, spec.rows // 4)))
    if generation:
        rows.sort(key=lambda row: row[0])
    prefix = _fmt_utc_prefix(hour_ms)
    mmss, ms3 = _MMSS, _MS3
    lines = [
        f"{hour_ms + off},{prefix}{mmss[off // 1000]}.{ms3[off % 1000]},{values}"
        for off, values in rows
    ]
    # rows sorted by timestamp, exact duplicate lines removed, no trailing newline (docs/beiwe-server.md#csv-format)
    lines.insert(0, header_for(stream, participant.os_type))
    return "\n".join(dict.fromkeys(lines)).encode()


#: Streams rendered from the participant's daily life (the others are plausible noise).
_LIFELIKE = frozenset(
    {"gps", "accelerometer", "calls", "texts", "power_state", "wifi", "bluetooth"}
)


def _lifelike_rows(
    spec: FileSpec, participant: Participant, world: World, rng: random.Random, hour_ms: int
) -> list[tuple[int, str]]:
    life = world.life(participant)
    settings = world.studies[spec.study_id].device_settings
    # the app starts its sensor timers when it registers
    phase = int(participant.registered.timestamp()) if participant.registered else 0
    stream, scale = spec.stream, world.scale
    if stream == "gps":
        return _phone.gps_rows(life, settings, hour_ms, scale, phase)
    if stream == "accelerometer":
        return _phone.accelerometer_rows(life, settings, participant.os_type, hour_ms, scale, phase)
    if stream == "calls":
        return _phone.call_rows(life, participant.contacts, hour_ms, rng, spec.rows)
    if stream == "texts":
        return _phone.text_rows(life, participant.contacts, hour_ms, rng, spec.rows)
    if stream == "power_state":
        return _phone.power_rows(life, participant.os_type, hour_ms, rng, spec.rows)
    if stream == "wifi":
        return _phone.wifi_rows(life, settings, hour_ms, rng, scale)
    return _phone.bluetooth_rows(life, settings, hour_ms, rng, scale)


def _late_copies(
    rows: list[tuple[int, str]], rng: random.Random, stream: str
) -> list[tuple[int, str]]:
    """Rows uploaded late: a few rows recorded again a moment later (same reading or answer)."""
    if stream == "survey_timings":
        # the participant went back to a question and the app recorded its answer again
        pool = [r for r in rows if "," in r[1] and r[1].split(",", 1)[0] not in ("", _RENDERED)
                and _SUBMIT not in r[1]]  # fmt: skip
    else:
        pool = rows
    if not pool:
        pool = rows
    if not pool:
        return []
    picked = rng.sample(pool, min(len(pool), max(2, len(pool) // 50)))
    return [(min(3_599_999, off + rng.randrange(1, 400)), values) for off, values in picked]


_RENDERED = "Survey first rendered and displayed to user"
_SUBMIT = "User hit submit"


def _answers_file(delivery: Delivery, survey: Survey, os_type: str) -> bytes:
    """The survey_answers CSV the app writes on submit (every question, skipped ones marked)."""
    final = dict(delivery.answers)
    lines = [SURVEY_ANSWERS_HEADER]
    for q in survey.questions:
        qid = str(q.get("question_id", ""))
        lines.append(
            f"{qid},{question_type_name(q, os_type)},{q.get('question_text', '')},"
            f"{answer_options(q)},{final.get(qid) or NO_ANSWER}"
        )
    return "\n".join(lines).encode()


_MMSS = [f"{m:02d}:{s:02d}" for m in range(60) for s in range(60)]
_MS3 = [f"{ms:03d}" for ms in range(1000)]
#: Rows per file above which values come from a per-participant pool (fast rendering for
#: multi-GB studies; the timestamps, and so every line, stay distinct).
_POOL_THRESHOLD = 64
_POOL_SIZE = 4093
_pools: dict[tuple[int, str], list[str]] = {}
_pools_lock = threading.Lock()


_JITTER: list[int] = []


def _jitter() -> list[int]:
    if not _JITTER:
        rng = random.Random("mano-testing:jitter")
        _JITTER.extend(rng.getrandbits(30) for _ in range(_POOL_SIZE))
    return _JITTER


def _pool(spec: FileSpec, participant: Participant) -> list[str]:
    key = (participant.seed, spec.stream)
    pool = _pools.get(key)
    if pool is None:
        rng = random.Random(f"{participant.seed}:pool:{spec.stream}")
        pool = [_values(spec.stream, participant.os_type, rng, participant, spec)
                for _ in range(_POOL_SIZE)]  # fmt: skip
        with _pools_lock:
            if len(_pools) > 4096:
                _pools.clear()
            _pools[key] = pool
    return pool


def _sensor_rows(
    spec: FileSpec, participant: Participant, rng: random.Random, n: int
) -> list[tuple[int, str]]:
    stream, os_type = spec.stream, participant.os_type
    n = min(n, 3_599_999)
    if n > _POOL_THRESHOLD:
        # evenly spread with table-driven jitter: distinct, sorted, no per-row random calls
        gap = 3_600_000 // n
        base, k = rng.randrange(3_600_000 - gap * n + 1), rng.randrange(_POOL_SIZE)
        jitter = _jitter()
        offsets = [base + i * gap + jitter[(k + i) % _POOL_SIZE] % gap for i in range(n)]
    else:
        offsets = sorted(rng.sample(range(3_600_000), n))
    if stream == "wifi":
        # Android wifi scans: every row of one scan shares the upload's timestamp.
        offsets = [offsets[i - i % 4] for i in range(n)]
    if n > _POOL_THRESHOLD and stream not in ("texts", "calls"):
        pool = _pool(spec, participant)
        start, step = rng.randrange(_POOL_SIZE), rng.randrange(1, _POOL_SIZE)
        size = _POOL_SIZE
        return list(zip(offsets, [pool[(start + i * step) % size] for i in range(n)], strict=True))
    return [(off, _values(stream, os_type, rng, participant, spec)) for off in offsets]
