"""Every Python example of the newest mano's README, run against the emulator.

The code between the ``README`` markers is the README's code; only the server address and
keys (``keyring = {...}`` and the keyring files), placeholder ids and folders, and the README's
own slips (marked ``(added: ...)`` / ``(fixed: ...)``) differ.
"""

from __future__ import annotations

import contextlib
import json
import logging as _logging
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mano_files import read_data_file
from tests.compat.conftest import (
    DATA_PASSPHRASE,
    KEYRING_PASSPHRASE,
    emulator_2015,
    emulator_2020,
    files_under,
    reference,
    warned,
    write_keyring,
)

pytestmark = pytest.mark.usefixtures("fresh_warnings")
README = contextlib.nullcontext()
SECTION = "onnela-lab-server-example-credentials"


def _section(emu: Any) -> dict[str, Any]:
    return {
        "URL": emu.url,
        "ACCESS_KEY": emu.access_key,
        "SECRET_KEY": emu.secret_key,
        "SECRETS": {"Study Name": DATA_PASSPHRASE},
    }


def test_keyrings_study_information_and_constants(
    beiwe_emulator_factory: Any,
    _isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
) -> None:
    emu = emulator_2015(beiwe_emulator_factory)
    home = _isolated_environment
    write_keyring(home, {SECTION: _section(emu)})  # ~/.nrg-keyring.enc, as crypt.py writes it
    custom = tmp_path / "path" / "to"
    custom.mkdir(parents=True)
    write_keyring(custom, {SECTION: _section(emu)}, name="my_credentials_file.enc")
    (tmp_path / "path" / "to" / "my_credentials_file.json").write_text(
        json.dumps({SECTION: _section(emu)})
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BEIWE_URL", emu.url)
    monkeypatch.setenv("BEIWE_ACCESS_KEY", emu.access_key)
    monkeypatch.setenv("BEIWE_SECRET_KEY", emu.secret_key)

    with README:
        import json as json_module

        with open(
            "path/to/my_credentials_file.json"
        ) as f:  # (changed: the README's "r" mode is the default)
            keyring = json_module.load(f)
    from_json = keyring

    with README:
        from mano import load_keyring

        keyring = load_keyring(None)
    assert keyring == {"URL": emu.url, "ACCESS_KEY": emu.access_key, "SECRET_KEY": emu.secret_key}

    monkeypatch.setenv("NRG_KEYRING_PASS", KEYRING_PASSPHRASE)
    with README:
        from mano import load_keyring

        # load a file from the default location
        keyring = load_keyring("onnela-lab-server-example-credentials")

        # load a file from a custom location
        keyring = load_keyring(
            "onnela-lab-server-example-credentials", str(custom / "my_credentials_file.enc")
        )  # (fixed: the README's call lacks its closing parenthesis)
    assert keyring == _section(emu)
    monkeypatch.delenv("NRG_KEYRING_PASS")
    with README:
        from mano import load_keyring

        keyring = load_keyring("onnela-lab-server-example-credentials", password=KEYRING_PASSPHRASE)
    assert keyring == _section(emu) and keyring["SECRETS"]["Study Name"] == DATA_PASSPHRASE

    with README:
        from mano import fetch_accessible_studies, fetch_study_device_settings, fetch_users_in_study

        # print out a list of studies you have access to
        for study_name, study_id in fetch_accessible_studies(keyring):
            print(f"{study_name}: {study_id}")

        # (for this example we will just use the the last study the loop found)
        for participant_id in fetch_users_in_study(keyring, study_id):
            print(participant_id)

        # and print out the device settings for that study
        for setting in fetch_study_device_settings(keyring, study_id):
            print(setting)
    printed = capsys.readouterr().out.splitlines()
    studies = sorted((name, sid) for sid, name in emu.studies.items())
    assert printed[: len(studies)] == [f"{n}: {i}" for n, i in studies]
    pids = sorted({name.split("/")[0] for name in reference(emu.credentials, study_id)})
    assert printed[len(studies) : len(studies) + len(pids)] == pids
    assert "('gps', True)" in printed
    # the json.load-ed file (one section) works as a keyring too
    assert fetch_users_in_study(from_json, study_id) == pids

    with README:
        from pprint import pprint

        from mano.constants import ALL_DATA_STREAMS, DataStream

        print("All the underlying data stream strings:")
        pprint("-", ALL_DATA_STREAMS)
        print("An example specific data stream:")
        print("-", DataStream.ACCELEROMETER)  # etc.
    assert capsys.readouterr().out.splitlines() == [
        "All the underlying data stream strings:",
        "An example specific data stream:",
        "- accelerometer",
    ]
    assert len(ALL_DATA_STREAMS) == 19 and "ambient_audio" in ALL_DATA_STREAMS
    listed = [
        "ACCELEROMETER",
        "AUDIO_RECORDING",
        "ANDROID_LOG_FILE",
        "BLUETOOTH",
        "CALL_LOG",
        "DEVICEMOTION",
        "GPS",
        "GYRO",
        "IDENTIFIERS",
        "IOS_LOG_FILE",
        "MAGNETOMETER",
        "POWER_STATE",
        "PROXIMITY",
        "REACHABILITY",
        "SURVEY_ANSWERS",
        "SURVEY_TIMINGS",
        "TEXTS_LOG",
        "WIFI",
    ]
    assert {getattr(DataStream, name).value for name in listed} <= set(ALL_DATA_STREAMS)
    assert DataStream.IOS_LOG is DataStream.IOS_LOG_FILE
    assert DataStream.AUDIO_RECORDINGS is DataStream.AUDIO_RECORDING

    assert warned(recwarn.list) == {
        "mano.load_keyring",
        "mano.fetch_accessible_studies",
        "mano.fetch_users_in_study",
        "mano.fetch_study_device_settings",
    }


def test_backfill_into_each_participants_folder(
    beiwe_emulator_factory: Any, tmp_path: Path, recwarn: pytest.WarningsRecorder
) -> None:
    emu = emulator_2020(beiwe_emulator_factory)
    root = tmp_path  # stands for "/" of the README's /path/to/...
    with README:
        from datetime import date

        from mano import fetch_users_in_study
        from mano.sync import backfill

        keyring = emu.credentials  # load your keyring however you like
        study_id = emu.study_id  # (changed: "your_studys_id_string")

        # get an up-to-date list of participants from the server (list of strings)
        participants = list(fetch_users_in_study(keyring, study_id))

        # set a start date, usually the start of your study. (end_date is an optional keyword parameter)
        start_date = date(2020, 2, 20)

        for participant_id in participants:
            # This folder may have the participant's data in it, in the structure Beiwe data downloads
            # use. The full path should contain the study id and then the participant id(s) for that study.
            participants_output_folder = f"{root}/path/to/{study_id}/{participant_id}/"

            # Backfill will scan all relevant data files it finds
            # Note that this invocation will decompress the files, but it doesn't have to
            backfill(keyring, study_id, participant_id, participants_output_folder, start_date)
    study_folder = root / "path" / "to" / study_id
    expected = reference(emu.credentials, study_id)
    assert expected and files_under(study_folder) == expected  # no <pid>/<pid>/ anywhere
    folders = [p.name for p in study_folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert sorted(folders) == sorted(participants)
    assert warned(recwarn.list) == {"mano.fetch_users_in_study", "mano.sync.backfill"}


def test_download_encryption_and_file_tools(
    beiwe_emulator_factory: Any,
    _isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recwarn: pytest.WarningsRecorder,
) -> None:
    emu = emulator_2015(beiwe_emulator_factory)
    write_keyring(_isolated_environment, {SECTION: _section(emu)})
    monkeypatch.setenv("NRG_KEYRING_PASS", KEYRING_PASSPHRASE)
    monkeypatch.setattr(_logging.root, "level", _logging.root.level)
    monkeypatch.chdir(tmp_path)
    from mano import load_keyring
    from mano.file_management import GlobalSettings

    monkeypatch.setattr(GlobalSettings, "multithreading_count", 0)  # restored after the test
    keyring = load_keyring(SECTION)
    participant_id = emu.participants[-1]  # (as the README's earlier loop leaves it)

    with README:
        from zipfile import ZipFile  # this is part of the Python Standard Library

        from mano.constants import DataStream
        from mano.sync import download

        keyring = keyring  # load your keyring however you like
        study_id = emu.study_id  # (changed: "your_studys_id_string")
        target_output_folder = f"./path/to/that/{study_id}/"

        # select data streams using the DataStream class
        data_streams = [DataStream.ACCELEROMETER, DataStream.IOS_LOG, DataStream.GPS]

        # and let's set the time ranges using strings
        time_start = "2015-10-01T00:00:00"
        time_end = "2015-12-01T00:00:00"

        output_folder = target_output_folder  # (added: the README names it only later)
        # Download returns a `zipfile.ZipFile` object containing the requested data files.
        zf: ZipFile = download(
            keyring,
            study_id,
            participant_id,
            data_streams=data_streams,
            time_start=time_start,
            time_end=time_end,
            compressed=True,  # we will use the CLI to manage the file compression later
        )

        # we will just use the `extractall()` method on that Zipfile
        zf.extractall(output_folder)  # It does exactly what it says
    window = reference(
        emu.credentials,
        study_id,
        [participant_id],
        ["accelerometer", "ios_log", "gps"],
        time_start,
        time_end,
        version=2,
    )
    assert window and all(name.endswith(".zst") for name in window)
    assert {k: v for k, v in files_under(Path(output_folder)).items() if k != "registry"} == window
    assert type(zf.fp).__name__ != "BytesIO"  # read from a file on disk, not held in memory

    with README:
        import logging

        from mano import sync as msync

        logging.basicConfig(level=logging.INFO)

        output_folder = str(tmp_path / "beiwe-data")  # set this to a real folder location

        zf = msync.download(keyring, study_id, participant_id, data_streams=["identifiers"])

        zf.extractall(output_folder)
    identifiers = reference(emu.credentials, study_id, [participant_id], ["identifiers"])
    assert {
        k: v for k, v in files_under(Path(output_folder)).items() if k != "registry"
    } == identifiers

    with README:
        from zipfile import ZipFile

        from mano.constants import DataStream
        from mano.sync import backfill, download

        lock_and_download_streams = [DataStream.GPS, DataStream.AUDIO_RECORDINGS]

        data_encryption_key = keyring["SECRETS"]["Study Name"]  # (moved up: used before set)
        # for backfill to handle automatically:
        backfill(
            keyring,
            study_id,
            participant_id,
            output_folder,
            passphrase=data_encryption_key,
            lock=lock_and_download_streams,
            data_streams=lock_and_download_streams,
        )

        # or manually using the download + save pattern:
        zf: ZipFile = download(
            keyring,
            study_id,
            [participant_id],
            data_streams=lock_and_download_streams,
        )

        # grab your encryption key out of the keyring
        data_encryption_key = keyring["SECRETS"]["Study Name"]

        saved = msync.save(
            zf,
            participant_id,
            output_folder,
            lock=lock_and_download_streams,
            passphrase=data_encryption_key,
        )
    locked = reference(emu.credentials, study_id, [participant_id], ["gps", "audio_recordings"])
    assert locked
    for name, data in locked.items():
        with read_data_file(Path(output_folder, name + ".zst.lock"), key=DATA_PASSPHRASE) as fh:
            assert fh.read() == data
        assert not Path(output_folder, name).exists()  # no plain copy of a locked stream
    # save() reports the files it wrote; a plain (v1) archive carries MD5s, which the manifest's
    # SHA-1s cannot confirm, so it rewrites the same content rather than trusting it
    assert 0 <= saved <= len(locked)

    study_folder = Path(target_output_folder)
    before = {k: v for k, v in files_under(study_folder).items() if k != "registry"}
    with README:
        from mano.file_management import compress_to_zst_files, decompress_zst_files

        target_folder = target_output_folder  # (changed: "./study_folder/")

        # by default these are multithreaded across all available CPU cores
        decompress_zst_files(target_folder, delete_zst=True, overwrite=False)
        decompress_result = files_under(study_folder)  # (added: to check the step)
        compress_to_zst_files(target_folder, compression_level=5, delete_original=False)

        # to set the number of concurrent files to operate on, set the multithreading_count attribute on the
        # global settings object before calling the functions
        from mano.file_management import GlobalSettings

        GlobalSettings.multithreading_count = 4  # use 4 threads
    dctx = zstandard.ZstdDecompressor()
    plain = {
        name[: -len(".zst")]: dctx.decompressobj().decompress(data) for name, data in before.items()
    }
    assert {k: v for k, v in decompress_result.items() if k != "registry"} == plain
    after = files_under(study_folder)
    for name, data in plain.items():
        assert after[name] == data
        assert dctx.decompressobj().decompress(after[name + ".zst"]) == data
    assert GlobalSettings.multithreading_count == 4
    with pytest.raises(Exception, match="multithreading_count must be an integer >= 0"):
        GlobalSettings.multithreading_count = -1

    assert warned(recwarn.list) == {
        "mano.load_keyring",
        "mano.sync.download",
        "mano.sync.backfill",
        "mano.sync.save",
        "mano.file_management.decompress_zst_files",
        "mano.file_management.compress_to_zst_files",
    }
