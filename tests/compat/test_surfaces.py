"""How the compatibility layer tells the two surfaces apart, and what it refuses."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import mano
import pytest
from mano import sync as msync
from mano._deprecation import deprecated
from mano.constants import DataStream

import mano_auth
from tests.compat.conftest import KEYRING_PASSPHRASE, files_under, reference, write_keyring

pytestmark = [
    pytest.mark.usefixtures("fresh_warnings"),
    # every call here is a legacy one; the warnings themselves are tested below
    pytest.mark.filterwarnings("ignore::DeprecationWarning:tests.compat.test_surfaces"),
]

PLACEHOLDERS = {
    "beiwe.onnela": {
        "URL": "https://studies.beiwe.org",
        "USERNAME": "USERNAME",
        "PASSWORD": "PASSWORD",
        "ACCESS_KEY": "ACCESS_KEY_123",
        "SECRET_KEY": "SECRET_KEY_456",
        "SECRETS": {"Beiwe Study Omega": "..."},
    }
}


def test_a_keyring_with_placeholder_keys_loads_everywhere(
    _isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As 0.6.0's README (and 0.6.0's own test keyring) write them: loads, refused when used."""
    write_keyring(_isolated_environment, PLACEHOLDERS)
    monkeypatch.setenv("NRG_KEYRING_PASS", KEYRING_PASSPHRASE)
    assert mano.keyring("beiwe.onnela") == PLACEHOLDERS["beiwe.onnela"]
    assert mano.load_keyring("beiwe.onnela") == PLACEHOLDERS["beiwe.onnela"]
    with pytest.warns(mano_auth.KeyShapeWarning) as caught:
        creds = mano_auth.load_keyring("beiwe.onnela")
    text = " | ".join(str(w.message) for w in caught)
    assert "ACCESS_KEY contains the character(s) '_'" in text
    assert "SECRET_KEY contains 2 character(s)" in text and "SECRET_KEY_456" not in text
    assert creds.access_key == "ACCESS_KEY_123"
    with pytest.raises(mano_auth.InvalidKey) as info:
        with pytest.warns((mano_auth.KeyShapeWarning, DeprecationWarning)):
            list(mano.studies(mano.keyring("beiwe.onnela")))
    assert str(info.value).startswith(
        "keyring section 'beiwe.onnela': ACCESS_KEY contains the character(s) '_'"
    )
    assert "SECRET_KEY_456" not in str(info.value)


def test_keyring_errors_keep_their_060_names(_isolated_environment: Path, monkeypatch: Any) -> None:
    write_keyring(_isolated_environment, PLACEHOLDERS)
    monkeypatch.setenv("NRG_KEYRING_PASS", "**wrong**")
    with pytest.raises(mano.KeyringError, match="wrong passphrase"):
        mano.keyring("beiwe.onnela")
    monkeypatch.setenv("NRG_KEYRING_PASS", KEYRING_PASSPHRASE)
    with pytest.raises(mano.KeyringError, match="no section 'nope'.*'beiwe.onnela'"):
        mano.keyring("nope")
    with pytest.raises(OSError):  # 0.6.0's test expects IOError for a missing file
        mano.keyring("beiwe.onnela", keyring_file=str(_isolated_environment / "missing.enc"))


def test_save_tells_060_from_newest_by_its_first_argument(
    beiwe_emulator: Any, tmp_path: Path
) -> None:
    emu = beiwe_emulator
    pid = next(p for p in emu.participants if emu.files(participant=p))
    expected = reference(emu.credentials, emu.study_id, [pid], ["gps"])
    zf = msync.download(emu.credentials, emu.study_id, pid, data_streams=["gps"])
    assert isinstance(zf, zipfile.ZipFile)
    assert msync.save(emu.credentials, zf, pid, tmp_path / "old") == len(expected)  # 0.6.0
    assert msync.save(zf, pid, tmp_path / "new") == len(expected)  # newest
    assert msync.save(zf, participant_id=pid, output_dir=tmp_path / "kw") == len(expected)
    assert msync.save(Keyring=emu.credentials, archive=None, user_id=pid, output_dir="x") == 0
    for folder in ("old", "new", "kw"):
        assert files_under(tmp_path / folder) == expected
    # a ZipFile the script opened itself is saved too
    plain = tmp_path / "copy.zip"
    with zipfile.ZipFile(plain, "w") as out:
        for name, data in expected.items():
            out.writestr(name, data)
        out.writestr("registry", "{}")
    with zipfile.ZipFile(plain) as own:
        assert msync.save(own, pid, tmp_path / "own") == len(expected)
    assert files_under(tmp_path / "own") == expected
    with pytest.raises(mano.sync.SaveError, match="needs a passphrase"):
        msync.save(zf, pid, tmp_path / "x", lock=["gps"])
    with pytest.raises(mano.sync.SaveError, match="not saved"):
        msync.save(zf, "someone", tmp_path / "other")
    zf.close()
    assert not zf.mano_archive.path.exists()  # type: ignore[attr-defined]


