"""A complete, typed, resilient client for the Beiwe Data Access API.

>>> from mano_api import BeiweClient
>>> with BeiweClient(credentials) as client:              # doctest: +SKIP
...     study = client.resolve_study("My Study")
...     with client.download(study, streams=["gps"], start="2020-10-05") as archive:
...         for member in archive:
...             data = archive.read(member)
"""

import logging

from mano_api.__about__ import __version__
from mano_api._archive import Archive, ArchiveMember, is_safe_member_name
from mano_api._client import (
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    BeiweClient,
)
from mano_api._errors import (
    AccessDenied,
    AmbiguousStudy,
    AuthenticationFailed,
    BadRequest,
    ClientConfigurationError,
    ConnectionFailed,
    DataRequestNotFound,
    DuplicateParticipant,
    EndpointNotFound,
    InvalidArgument,
    InvalidDataStream,
    InvalidResponse,
    InvalidStudy,
    ManoAPIError,
    MethodNotAllowed,
    NotFound,
    ParticipantNotFound,
    PayloadTooLarge,
    RedirectedToHTTPS,
    RedirectError,
    ResponseError,
    ServerError,
    ServerMaintenance,
    StudyAccessDenied,
    StudyLookupError,
    StudyNotFound,
    Timeout,
    TLSError,
    TransportError,
    TruncatedDownload,
    UnexpectedStatus,
)
from mano_api._functions import (
    fetch_accessible_studies,
    fetch_study_device_settings,
    fetch_users_in_study,
)
from mano_api._models import (
    DeviceStatusRecord,
    HeartbeatRecord,
    NotificationRecord,
    ParticipantTable,
    Study,
    StudySettings,
    Survey,
    SurveyArchive,
    UploadRecord,
    VersionRecord,
)
from mano_api._params import API_TIME_FORMAT, format_time_end, format_time_start
from mano_api._streams import DataStream

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "API_TIME_FORMAT",
    "DEFAULT_BACKOFF",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "AccessDenied",
    "AmbiguousStudy",
    "Archive",
    "ArchiveMember",
    "AuthenticationFailed",
    "BadRequest",
    "BeiweClient",
    "ClientConfigurationError",
    "ConnectionFailed",
    "DataRequestNotFound",
    "DataStream",
    "DeviceStatusRecord",
    "DuplicateParticipant",
    "EndpointNotFound",
    "HeartbeatRecord",
    "InvalidArgument",
    "InvalidDataStream",
    "InvalidResponse",
    "InvalidStudy",
    "ManoAPIError",
    "MethodNotAllowed",
    "NotFound",
    "NotificationRecord",
    "ParticipantNotFound",
    "ParticipantTable",
    "PayloadTooLarge",
    "RedirectError",
    "RedirectedToHTTPS",
    "ResponseError",
    "ServerError",
    "ServerMaintenance",
    "Study",
    "StudyAccessDenied",
    "StudyLookupError",
    "StudyNotFound",
    "StudySettings",
    "Survey",
    "SurveyArchive",
    "TLSError",
    "Timeout",
    "TransportError",
    "TruncatedDownload",
    "UnexpectedStatus",
    "UploadRecord",
    "VersionRecord",
    "__version__",
    "fetch_accessible_studies",
    "fetch_study_device_settings",
    "fetch_users_in_study",
    "format_time_end",
    "format_time_start",
    "is_safe_member_name",
]
