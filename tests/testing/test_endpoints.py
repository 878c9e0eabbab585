"""docs/beiwe-server.md#json-endpoints and #file-hashes: JSON shapes of the non-download endpoints, consistent with the data."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable

import pytest

from mano_testing import ALL_DATA_STREAMS, Emulator
from tests.testing._http import creds, request, study_form

Factory = Callable[..., Emulator]
Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def _with_data(emu: Emulator) -> str:
    return next(p for p in emu.participants if emu.files(p))


def _without_data(emu: Emulator) -> str:
    return next(p for p in emu.participants if not emu.files(p))


def test_study_settings(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    resp = request(emu, "/get-study-settings/v1", study_form(emu))
    assert resp.status == 200 and resp.content_type == "application/json"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="Mano_Emulated_Study_surveys_and_settings.json"'
    )
    assert int(resp.headers["Content-Length"]) == len(resp.body)
    body = resp.json()
    assert set(body) == {"surveys", "device_settings", "interventions", "study_time_zone"}
    assert body["study_time_zone"] == "America/New_York"
    assert len(body["surveys"]) == 3  # the deleted survey is not exported
    for survey in body["surveys"]:
        assert set(survey) == {"content", "survey_type", "settings", "name", "timings",
                               "absolute_timings", "relative_timings"}  # fmt: skip
        assert survey["survey_type"] in ("tracking_survey", "audio_survey")
        assert len(survey["timings"]) == 7
    settings = body["device_settings"]
    assert not {"id", "created_on", "last_updated"} & set(settings)
    assert settings["accelerometer_frequency"] == 10 and settings["gps"] is True
    assert set(settings["consent_sections"]) >= {"welcome", "privacy", "withdrawing"}


def test_data_quantities_match_files(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    body = request(emu, "/get-participant-data-quantities/v1", study_form(emu)).json()
    assert sorted(body) == emu.participants
    for pid, totals in body.items():
        assert set(totals) == {f"{s}_bytes" for s in ALL_DATA_STREAMS}
        expected: dict[str, int] = defaultdict(int)
        for f in emu.files(pid):
            expected[f"{f.stream}_bytes"] += f.size
        assert {k: v for k, v in totals.items() if v} == dict(expected)


def test_interventions(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    body = request(emu, "/get-interventions/v1", study_form(emu)).json()
    assert body and set(body) <= set(emu.participants)
    for per_survey in body.values():
        for dates in per_survey.values():
            for value in dates.values():
                assert value is None or re.fullmatch(r"\d{4}-\d\d-\d\d", value)


def test_survey_history(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    resp = request(emu, "/get-survey-history/v1", study_form(emu))
    assert resp.status == 200 and resp.content_type == "text/json"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="{emu.study_id}_surveys_history_data.json"'
    )
    assert resp.headers.get("Content-Length") is None
    body = resp.json()
    assert len(body) == 4  # deleted surveys included
    for archives in body.values():
        starts = [a["archive_start"] for a in archives]
        assert starts == sorted(starts) and all(s.endswith("+00:00") for s in starts)
        assert all(isinstance(a["survey_json"], list) for a in archives)


@pytest.mark.parametrize("data_format", [None, "", "xml", "JSON"])
def test_participant_table_bad_format(beiwe_emulator: Emulator, data_format: str | None) -> None:
    form = study_form(beiwe_emulator)
    if data_format is not None:
        form["data_format"] = data_format
    resp = request(beiwe_emulator, "/get-participant-table-data/v1", form)
    assert resp.status == 400
    assert resp.body == b"Invalid required data_format parameter, only 'csv' and 'json' supported"
    assert resp.content_type == "text/html; charset=utf-8"


def test_participant_table_formats(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=3, days=1, deleted_participants=1)
    path = "/get-participant-table-data/v1"
    rows = request(emu, path, study_form(emu, data_format="json")).json()
    assert [r["Patient ID"] for r in rows] == emu.participants  # sorted, no deleted
    columns = list(rows[0])
    assert columns[:4] == ["Created On", "Patient ID", "Status", "OS Type"]
    assert columns[-1] == "Last Heartbeat" and "Baseline visit" in columns and "Site" in columns
    registered = [r for r in rows if r["First Registration Date"]]
    assert registered and all(r["First Registration Date"].endswith("-05:00") for r in registered)
    assert any(r["Status"] == "Not Registered" and r["Last Upload"] is None for r in rows)
    table = request(emu, path, study_form(emu, data_format="json_table")).json()
    assert table[0] == columns and len(table) == len(rows) + 1
    resp = request(emu, path, study_form(emu, data_format="csv"))
    assert resp.content_type == "text/csv" and b"\r\n" in resp.body
    parsed = list(csv.reader(io.StringIO(resp.body.decode())))
    assert parsed[0] == columns
    assert any("None" in row for row in parsed[1:])
    assert any(re.search(r"\d\d:\d\d:\d\d \(EST\)", cell) for row in parsed[1:] for cell in row)


def test_summary_statistics_from_query_string(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    path = "/get-summary-statistics/v1"
    rows = request(emu, path, study_form(emu)).json()
    assert rows and set(rows[0]) >= {
        "date",
        "participant_id",
        "study_id",
        "timezone",
        "beiwe_gps_bytes",
    }
    dates = [r["date"] for r in rows]
    assert dates == sorted(dates, reverse=True)  # default: date descending
    pid = _with_data(emu)
    day = emu.files(pid)[0].time_bin.date().isoformat()
    body_filters = study_form(emu, participant_ids=pid, start_date=day, end_date=day)
    assert len(request(emu, path, body_filters).json()) == len(rows)  # ignored in the body
    query = f"{path}?participant_ids={pid}&start_date={day}&end_date={day}&fields=date,participant_id,beiwe_gps_bytes"
    filtered = request(emu, query, study_form(emu)).json()
    assert len(filtered) == 1
    gps = sum(f.size for f in emu.files(pid, "gps") if f.time_bin.date().isoformat() == day)
    assert filtered == [{"date": day, "participant_id": pid, "beiwe_gps_bytes": gps}]
    limited = request(emu, f"{path}?limit=2&ordered_by=participant_id", study_form(emu)).json()
    assert len(limited) == 2 and limited[0]["participant_id"] <= limited[1]["participant_id"]


def test_summary_statistics_errors(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    resp = request(
        emu, "/get-summary-statistics/v1?start_date=01/02/2024&fields=date,bogus", study_form(emu)
    )
    assert resp.status == 400 and resp.content_type == "application/json"
    assert resp.json() == {
        "errors": [
            "start date could not be interpreted as a date. Dates should be formatted as YYYY-MM-DD",
            "bogus is not a valid field",
        ]
    }


def test_upload_history(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    pid = _with_data(emu)
    form = {**creds(emu), "participant_id": pid}
    rows = request(emu, "/get-participant-upload-history/v1", form).json()
    assert len(rows) == len(emu.files(pid))
    assert all(
        set(r) == {"file_size", "timestamp", "file_name"} and Z.fullmatch(r["timestamp"])
        for r in rows
    )
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    assert not any(r["file_name"].startswith(pid) for r in rows)
    assert any(r["file_name"].startswith("surveyAnswers/") for r in rows)
    positional = request(
        emu, "/get-participant-upload-history/v1", {**form, "omit_keys": "True"}
    ).json()
    assert positional[0] == [rows[0]["file_size"], rows[0]["timestamp"], rows[0]["file_name"]]


def test_heartbeat_and_version_history(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    form = {**creds(emu), "participant_id": _with_data(emu)}
    beats = request(emu, "/get-participant-heartbeat-history/v1", form).json()
    assert beats and all(set(b) == {"timestamp"} for b in beats)
    flat = request(
        emu, "/get-participant-heartbeat-history/v1", {**form, "omit_keys": "true"}
    ).json()
    assert flat == [b["timestamp"] for b in beats]
    versions = request(emu, "/get-participant-version-history/v1", form).json()
    assert versions and set(versions[0]) == {
        "app_version_code",
        "app_version_name",
        "os_version",
        "created_on",
    }
    empty = {**creds(emu), "participant_id": _without_data(emu)}
    assert request(emu, "/get-participant-heartbeat-history/v1", empty).json() == []


def test_device_status_history(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    results = [
        request(
            emu, "/get-participant-device-status-history/v1", {**creds(emu), "participant_id": p}
        ).json()
        for p in emu.participants
    ]
    assert [] in results
    reports = next(r for r in results if r)
    assert set(reports[0]) == {
        "created_on",
        "endpoint",
        "app_os",
        "os_version",
        "app_version",
        "device_status",
    }


def test_notification_history_timezones(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    form = {**creds(emu), "participant_id": _with_data(emu)}
    local = request(emu, "/get-participant-notification-history/v1", form).json()
    (sends,) = local.values()
    assert sends[0]["scheduled_time"].endswith("-05:00") and sends[0]["type"] == "weekly"
    utc = request(emu, "/get-participant-notification-history/v1", {**form, "UTC": "0"}).json()
    (utc_sends,) = utc.values()
    assert utc_sends[0]["scheduled_time"].endswith("Z")
    empty = {**creds(emu), "participant_id": _without_data(emu)}
    assert request(emu, "/get-participant-notification-history/v1", empty).json() == {}


def test_file_hashes_current_profile_fails_like_the_server(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    with_data = request(
        emu, "/get-participant-file-hashes/v1", {**creds(emu), "participant_id": _with_data(emu)}
    )
    assert with_data.status == 500
    none = request(
        emu, "/get-participant-file-hashes/v1", {**creds(emu), "participant_id": _without_data(emu)}
    )
    assert (none.status, none.body) == (200, b"{}")


def test_file_hashes_fixed_profile(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=2, days=1, profile="fixed")
    pid = emu.participants[0]
    resp = request(emu, "/get-participant-file-hashes/v1", {**creds(emu), "participant_id": pid})
    assert resp.status == 200 and resp.content_type == "application/json"
    body = resp.json()
    files = emu.files(pid)
    assert body == {f.hash_key: f.sha1_b64 for f in files}
    key = next(k for k in body if "/gps/" in k)
    assert re.fullmatch(rf"{pid}/gps/\d{{4}}-\d\d-\d\dT\d\d_00_00\+00_00\.csv", key)


def test_survey_history_is_sent_in_tiny_chunks(beiwe_emulator: Emulator) -> None:
    import http.client
    import urllib.parse

    emu = beiwe_emulator
    sock_conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=30)
    body = urllib.parse.urlencode(study_form(emu)).encode()
    sock_conn.request(
        "POST",
        "/get-survey-history/v1",
        body,
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    resp = sock_conn.getresponse()
    assert resp.headers["Transfer-Encoding"] == "chunked"
    raw = resp.fp.read(64)  # the raw chunked framing: one character per chunk
    assert raw.startswith(b'1\r\n{\r\n1\r\n"\r\n')
    sock_conn.close()


def test_device_settings_decide_streams(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    second = next(s for s in emu.studies if s != emu.study_id)
    settings = request(emu, "/get-study-settings/v1", {**creds(emu), "study_id": second}).json()
    assert settings["device_settings"]["bluetooth"] is False
    streams = {f.stream for f in emu.files(study=second)}
    assert streams and not streams & {
        "bluetooth",
        "ambient_audio",
        "devicemotion",
        "gyro",
        "proximity",
    }
    assert "accelerometer" in streams


def test_statistics_follow_late_data_and_vanished_objects(beiwe_emulator: Emulator) -> None:
    """Byte totals are cached between requests but never outlive a change of content."""
    emu = beiwe_emulator
    pid = _with_data(emu)

    def quantities() -> dict[str, int]:
        body = request(emu, "/get-participant-data-quantities/v1", study_form(emu)).json()
        return {k: v for k, v in body[pid].items() if v}

    def daily_gps() -> dict[str, int]:
        path = f"/get-summary-statistics/v1?participant_ids={pid}&fields=date,beiwe_gps_bytes"
        return {r["date"]: r["beiwe_gps_bytes"] for r in request(emu, path, study_form(emu)).json()}

    def expected() -> tuple[dict[str, int], dict[str, int]]:
        totals: dict[str, int] = defaultdict(int)
        gps: dict[str, int] = defaultdict(int)
        for f in emu.files(pid):
            totals[f"{f.stream}_bytes"] += f.size
            if f.stream == "gps":
                gps[f.time_bin.date().isoformat()] += f.size
        return dict(totals), dict(gps)

    before = (quantities(), daily_gps())
    assert before == expected() == (quantities(), daily_gps())  # asked twice: same answer
    emu.late_data(pid, count=10_000)  # every chunk grows
    after = (quantities(), daily_gps())
    assert after == expected() and after[0]["gps_bytes"] > before[0]["gps_bytes"]
    gps_file = emu.files(pid, "gps")[0]
    emu.remove_object(gps_file.zip_name)
    gone = (quantities(), daily_gps())
    assert gone == expected()
    assert gone[0]["gps_bytes"] == after[0]["gps_bytes"] - gps_file.size
