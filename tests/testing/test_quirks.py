"""One test per quirk of docs/beiwe-server.md#quirks, named after it."""

from __future__ import annotations

import hashlib
import http.client
import json
import threading
import urllib.parse
import zipfile
from collections.abc import Callable

import pytest
import zstandard

from mano_testing import Emulator
from tests.testing._http import creds, get_data, request, study_form

Factory = Callable[..., Emulator]


def _with_data(emu: Emulator) -> str:
    return next(p for p in emu.participants if emu.files(p))


def test_quirk_01_empty_error_bodies(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    for resp in (
        request(emu, "/get-participant-ids/v1", {}),  # 400
        request(emu, "/get-participant-ids/v1", study_form(emu, "outsider")),  # 403
        get_data(emu, data_streams='["nope"]'),  # 404
        request(emu, "/get-studies/v1", method="GET"),  # 405
    ):
        assert resp.status in (400, 403, 404, 405) and resp.body == b""
        assert resp.content_type == "text/html; charset=utf-8"
    table = request(emu, "/get-participant-table-data/v1", study_form(emu))
    assert table.status == 400 and table.body
    stats = request(emu, "/get-summary-statistics/v1?limit=x", study_form(emu))
    assert stats.status == 400 and stats.json()["errors"]
    emu.set_faults("downtime=1")
    assert request(emu, "/get-studies/v1", creds(emu)).body.startswith(b"This server is currently")


def test_quirk_02_study_before_credentials(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    bad_creds = {"access_key": "nobody", "secret_key": "nothing"}
    assert request(emu, "/get-data/v1", {**bad_creds, "study_id": "Z" * 24}).status == 404
    assert request(emu, "/get-data/v1", {**bad_creds, "study_id": "short"}).status == 400
    assert request(emu, "/get-data/v1", {"study_id": "Z" * 24}).status == 404
    assert request(emu, "/get-data/v1", {**bad_creds, "study_id": emu.study_id}).status == 403


def test_quirk_03_get_studies_is_text_html(beiwe_emulator: Emulator) -> None:
    resp = request(beiwe_emulator, "/get-studies/v1", creds(beiwe_emulator))
    assert resp.content_type == "text/html; charset=utf-8"
    assert json.loads(resp.body) == beiwe_emulator.studies


def test_quirk_04_get_is_never_useful(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    query = urllib.parse.urlencode(study_form(emu))
    assert request(emu, f"/get-data/v1?{query}", method="GET").status == 400
    assert (
        request(emu, f"/get-studies/v1?{urllib.parse.urlencode(creds(emu))}", method="GET").status
        == 405
    )


def test_quirk_05_dual_list_encoding(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    pid = _with_data(emu)
    one_field = (
        get_data(emu, participant_ids=json.dumps([pid]), data_streams='["gps"]').zip().namelist()
    )
    repeated = request(
        emu, "/get-data/v1",
        [*study_form(emu).items(), ("participant_ids", pid), ("data_streams", "gps")],
    ).zip().namelist()  # fmt: skip
    assert sorted(one_field) == sorted(repeated) and len(one_field) > 1
    assert get_data(emu, participant_ids=json.dumps(pid)).status == 404  # iterated by character
    assert get_data(emu, participant_ids="12345678").status == 400  # a bare all-digit id


def test_quirk_06_404_is_overloaded(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    pid = emu.participants[0]
    answers = [
        request(emu, "/get-data/v1", {**creds(emu), "study_id": "Q" * 24}),
        get_data(emu, data_streams='["gpss"]'),
        get_data(emu, participant_ids='["zzzzzzzz"]'),
        get_data(emu, participant_ids=json.dumps([pid, pid])),
    ]
    assert {(r.status, r.body) for r in answers} == {(404, b"")}


def test_quirk_07_time_strings(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    assert get_data(emu, time_start="2024-01-01T00:00:00Z").status == 500
    assert get_data(emu, time_start="2024-01-01T00:00:00.5").status == 500
    assert get_data(emu, time_start="2024-01-01 00:00:00").status == 400
    f = emu.files(_with_data(emu), "gps")[1]
    t = f.time_bin.strftime("%Y-%m-%dT%H:%M:%S")
    names = get_data(emu, time_start=t, time_end=t, data_streams='["gps"]').zip().namelist()
    assert f.zip_name in names


def test_quirk_08_registry_is_a_skip_list(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    f = emu.files(_with_data(emu), "gps")[0]
    full = json.dumps({f.storage_path: "stale"})
    emu.late_data(f.participant, count=100_000)
    assert f.zip_name not in get_data(emu, registry=full, data_streams='["gps"]').zip().namelist()
    stripped = json.dumps({f.storage_path.removeprefix("CHUNKED_DATA/"): f.sha1_b64})
    archive = get_data(emu, registry=stripped, data_streams='["gps","survey_answers"]').zip()
    assert f.zip_name in archive.namelist()
    values = json.loads(archive.read("registry")).values()
    assert {len(v) for v in values} == {28}  # SHA-1 after a registry
    plain = json.loads(
        get_data(emu, data_streams='["gps","survey_answers"]').zip().read("registry")
    )
    assert {len(v) for v in plain.values()} == {24, 0}  # MD5 for chunks, "" for unchunked


def test_quirk_09_zip_names_are_not_storage_paths(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=1, days=2, edge_cases=True)
    archive = get_data(emu, 2).zip()
    names = archive.namelist()
    assert names[-1] == "registry" and all(n.endswith(".zst") for n in names[:-1])
    assert json.loads(archive.read("registry"))  # plain JSON, never compressed
    assert archive.getinfo("registry").compress_type == zipfile.ZIP_STORED
    assert any(" " in n and "+00_00" in n for n in names)
    assert any(n.endswith("_2.csv.zst") for n in names)
    assert any("/unknown_survey_id/" in n for n in names)
    assert any(".384000+00_00" in n for n in names)
    keys = set(json.loads(archive.read("registry")))
    assert not {n.removesuffix(".zst") for n in names} & keys


def test_quirk_10_streaming_failure_mode(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("5xx=1,truncate=1")
    assert get_data(emu).status == 500
    cut = get_data(emu)
    assert cut.status == 200 and cut.headers.get("Content-Length") is None
    with pytest.raises(zipfile.BadZipFile):
        cut.zip()
    gone = emu.files(_with_data(emu), "gps")[0]
    emu.remove_object(gone.zip_name)
    assert gone.zip_name not in get_data(emu).zip().namelist()


def test_quirk_11_long_silent_starts(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.set_faults("slow=0.5")
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=0.2)
    body = urllib.parse.urlencode(study_form(emu)).encode()
    conn.request(
        "POST", "/get-data/v1", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    with pytest.raises(TimeoutError):
        conn.getresponse()  # a client with a short read timeout gives up before the status line
    conn.close()


def test_quirk_12_file_hashes_is_broken(beiwe_emulator_factory: Factory) -> None:
    current = beiwe_emulator_factory(participants=1, days=1)
    pid = current.participants[0]
    assert (
        request(
            current, "/get-participant-file-hashes/v1", {**creds(current), "participant_id": pid}
        ).status
        == 500
    )
    fixed = beiwe_emulator_factory(participants=1, days=1, profile="fixed")
    body = request(
        fixed,
        "/get-participant-file-hashes/v1",
        {**creds(fixed), "participant_id": fixed.participants[0]},
    ).json()
    assert body and all("T" in k.rsplit("/", 1)[1] and not k.endswith(".zst") for k in body)
    assert not set(body) & {f.zip_name for f in fixed.files()}


def test_quirk_13_summary_statistics_filters_from_query_string(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    everything = request(emu, "/get-summary-statistics/v1", study_form(emu, limit="1")).json()
    assert len(everything) > 1
    assert len(request(emu, "/get-summary-statistics/v1?limit=1", study_form(emu)).json()) == 1


def test_quirk_14_participant_scoped_take_participant_id_only(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    path = "/get-participant-upload-history/v1"
    assert request(emu, path, study_form(emu)).status == 400
    assert request(emu, path, {**creds(emu), "participant_id": _with_data(emu)}).status == 200


def test_quirk_15_participant_lists(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=2, days=1, deleted_participants=1)
    (deleted,) = emu.deleted_participants
    ids = request(emu, "/get-participant-ids/v1", study_form(emu)).json()
    assert deleted in ids
    table = request(
        emu, "/get-participant-table-data/v1", study_form(emu, data_format="json")
    ).json()
    assert deleted not in [row["Patient ID"] for row in table]
    quantities = request(emu, "/get-participant-data-quantities/v1", study_form(emu)).json()
    assert deleted in quantities


def test_quirk_16_authentication_cost(
    beiwe_emulator_factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every authenticated request runs one PBKDF2-SHA256 check with the configured rounds."""
    iterations = 300_000
    emu = beiwe_emulator_factory(participants=1, days=1, auth_iterations=iterations)
    calls: list[tuple[str, int]] = []
    real = hashlib.pbkdf2_hmac

    def counting(name: str, password: bytes, salt: bytes, rounds: int, *args: object) -> bytes:
        calls.append((name, rounds))
        return real(name, password, salt, rounds)

    monkeypatch.setattr(hashlib, "pbkdf2_hmac", counting)
    for _ in range(3):
        assert request(emu, "/check-my-credentials/v1", creds(emu)).status == 200
    assert calls == [("sha256", iterations)] * 3


def test_quirk_17_no_rate_limiting(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    statuses: list[int] = []

    def call() -> None:
        statuses.append(request(emu, "/check-my-credentials/v1", creds(emu)).status)

    threads = [threading.Thread(target=call) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 24


def test_quirk_18_https_only_downtime_and_trailing_slash(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=1, days=1, https_redirect=True)
    resp = request(emu, "/get-studies/v1", creds(emu))
    assert (
        resp.status == 301
        and resp.headers["Location"] == f"https://127.0.0.1:{emu.port}/get-studies/v1"
    )
    plain = beiwe_emulator_factory(participants=1, days=1)
    assert request(plain, "/get-studies/v1/", creds(plain)).status == 200
    plain.set_faults("downtime=1")
    assert request(plain, "/get-studies/v1", creds(plain)).status == 503


def test_quirk_19_v2_decompression(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    archive = get_data(emu, 2, data_streams='["accelerometer"]').zip()
    files = {f.v2_name: f for f in emu.files(stream="accelerometer")}
    for name in archive.namelist()[:-1]:
        raw = archive.read(name)
        assert zstandard.get_frame_parameters(raw).content_size == files[name].size
        reader = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        assert reader.read() == files[name].data()
