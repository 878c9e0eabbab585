"""`BeiweClient`: one requests session, every Data Access API endpoint, retries and errors."""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import requests

from mano_api._archive import (
    Archive,
    ArchiveValidationError,
    StreamCheck,
    new_temp_beside,
    validate_zip,
)
from mano_api._deadline import Deadline
from mano_api._errors import (
    AccessDenied,
    AmbiguousStudy,
    AuthenticationFailed,
    BadRequest,
    ClientConfigurationError,
    ConnectionFailed,
    DataRequestNotFound,
    EndpointNotFound,
    InvalidArgument,
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
    StudyNotFound,
    Timeout,
    TLSError,
    TransportError,
    TruncatedDownload,
    UnexpectedStatus,
)
from mano_api._jsonstream import JSONStreamError, iter_json_array
from mano_api._models import (
    DeviceStatusRecord,
    HeartbeatRecord,
    NotificationRecord,
    ParticipantTable,
    Study,
    StudySettings,
    SurveyArchive,
    UploadRecord,
    VersionRecord,
    parse_datetime,
    parse_intervention_dates,
)
from mano_api._params import (
    ApiAuth,
    TimeLike,
    coerce_auth,
    encode_form,
    encode_registry,
    format_date,
    format_time_end,
    format_time_start,
    parse_participant_ids,
    to_utc,
)
from mano_api._streams import DataStream, parse_data_streams

__all__ = [
    "DEFAULT_BACKOFF",
    "DEFAULT_BACKOFF_MAX",
    "DEFAULT_DOWNLOAD_DEADLINE",
    "DEFAULT_RETRIES",
    "DEFAULT_TIMEOUT",
    "BeiweClient",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 300.0)
DEFAULT_RETRIES = 5
DEFAULT_BACKOFF = 1.0
DEFAULT_BACKOFF_MAX = 60.0
#: Longest one get-data attempt may take, first byte to last (2 hours: a large batch of real
#: data takes minutes even on a slow link; a server trickling bytes is cut off, then retried).
DEFAULT_DOWNLOAD_DEADLINE = 7200.0
DOWNLOAD_CHUNK = 1 << 20
JSON_CHUNK = 1 << 16
_ERROR_BODY_LIMIT = 1 << 16
_PROXY_BODY_LIMIT = 1 << 20
_FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
_STUDY_ID = re.compile(r"^[A-Za-z0-9]{24}$")
_HEX_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_T_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}_\d{2}_\d{2})")
_TLS_ADVICE = (
    'If your Python links an old OpenSSL (check `python -c "import ssl; '
    'print(ssl.OPENSSL_VERSION)"`), upgrade Python; behind a corporate proxy that '
    "inspects TLS, point REQUESTS_CA_BUNDLE at your organisation's CA bundle."
)

Scope = Literal["researcher", "study", "participant", "data"]
StudyRef = Study | str


@dataclass
class _Call:
    """What a request was about, for error messages (never holds secrets)."""

    endpoint: str
    scope: Scope
    study_id: str | None = None
    participant_id: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    retry_server_errors: bool = True


