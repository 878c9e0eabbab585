"""Core behaviour: auth order, listing endpoints and get-data v1/v2 over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib

import zstandard

from mano_testing import Emulator
from tests.testing._http import creds, get_data, request, study_form


def test_context_manager_exposes_connection_facts(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    assert emu.url.startswith("http://127.0.0.1:") and not emu.url.endswith("/")
    assert len(emu.study_id) == 24 and emu.study_id.isalnum()
    assert emu.credentials == {
        "URL": emu.url,
        "ACCESS_KEY": emu.access_key,
        "SECRET_KEY": emu.secret_key,
    }
    assert set(emu.keys) == {"default", "admin", "outsider", "disabled"}
    assert emu.participants == sorted(emu.participants) and len(emu.participants) == 3
    for pid in emu.participants:
        assert len(pid) == 8 and set(pid) <= set("abcdefghijklmnopqrstuvwxyz123456789")
    assert emu.studies[emu.study_id] == emu.study_name and len(emu.studies) >= 2


def test_get_studies_lists_related_studies_as_text_html(beiwe_emulator: Emulator) -> None:
    resp = request(beiwe_emulator, "/get-studies/v1", creds(beiwe_emulator))
    assert resp.status == 200
    assert resp.content_type == "text/html; charset=utf-8"
    assert resp.json() == beiwe_emulator.studies


def test_participant_ids_and_get_users_alias(beiwe_emulator: Emulator) -> None:
    for path in ("/get-participant-ids/v1", "/get-users/v1", "/get-users/v1/"):
        resp = request(beiwe_emulator, path, study_form(beiwe_emulator))
        assert resp.status == 200, path
        assert resp.content_type == "application/json"
        assert sorted(resp.json()) == beiwe_emulator.participants


def test_check_my_credentials(beiwe_emulator: Emulator) -> None:
    resp = request(beiwe_emulator, "/check-my-credentials/v1", creds(beiwe_emulator))
    assert (resp.status, resp.body) == (200, b"The provided credentials are valid")
    assert resp.content_type == "text/html; charset=utf-8"


def test_get_data_v1_members_match_files(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    resp = get_data(emu, 1)
    assert resp.status == 200
    assert resp.content_type == "application/zip"
    assert resp.headers["Content-Disposition"] == 'inline; filename="data.zip"'
    assert resp.headers.get("Content-Length") is None
    assert resp.headers["Transfer-Encoding"] == "chunked"
    archive = resp.zip()
    assert archive.testzip() is None
    names = archive.namelist()
    assert names[-1] == "registry"
    files = {f.zip_name: f for f in emu.files()}
    assert sorted(names[:-1]) == sorted(files)
    registry = json.loads(archive.read("registry"))
    for name in names[:-1]:
        f = files[name]
        data = archive.read(name)
        assert data == f.data()
        assert registry[f.storage_path] == (
            base64.b64encode(hashlib.md5(data).digest()).decode() if f.chunked else ""
        )
    assert len(registry) == len(files)
    assert emu.request_log[-1].members == len(files)


def test_get_data_v2_members_are_zstd_frames_with_content_size(beiwe_emulator: Emulator) -> None:
    emu = beiwe_emulator
    archive = get_data(emu, 2, data_streams='["gps", "survey_answers"]').zip()
    names = archive.namelist()
    assert names[-1] == "registry"
    files = {f.v2_name: f for f in emu.files() if f.stream in ("gps", "survey_answers")}
    assert sorted(names[:-1]) == sorted(files)
    for name in names[:-1]:
        raw = archive.read(name)
        assert raw[:4] == b"\x28\xb5\x2f\xfd"
        params = zstandard.get_frame_parameters(raw)
        assert params.content_size == files[name].size
        assert zstandard.ZstdDecompressor().decompress(raw) == files[name].data()
    info = archive.getinfo(names[0])
    assert info.compress_type == 0 and info.flag_bits == 0
    assert (info.external_attr >> 16) & 0o777 == 0o600
    assert zlib.crc32(archive.read(names[0])) == info.CRC


def test_bad_options_raise_clear_errors() -> None:
    import pytest

    from mano_testing import EmulatorStateError, FaultSpecError, InvalidOptionError

    with pytest.raises(InvalidOptionError, match="profile must be"):
        Emulator(profile="future")  # type: ignore[arg-type]
    with pytest.raises(InvalidOptionError, match="scale must be a positive number"):
        Emulator(scale=0)
    with pytest.raises(FaultSpecError):
        Emulator(faults="nonsense")
    emu = Emulator(participants=1, days=1)
    with pytest.raises(EmulatorStateError, match="not running"):
        _ = emu.url
    assert emu.secret_key not in repr(emu)
