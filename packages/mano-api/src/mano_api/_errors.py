"""The exception tree of mano-api.

Every error this package raises derives from :class:`ManoAPIError`. Builtin mixins let callers
catch them the way they would catch the standard library's errors (``except ValueError``,
``except PermissionError``, ``except TimeoutError``, ``except ConnectionError``)::

    ManoAPIError
    ├── ClientConfigurationError (ValueError)   unusable credentials object, URL or option
    ├── InvalidArgument (ValueError)            rejected locally, before any request
    │   ├── InvalidDataStream                   not one of the server's 19 streams
    │   └── DuplicateParticipant                the same participant id twice (server: 404)
    ├── StudyLookupError (LookupError)          resolving a study name / id / prefix
    │   ├── InvalidStudy                        nothing matches; lists candidates
    │   └── AmbiguousStudy                      several match; lists them
    ├── ResponseError                           the server answered with an error status
    │   ├── BadRequest (ValueError)             400: names the parameter most likely wrong
    │   ├── AccessDenied (PermissionError)      403
    │   │   ├── AuthenticationFailed            the key pair itself is wrong or disabled
    │   │   └── StudyAccessDenied               valid keys, but no access to this study
    │   ├── NotFound (LookupError)              404
    │   │   ├── StudyNotFound                   no such study (or deleted)
    │   │   ├── ParticipantNotFound             no such participant id
    │   │   ├── DataRequestNotFound             get-data 404 the client could not narrow down
    │   │   └── EndpointNotFound                the server does not have this endpoint
    │   ├── MethodNotAllowed                    405
    │   ├── PayloadTooLarge                     413 (a proxy's body limit, big registries)
    │   ├── ServerError                         5xx
    │   │   └── ServerMaintenance               503 downtime, with the server's message
    │   ├── RedirectError                       3xx; POST redirects are never followed
    │   │   └── RedirectedToHTTPS               http:// URL on an https-only server
    │   └── UnexpectedStatus                    any other status
    ├── InvalidResponse                         status 200 but the body is not what it should be
    │   └── TruncatedDownload                   archive cut short / failing CRC after retries
    └── TransportError (ConnectionError)        no usable HTTP exchange
        ├── Timeout (TimeoutError)              connect or read timeout
        ├── TLSError                            certificate / handshake failure
        └── ConnectionFailed                    refused, reset, DNS, dropped mid-body

Messages say what happened and what to do next. They never contain the secret key: credentials
travel in request bodies only, and the client redacts them from any server text it quotes.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AccessDenied",
    "AmbiguousStudy",
    "AuthenticationFailed",
    "BadRequest",
    "ClientConfigurationError",
    "ConnectionFailed",
    "DataRequestNotFound",
    "DuplicateParticipant",
    "EndpointNotFound",
    "InvalidArgument",
    "InvalidDataStream",
    "InvalidResponse",
    "InvalidStudy",
    "ManoAPIError",
    "MethodNotAllowed",
    "NotFound",
    "ParticipantNotFound",
    "PayloadTooLarge",
    "RedirectError",
    "RedirectedToHTTPS",
    "ResponseError",
    "ServerError",
    "ServerMaintenance",
    "StudyAccessDenied",
    "StudyLookupError",
    "StudyNotFound",
    "TLSError",
    "Timeout",
    "TransportError",
    "TruncatedDownload",
    "UnexpectedStatus",
]


class ManoAPIError(Exception):
    """Root of every mano-api error.

    Attributes:
        endpoint: The API path involved (``/get-data/v2``), when a request was made.
        status: The HTTP status received, when there was one.
    """

    def __init__(self, message: str, *, endpoint: str | None = None, status: int | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class ClientConfigurationError(ManoAPIError, ValueError):
    """The credentials object, base URL or a client option cannot be used."""


class InvalidArgument(ManoAPIError, ValueError):
    """An argument was rejected locally, before any request was sent."""


class InvalidDataStream(InvalidArgument):
    """A data stream name is not one of the server's streams (the server would answer 404)."""


class DuplicateParticipant(InvalidArgument):
    """A participant id was given twice (the server answers 404 for duplicates)."""


