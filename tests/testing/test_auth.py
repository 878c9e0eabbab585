"""docs/beiwe-server.md#checks: order of checks, status codes, empty bodies, scopes and methods."""

from __future__ import annotations

import pytest

from mano_testing import Emulator
from tests.testing._http import creds, request, study_form

HTML = "text/html; charset=utf-8"


def _assert_abort(resp_status: int, resp_body: bytes, resp_ctype: str, status: int) -> None:
    assert resp_status == status
    assert resp_body == b""
    assert resp_ctype == HTML


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({}, 400),
        ({"study_id": "tooshort"}, 400),
        ({"study_id": "a" * 25}, 400),
        ({"study_id": "abcdefghijklmnopqrstuvw-"}, 400),
        ({"study_id": ""}, 400),
        ({"study_pk": "one"}, 400),
        ({"study_pk": "9999"}, 404),
        ({"study_id": "b'abcdefghijklmnopqrstuv"}, 500),
        ({"study_id": "A" * 24}, 404),
    ],
)
def test_study_checks(beiwe_emulator: Emulator, form: dict[str, str], status: int) -> None:
    resp = request(beiwe_emulator, "/get-participant-ids/v1", {**creds(beiwe_emulator), **form})
    assert resp.status == status
    if status != 500:
        _assert_abort(resp.status, resp.body, resp.content_type, status)


