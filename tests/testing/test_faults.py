"""Fault injection: syntax, each kind, endpoint targeting and runtime switching."""

from __future__ import annotations

import http.client
import time
import zipfile
from collections.abc import Callable

import pytest

from mano_testing import Emulator, Faults, FaultSpecError
from tests.testing._http import creds, get_data, request

Factory = Callable[..., Emulator]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("explode=1", "unknown fault kind 'explode'"),
        ("5xx=two", "is not a count"),
        ("slow", "slow needs seconds"),
        ("slow=fast", "is not a number of seconds"),
        ("reset=-1", "must not be negative"),
    ],
)
def test_bad_fault_specs_raise_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        Faults(spec)


def test_fault_spec_defaults_and_targets() -> None:
    faults = Faults("5xx=2, reset, get-studies:slow=0.5, downtime=always, v2:truncate=1")
    assert faults.remaining() == {
        "get-data:5xx": 2,
        "get-data:reset": 1,
        "get-studies:slow": 0.5,
        ":downtime": float("inf"),
        "v2:truncate": 1,
    }
    assert faults.take("truncate", "/get-data/v2") and not faults.take("truncate", "/get-data/v2")
    assert not faults.take("5xx", "/get-studies/v1")
    assert faults.take("downtime", "/get-studies/v1")


def test_5xx_before_first_byte_then_recovers(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("5xx=2")
    assert request(emu, "/get-studies/v1", creds(emu)).status == 200  # other endpoint untouched
    first, second, third = (get_data(emu, data_streams='["gps"]') for _ in range(3))
    assert first.status == second.status == 500 and b"Server Error (500)" in first.body
    assert third.status == 200 and third.zip().testzip() is None
    assert [r.status for r in emu.request_log[-3:]] == [500, 500, 200]


def test_reset_cuts_the_connection_mid_body(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("reset=1")
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    import urllib.parse

    body = urllib.parse.urlencode({**creds(emu), "study_id": emu.study_id}).encode()
    conn.request(
        "POST",
        "/get-data/v1",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        resp.read()
    conn.close()
    record = emu.request_log[-1]
    assert record.fault == "reset" and 0 < record.members < len(emu.files())
    assert get_data(emu).status == 200  # only the next one


def test_truncate_ends_with_200_and_no_central_directory(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("truncate=1")
    resp = get_data(emu, 2)
    assert resp.status == 200
    assert resp.body.startswith(b"PK\x03\x04") and b"PK\x05\x06" not in resp.body
    with pytest.raises(zipfile.BadZipFile):
        resp.zip()
    assert emu.request_log[-1].fault == "truncate"
    assert get_data(emu, 2).zip().testzip() is None


def test_truncate_with_a_single_member(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("truncate=1")
    resp = get_data(emu, time_start="2000-01-01T00:00:00", time_end="2000-01-01T00:00:00")
    assert resp.status == 200 and resp.body.startswith(b"PK\x03\x04")
    with pytest.raises(zipfile.BadZipFile):
        resp.zip()


def test_slow_first_byte(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    # A long delay, so that a loaded machine cannot blur the difference.
    emu.set_faults("get-studies:slow=2.5")
    started = time.monotonic()
    assert request(emu, "/get-studies/v1", creds(emu)).status == 200
    assert time.monotonic() - started >= 2.5
    started = time.monotonic()
    assert request(emu, "/check-my-credentials/v1", creds(emu)).status == 200
    assert time.monotonic() - started < 2.5  # the rule names get-studies only


def test_downtime_hits_every_endpoint_first(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("downtime=3")
    expected = b"This server is currently undergoing maintenance, please try again later."
    for path in ("/get-studies/v1", "/get-data/v1", "/no-such-path"):
        resp = request(emu, path, {}, method="GET")
        assert (resp.status, resp.body) == (503, expected)
    assert request(emu, "/get-studies/v1", creds(emu)).status == 200


def test_wrong_content_type(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("content_type=1,get-studies:content_type=1")
    resp = get_data(emu, data_streams='["gps"]')
    assert resp.status == 200 and resp.content_type == "text/html; charset=utf-8"
    assert resp.zip().testzip() is None  # only the header lies
    studies = request(emu, "/get-studies/v1", creds(emu))
    assert studies.content_type == "application/octet-stream"
    assert get_data(emu, data_streams='["gps"]').content_type == "application/zip"


def test_reset_on_a_json_endpoint(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("get-participant-ids:reset=1")
    with pytest.raises((http.client.IncompleteRead, ConnectionError)):
        request(emu, "/get-participant-ids/v1", {**creds(emu), "study_id": emu.study_id})
    assert (
        request(emu, "/get-participant-ids/v1", {**creds(emu), "study_id": emu.study_id}).status
        == 200
    )


def test_set_faults_none_clears_and_constructor_accepts_faults(
    beiwe_emulator_factory: Factory,
) -> None:
    emu = beiwe_emulator_factory(participants=1, days=1, faults="5xx=always")
    assert get_data(emu).status == 500
    assert get_data(emu).status == 500
    emu.set_faults(None)
    assert not emu.faults
    assert get_data(emu).status == 200