def test_backfill_folder_and_060_positional_order(beiwe_emulator: Any, tmp_path: Path) -> None:
    emu = beiwe_emulator
    pid = next(p for p in emu.participants if emu.files(participant=p, stream="gps"))
    expected = reference(emu.credentials, emu.study_id, [pid], ["gps", "wifi"])
    # 0.6.0: the study folder, then start_date, data_streams, lock, passphrase positionally
    msync.backfill(emu.credentials, emu.study_id, pid, tmp_path / "study", None, ["gps", "wifi"])
    assert files_under(tmp_path / "study") == expected
    # newest README: the participant's own folder, named after them
    msync.backfill(
        emu.credentials, emu.study_id, pid, f"{tmp_path}/s2/{pid}/", data_streams=["gps", "wifi"]
    )
    assert files_under(tmp_path / "s2") == expected
    assert not (tmp_path / "s2" / pid / pid).exists()
    # 0.6.0 positional lock + passphrase
    msync.backfill(
        emu.credentials, emu.study_id, pid, tmp_path / "s3", None, ["gps"], ["gps"], "pw"
    )
    assert set(files_under(tmp_path / "s3")) == {n + ".zst.lock" for n in expected if "/gps/" in n}
    with pytest.raises(mano.sync.SaveError, match="needs a passphrase"):
        msync.backfill(emu.credentials, emu.study_id, pid, tmp_path / "s4", lock=["gps"])


def test_every_documented_stream_name_is_accepted_or_refused_with_its_replacement(
    beiwe_emulator: Any, tmp_path: Path
) -> None:
    emu = beiwe_emulator
    pid = emu.participants[-1]
    documented_060 = [
        "accelerometer",
        "app_log",
        "audio_recordings",
        "bluetooth",
        "calls",
        "devicemotion",
        "gps",
        "gyro",
        "identifiers",
        "ios_log",
        "magnetometer",
        "power_state",
        "proximity",
        "reachability",
        "survey_answers",
        "survey_timings",
        "texts",
        "wifi",
        "accel",
    ]
    newest = [getattr(DataStream, n) for n in DataStream.__members__]
    for name in [*documented_060, *newest]:
        zf = msync.download(
            emu.credentials, emu.study_id, pid, data_streams=[name], compressed=True
        )
        assert isinstance(zf, zipfile.ZipFile)
        streams = {n.split("/")[1] for n in zf.namelist() if n != "registry"}
        wanted = {"accel": "accelerometer"}.get(str(name), str(name))
        assert streams <= {wanted}, name
        zf.close()
    with pytest.raises(mano.UnknownDataStream, match="'image_survey' is not a Beiwe data stream"):
        msync.download(emu.credentials, emu.study_id, pid, data_streams=["image_survey"])
    with pytest.raises(mano.UnknownDataStream, match="unknown data stream 'gyroscope'; use one of"):
        msync.download(emu.credentials, emu.study_id, pid, data_streams=["gyroscope"])
    assert [
        s for s in mano.DATA_STREAMS if s in mano.constants.ALL_DATA_STREAMS
    ] == mano.DATA_STREAMS


def test_download_returns_none_only_for_060_calls_without_data(
    beiwe_emulator: Any,
) -> None:
    emu = beiwe_emulator
    pid = emu.participants[0]
    window = {"time_start": "2001-01-01T00:00:00", "time_end": "2001-01-02T00:00:00"}
    assert msync.download(emu.credentials, emu.study_id, [pid], **window) is None
    zf = msync.download(emu.credentials, emu.study_id, [pid], compressed=False, **window)
    assert zf is not None and zf.namelist() == ["registry"]
    zf.close()
    with pytest.raises(mano.sync.DownloadError, match="not both"):
        msync.download(emu.credentials, emu.study_id, [pid], user_ids=[pid])


def test_a_whole_keyring_file_as_json_is_accepted_when_it_has_one_section(
    beiwe_emulator: Any,
) -> None:
    emu = beiwe_emulator
    one = json.loads(json.dumps({"only": emu.credentials}))
    assert mano.fetch_users_in_study(one, emu.study_id) == emu.participants
    two = {"a": emu.credentials, "b": emu.credentials}
    with pytest.raises(mano.ManoError, match=r"sections 'a', 'b': pass one section"):
        mano.fetch_users_in_study(two, emu.study_id)


def test_each_legacy_entry_point_warns_once_per_process_naming_its_successor() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            deprecated("mano.example", "mano_example.new")
            with pytest.raises(mano.IntervalError):
                mano.interval("bad")
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert messages == [
        "mano.example is the mano 0.6.0 / newest-mano API kept for existing scripts; use "
        "mano_example.new (see docs/migrating.md)",
        "mano.interval is the mano 0.6.0 / newest-mano API kept for existing scripts; use "
        "datetime.timedelta (see docs/migrating.md)",
    ]
    assert all(w.filename == __file__ for w in caught)


def test_060_positional_progress_is_not_taken_for_compressed(beiwe_emulator: Any) -> None:
    emu = beiwe_emulator
    pid = next(p for p in emu.participants if emu.files(participant=p, stream="gps"))
    # download(Keyring, study_id, user_ids, data_streams, time_start, time_end, registry, progress)
    zf = msync.download(emu.credentials, emu.study_id, [pid], ["gps"], None, None, None, 3 * 1024)
    assert zf is not None and not any(n.endswith(".zst") for n in zf.namelist())
    zf.close()


def test_python_dash_m_mano_runs_the_command() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mano", "compress", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--level" in result.stdout and "-0 … -22" in result.stdout


def test_import_mano_loads_no_cli_and_needs_no_locale() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys, mano, mano.sync, mano.constants, mano.file_management\n"
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('typer', 'click', 'rich', 'mano_cli', 'mano_testing'))))\n"
    )
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}  # 0.6.0 raised here without en_US.UTF-8
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
