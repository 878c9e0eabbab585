"""The server's data streams (docs/beiwe-server.md#streams) and their validation."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import StrEnum

from mano_api._errors import InvalidDataStream

__all__ = ["DataStream", "parse_data_streams"]

# Streams whose files are not hourly chunks: one file per submission / recording.
_UNCHUNKED = frozenset({"audio_recordings", "ambient_audio", "survey_answers"})
# Streams whose zip members sit in a `<survey_object_id>/` sub-folder.
_SURVEY_FOLDER = frozenset({"audio_recordings", "survey_answers", "survey_timings"})
# Upload names used in raw storage paths (registry keys of unchunked files).
_UPLOAD_NAMES = {
    "accelerometer": "accel",
    "ambient_audio": "ambientAudio",
    "app_log": "logFile",
    "audio_recordings": "voiceRecording",
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


class DataStream(StrEnum):
    """One of the 19 data streams the server accepts in ``data_streams``.

    The value is the folder name used in zip members and on disk.
    """

    ACCELEROMETER = "accelerometer"
    AMBIENT_AUDIO = "ambient_audio"
    APP_LOG = "app_log"
    AUDIO_RECORDINGS = "audio_recordings"
    BLUETOOTH = "bluetooth"
    CALLS = "calls"
    DEVICEMOTION = "devicemotion"
    GPS = "gps"
    GYRO = "gyro"
    IDENTIFIERS = "identifiers"
    IOS_LOG = "ios_log"
    MAGNETOMETER = "magnetometer"
    POWER_STATE = "power_state"
    PROXIMITY = "proximity"
    REACHABILITY = "reachability"
    SURVEY_ANSWERS = "survey_answers"
    SURVEY_TIMINGS = "survey_timings"
    TEXTS = "texts"
    WIFI = "wifi"

    @property
    def is_chunked(self) -> bool:
        """True when the server stores one file per participant and UTC hour."""
        return self.value not in _UNCHUNKED

    @property
    def has_survey_folder(self) -> bool:
        """True when zip members carry a ``<survey_object_id>/`` sub-folder."""
        return self.value in _SURVEY_FOLDER

    @property
    def is_audio(self) -> bool:
        """True for the audio streams (binary files, not CSV)."""
        return self in (DataStream.AUDIO_RECORDINGS, DataStream.AMBIENT_AUDIO)

    @property
    def file_extension(self) -> str | None:
        """The extension of this stream's files (``"csv"``), ``None`` when it varies (audio)."""
        return None if self.is_audio else "csv"

    @property
    def upload_name(self) -> str:
        """The name the phone uploads under (used in raw storage paths / registry keys)."""
        return _UPLOAD_NAMES[self.value]

    @classmethod
    def parse(cls, value: str | DataStream) -> DataStream:
        """Return the stream named ``value`` (case and surrounding space ignored).

        Raises:
            InvalidDataStream: ``value`` is not a stream; the message suggests the closest ones.
        """
        if isinstance(value, DataStream):
            return value
        if not isinstance(value, str):
            raise InvalidDataStream(
                f"a data stream must be a string, got {type(value).__name__} {value!r}"
            )
        name = value.strip().lower().replace("-", "_")
        try:
            return cls(name)
        except ValueError:
            pass
        close = difflib.get_close_matches(name, [s.value for s in cls], n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidDataStream(
            f"unknown data stream {value!r}{hint} Valid streams: " + ", ".join(s.value for s in cls)
        ) from None


def parse_data_streams(streams: Iterable[str | DataStream] | str | None) -> list[DataStream]:
    """Validate a stream selection; ``None`` or empty means all streams (an empty list).

    Duplicates are dropped (the server accepts them, but they mean nothing), order is kept.

    Raises:
        InvalidDataStream: one of the names is not a stream.
    """
    if streams is None:
        return []
    if isinstance(streams, str):
        # A bare string would be iterated character by character: treat it as one name or a
        # comma-separated list, which is what a user typing it means.
        streams = [part for part in streams.split(",") if part.strip()]
    result: list[DataStream] = []
    for item in streams:
        stream = DataStream.parse(item)
        if stream not in result:
            result.append(stream)
    return result
