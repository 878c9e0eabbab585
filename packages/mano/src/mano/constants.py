"""Newest-mano constants: ``DataStream``, ``ALL_DATA_STREAMS``, ``GlobalSettings``.

``DataStream`` carries every member name the newest mano's README uses (``AUDIO_RECORDING``,
``ANDROID_LOG_FILE``, ``CALL_LOG``, ``IOS_LOG_FILE``, ``TEXTS_LOG``, ...) and, as aliases of
the same members, the names ``mano_api.DataStream`` uses (``AUDIO_RECORDINGS``, ``APP_LOG``,
``CALLS``, ``IOS_LOG``, ``TEXTS``). Values are the server's stream names, so a member can be
passed anywhere a stream name string is expected.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mano._errors import (
    DownloadError,
    ManoError,
    ParseError,
    SaveError,
    WriteError,
)

__all__ = [
    "ALL_DATA_STREAMS",
    "API_TIME_FORMAT",
    "APIError",
    "DataStream",
    "DownloadError",
    "GlobalSettings",
    "ParseError",
    "SaveError",
    "WriteError",
]

from mano_api import ManoAPIError as APIError

#: The time format the Data Access API reads (``2015-10-01T00:00:00``, UTC).
API_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


class DataStream(StrEnum):
    """The 19 Beiwe data streams, under the newest mano's names (aliases: mano_api's)."""

    ACCELEROMETER = "accelerometer"
    AMBIENT_AUDIO = "ambient_audio"
    ANDROID_LOG_FILE = "app_log"
    AUDIO_RECORDING = "audio_recordings"
    BLUETOOTH = "bluetooth"
    CALL_LOG = "calls"
    DEVICEMOTION = "devicemotion"
    GPS = "gps"
    GYRO = "gyro"
    IDENTIFIERS = "identifiers"
    IOS_LOG_FILE = "ios_log"
    MAGNETOMETER = "magnetometer"
    POWER_STATE = "power_state"
    PROXIMITY = "proximity"
    REACHABILITY = "reachability"
    SURVEY_ANSWERS = "survey_answers"
    SURVEY_TIMINGS = "survey_timings"
    TEXTS_LOG = "texts"
    WIFI = "wifi"
    # Aliases: the names of mano_api.DataStream (and of the newest README's own examples).
    APP_LOG = "app_log"
    AUDIO_RECORDINGS = "audio_recordings"
    CALLS = "calls"
    IOS_LOG = "ios_log"
    TEXTS = "texts"


class _StreamList(list[str]):
    """A list of stream names that also tolerates being used as an output stream.

    The newest README prints it with ``pprint("-", ALL_DATA_STREAMS)``, which hands the list
    to ``pprint`` as its *stream* argument; writes to it are ignored so that line runs.
    """

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


#: Every stream the server accepts, as plain strings (the values of :class:`DataStream`).
ALL_DATA_STREAMS: list[str] = _StreamList(s.value for s in DataStream)


class _Settings(type):
    """Validates ``GlobalSettings.multithreading_count`` when it is set."""

    def __setattr__(cls, name: str, value: Any) -> None:
        if name == "multithreading_count" and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ManoError(
                f"GlobalSettings.multithreading_count must be an integer >= 0 (0 = all cores), "
                f"not {value!r}"
            )
        super().__setattr__(name, value)


class GlobalSettings(metaclass=_Settings):
    """Process-wide settings of the file tools (newest mano).

    Attributes:
        multithreading_count: Files processed at once by ``mano.file_management``;
            0 (the default) uses every core.
    """

    multithreading_count: int = 0
