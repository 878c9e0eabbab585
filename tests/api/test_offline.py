"""Client behaviour that needs responses the emulator cannot produce (fake adapter)."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

import mano_api
from mano_api import (
    BeiweClient,
    DataStream,
    InvalidResponse,
    RedirectedToHTTPS,
    Study,
    TLSError,
)
from mano_api._archive import ArchiveValidationError
from tests.api.fake import FakeAdapter, Reply, session_with

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"  # recorded real responses
SECRET = "S3cr3tKeyValue+/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL"
CREDS = {"URL": "https://beiwe.example.org/", "ACCESS_KEY": "AccessKey123", "SECRET_KEY": SECRET}
STUDY_ID = "123lrVdb0g6tf3PeJr5ZtZC8"


def make_client(routes: dict[str, Any], **kw: object) -> tuple[BeiweClient, FakeAdapter]:
    adapter = FakeAdapter(routes)
    client = BeiweClient(CREDS, session=session_with(adapter), backoff=0.001, **kw)  # type: ignore[arg-type]
    return client, adapter


def test_get_studies_text_html_body_is_parsed() -> None:
    body = b'{"123lrVdb0g6tf3PeJr5ZtZC8": "Project A", "123U93wwgS18aLDIwdYXTXsr": "Project B"}'
    client, adapter = make_client(
        {"/get-studies/v1": [Reply(200, body, {"Content-Type": "text/html; charset=utf-8"})]}
    )
    assert client.studies() == [
        Study("123lrVdb0g6tf3PeJr5ZtZC8", "Project A"),
        Study("123U93wwgS18aLDIwdYXTXsr", "Project B"),
    ]
    seen = adapter.seen[0]
    assert seen.method == "POST"
    assert seen.form == {"access_key": ["AccessKey123"], "secret_key": [SECRET]}
    assert seen.query == {}
    assert seen.timeout == (10.0, 300.0)


def test_old_users_endpoint_seven_char_ids() -> None:
    client, adapter = make_client(
        {"/get-users/v1": [Reply(200, b'["tgsidhm", "lholbc5", "yxzxtwr"]', {})]}
    )
    assert client.users(STUDY_ID) == ["lholbc5", "tgsidhm", "yxzxtwr"]
    assert adapter.seen[0].form["study_id"] == [STUDY_ID]


def test_old_format_archive_with_directory_entries(tmp_path: Path) -> None:
    body = (FIXTURES / "real-get-data-v1-response.zip").read_bytes()
    client, adapter = make_client(
        {"/get-data/v1": [Reply(200, body, {"Content-Type": "application/zip"})]}
    )
    with client.download(
        STUDY_ID,
        participants=["6y6s1w4g"],
        streams=["gps", DataStream.IDENTIFIERS],
        start="2018-06-15",
        end="2018-06-17",
        version=1,
        tmp_dir=tmp_path,
    ) as archive:
        names = [m.name for m in archive]
        assert len(names) == 30
        assert "6y6s1w4g/gps/2018-06-16 11_00_00.csv" in names
        assert not any(n.endswith("/") for n in names)
        assert all(m.is_safe for m in archive)
        assert len(archive.registry) == 30
        assert all(not v.endswith("\n") for v in archive.registry.values())
        data = archive.read("6y6s1w4g/identifiers/2018-06-15 16_00_00.csv")
        assert data.startswith(b"timestamp")
        assert archive.path.parent == tmp_path and archive.path.name.startswith(".")
        path = archive.path
    assert not path.exists()
    form = adapter.seen[0].form
    assert json.loads(form["participant_ids"][0]) == ["6y6s1w4g"]
    assert json.loads(form["data_streams"][0]) == ["gps", "identifiers"]
    assert form["time_start"] == ["2018-06-15T00:00:00"]
    assert form["time_end"] == ["2018-06-17T23:59:59"]
    assert "user_ids" not in form and "registry" not in form


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("registry", json.dumps({"k": "v"}))
    return buf.getvalue()


def test_truncated_then_good_archive_is_retried(tmp_path: Path) -> None:
    good = _zip_bytes({"abcd1234/gps/2020-10-05 02_00_00+00_00.csv.zst": b"x" * 5000})
    client, adapter = make_client(
        {"/get-data/v2": [Reply(200, good[:3000]), Reply(200, good[:-10]), Reply(200, good)]}
    )
    with client.download(STUDY_ID, tmp_dir=tmp_path) as archive:
        assert archive.attempts == 3
        assert archive.read(archive.members()[0]) == b"x" * 5000
        assert archive.registry == {"k": "v"}
    assert client.bytes_received == 3000 + len(good) - 10 + len(good)
    assert list(tmp_path.iterdir()) == []


def test_crc_mismatch_is_retried_then_only_that_member_is_unusable(tmp_path: Path) -> None:
    good = _zip_bytes({"a/gps/x.csv": b"hello world" * 100, "a/gps/y.csv": b"fine" * 10})
    bad = good.replace(b"hello world", b"hellO world", 1)
    client, _ = make_client({"/get-data/v2": [Reply(200, bad), Reply(200, bad)]}, retries=1)
    with client.download(STUDY_ID, tmp_dir=tmp_path) as archive:
        assert archive.attempts == 2  # asked again once, then handed out
        damaged = {m.name: m.damaged for m in archive.members()}
        assert damaged == {"a/gps/x.csv": True, "a/gps/y.csv": False}
        assert archive.read("a/gps/y.csv") == b"fine" * 10
        with pytest.raises(ArchiveValidationError, match="CRC"):
            archive.read("a/gps/x.csv")
    assert list(tmp_path.iterdir()) == []


def test_tls_error_advice() -> None:
    client, _ = make_client(
        {
            "/get-studies/v1": [
                Reply(raise_exc=requests.exceptions.SSLError("certificate verify failed"))
            ]
        }
    )
    with pytest.raises(TLSError) as info:
        client.studies()
    msg = str(info.value)
    assert "OpenSSL" in msg and "REQUESTS_CA_BUNDLE" in msg and "certificate verify failed" in msg
    assert isinstance(info.value, ConnectionError)


def test_http_to_https_redirect_is_not_followed() -> None:
    adapter = FakeAdapter(
        {
            "/get-studies/v1": [
                Reply(301, b"", {"Location": "https://beiwe.example.org/get-studies/v1"})
            ]
        }
    )
    creds = dict(CREDS, URL="http://beiwe.example.org")
    client = BeiweClient(creds, session=session_with(adapter))
    with pytest.raises(RedirectedToHTTPS, match="Use https://beiwe.example.org as the server URL"):
        client.studies()
    assert len(adapter.seen) == 1


def test_not_json_body() -> None:
    client, _ = make_client({"/get-studies/v1": [Reply(200, b"<html>login</html>")]})
    with pytest.raises(InvalidResponse, match="not with JSON"):
        client.studies()


def test_no_secret_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    client, _ = make_client(
        {
            "/get-studies/v1": [Reply(raise_exc=requests.ConnectionError(f"boom {SECRET}"))],
        },
        retries=1,
    )
    with pytest.raises(mano_api.ConnectionFailed) as info:
        client.studies()
    texts = [str(info.value), repr(info.value), repr(client), caplog.text]
    cause = info.value.__cause__
    assert cause is not None and getattr(cause, "request", None) is None
    for text in texts:
        assert SECRET not in text


def test_ambiguous_and_invalid_studies_list_candidates() -> None:
    body = json.dumps(
        {
            "abc111111111111111111111": "Pilot",
            "abc222222222222222222222": "Pilot",
            "xyz333333333333333333333": "Main study",
        }
    ).encode()
    client, _ = make_client({"/get-studies/v1": [Reply(200, body)]})
    with pytest.raises(mano_api.AmbiguousStudy, match="matches 2 studies") as info:
        client.resolve_study("Pilot")
    assert {c[0] for c in info.value.candidates} == {
        "abc111111111111111111111",
        "abc222222222222222222222",
    }
    assert isinstance(info.value, LookupError)
    with pytest.raises(mano_api.AmbiguousStudy, match="abc111111111111111111111"):
        client.resolve_study("abc")
    assert client.resolve_study("xyz").name == "Main study"
    assert client.resolve_study("main STUDY").id == "xyz333333333333333333333"
    with pytest.raises(mano_api.InvalidStudy, match="Main study") as missing:
        client.resolve_study("nothing like it")
    assert len(missing.value.candidates) == 3


def test_payload_too_large(caplog: pytest.LogCaptureFixture) -> None:
    client, adapter = make_client({"/get-data/v2": [Reply(413, b"<html>413</html>")]})
    registry = {f"CHUNKED_DATA/x/abcd1234/gps/{i:08d}.csv": "h" * 28 for i in range(20000)}
    with pytest.raises(mano_api.PayloadTooLarge, match="smaller registry"):
        client.download(STUDY_ID, registry=registry)
    assert "MiB" in caplog.text and "413" in caplog.text
    assert len(adapter.seen) == 1
    assert json.loads(adapter.seen[0].form["registry"][0]) == registry


def test_unexpected_status_and_other_redirect() -> None:
    client, _ = make_client(
        {
            "/get-studies/v1": [Reply(418, b"")],
            "/get-participant-ids/v1": [
                Reply(302, b"", {"Location": "https://other.example/login"})
            ],
        }
    )
    with pytest.raises(mano_api.UnexpectedStatus, match="418"):
        client.studies()
    with pytest.raises(mano_api.RedirectError, match="other.example/login") as info:
        client.participant_ids(STUDY_ID)
    assert not isinstance(info.value, RedirectedToHTTPS)


def test_hex_file_hashes_become_base64() -> None:
    body = json.dumps(
        {
            "abcd1234/gps/2020-10-05T02_00_00+00_00.csv": "a9993e364706816aba3e25717850c26c9cd0d89d",
            "abcd1234/survey_answers/587442edf7321c14da193487/2020-10-05T02_13_20+00_00.csv": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
            "abcd1234/wifi/2020-10-05T03_00_00+00_00.csv": None,
        }
    ).encode()
    client, adapter = make_client({"/get-participant-file-hashes/v1": [Reply(200, body)]})
    assert client.file_hashes("abcd1234") == {
        "abcd1234/gps/2020-10-05 02_00_00+00_00.csv": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
        "abcd1234/survey_answers/587442edf7321c14da193487/2020-10-05 02_13_20+00_00.csv": "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=",
    }
    assert adapter.seen[0].form["participant_id"] == ["abcd1234"]


def test_file_hashes_missing_route_is_none() -> None:
    client, _ = make_client({})
    assert client.file_hashes("abcd1234") is None


def test_dropped_archive_removes_its_file(tmp_path: Path) -> None:
    good = _zip_bytes({"a/gps/x.csv": b"data"})
    client, _ = make_client({"/get-data/v2": [Reply(200, good)]})
    archive = client.download(STUDY_ID, tmp_dir=tmp_path)
    assert len(list(tmp_path.iterdir())) == 1
    del archive
    import gc

    gc.collect()
    assert list(tmp_path.iterdir()) == []
