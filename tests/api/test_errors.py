"""Every error status of docs/beiwe-server.md#checks and #get-data-errors surfaces as the right exception and message."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
import requests

import mano_api
from mano_api import (
    AuthenticationFailed,
    BadRequest,
    BeiweClient,
    ConnectionFailed,
    DataRequestNotFound,
    EndpointNotFound,
    ManoAPIError,
    MethodNotAllowed,
    ParticipantNotFound,
    ServerError,
    StudyAccessDenied,
    StudyNotFound,
    Timeout,
    TLSError,
)
from mano_testing import Emulator
from tests.api.conftest import client_for, settled_log

UNKNOWN_STUDY = "A" * 24


def _client(emu: Emulator, **kw: Any) -> BeiweClient:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("retries", 1)
    return BeiweClient(emu.credentials, **kw)


# -- 400 ------------------------------------------------------------------------------------


def test_400_study_id_shape(fresh: Emulator) -> None:
    with (
        _client(fresh) as client,
        pytest.raises(BadRequest, match="not a 24-character study id") as info,
    ):
        client.request("/get-participant-ids/v1", {"study_id": "short"})
    assert info.value.parameter == "study_id" and info.value.status == 400
    assert isinstance(info.value, ValueError)


def test_400_missing_study_and_bad_pk(fresh: Emulator) -> None:
    with _client(fresh) as client:
        with pytest.raises(BadRequest, match="400"):
            client.request("/get-participant-ids/v1", {"study_pk": "x"})
    assert [r.status for r in settled_log(fresh)] == [400]  # never retried


@pytest.mark.parametrize(
    ("field", "value"), [("SECRET_KEY", "bad=secret"), ("ACCESS_KEY", "bad-access_key")]
)
def test_400_key_characters(fresh: Emulator, field: str, value: str) -> None:
    creds = dict(fresh.credentials, **{field: value})
    with BeiweClient(creds, backoff=0.01) as client:
        with pytest.raises(BadRequest, match="characters the server rejects") as info:
            client.participant_ids(fresh.study_id)
    assert info.value.parameter == field.lower()
    assert value not in str(info.value)


def test_400_participant_id_missing(fresh: Emulator) -> None:
    with (
        _client(fresh) as client,
        pytest.raises(BadRequest, match="participant id is empty") as info,
    ):
        client.request("/get-participant-upload-history/v1", {"participant_id": ""})
    assert info.value.parameter == "participant_id"


def test_400_data_format_message(fresh: Emulator) -> None:
    with _client(fresh) as client, pytest.raises(BadRequest, match="only 'csv' and 'json'") as info:
        client.request(
            "/get-participant-table-data/v1", {"study_id": fresh.study_id, "data_format": "xml"}
        )
    assert info.value.parameter == "data_format"


def test_400_summary_statistics_errors(fresh: Emulator) -> None:
    with _client(fresh) as client:
        with pytest.raises(BadRequest, match="start date could not be interpreted") as info:
            client.request(
                "/get-summary-statistics/v1",
                {"study_id": fresh.study_id},
                params={"start_date": "05/10/2020"},
            )
        assert info.value.server_errors and info.value.parameter == "start_date"
        with pytest.raises(BadRequest, match="not a valid field"):
            list(client.summary_statistics(fresh.study_id, fields=["nonsense"]))


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"time_start": "2020-10-05 02:00:00"}, "time_start/time_end"),
        ({"registry": "[]"}, "registry"),
        ({"participant_ids": "12345678"}, "participant_ids"),
    ],
)
def test_400_get_data_parameters(fresh: Emulator, fields: dict[str, str], parameter: str) -> None:
    with _client(fresh) as client, pytest.raises(BadRequest) as info:
        client.request("/get-data/v1", {"study_id": fresh.study_id, **fields})
    assert info.value.parameter == parameter
    assert info.value.endpoint == "/get-data/v1"


# -- 403 ------------------------------------------------------------------------------------


def test_403_wrong_secret(fresh: Emulator) -> None:
    creds = dict(fresh.credentials, SECRET_KEY="x" * 64)
    with BeiweClient(creds, backoff=0.01) as client:
        with pytest.raises(AuthenticationFailed, match="rejected the access key / secret key"):
            client.participant_ids(fresh.study_id)
        with pytest.raises(AuthenticationFailed):
            client.studies()
        with pytest.raises(AuthenticationFailed):
            client.check_credentials()
        with pytest.raises(AuthenticationFailed):
            list(client.heartbeat_history(fresh.participants[0]))


def test_403_disabled_key(fresh: Emulator) -> None:
    with client_for(fresh, "disabled") as client, pytest.raises(AuthenticationFailed) as info:
        client.download(fresh.study_id)
    assert isinstance(info.value, PermissionError)


def test_403_no_access_to_study(fresh: Emulator) -> None:
    with client_for(fresh, "outsider") as client:
        with pytest.raises(StudyAccessDenied, match=f"no access to study {fresh.study_id}"):
            client.download(fresh.study_id)
        with pytest.raises(StudyAccessDenied, match="valid"):
            client.study_settings(fresh.study_id)
        with pytest.raises(StudyAccessDenied, match=f"participant {fresh.participants[0]}"):
            client.notification_history(fresh.participants[0])
    checks = [r for r in settled_log(fresh, 4) if r.path == "/check-my-credentials/v1"]
    assert len(checks) == 1  # validity is asked once, then remembered


# -- 404 ------------------------------------------------------------------------------------


def test_404_unknown_study(fresh: Emulator) -> None:
    with _client(fresh) as client:
        with pytest.raises(StudyNotFound, match=f"study {UNKNOWN_STUDY} does not exist"):
            client.participant_ids(UNKNOWN_STUDY)
        with pytest.raises(StudyNotFound, match="does not exist"):
            client.download(UNKNOWN_STUDY)


def test_404_unknown_participant(fresh: Emulator) -> None:
    with _client(fresh) as client:
        with pytest.raises(ParticipantNotFound, match="zzzzzzzz") as info:
            list(client.upload_history("zzzzzzzz"))
        assert info.value.participant_ids == ["zzzzzzzz"]
        with pytest.raises(ParticipantNotFound, match="zzzzzzzz") as info:
            client.download(fresh.study_id, participants=[fresh.participants[0], "zzzzzzzz"])
        assert info.value.participant_ids == ["zzzzzzzz"]
        assert "data stream names (checked locally)" in str(info.value)
        with pytest.raises(ParticipantNotFound):
            client.file_hashes("zzzzzzzz")


def test_404_stream_or_duplicate_sent_raw(fresh: Emulator) -> None:
    with _client(fresh) as client:
        with pytest.raises(DataRequestNotFound, match="unknown study, data stream or participant"):
            client.request(
                "/get-data/v1", {"study_id": fresh.study_id, "data_streams": '["image_survey"]'}
            )


def test_404_unknown_endpoint(fresh: Emulator) -> None:
    with (
        _client(fresh) as client,
        pytest.raises(EndpointNotFound, match="no endpoint /get-nothing/v1"),
    ):
        client.request("/get-nothing/v1")


# -- 405 ------------------------------------------------------------------------------------


class _MethodChangingSession(requests.Session):
    """Plays a proxy that turns POST into PUT."""

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        return super().request("PUT", url, *args, **kwargs)


def test_405(fresh: Emulator) -> None:
    with BeiweClient(fresh.credentials, session=_MethodChangingSession()) as client:
        with pytest.raises(MethodNotAllowed, match="allowed: POST"):
            client.studies()


# -- 500 / 503 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [{"time_start": "2020-10-05T02:00:00Z"}, {"data_streams": "5"}, {"study_id": "b'" + "a" * 22}],
)
def test_500_get_data(fresh: Emulator, fields: dict[str, str]) -> None:
    with _client(fresh) as client, pytest.raises(ServerError, match="failed with 500") as info:
        client.request("/get-data/v1", {"study_id": fresh.study_id, **fields})
    assert info.value.status == 500 and "gave up after 2 attempts" in str(info.value)


# -- transport ------------------------------------------------------------------------------


def test_timeout(fresh: Emulator) -> None:
    fresh.set_faults("get-studies:slow=1.5")
    with BeiweClient(fresh.credentials, timeout=(2, 0.3), retries=0) as client:
        with pytest.raises(Timeout, match="sent nothing for 0.3 s") as info:
            client.studies()
    assert isinstance(info.value, TimeoutError)


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, r"^connection refused by 127\.0\.0\.1:\d+: the server is down or the URL's port"),
        # .invalid never resolves (RFC 2606): no traffic leaves the machine
        (
            "http://beiwe.example.invalid",
            r"^cannot resolve the host name 'beiwe\.example\.invalid' \(DNS\)",
        ),
    ],
    ids=["refused", "dns"],
)
def test_unreachable_host_fails_at_once_in_one_line(
    url: str | None, expected: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    creds = {
        "URL": url or f"http://127.0.0.1:{_closed_port()}",
        "ACCESS_KEY": "a",
        "SECRET_KEY": "b",
    }
    # default retries and backoff: a retried refusal would take 1+2+4+8+16 s
    client = BeiweClient(creds)
    t0 = time.monotonic()
    with client, pytest.raises(ConnectionFailed, match=expected) as info:
        client.studies()
    assert time.monotonic() - t0 < 5
    assert client.requests_sent == 1
    message = str(info.value)
    assert "\n" not in message and "urllib3" not in message and "Pool" not in message
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_refused_after_the_server_answered_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    import http.server
    import threading

    class Once(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"123456789012345678901234": "A study"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Once)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    caplog.set_level(logging.INFO, logger="mano_api")
    client = BeiweClient(
        {"URL": url, "ACCESS_KEY": "a", "SECRET_KEY": "b"}, retries=2, backoff=0.01
    )
    assert [st.name for st in client.studies()] == ["A study"]
    thread.join()
    server.server_close()  # the server restarts: refused now, maybe back in a moment
    with client, pytest.raises(ConnectionFailed, match="gave up after 3 attempts"):
        client.participant_ids("123456789012345678901234")
    retries = [r for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2 and all(r.levelno == logging.INFO for r in retries)
    assert all("Pool" not in r.getMessage() for r in retries)


def test_tls_against_plain_http_server(fresh: Emulator) -> None:
    creds = dict(fresh.credentials, URL=fresh.url.replace("http://", "https://"))
    with (
        BeiweClient(creds, retries=0) as client,
        pytest.raises(TLSError, match="REQUESTS_CA_BUNDLE") as info,
    ):
        client.studies()
    assert "Pool" not in str(info.value) and client.requests_sent == 1


# -- secrets --------------------------------------------------------------------------------


def test_secret_never_in_logs_or_errors(fresh: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    secret = fresh.secret_key
    errors: list[BaseException] = []
    fresh.set_faults("5xx=1,reset=1,truncate=1,downtime=1")
    with _client(fresh, retries=5) as client:
        with client.download(fresh.study_id, participants=fresh.participants[:1], streams=["gps"]):
            pass
        list(client.summary_statistics(fresh.study_id, participant_ids=fresh.participants[:1]))
        for call in (
            lambda: client.request("/get-data/v1", {"study_id": fresh.study_id, "time_start": "x"}),
            lambda: client.participant_ids(UNKNOWN_STUDY),
            lambda: client.request("/get-nothing/v1"),
            lambda: client.download(fresh.study_id, participants=["zzzzzzzz"]),
        ):
            with pytest.raises(ManoAPIError) as info:
                call()
            errors.append(info.value)
    with client_for(fresh, "outsider") as other, pytest.raises(StudyAccessDenied) as denied:
        other.participant_ids(fresh.study_id)
    errors.append(denied.value)
    texts = [caplog.text, repr(client)]
    for err in errors:
        chain: BaseException | None = err
        while chain is not None:
            texts += [str(chain), repr(chain)]
            request = getattr(chain, "request", None)
            assert request is None or secret not in str(getattr(request, "body", ""))
            chain = chain.__cause__ or chain.__context__
    assert "POST /get-data/v1" in caplog.text or "/get-data/v2" in caplog.text
    for text in texts:
        assert secret not in text
        assert mano_api.__name__  # keep import used