def test_study_pk_selects_study_and_study_id_wins(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    by_pk = request(emu, "/get-participant-ids/v1", {**creds(emu), "study_pk": "1"})
    assert by_pk.status == 200 and sorted(by_pk.json()) == emu.participants
    both = request(emu, "/get-participant-ids/v1", {**study_form(emu), "study_pk": "2"})
    assert sorted(both.json()) == emu.participants
    other = request(emu, "/get-participant-ids/v1", {**creds(emu), "study_pk": "2"})
    assert other.status == 200 and set(other.json()).isdisjoint(emu.participants)


def test_deleted_study_is_404(beiwe_emulator: Emulator) -> None:
    # the default researcher is related to the deleted study (pk 4): still 404
    resp = request(
        beiwe_emulator, "/get-participant-ids/v1", {**creds(beiwe_emulator), "study_pk": "4"}
    )
    _assert_abort(resp.status, resp.body, resp.content_type, 404)


@pytest.mark.parametrize(
    ("access", "secret", "status"),
    [
        (None, "x", 400),
        ("x", None, 400),
        ("", "x", 400),
        ("x", "", 400),
        ("abc=", "abc", 400),
        ("abc-", "abc", 400),
        ("abc_", "abc", 400),
        ("abc", "a b", 400),
        ("unknownkey", "unknownsecret", 403),
    ],
)
def test_credential_checks(
    beiwe_emulator: Emulator, access: str | None, secret: str | None, status: int
) -> None:
    form = {"study_id": beiwe_emulator.study_id}
    if access is not None:
        form["access_key"] = access
    if secret is not None:
        form["secret_key"] = secret
    resp = request(beiwe_emulator, "/get-participant-ids/v1", form)
    _assert_abort(resp.status, resp.body, resp.content_type, status)


def test_wrong_secret_disabled_key_and_outsider_are_403(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    wrong = {
        "access_key": emu.access_key,
        "secret_key": emu.secret_key[:-1] + "Q",
        "study_id": emu.study_id,
    }
    if wrong["secret_key"] == emu.secret_key:
        wrong["secret_key"] = emu.secret_key[:-1] + "R"
    for form in (wrong, study_form(emu, "disabled"), study_form(emu, "outsider")):
        resp = request(emu, "/get-participant-ids/v1", form)
        _assert_abort(resp.status, resp.body, resp.content_type, 403)


def test_site_admin_reaches_every_study(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    studies = request(emu, "/get-studies/v1", creds(emu, "admin")).json()
    assert set(emu.studies) < set(studies) and len(studies) == 3
    for study_id in studies:
        form = {**creds(emu, "admin"), "study_id": study_id}
        assert request(emu, "/get-participant-ids/v1", form).status == 200


def test_get_studies_per_researcher(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    outsider = request(emu, "/get-studies/v1", creds(emu, "outsider")).json()
    assert emu.study_id not in outsider and len(outsider) == 2
    assert request(emu, "/get-studies/v1", creds(emu, "disabled")).status == 403


def test_check_my_credentials_errors(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    for form, status in (
        ({}, 400),
        (creds(emu, "disabled"), 403),
        ({"access_key": "a", "secret_key": "b"}, 403),
    ):
        resp = request(emu, "/check-my-credentials/v1", form)
        _assert_abort(resp.status, resp.body, resp.content_type, status)


def test_participant_scoped_checks(beiwe_emulator_factory: object) -> None:
    emu = beiwe_emulator_factory(participants=3, days=1, deleted_participants=1)  # type: ignore[operator]
    path = "/get-participant-heartbeat-history/v1"
    pid = emu.participants[0]
    cases = [
        ({**creds(emu)}, 400),
        ({**creds(emu), "participant_id": ""}, 400),
        ({**creds(emu), "participant_id": "zzzzzzzz"}, 404),
        ({**creds(emu, "outsider"), "participant_id": pid}, 403),
        ({"participant_id": pid}, 400),
        ({**creds(emu, "disabled"), "participant_id": pid}, 403),
    ]
    for form, status in cases:
        resp = request(emu, path, form)
        _assert_abort(resp.status, resp.body, resp.content_type, status)
    assert request(emu, path, {**creds(emu), "participant_id": pid}).status == 200
    assert request(emu, path, {**creds(emu, "admin"), "participant_id": pid}).status == 200
    # deleted participants are still found (no deleted filter)
    deleted = emu.deleted_participants[0]
    assert request(emu, path, {**creds(emu), "participant_id": deleted}).status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/get-studies/v1",
        "/check-my-credentials/v1",
        "/get-participant-ids/v1",
        "/get-users/v1",
        "/get-study-settings/v1",
        "/get-participant-data-quantities/v1",
        "/get-interventions/v1",
        "/get-survey-history/v1",
        "/get-participant-table-data/v1",
        "/get-summary-statistics/v1",
        "/get-participant-file-hashes/v1",
        "/get-participant-upload-history/v1",
        "/get-participant-heartbeat-history/v1",
        "/get-participant-version-history/v1",
        "/get-participant-device-status-history/v1",
        "/get-participant-notification-history/v1",
    ],
)
def test_require_post_endpoints_answer_405_to_get(beiwe_emulator: Emulator, path: str) -> None:
    for p in (path, path + "/"):
        resp = request(beiwe_emulator, p, method="GET")
        assert resp.status == 405
        assert resp.headers["Allow"] == "POST"
        assert resp.body == b""


def test_get_data_methods(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    assert request(emu, "/get-data/v1", method="GET").status == 400
    assert request(emu, "/get-data/v2?study_id=" + emu.study_id, method="GET").status == 400
    for method in ("PUT", "DELETE", "PATCH"):
        resp = request(emu, "/get-data/v1", study_form(emu), method=method)
        assert resp.status == 405 and resp.headers["Allow"] == "POST, GET" and resp.body == b""


def test_unknown_path_is_django_404_page(beiwe_emulator: Emulator) -> None:
    resp = request(beiwe_emulator, "/get-nothing/v1", creds(beiwe_emulator))
    assert resp.status == 404
    assert resp.content_type == HTML
    assert b"<h1>Not Found</h1>" in resp.body


def test_json_body_is_not_parsed(beiwe_emulator: Emulator) -> None:
    import json

    body = json.dumps(creds(beiwe_emulator)).encode()
    resp = request(beiwe_emulator, "/get-studies/v1", body=body, content_type="application/json")
    _assert_abort(resp.status, resp.body, resp.content_type, 400)


def test_multipart_form_is_accepted(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    boundary = "XyZboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in creds(emu).items()
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    resp = request(
        emu, "/get-studies/v1", body=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert resp.status == 200 and resp.json() == emu.studies


def test_too_many_fields_is_400(beiwe_emulator: Emulator) -> None:
    form = [*creds(beiwe_emulator).items()] + [("user_ids", "abcdefgh")] * 1000
    resp = request(beiwe_emulator, "/get-data/v1", [*form, ("study_id", beiwe_emulator.study_id)])
    _assert_abort(resp.status, resp.body, resp.content_type, 400)


def test_secret_is_checked_with_pbkdf2(beiwe_emulator: Emulator) -> None:
    import hashlib

    world = beiwe_emulator._state.world
    researcher = world.researchers[beiwe_emulator.access_key]
    expected = hashlib.pbkdf2_hmac(
        "sha256", beiwe_emulator.secret_key.encode(), researcher.salt, researcher.iterations
    )
    assert researcher.secret_hash == expected
    assert researcher.check_secret(beiwe_emulator.secret_key)
    assert not researcher.check_secret(beiwe_emulator.secret_key + "x")


def test_body_over_128_mib_is_400(beiwe_emulator: Emulator) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", beiwe_emulator.port, timeout=30)
    conn.putrequest("POST", "/get-studies/v1")
    conn.putheader("Content-Type", "application/x-www-form-urlencoded")
    conn.putheader("Content-Length", str(129 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"access_key=a&secret_key=b&")
    resp = conn.getresponse()
    assert (resp.status, resp.read()) == (400, b"")
    conn.close()
