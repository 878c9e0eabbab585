"""docs/beiwe-server.md#get-data: get-data parameters, edge cases, zip layout and the registry."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zipfile
from collections.abc import Callable
from datetime import timedelta

import pytest

from mano_testing import Emulator, SyntheticFile
from tests.testing._http import Response, creds, get_data, request, study_form

Factory = Callable[..., Emulator]


def _members(resp: Response) -> list[str]:
    assert resp.status == 200, resp.status
    names = resp.zip().namelist()
    assert names[-1] == "registry"
    return names[:-1]


def _registry(resp: Response) -> dict[str, str]:
    return json.loads(resp.zip().read("registry"))


def _active(emu: Emulator) -> list[str]:
    """Participants with data, most files first (one participant may have none)."""
    return sorted((p for p in emu.participants if emu.files(p)), key=lambda p: -len(emu.files(p)))


def _file(emu: Emulator, stream: str, index: int = 0) -> SyntheticFile:
    return emu.files(_active(emu)[0], stream)[index]


# -- data_streams ---------------------------------------------------------------------------------


def test_data_streams_json_list_and_repeated_fields(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    want = sorted(f.zip_name for f in emu.files() if f.stream in ("gps", "wifi"))
    as_json = _members(get_data(emu, data_streams='["gps","wifi"]'))
    form = [*study_form(emu).items(), ("data_streams", "gps"), ("data_streams", "wifi")]
    repeated = _members(request(emu, "/get-data/v1", form))
    assert sorted(as_json) == sorted(repeated) == want


@pytest.mark.parametrize("value", ["[]", "null"])
def test_empty_data_streams_mean_all(beiwe_emulator: Emulator, value: str) -> None:
    assert len(_members(get_data(beiwe_emulator, data_streams=value))) == len(
        beiwe_emulator.files()
    )


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ('"gps"', 404),  # a JSON string is iterated character by character
        ("", 404),
        ('["gps","image_survey"]', 404),
        ("accelerometers", 404),
        ("5", 500),
        ("1e3", 500),
    ],
)
def test_data_streams_edge_cases(beiwe_emulator: Emulator, value: str, status: int) -> None:
    resp = get_data(beiwe_emulator, data_streams=value)
    assert resp.status == status
    if status == 404:
        assert resp.body == b""


# -- participants ----------------------------------------------------------------------------------


def test_participant_ids_preferred_over_user_ids(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    p0, p1 = _active(emu)[:2]
    names = _members(get_data(emu, participant_ids=json.dumps([p0]), user_ids=json.dumps([p1])))
    assert names and {n.split("/")[0] for n in names} == {p0}
    legacy = _members(get_data(emu, user_ids=json.dumps([p1])))
    assert {n.split("/")[0] for n in legacy} <= {p1}
    assert sorted(legacy) == sorted(f.zip_name for f in emu.files(p1))


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda p: json.dumps([p, p]), 404),  # duplicate -> count mismatch
        (lambda p: json.dumps([p, "zzzzzzzz"]), 404),
        (lambda p: json.dumps(p), 404),  # JSON string iterated by character
        (lambda p: "12345678", 400),  # all-digit bare value parses as a number
        (lambda p: "1e234567", 400),
    ],
)
def test_participant_edge_cases(
    beiwe_emulator: Emulator, make: Callable[[str], str], status: int
) -> None:
    resp = get_data(beiwe_emulator, participant_ids=make(beiwe_emulator.participants[0]))
    assert (resp.status, resp.body) == (status, b"")


def test_repeated_participant_fields(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    p0, p1 = _active(emu)[:2]
    form = [*study_form(emu).items(), ("participant_ids", p0), ("participant_ids", p1)]
    names = _members(request(emu, "/get-data/v1", form))
    assert sorted(names) == sorted(f.zip_name for f in emu.files() if f.participant in (p0, p1))


def test_participant_of_another_study_yields_empty_zip(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    other = request(emu, "/get-participant-ids/v1", {**creds(emu), "study_pk": "2"}).json()[0]
    resp = get_data(emu, participant_ids=json.dumps([other]))
    assert _members(resp) == [] and _registry(resp) == {}


# -- time window -----------------------------------------------------------------------------------


def test_time_filter_is_inclusive_on_hour_bins(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    f = _file(emu, "gps", 3)
    t = f.time_bin.strftime("%Y-%m-%dT%H:%M:%S")
    half = (f.time_bin + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S")
    common = {"participant_ids": json.dumps([f.participant]), "data_streams": '["gps"]'}
    assert _members(get_data(emu, time_start=t, time_end=t, **common)) == [f.zip_name]
    assert f.zip_name in _members(get_data(emu, time_end=half, **common))
    assert f.zip_name not in _members(get_data(emu, time_start=half, **common))
    reversed_window = get_data(emu, time_start=half, time_end=t, **common)
    assert _members(reversed_window) == []


def test_single_digit_time_fields_are_accepted(beiwe_emulator: Emulator) -> None:
    start = beiwe_emulator.start_date
    value = f"{start.year}-{start.month}-{start.day}T0:0:0"
    assert get_data(beiwe_emulator, time_start=value, data_streams='["gps"]').status == 200


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("2024-01-01 02:00:00", 400),
        ("2024-01-01T02:00", 400),
        ("", 400),
        ("yesterday", 400),
        ("2024-01-01T02:00:00Z", 500),
        ("2024-01-01T02:00:00.000", 500),
        ("2024-02-30T00:00:00", 500),
    ],
)
@pytest.mark.parametrize("field", ["time_start", "time_end"])
def test_time_edge_cases(beiwe_emulator: Emulator, field: str, value: str, status: int) -> None:
    resp = get_data(beiwe_emulator, **{field: value})
    assert resp.status == status


# -- response layout -------------------------------------------------------------------------------


def test_empty_window_is_zip_with_only_registry(beiwe_emulator: Emulator) -> None:
    resp = get_data(
        beiwe_emulator, time_start="2000-01-01T00:00:00", time_end="2000-01-02T00:00:00"
    )
    archive = resp.zip()
    assert archive.namelist() == ["registry"]
    assert archive.read("registry") == b"{}"


def test_web_form_mode(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    resp = get_data(emu, web_form="true", data_streams='["gps"]')
    assert resp.headers["Content-Disposition"] == 'attachment; filename="data.zip"'
    assert "registry" not in resp.zip().namelist()
    empty = get_data(
        emu, web_form="true", time_start="2000-01-01T00:00:00", time_end="2000-01-01T00:00:00"
    )
    assert empty.body == b"PK\x05\x06" + b"\x00" * 18


def test_local_headers_carry_crc_and_sizes(beiwe_emulator: Emulator) -> None:
    body = get_data(beiwe_emulator, data_streams='["gps"]').body
    archive = zipfile.ZipFile(__import__("io").BytesIO(body))
    for info in archive.infolist():
        sig, _ver, flags, method, _t, _d, crc, csize, usize, nlen, elen = struct.unpack(
            "<IHHHHHIIIHH", body[info.header_offset : info.header_offset + 30]
        )
        assert sig == 0x04034B50 and flags == 0 and method == 0
        assert (crc, csize, usize) == (info.CRC, info.file_size, info.file_size)
        name = body[info.header_offset + 30 : info.header_offset + 30 + nlen].decode()
        assert name == info.filename and not name.endswith("/")
        assert elen == 0


def test_member_order_is_nondeterministic_unless_disabled(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=2, days=1)
    first, second = _members(get_data(emu)), _members(get_data(emu))
    assert sorted(first) == sorted(second) and first != second
    stable = beiwe_emulator_factory(participants=2, days=1, shuffle=False)
    assert _members(get_data(stable)) == _members(get_data(stable))


def test_v2_disabled_answers_django_404(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=1, days=1, v2=False)
    resp = get_data(emu, 2)
    assert resp.status == 404 and b"Not Found" in resp.body
    assert resp.content_type == "text/html; charset=utf-8"
    assert get_data(emu, 1).status == 200


def test_collision_suffixes_and_legacy_names(beiwe_emulator_factory: Factory) -> None:
    emu = beiwe_emulator_factory(participants=1, days=1, edge_cases=True)
    (pid,) = emu.participants
    names = _members(get_data(emu, 1, data_streams='["survey_answers","survey_timings"]'))
    suffixed = [n for n in names if n.endswith("_2.csv")]
    assert len(suffixed) == 1
    assert suffixed[0].replace("_2.csv", ".csv") in names
    assert any(n.startswith(f"{pid}/survey_timings/unknown_survey_id/") for n in names)
    assert any(".384000+00_00.csv" in n for n in names)
    v2 = _members(get_data(emu, 2, data_streams='["survey_answers"]'))
    assert any(n.endswith("_2.csv.zst") for n in v2)


def test_hostile_members_are_sent_verbatim(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.add_hostile_member("../../etc/evil.csv", b"pwned")
    emu.add_hostile_member("/absolute.csv", b"x")
    archive = get_data(emu, 2, data_streams='["gps"]').zip()
    names = archive.namelist()
    assert names[-3:] == ["../../etc/evil.csv", "/absolute.csv", "registry"]
    assert archive.read("../../etc/evil.csv") == b"pwned"
    assert "../../etc/evil.csv" not in json.loads(archive.read("registry"))
    assert emu.request_log[-1].members == len(names) - 3


def test_removed_object_is_silently_omitted(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    gone = _file(emu, "gps", 0)
    emu.remove_object(gone.zip_name)
    resp = get_data(emu, data_streams='["gps"]')
    assert gone.zip_name not in _members(resp)
    assert gone.storage_path not in _registry(resp)


def test_zip64_end_records_for_many_entries() -> None:
    from datetime import datetime

    from mano_testing._zipstream import ZipBuilder

    builder = ZipBuilder(datetime(2024, 1, 1))
    parts = []
    for i in range(70_000):
        parts.append(builder.local_header(f"f{i}", 0, 0))
    parts.append(builder.central_directory())
    archive = zipfile.ZipFile(__import__("io").BytesIO(b"".join(parts)))
    assert len(archive.infolist()) == 70_000
    assert b"PK\x06\x06" in parts[-1] and b"PK\x06\x07" in parts[-1]


# -- registry --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "not json", "[1, 2]", '"text"', "5"])
def test_bad_registry_is_400(beiwe_emulator: Emulator, value: str) -> None:
    resp = get_data(beiwe_emulator, registry=value)
    assert (resp.status, resp.body) == (400, b"")


def test_non_string_registry_values_are_500(beiwe_emulator: Emulator) -> None:
    resp = get_data(beiwe_emulator, registry=json.dumps({"a": 1}))
    assert resp.status == 500 and b"Server Error" in resp.body


def test_registry_values_md5_or_empty_without_registry(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    for registry in (None, "{}"):
        extra = {"registry": registry} if registry else {}
        out = _registry(get_data(emu, **extra))
        files = {f.storage_path: f for f in emu.files()}
        assert set(out) == set(files)
        for path, value in out.items():
            f = files[path]
            assert value == (
                base64.b64encode(hashlib.md5(f.data()).digest()).decode() if f.chunked else ""
            )
            if f.chunked:
                assert path.startswith(f"CHUNKED_DATA/{emu.study_id}/")
                assert len(value) == 24


def test_registry_values_sha1_after_registry(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    out = _registry(get_data(emu, registry=json.dumps({"nothing/here.csv": "abc"})))
    files = {f.storage_path: f for f in emu.files()}
    assert set(out) == set(files)
    for path, value in out.items():
        assert value == base64.b64encode(hashlib.sha1(files[path].data()).digest()).decode()
        assert len(value) == 28


def test_registry_rule_1_full_path_skips_without_comparing(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    f = _file(emu, "gps", 1)
    streams = '["gps"]'
    registry = json.dumps({f.storage_path: "definitely-not-the-hash"})
    assert f.zip_name not in _members(get_data(emu, data_streams=streams, registry=registry))
    # the bug: even after late data changed the file, the full-path key keeps skipping it
    emu.late_data(f.participant, count=10_000)
    assert f.zip_name not in _members(get_data(emu, data_streams=streams, registry=registry))
    # an empty value is not "present"
    empty = json.dumps({f.storage_path: ""})
    assert f.zip_name in _members(get_data(emu, data_streams=streams, registry=empty))


def test_registry_rule_2_stripped_key_compares_hash(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    f = _file(emu, "accelerometer", 2)
    key = f.storage_path.removeprefix("CHUNKED_DATA/")
    streams = '["accelerometer"]'
    for value in (f.sha1_b64, f.md5_b64, " " + f.sha1_b64 + "\n"):
        names = _members(get_data(emu, data_streams=streams, registry=json.dumps({key: value})))
        assert f.zip_name not in names
    wrong = json.dumps({key: base64.b64encode(b"x" * 20).decode()})
    assert f.zip_name in _members(get_data(emu, data_streams=streams, registry=wrong))
    changed = emu.late_data(f.participant, count=10_000)
    assert f.zip_name in changed
    old = json.dumps({key: f.sha1_b64})
    resp = get_data(emu, data_streams=streams, registry=old)
    assert f.zip_name in _members(resp)
    new = emu.files(f.participant, "accelerometer")[2]
    assert new.sha1_b64 != f.sha1_b64 and new.data().startswith(f.data().split(b"\n")[0])
    assert resp.zip().read(f.zip_name) == new.data()


def test_registry_rule_3_audio_by_content_only(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    audio = next(f for f in emu.files() if f.stream == "audio_recordings")
    gps = _file(emu, "gps", 0)
    registry = json.dumps({"any/key": audio.sha1_b64, "other/key": gps.sha1_b64})
    names = _members(get_data(emu, data_streams='["audio_recordings","gps"]', registry=registry))
    assert audio.zip_name not in names
    assert gps.zip_name in names  # rule 3 is for audio_recordings only


def test_registry_file_part_is_ignored(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    f = _file(emu, "gps", 0)
    boundary = "b0undary"
    fields = {**study_form(emu), "data_streams": '["gps"]'}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="registry"; filename="r.json"\r\n'
        f"Content-Type: application/json\r\n\r\n{json.dumps({f.storage_path: 'x'})}\r\n"
    )
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    resp = request(
        emu, "/get-data/v1", body=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert f.zip_name in _members(resp)
    assert set(_registry(resp).values()) != set()
    assert all(len(v) == 24 for v in _registry(resp).values())  # MD5: no registry was seen


def test_request_log_counts_members(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    emu.reset_log()
    f = _file(emu, "gps", 0)
    get_data(emu, 2, data_streams='["gps"]', participant_ids=json.dumps([f.participant]))
    record = emu.request_log[-1]
    assert record.path == "/get-data/v2" and record.status == 200
    assert record.members == len(emu.files(f.participant, "gps"))
    assert sorted(record.names) == sorted(x.v2_name for x in emu.files(f.participant, "gps"))
    assert record.bytes_sent > 0