class StudyLookupError(ManoAPIError, LookupError):
    """A study could not be resolved from the name, id or prefix given.

    Attributes:
        query: What the caller asked for.
        candidates: ``(id, name)`` pairs the caller may have meant.
    """

    def __init__(
        self,
        message: str,
        *,
        query: str = "",
        candidates: Sequence[tuple[str, str]] = (),
    ):
        super().__init__(message)
        self.query = query
        self.candidates = list(candidates)


class InvalidStudy(StudyLookupError):
    """No accessible study matches the id, name or id prefix given."""


class AmbiguousStudy(StudyLookupError):
    """Several accessible studies match the name or id prefix given."""


class ResponseError(ManoAPIError):
    """The server answered with a status that is not a success."""


class BadRequest(ResponseError, ValueError):
    """400: the server rejected a parameter (its body is usually empty).

    Attributes:
        parameter: The parameter the client believes is wrong, or ``None``.
        server_errors: Messages the server sent (summary statistics, participant table).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = 400,
        parameter: str | None = None,
        server_errors: Sequence[str] = (),
    ):
        super().__init__(message, endpoint=endpoint, status=status)
        self.parameter = parameter
        self.server_errors = list(server_errors)


class AccessDenied(ResponseError, PermissionError):
    """403: the server refused the credentials or the access."""


class AuthenticationFailed(AccessDenied):
    """403 with keys the server does not accept (wrong, disabled or deleted key)."""


class StudyAccessDenied(AccessDenied):
    """403 with valid keys: the researcher has no access to this study or participant."""


class NotFound(ResponseError, LookupError):
    """404."""


class StudyNotFound(NotFound):
    """404: the study does not exist or was deleted."""


class ParticipantNotFound(NotFound):
    """404: one or more participant ids do not exist.

    Attributes:
        participant_ids: The ids the client identified as unknown (may be empty).
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = 404,
        participant_ids: Sequence[str] = (),
    ):
        super().__init__(message, endpoint=endpoint, status=status)
        self.participant_ids = list(participant_ids)


class DataRequestNotFound(NotFound):
    """404 from get-data whose cause the client could not pin down."""


class EndpointNotFound(NotFound):
    """404 page for the path itself: the server is older than this endpoint."""


class MethodNotAllowed(ResponseError):
    """405: the endpoint refused the HTTP method (a redirect turned POST into GET?)."""


class PayloadTooLarge(ResponseError):
    """413: a proxy in front of the server refused the request body size."""


class ServerError(ResponseError):
    """5xx: the server failed (retried with backoff before this is raised)."""


class ServerMaintenance(ServerError):
    """503: the server is in maintenance mode.

    Attributes:
        server_message: The maintenance text the server sent.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = 503,
        server_message: str = "",
    ):
        super().__init__(message, endpoint=endpoint, status=status)
        self.server_message = server_message


class RedirectError(ResponseError):
    """3xx: POST redirects are never followed because clients replay them as GET.

    Attributes:
        location: The ``Location`` header, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = None,
        location: str | None = None,
    ):
        super().__init__(message, endpoint=endpoint, status=status)
        self.location = location


class RedirectedToHTTPS(RedirectError):
    """The server redirects http:// to https://; configure the https URL instead."""


class UnexpectedStatus(ResponseError):
    """A status the Beiwe API does not document."""


class InvalidResponse(ManoAPIError):
    """A successful status whose body is not what the API documents."""


class TruncatedDownload(InvalidResponse):
    """A get-data archive stayed truncated or corrupt after every retry.

    Attributes:
        bytes_received: Bytes received by the last attempt.
        attempts: How many attempts were made.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        status: int | None = 200,
        bytes_received: int = 0,
        attempts: int = 1,
    ):
        super().__init__(message, endpoint=endpoint, status=status)
        self.bytes_received = bytes_received
        self.attempts = attempts


class TransportError(ManoAPIError, ConnectionError):
    """No usable HTTP exchange took place."""


class Timeout(TransportError, TimeoutError):
    """The connect or read timeout expired."""


class TLSError(TransportError):
    """The TLS handshake or certificate verification failed."""


class ConnectionFailed(TransportError):
    """The connection was refused, reset or dropped mid-body, or the host was not found."""