class _Retryable(Exception):
    """Internal wrapper: the attempt failed in a way worth retrying."""

    def __init__(self, error: ManoAPIError):
        super().__init__(str(error))
        self.error = error


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (urllib3 ``reason``, first arg, cause, context)."""
    found: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or any(current is seen for seen in found):
            continue
        found.append(current)
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
        if current.args and isinstance(current.args[0], BaseException):
            todo.append(current.args[0])
        todo.extend((current.__cause__, current.__context__))
    return found


def _before_connecting(exc: BaseException) -> bool:
    """Whether the request failed before a connection existed (nothing was sent)."""
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return any(isinstance(e, NewConnectionError | socket.gaierror) for e in _causes(exc))


def _connect_failure(exc: BaseException, host: str) -> str | None:
    """One line naming ``host`` and the likely cause, when no connection could be made."""
    causes = _causes(exc)
    if not _before_connecting(exc):
        return None
    if any(isinstance(e, socket.gaierror) for e in causes) or any(
        type(e).__name__ == "NameResolutionError" for e in causes
    ):
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return (
            f"cannot resolve the host name {name!r} (DNS): check the URL's spelling, your "
            "network and DNS settings"
        )
    if any(isinstance(e, ConnectionRefusedError) for e in causes):
        return (
            f"connection refused by {host}: the server is down or the URL's port is wrong; "
            "check the URL and retry later"
        )
    errors = [e for e in causes if isinstance(e, OSError) and e.strerror]
    detail = errors[-1].strerror if errors else "no connection"
    return f"cannot connect to {host} ({detail}); check the URL and your network"


def _tls_reason(exc: BaseException, fallback: str) -> str:
    """The innermost TLS error's own words (not urllib3's wrapper reprs)."""
    for cause in reversed(_causes(exc)):
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            text = getattr(cause, "verify_message", None) or cause.reason or str(cause)
            return " ".join(str(text).split())
    return fallback


class BeiweClient:
    """A client for every endpoint of the Beiwe Data Access API.

    One ``requests.Session`` is used for all calls; use the client as a context manager (or
    call :meth:`close`). Every request is a form-encoded POST with the credentials in the
    body, connect and read timeouts, and no redirect following. Connection failures, 5xx,
    503 maintenance and truncated archives are retried with exponential backoff and jitter;
    4xx answers are never retried.

    Args:
        credentials: A ``mano_auth.Credentials`` (or any object with ``base_url``/``url``,
            ``access_key`` and ``secret_key``) or a keyring-section dict
            ``{"URL", "ACCESS_KEY", "SECRET_KEY"}``.
        timeout: ``(connect, read)`` seconds, or one number for both.
        retries: How many times a failed request is retried (0 = try once).
        session: A session to use (not closed by the client); a new one otherwise.
        backoff: First retry delay in seconds; doubles each retry, with jitter (each delay is
            drawn between half and all of its nominal value).
        backoff_max: Upper bound of a single delay.
        download_deadline: Seconds one download attempt may take in all (request to last
            byte); past it the connection is cut and the attempt retried. None: no limit.

    Raises:
        ClientConfigurationError: the credentials or options cannot be used.
    """

    def __init__(
        self,
        credentials: object,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        session: requests.Session | None = None,
        backoff: float = DEFAULT_BACKOFF,
        backoff_max: float = DEFAULT_BACKOFF_MAX,
        download_deadline: float | None = DEFAULT_DOWNLOAD_DEADLINE,
    ):
        check_keys = getattr(credentials, "check_keys", None)
        if callable(check_keys):
            # mano_auth.Credentials load with a warning only; keys the server would answer 400
            # to are refused here, before any request, naming the keyring section.
            check_keys()
        self._auth: ApiAuth = coerce_auth(credentials)
        if download_deadline is not None and not 0 < download_deadline < float("inf"):
            raise ClientConfigurationError(
                f"download_deadline must be a positive number of seconds, got {download_deadline!r}"
            )
        self.download_deadline = download_deadline
        if isinstance(timeout, int | float):
            timeout = (float(timeout), float(timeout))
        if len(timeout) != 2 or min(timeout) <= 0:
            raise ClientConfigurationError(
                f"timeout must be positive (connect, read), got {timeout!r}"
            )
        if retries < 0:
            raise ClientConfigurationError(f"retries must be >= 0, got {retries}")
        self.timeout: tuple[float, float] = (float(timeout[0]), float(timeout[1]))
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.backoff_max = float(backoff_max)
        self._own_session = session is None
        self._session = session if session is not None else requests.Session()
        self._studies: list[Study] | None = None
        self._credentials_ok: bool | None = None
        self._counter_lock = threading.Lock()
        #: Whether the server has answered at least once (then refused connections may be a
        #: restart worth retrying; before, they fail at once).
        self._reached = False
        #: Body bytes received over the client's lifetime (failed attempts included).
        self.bytes_received = 0
        #: Requests sent over the client's lifetime (retries included).
        self.requests_sent = 0

    # -- lifecycle -----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<BeiweClient {self.base_url}>"

    def __enter__(self) -> BeiweClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if the client created it."""
        if self._own_session:
            self._session.close()

    @property
    def base_url(self) -> str:
        """The server URL, without a trailing slash."""
        return self._auth.base_url

    @property
    def session(self) -> requests.Session:
        """The underlying session (mount adapters on it for tests or proxies)."""
        return self._session

    # -- low level -----------------------------------------------------------------------

    def _count(self, size: int) -> None:
        with self._counter_lock:
            self.bytes_received += size

    def _redact(self, text: str) -> str:
        for secret in (self._auth.secret_key, self._auth.access_key):
            if secret:
                text = text.replace(secret, "<redacted>")
        return text

    def _delay(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)

    def _retrying(self, call: _Call, attempt_fn: Callable[[int], T]) -> T:
        """Run ``attempt_fn`` until it succeeds, retrying `_Retryable` failures."""
        attempts = self.retries + 1
        for attempt in range(attempts):
            try:
                return attempt_fn(attempt)
            except _Retryable as wrapped:
                error = wrapped.error
                if attempt + 1 >= attempts:
                    if attempts > 1:
                        error.args = (f"{error.args[0]} (gave up after {attempts} attempts)",)
                    raise error from wrapped.__cause__
                delay = self._delay(attempt)
                # One short line per retry, shown with -v; the final error is the caller's.
                logger.info(
                    "%s failed (%s: %s); retry %d/%d in %.1f s",
                    call.endpoint,
                    type(error).__name__,
                    error,
                    attempt + 1,
                    self.retries,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _form(self, fields: Mapping[str, str]) -> dict[str, str]:
        form = {"access_key": self._auth.access_key, "secret_key": self._auth.secret_key}
        form.update(fields)
        return form

    def _transport_error(self, exc: Exception, call: _Call, during: str) -> TransportError:
        """Wrap a requests/urllib3 exception without leaking the request body."""
        # The exception references the prepared request, whose body holds the secret key.
        if isinstance(exc, requests.RequestException):
            exc.request = None
            exc.response = None
        host = urlsplit(self.base_url).netloc
        reason = self._redact(str(exc))
        if isinstance(exc, requests.exceptions.SSLError):
            return TLSError(
                f"TLS connection to {host} failed ({_tls_reason(exc, reason)}). {_TLS_ADVICE}",
                endpoint=call.endpoint,
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return Timeout(
                f"could not connect to {host} within {self.timeout[0]:g} s (no answer: a "
                "firewall, a wrong address or no network); check the URL and your network",
                endpoint=call.endpoint,
            )
        never_connected = _connect_failure(exc, host)
        if never_connected is not None:
            return ConnectionFailed(never_connected, endpoint=call.endpoint)
        if isinstance(exc, requests.exceptions.ReadTimeout) or "timed out" in reason:
            return Timeout(
                f"{host} sent nothing for {self.timeout[1]:g} s ({during} {call.endpoint}); the "
                "server may be busy (big registries delay the first byte): retry, raise the read "
                "timeout, or request less at once",
                endpoint=call.endpoint,
            )
        if during == "while receiving":
            return ConnectionFailed(
                f"the connection to {host} dropped while receiving {call.endpoint} ({reason})",
                endpoint=call.endpoint,
            )
        return ConnectionFailed(
            f"could not reach {host} for {call.endpoint} ({reason}); check the URL and network",
            endpoint=call.endpoint,
        )

    def _too_slow(self, call: _Call, deadline: Deadline, received: int) -> Timeout:
        host = urlsplit(self.base_url).netloc
        return Timeout(
            f"{host} did not finish sending {call.endpoint} within {deadline.seconds:g} s "
            f"({received} bytes received): the download was cut off; raise the deadline "
            "(--deadline) or request less at once if the server is just slow",
            endpoint=call.endpoint,
        )

    def _send(
        self,
        call: _Call,
        form: Mapping[str, str],
        params: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One POST; returns the streamed 200 response or raises (retryable wrapped)."""
        url = self.base_url + call.endpoint
        logger.debug("POST %s%s", call.endpoint, f" params={dict(params)}" if params else "")
        with self._counter_lock:
            self.requests_sent += 1
        try:
            resp = self._session.post(
                url,
                data=encode_form(self._form(form)),
                headers=_FORM_HEADERS,
                params=params,
                timeout=self.timeout,
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.SSLError as exc:
            raise self._transport_error(exc, call, "before") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            failure = self._transport_error(exc, call, "waiting for")
            if not self._reached and _before_connecting(exc):
                # DNS failure, refused, no route, connect timeout: nothing a retry heals
                # before the server ever answered (fails in milliseconds, one line).
                raise failure from exc
            raise _Retryable(failure) from exc
        except requests.RequestException as exc:
            raise self._transport_error(exc, call, "before") from exc
        self._reached = True
        if resp.status_code == 200:
            return resp
        try:
            body = self._read_error_body(resp)
        finally:
            resp.close()
        error = self._status_error(call, resp, body)
        if isinstance(error, ServerError) and (
            call.retry_server_errors or isinstance(error, ServerMaintenance)
        ):
            raise _Retryable(error)
        raise error

    def _read_error_body(self, resp: requests.Response) -> str:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in resp.iter_content(8192):
                chunks.append(chunk)
                size += len(chunk)
                if size >= _ERROR_BODY_LIMIT:
                    break
        except requests.RequestException:
            pass
        return self._redact(b"".join(chunks).decode("utf-8", "replace")).strip()

    # -- status mapping ------------------------------------------------------------------

    def _status_error(self, call: _Call, resp: requests.Response, body: str) -> ManoAPIError:
        status = resp.status_code
        ep = call.endpoint
        if 300 <= status < 400:
            location = self._redact(resp.headers.get("Location", ""))
            if self.base_url.lower().startswith("http://") and location.lower().startswith(
                "https://"
            ):
                https = "https://" + self.base_url.split("://", 1)[1]
                return RedirectedToHTTPS(
                    f"{self.base_url} redirects to https ({status}); POST requests are not "
                    f"replayed across redirects. Use {https} as the server URL.",
                    endpoint=ep,
                    status=status,
                    location=location,
                )
            return RedirectError(
                f"{ep} answered {status} redirecting to {location or '(no location)'}; POST "
                "requests are not replayed across redirects: check the server URL",
                endpoint=ep,
                status=status,
                location=location,
            )
        if status == 400:
            return self._bad_request(call, body)
        if status == 403:
            return self._forbidden(call)
        if status == 404:
            return self._not_found(call, body)
        if status == 405:
            allow = resp.headers.get("Allow", "")
            return MethodNotAllowed(
                f"{ep} refused the request method (405, allowed: {allow or 'unknown'}). mano "
                "always POSTs, so something in between changed the method (a redirect or a "
                "proxy): check that the server URL is the https address with no extra path",
                endpoint=ep,
                status=status,
            )
        if status == 413:
            return PayloadTooLarge(
                f"the request to {ep} is larger than a proxy in front of the server allows (413; "
                "nginx defaults to 1 MiB). Send a smaller registry: download per participant or "
                "per stream",
                endpoint=ep,
                status=status,
            )
        if status == 503:
            text = body if body and not body.lstrip().startswith("<") else ""
            return ServerMaintenance(
                f"{self.base_url} is unavailable (503)"
                + (f": {text!r}" if text else "")
                + "; try again later",
                endpoint=ep,
                status=status,
                server_message=text,
            )
        if 500 <= status < 600:
            hint = ""
            if call.scope == "data":
                hint = (
                    "; the server fails like this when generating an archive breaks before the "
                    "first byte (storage or database errors)"
                )
            return ServerError(
                f"{self.base_url} failed with {status} on {ep}{hint}",
                endpoint=ep,
                status=status,
            )
        return UnexpectedStatus(
            f"{ep} answered with unexpected status {status}", endpoint=ep, status=status
        )

    def _bad_request(self, call: _Call, body: str) -> BadRequest:
        ep = call.endpoint
        server_errors: list[str] = []
        if body:
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
                server_errors = [str(e) for e in parsed["errors"]]
            elif not body.lstrip().startswith("<"):
                server_errors = [body[:500]]
        parameter: str | None = None
        cause: str
        key_problem = self._auth.key_problem()
        study_id = call.study_id
        if server_errors:
            joined = "; ".join(server_errors)
            cause = f"the server says: {joined}"
            for name in (
                "data_format",
                "start_date",
                "end_date",
                "limit",
                "ordered_by",
                "order_direction",
                "participant_ids",
                "fields",
            ):
                if name in joined or name.replace("_", " ") in joined:
                    parameter = name
                    break
        elif study_id is not None and not _STUDY_ID.match(study_id):
            parameter = "study_id"
            cause = (
                f"study_id {study_id!r} is not a 24-character study id; pass the id shown by "
                "client.studies(), or a study name"
            )
        elif key_problem is not None:
            parameter = "secret_key" if "secret" in key_problem else "access_key"
            cause = key_problem
        elif call.scope == "participant" and not call.participant_id:
            parameter = "participant_id"
            cause = "the participant id is empty"
        elif call.scope == "data":
            fields = call.fields
            if "registry" in fields:
                parameter = "registry"
                cause = (
                    "the server could not read the registry (it must be one JSON object of "
                    "string values)"
                )
            elif "time_start" in fields or "time_end" in fields:
                parameter = "time_start/time_end"
                cause = (
                    f"the server did not accept the time range ({fields.get('time_start')} .. "
                    f"{fields.get('time_end')})"
                )
            else:
                parameter = "participant_ids"
                cause = "the participant list could not be read by the server"
        else:
            cause = "the server does not say which parameter (its 400 bodies are empty)"
        return BadRequest(
            f"{ep} rejected the request (400): {cause}",
            endpoint=ep,
            parameter=parameter,
            server_errors=server_errors,
        )

    def _check_credentials_quietly(self) -> bool | None:
        """True/False once known whether the key pair is valid; None if it cannot be told."""
        if self._credentials_ok is None:
            call = _Call("/check-my-credentials/v1", "researcher")
            try:
                resp = self._send(call, {})
                resp.close()
                self._credentials_ok = True
            except (AuthenticationFailed, BadRequest):
                self._credentials_ok = False
            except (ManoAPIError, _Retryable):
                return None
        return self._credentials_ok

    def _forbidden(self, call: _Call) -> AccessDenied:
        ep = call.endpoint
        bad_keys = (
            f"{self.base_url} rejected the access key / secret key (403): the key pair is wrong, "
            "disabled or deleted. Create a new key pair on the Beiwe website (Manage "
            "Credentials) and update your keyring"
        )
        if call.scope == "researcher":
            return AuthenticationFailed(bad_keys, endpoint=ep, status=403)
        valid = self._check_credentials_quietly()
        if valid is False:
            return AuthenticationFailed(bad_keys, endpoint=ep, status=403)
        if call.scope == "participant":
            what = f"participant {call.participant_id}'s study"
        else:
            what = f"study {call.study_id}"
        if valid is None:
            return AccessDenied(
                f"{ep} refused access (403): either the keys are wrong or they have no access "
                f"to {what}",
                endpoint=ep,
                status=403,
            )
        return StudyAccessDenied(
            f"the credentials are valid but have no access to {what} (403); ask a site admin "
            "or the study's admin to add this researcher to the study",
            endpoint=ep,
            status=403,
        )

    def _not_found(self, call: _Call, body: str) -> NotFound:
        ep = call.endpoint
        if body:
            return EndpointNotFound(
                f"{self.base_url} has no endpoint {ep} (404 page); the server may run an older "
                "Beiwe version, or the URL has an extra path",
                endpoint=ep,
                status=404,
            )
        if call.scope == "participant":
            return ParticipantNotFound(
                f"participant {call.participant_id!r} does not exist on {self.base_url} (404)",
                endpoint=ep,
                participant_ids=[call.participant_id or ""],
            )
        if call.scope == "study":
            return StudyNotFound(
                f"study {call.study_id} does not exist on {self.base_url} or was deleted (404); "
                "list yours with client.studies()",
                endpoint=ep,
                status=404,
            )
        return DataRequestNotFound(
            f"{ep} answered 404 (unknown study, data stream or participant)",
            endpoint=ep,
            status=404,
        )

    # -- response helpers ----------------------------------------------------------------

    def _json(
        self, call: _Call, form: Mapping[str, str], params: Mapping[str, str] | None = None
    ) -> Any:
        """POST and parse the whole (small) JSON body, whatever its content type."""

        def attempt(_: int) -> Any:
            resp = self._send(call, form, params)
            try:
                with resp:
                    content = resp.content
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                raise _Retryable(self._transport_error(exc, call, "while receiving")) from exc
            except requests.RequestException as exc:
                raise self._transport_error(exc, call, "while receiving") from exc
            self._count(len(content))
            try:
                return json.loads(content.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError):
                snippet = self._redact(content[:80].decode("utf-8", "replace"))
                raise InvalidResponse(
                    f"{call.endpoint} answered 200 but not with JSON (starts {snippet!r}); is the "
                    f"server URL {self.base_url} a Beiwe server?",
                    endpoint=call.endpoint,
                    status=200,
                ) from None

        return self._retrying(call, attempt)

    def _expect(self, call: _Call, value: Any, kind: type, what: str) -> None:
        if not isinstance(value, kind):
            raise InvalidResponse(
                f"{call.endpoint} answered with a JSON {type(value).__name__}, expected {what}",
                endpoint=call.endpoint,
                status=200,
            )

    def _stream_items(self, call: _Call, resp: requests.Response) -> Iterator[Any]:
        with resp:
            try:
                yield from iter_json_array(self._counted(resp, JSON_CHUNK))
            except JSONStreamError as exc:
                raise InvalidResponse(
                    f"{call.endpoint}: {exc}", endpoint=call.endpoint, status=200
                ) from None
            except requests.RequestException as exc:
                raise self._transport_error(exc, call, "while receiving") from exc

    def _counted(self, resp: requests.Response, chunk_size: int) -> Iterator[bytes]:
        for chunk in resp.iter_content(chunk_size):
            self._count(len(chunk))
            yield chunk

    def _iter_list(
        self, call: _Call, form: Mapping[str, str], params: Mapping[str, str] | None = None
    ) -> Iterator[Any]:
        """POST now (errors raise here), then parse the JSON list incrementally."""
        resp = self._retrying(call, lambda _: self._send(call, form, params))
        return self._stream_items(call, resp)

    def _to_file(
        self,
        call: _Call,
        form: Mapping[str, str],
        path: str | os.PathLike[str],
        params: Mapping[str, str] | None = None,
        *,
        json_list: bool = False,
    ) -> int:
        """Stream the body into ``path`` atomically; returns bytes written.

        With ``json_list`` the written file is checked to be one complete JSON list.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)

        def attempt(_: int) -> int:
            resp = self._send(call, form, params)
            fd, tmp_name = new_temp_beside(target)
            tmp = Path(tmp_name)
            try:
                written = 0
                with resp, os.fdopen(fd, "wb") as out:
                    try:
                        for chunk in self._counted(resp, DOWNLOAD_CHUNK):
                            out.write(chunk)
                            written += len(chunk)
                    except (
                        requests.ConnectionError,
                        requests.exceptions.ChunkedEncodingError,
                    ) as exc:
                        raise _Retryable(
                            self._transport_error(exc, call, "while receiving")
                        ) from exc
                if json_list:
                    with tmp.open("rb") as fh:
                        try:
                            for _item in iter_json_array(iter(lambda: fh.read(JSON_CHUNK), b"")):
                                pass
                        except JSONStreamError as exc:
                            raise _Retryable(
                                InvalidResponse(
                                    f"{call.endpoint}: {exc}", endpoint=call.endpoint, status=200
                                )
                            ) from None
                os.replace(tmp, target)
                return written
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise

        return self._retrying(call, attempt)

    def request(
        self,
        endpoint: str,
        fields: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """POST to any endpoint path (credentials added) and return the parsed JSON body.

        An escape hatch for endpoints this client does not wrap; errors are mapped as usual.
        """
        fields = dict(fields or {})
        scope: Scope = "researcher"
        if "participant_id" in fields:
            scope = "participant"
        if "study_id" in fields or "study_pk" in fields:
            scope = "data" if endpoint.startswith("/get-data") else "study"
        call = _Call(
            "/" + endpoint.strip("/"),
            scope,
            study_id=fields.get("study_id"),
            participant_id=fields.get("participant_id"),
            fields=fields,
        )
        return self._json(call, fields, params)

    # -- studies -------------------------------------------------------------------------

    def check_credentials(self) -> str:
        """Check the key pair; returns the server's confirmation text.

        Raises:
            AuthenticationFailed: the keys are wrong, disabled or deleted.
            BadRequest: the keys are malformed.
        """
        call = _Call("/check-my-credentials/v1", "researcher")

        def attempt(_: int) -> str:
            resp = self._send(call, {})
            with resp:
                text = resp.text
            self._count(len(text))
            return text.strip()

        text = self._retrying(call, attempt)
        self._credentials_ok = True
        return text

    def studies(self, *, refresh: bool = False) -> list[Study]:
        """The studies these credentials can access, sorted by name then id (cached)."""
        if self._studies is None or refresh:
            call = _Call("/get-studies/v1", "researcher")
            data = self._json(call, {})
            self._expect(call, data, dict, "an object of study id -> name")
            self._studies = sorted(
                (Study(id=str(k), name=str(v)) for k, v in data.items()),
                key=lambda s: (s.name.lower(), s.id),
            )
        return list(self._studies)

    def resolve_study(self, query: StudyRef) -> Study:
        """Find a study by exact id, exact name, unique id prefix, or unique name ignoring case.

        Raises:
            InvalidStudy: nothing matches (the message lists the accessible studies).
            AmbiguousStudy: several studies match (the message lists them).
        """
        if isinstance(query, Study):
            return query
        if not isinstance(query, str) or not query.strip():
            raise InvalidStudy("a study name, id or id prefix is required", query=str(query))
        text = query.strip()
        studies = self.studies()
        matchers: tuple[Callable[[Study], bool], ...] = (
            lambda s: s.id == text,
            lambda s: s.name == text,
            lambda s: s.id.startswith(text),
            lambda s: s.name.casefold() == text.casefold(),
        )
        for matcher in matchers:
            found = [s for s in studies if matcher(s)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                listing = "; ".join(f"{s.name} ({s.id})" for s in found)
                raise AmbiguousStudy(
                    f"{text!r} matches {len(found)} studies: {listing}. Use the full study id",
                    query=text,
                    candidates=[(s.id, s.name) for s in found],
                )
        candidates = [s for s in studies if text.casefold() in s.name.casefold()] or studies
        listing = "; ".join(f"{s.name} ({s.id})" for s in candidates[:20])
        more = f" and {len(candidates) - 20} more" if len(candidates) > 20 else ""
        raise InvalidStudy(
            f"no accessible study matches {text!r}. "
            + (f"Studies: {listing}{more}" if studies else "These credentials can access no study"),
            query=text,
            candidates=[(s.id, s.name) for s in candidates],
        )

    def _study_id(self, study: StudyRef) -> str:
        if isinstance(study, Study):
            return study.id
        if not isinstance(study, str):
            raise InvalidArgument(
                f"a study must be a Study or a string, got {type(study).__name__}"
            )
        if _STUDY_ID.match(study.strip()):
            return study.strip()
        return self.resolve_study(study).id

    def _study_call(self, endpoint: str, study: StudyRef) -> tuple[_Call, dict[str, str]]:
        study_id = self._study_id(study)
        return _Call(endpoint, "study", study_id=study_id), {"study_id": study_id}

    # -- study-scoped endpoints ----------------------------------------------------------

    def participant_ids(self, study: StudyRef) -> list[str]:
        """Every participant id of the study (deleted ones included), sorted."""
        call, form = self._study_call("/get-participant-ids/v1", study)
        data = self._json(call, form)
        self._expect(call, data, list, "a list of participant ids")
        return sorted(str(p) for p in data)

    def users(self, study: StudyRef) -> list[str]:
        """Participant ids from the deprecated ``/get-users/v1`` alias (old servers), sorted."""
        call, form = self._study_call("/get-users/v1", study)
        data = self._json(call, form)
        self._expect(call, data, list, "a list of participant ids")
        return sorted(str(p) for p in data)

    def study_settings(self, study: StudyRef) -> StudySettings:
        """The study's device settings, surveys, interventions and time zone (JSON endpoint)."""
        call, form = self._study_call("/get-study-settings/v1", study)
        data = self._json(call, form)
        self._expect(call, data, dict, "a settings object")
        return StudySettings.from_json(data)

    def study_settings_to_file(self, study: StudyRef, path: str | os.PathLike[str]) -> int:
        """Write the study settings JSON, as the server sends it, to ``path`` atomically."""
        call, form = self._study_call("/get-study-settings/v1", study)
        return self._to_file(call, form, path)

    def interventions_to_file(self, study: StudyRef, path: str | os.PathLike[str]) -> int:
        """Write the intervention dates JSON, as the server sends it, to ``path`` atomically."""
        call, form = self._study_call("/get-interventions/v1", study)
        return self._to_file(call, form, path)

    def data_quantities(self, study: StudyRef) -> dict[str, dict[DataStream, int]]:
        """Bytes of data per participant and stream (every participant, zeros included)."""
        call, form = self._study_call("/get-participant-data-quantities/v1", study)
        data = self._json(call, form)
        self._expect(call, data, dict, "an object keyed by participant id")
        result: dict[str, dict[DataStream, int]] = {}
        for pid, counts in data.items():
            per: dict[DataStream, int] = {}
            for key, value in (counts or {}).items():
                name = key[: -len("_bytes")] if key.endswith("_bytes") else key
                try:
                    per[DataStream(name)] = int(value or 0)
                except ValueError:
                    logger.debug("ignoring unknown data-quantity key %r", key)
            result[str(pid)] = per
        return result

    def interventions(self, study: StudyRef) -> dict[str, dict[str, dict[str, date | None]]]:
        """Intervention dates: ``{participant: {survey_id: {intervention: date | None}}}``."""
        call, form = self._study_call("/get-interventions/v1", study)
        data = self._json(call, form)
        self._expect(call, data, dict, "an object keyed by participant id")
        return parse_intervention_dates(data)

    def survey_history(self, study: StudyRef) -> dict[str, list[SurveyArchive]]:
        """Every archived version of every survey (deleted included), oldest first."""
        call, form = self._study_call("/get-survey-history/v1", study)
        data = self._json(call, form)
        self._expect(call, data, dict, "an object keyed by survey id")
        return {
            str(sid): [
                SurveyArchive(
                    archive_start=parse_datetime(item.get("archive_start")),
                    survey_json=item.get("survey_json"),
                )
                for item in items or []
                if isinstance(item, dict)
            ]
            for sid, items in data.items()
        }

    def survey_history_to_file(self, study: StudyRef, path: str | os.PathLike[str]) -> int:
        """Write the survey history JSON to ``path`` atomically; returns bytes written."""
        call, form = self._study_call("/get-survey-history/v1", study)
        return self._to_file(call, form, path)

    def participant_table(self, study: StudyRef) -> ParticipantTable:
        """The participant table (non-deleted participants, server's column order)."""
        call, form = self._study_call("/get-participant-table-data/v1", study)
        form["data_format"] = "json_table"
        data = self._json(call, form)
        self._expect(call, data, list, "a list of rows")
        if not data:
            return ParticipantTable(columns=(), rows=())
        return ParticipantTable(
            columns=tuple(str(c) for c in data[0]),
            rows=tuple(tuple(row) for row in data[1:]),
        )

    def participant_table_records(self, study: StudyRef) -> list[dict[str, Any]]:
        """The participant table as the server's ``json`` format: one dict per participant."""
        call, form = self._study_call("/get-participant-table-data/v1", study)
        form["data_format"] = "json"
        data = self._json(call, form)
        self._expect(call, data, list, "a list of participant objects")
        return [dict(row) for row in data]

    def participant_table_to_file(
        self,
        study: StudyRef,
        path: str | os.PathLike[str],
        *,
        data_format: Literal["csv", "json", "json_table"] = "csv",
    ) -> int:
        """Write the participant table (CSV by default) to ``path`` atomically."""
        if data_format not in ("csv", "json", "json_table"):
            raise InvalidArgument(
                f"data_format must be csv, json or json_table, not {data_format!r}"
            )
        call, form = self._study_call("/get-participant-table-data/v1", study)
        form["data_format"] = data_format
        return self._to_file(call, form, path)

    def _summary_params(
        self,
        *,
        start_date: TimeLike | None,
        end_date: TimeLike | None,
        participant_ids: Iterable[str] | None,
        fields: Iterable[str] | None,
        limit: int | None,
        ordered_by: str | None,
        order_direction: Literal["ascending", "descending"] | None,
    ) -> dict[str, str]:
        params: dict[str, str] = {}
        if start_date is not None:
            params["start_date"] = format_date(start_date)
        if end_date is not None:
            params["end_date"] = format_date(end_date)
        pids = parse_participant_ids(participant_ids)
        if pids:
            params["participant_ids"] = ",".join(pids)
        if fields is not None:
            names = [fields] if isinstance(fields, str) else list(fields)
            if names:
                params["fields"] = ",".join(names)
        if limit is not None:
            if int(limit) < 0:
                raise InvalidArgument(f"limit must be >= 0, got {limit}")
            params["limit"] = str(int(limit))
        if ordered_by is not None:
            params["ordered_by"] = ordered_by
        if order_direction is not None:
            if order_direction not in ("ascending", "descending"):
                raise InvalidArgument("order_direction must be 'ascending' or 'descending'")
            params["order_direction"] = order_direction
        return params

    def summary_statistics(
        self,
        study: StudyRef,
        *,
        start_date: TimeLike | None = None,
        end_date: TimeLike | None = None,
        participant_ids: Iterable[str] | None = None,
        fields: Iterable[str] | None = None,
        limit: int | None = None,
        ordered_by: str | None = None,
        order_direction: Literal["ascending", "descending"] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Daily summary statistics, one dict per participant-day, parsed incrementally.

        Filters go in the query string (the only place the server reads them). Dates are
        inclusive. The request is sent immediately; rows are parsed as they arrive.
        """
        call, form = self._study_call("/get-summary-statistics/v1", study)
        params = self._summary_params(
            start_date=start_date,
            end_date=end_date,
            participant_ids=participant_ids,
            fields=fields,
            limit=limit,
            ordered_by=ordered_by,
            order_direction=order_direction,
        )
        return self._iter_list(call, form, params)

    def summary_statistics_to_file(
        self,
        study: StudyRef,
        path: str | os.PathLike[str],
        *,
        start_date: TimeLike | None = None,
        end_date: TimeLike | None = None,
        participant_ids: Iterable[str] | None = None,
        fields: Iterable[str] | None = None,
        limit: int | None = None,
        ordered_by: str | None = None,
        order_direction: Literal["ascending", "descending"] | None = None,
    ) -> int:
        """Write the summary statistics JSON list to ``path`` atomically; returns bytes."""
        call, form = self._study_call("/get-summary-statistics/v1", study)
        params = self._summary_params(
            start_date=start_date,
            end_date=end_date,
            participant_ids=participant_ids,
            fields=fields,
            limit=limit,
            ordered_by=ordered_by,
            order_direction=order_direction,
        )
        return self._to_file(call, form, path, params, json_list=True)

    # -- participant-scoped endpoints ----------------------------------------------------

    def _participant_call(self, endpoint: str, participant_id: str) -> tuple[_Call, dict[str, str]]:
        if not isinstance(participant_id, str) or not participant_id.strip():
            raise InvalidArgument(f"a participant id is required, got {participant_id!r}")
        pid = participant_id.strip()
        return _Call(endpoint, "participant", participant_id=pid), {"participant_id": pid}

    def upload_history(self, participant_id: str) -> Iterator[UploadRecord]:
        """Every upload the server received from the participant, oldest first (streamed)."""
        call, form = self._participant_call("/get-participant-upload-history/v1", participant_id)
        return (UploadRecord.from_json(o) for o in self._iter_list(call, form))

    def heartbeat_history(self, participant_id: str) -> Iterator[HeartbeatRecord]:
        """Every app heartbeat of the participant, oldest first (streamed)."""
        call, form = self._participant_call("/get-participant-heartbeat-history/v1", participant_id)
        return (HeartbeatRecord.from_json(o) for o in self._iter_list(call, form))

    def version_history(self, participant_id: str) -> Iterator[VersionRecord]:
        """Every app / OS version the participant's phone reported, oldest first (streamed)."""
        call, form = self._participant_call("/get-participant-version-history/v1", participant_id)
        return (VersionRecord.from_json(o) for o in self._iter_list(call, form))

    def device_status_history(self, participant_id: str) -> Iterator[DeviceStatusRecord]:
        """Extensive device-status reports, oldest first (streamed; usually empty)."""
        call, form = self._participant_call(
            "/get-participant-device-status-history/v1", participant_id
        )
        return (
            DeviceStatusRecord.from_json(o)
            for o in self._iter_list(call, form)
            if isinstance(o, dict)
        )

    def history_to_file(
        self,
        kind: Literal["upload", "heartbeat", "version", "device-status"],
        participant_id: str,
        path: str | os.PathLike[str],
    ) -> int:
        """Write one participant history JSON list to ``path`` atomically; returns bytes."""
        endpoints = {
            "upload": "/get-participant-upload-history/v1",
            "heartbeat": "/get-participant-heartbeat-history/v1",
            "version": "/get-participant-version-history/v1",
            "device-status": "/get-participant-device-status-history/v1",
        }
        if kind not in endpoints:
            raise InvalidArgument(f"history kind must be one of {', '.join(endpoints)}")
        call, form = self._participant_call(endpoints[kind], participant_id)
        return self._to_file(call, form, path, json_list=True)

    def notification_history(
        self, participant_id: str, *, utc: bool = True
    ) -> dict[str, list[NotificationRecord]]:
        """Survey push notifications per survey id (times in UTC unless ``utc=False``)."""
        call, form = self._participant_call(
            "/get-participant-notification-history/v1", participant_id
        )
        if utc:
            form["utc"] = "true"
        data = self._json(call, form)
        self._expect(call, data, dict, "an object keyed by survey id")
        return {
            str(sid): [
                NotificationRecord.from_json(str(sid), o)
                for o in items or []
                if isinstance(o, dict)
            ]
            for sid, items in data.items()
        }

    def file_hashes(self, participant_id: str) -> dict[str, str] | None:
        """SHA-1 (base64) of every file of the participant, keyed like get-data v1 names.

        The server's ``T`` separator is turned into the space of zip member names and hex
        values into base64. Files without a known hash are left out.

        Returns:
            The mapping, or ``None`` when the server cannot answer (500, which the current
            server does whenever a hash exists, or a missing endpoint on older servers).

        Raises:
            ParticipantNotFound: the participant does not exist.
        """
        call, form = self._participant_call("/get-participant-file-hashes/v1", participant_id)
        call.retry_server_errors = False
        try:
            data = self._json(call, form)
        except (ServerError, EndpointNotFound) as exc:
            if isinstance(exc, ServerMaintenance):
                raise
            logger.info("file hashes unavailable for %s (%s)", call.participant_id, exc.status)
            return None
        self._expect(call, data, dict, "an object of path -> hash")
        result: dict[str, str] = {}
        for key, value in data.items():
            if not isinstance(value, str) or not value:
                continue
            name = _T_IN_NAME.sub(r"\1 \2", str(key))
            value = value.strip()
            if _HEX_SHA1.match(value):
                value = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            result[name] = value
        return result

    # -- downloads -----------------------------------------------------------------------

    def download(
        self,
        study: StudyRef,
        *,
        participants: Iterable[str] | str | None = None,
        streams: Iterable[str | DataStream] | str | None = None,
        start: TimeLike | None = None,
        end: TimeLike | None = None,
        registry: Mapping[str, str] | None = None,
        version: int = 2,
        tmp_dir: str | os.PathLike[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Archive:
        """Download raw data as a validated :class:`Archive` (a hidden temporary zip).

        The body is streamed to disk, then the central directory and every member's CRC are
        checked; truncated or corrupt archives, dropped connections, 5xx and 503 are retried.

        Args:
            study: A :class:`Study`, a study id, name or unique id prefix.
            participants: Participant ids (all when ``None``); duplicates are rejected.
            streams: :class:`DataStream` values or names (all when ``None``); validated first.
            start: Inclusive; date, datetime or ISO string, naive = UTC; sent as the start of
                its UTC hour.
            end: Inclusive; sent as the last second of its UTC hour (a date means the whole
                day): the hour containing ``end`` is included for every stream.
            registry: Storage path -> hash of files to skip, sent as one JSON field.
            version: 2 (zstd members, default) or 1 (plain members).
            tmp_dir: Where the hidden temporary zip goes (the system temp dir by default).
            progress: Called with the bytes received so far by the current attempt.

        Raises:
            InvalidDataStream, DuplicateParticipant, InvalidArgument: bad arguments (no request).
            StudyNotFound, ParticipantNotFound, DataRequestNotFound: 404, narrowed down.
            TruncatedDownload: the archive stayed incomplete after every retry.
        """
        study_id = self._study_id(study)
        pids = parse_participant_ids(participants)
        stream_list = parse_data_streams(streams)
        if version not in (1, 2):
            raise InvalidArgument(f"version must be 1 or 2, got {version!r}")
        fields: dict[str, str] = {"study_id": study_id}
        if pids:
            fields["participant_ids"] = json.dumps(pids)
        if stream_list:
            fields["data_streams"] = json.dumps([s.value for s in stream_list])
        if start is not None:
            fields["time_start"] = format_time_start(start)
        if end is not None:
            fields["time_end"] = format_time_end(end)
        if start is not None and end is not None and to_utc(start) > to_utc(end):
            raise InvalidArgument(f"start ({start}) is after end ({end})")
        encoded = encode_registry(registry)
        if encoded is not None:
            fields["registry"] = encoded
            if len(encoded) > _PROXY_BODY_LIMIT:
                logger.warning(
                    "the registry is %.1f MiB; servers behind nginx's default 1 MiB body limit "
                    "answer 413 (download per participant to keep it small)",
                    len(encoded) / (1 << 20),
                )
        endpoint = f"/get-data/v{version}"
        call = _Call(endpoint, "data", study_id=study_id, fields=fields)
        folder = Path(tmp_dir) if tmp_dir is not None else Path(tempfile.gettempdir())
        folder.mkdir(parents=True, exist_ok=True)
        logger.info(
            "downloading %s study=%s participants=%s streams=%s %s..%s registry=%d",
            endpoint,
            study_id,
            len(pids) or "all",
            ",".join(s.value for s in stream_list) or "all",
            fields.get("time_start", "-"),
            fields.get("time_end", "-"),
            len(registry or {}),
        )

        def attempt(number: int) -> Archive:
            started = time.monotonic()
            resp = self._send(call, fields)
            deadline = Deadline(resp, self.download_deadline, started)
            fd, tmp_name = tempfile.mkstemp(
                prefix=".mano-api-download.", suffix=".zip.mano-tmp", dir=folder
            )
            tmp = Path(tmp_name)
            received = 0
            check = StreamCheck()  # CRC-32 of each member as it arrives (one pass, not two)
            try:
                with resp, os.fdopen(fd, "wb") as out, deadline:
                    if progress is not None:
                        progress(0)
                    try:
                        for chunk in resp.iter_content(DOWNLOAD_CHUNK):
                            out.write(chunk)
                            check.feed(chunk)
                            received += len(chunk)
                            self._count(len(chunk))
                            if progress is not None:
                                progress(received)
                            if deadline.expired:
                                break
                    except (
                        requests.ConnectionError,
                        requests.exceptions.ChunkedEncodingError,
                    ) as exc:
                        if deadline.expired:
                            raise _Retryable(self._too_slow(call, deadline, received)) from exc
                        raise _Retryable(
                            self._transport_error(exc, call, "while receiving")
                        ) from exc
                    except requests.RequestException as exc:
                        if deadline.expired:
                            raise _Retryable(self._too_slow(call, deadline, received)) from exc
                        raise self._transport_error(exc, call, "while receiving") from exc
                    if deadline.expired:  # the cut came between two reads
                        raise _Retryable(self._too_slow(call, deadline, received))
                try:
                    members, reg, has_registry = validate_zip(tmp, check)
                except ArchiveValidationError as exc:
                    raise _Retryable(
                        TruncatedDownload(
                            f"the archive from {endpoint} is incomplete or corrupt after "
                            f"{received} bytes ({exc}); the server stops mid-stream when "
                            "generation fails. Request less at once if this persists",
                            endpoint=endpoint,
                            bytes_received=received,
                            attempts=number + 1,
                        )
                    ) from exc
                damaged = [m.name for m in members if m.damaged]
                if damaged and number < self.retries:
                    # usually bytes damaged on the way: ask again while attempts remain; then
                    # hand out the archive, whose other members are sound
                    raise _Retryable(
                        TruncatedDownload(
                            f"{len(damaged)} member(s) of the archive from {endpoint} fail their "
                            f"CRC-32 (first: {damaged[0]})",
                            endpoint=endpoint,
                            bytes_received=received,
                            attempts=number + 1,
                        )
                    )
                archive = Archive(
                    tmp,
                    version=version,
                    members=members,
                    registry=reg,
                    has_registry=has_registry,
                    attempts=number + 1,
                )
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            unsafe = archive.unsafe_members
            if unsafe:
                logger.warning(
                    "archive has %d unsafe member names, e.g. %r", len(unsafe), unsafe[0].name
                )
            logger.info("received %s: %d members, %d bytes", endpoint, len(archive), archive.size)
            return archive

        try:
            return self._retrying(call, attempt)
        except DataRequestNotFound as exc:
            raise self._explain_data_404(call, pids, stream_list) from exc

    def _explain_data_404(
        self, call: _Call, pids: list[str], streams: list[DataStream]
    ) -> NotFound:
        """Narrow a get-data 404 down with one extra request (participant ids of the study)."""
        ep = call.endpoint
        ruled_out = "data stream names (checked locally)"
        if pids:
            ruled_out += ", duplicate participant ids (checked locally)"
        try:
            known = set(self.participant_ids(call.study_id or ""))
        except StudyNotFound:
            return StudyNotFound(
                f"study {call.study_id} does not exist on {self.base_url} or was deleted (404 "
                f"from {ep}); list yours with client.studies()",
                endpoint=ep,
                status=404,
            )
        except ResponseError:
            known = None
        if known is not None:
            missing = [p for p in pids if p not in known]
            if missing:
                return ParticipantNotFound(
                    f"{ep} answered 404: participant id(s) {', '.join(missing)} are not in study "
                    f"{call.study_id} (the server needs every id to exist); ruled out: "
                    f"{ruled_out}",
                    endpoint=ep,
                    participant_ids=missing,
                )
            ruled_out += ", an unknown study, participants missing from the study"
        return DataRequestNotFound(
            f"{ep} answered 404 (the server's answer for an unknown study, data stream or "
            f"participant); ruled out: {ruled_out}",
            endpoint=ep,
            status=404,
        )
