"""mano: the Python API of mano 0.6.0 and of the newest mano, kept working.

This package is the successor of PyPI ``mano`` 0.6.0 (``pip install -U`` replaces it in place).
It translates arguments and return types onto the mano packages, which do the work:
``mano_auth`` (keyrings), ``mano_api`` (the Data Access API), ``mano_sync`` (download, save,
incremental sync) and ``mano_files`` (zstd, encryption at rest). Each call emits one
``DeprecationWarning`` per process naming its successor; docs/migrating.md maps every call.

mano 0.6.0::

    import mano
    from mano import sync as msync
    Keyring = mano.keyring("beiwe.onnela")          # a dict: Keyring["URL"], ["SECRETS"][study]
    for name, study_id in mano.studies(Keyring): ...
    zf = msync.download(Keyring, study_id, user_id, data_streams=["identifiers"])
    msync.backfill(Keyring, study_id, user_id, "/data/study", start_date="2015-10-01T00:00:00")

newest mano::

    from mano import load_keyring, fetch_accessible_studies
    from mano.constants import DataStream, ALL_DATA_STREAMS
    from mano.sync import backfill, download, save
    from mano.file_management import compress_to_zst_files, decompress_zst_files
"""

import logging

from mano import constants, file_management, sync
from mano.__about__ import __version__
from mano._errors import (
    AmbiguousStudyIDError,
    IntervalError,
    LoginError,
    ManoError,
    ScrapeError,
    StudyIDError,
    StudyNameError,
    StudySettingsError,
    UnknownDataStream,
)
from mano._info import (
    device_settings,
    expand_study_id,
    fetch_accessible_studies,
    fetch_study_device_settings,
    fetch_users_in_study,
    interval,
    keyring,
    keyring_from_env,
    load_keyring,
    login,
    studies,
    studyid,
    studyname,
    users,
)
from mano._keyring import Keyring
from mano_api import ManoAPIError as APIError
from mano_auth import ManoAuthError as KeyringError

#: mano 0.6.0's stream list (18 names; ``ambient_audio`` is in ``constants.ALL_DATA_STREAMS``).
DATA_STREAMS: list[str] = [
    "accelerometer",
    "bluetooth",
    "calls",
    "gps",
    "identifiers",
    "app_log",
    "ios_log",
    "power_state",
    "survey_answers",
    "survey_timings",
    "texts",
    "audio_recordings",
    "wifi",
    "magnetometer",
    "gyro",
    "devicemotion",
    "proximity",
    "reachability",
]
#: mano 0.6.0's time format (UTC).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DATA_STREAMS",
    "TIME_FORMAT",
    "APIError",
    "AmbiguousStudyIDError",
    "IntervalError",
    "Keyring",
    "KeyringError",
    "LoginError",
    "ManoError",
    "ScrapeError",
    "StudyIDError",
    "StudyNameError",
    "StudySettingsError",
    "UnknownDataStream",
    "__version__",
    "constants",
    "device_settings",
    "expand_study_id",
    "fetch_accessible_studies",
    "fetch_study_device_settings",
    "fetch_users_in_study",
    "file_management",
    "interval",
    "keyring",
    "keyring_from_env",
    "load_keyring",
    "login",
    "studies",
    "studyid",
    "studyname",
    "sync",
    "users",
]
