"""Every Python example of mano 0.6.0's PyPI page, run against the emulator.

The code between the ``README`` markers is the page's code; only the server address and keys
(in the keyring file), the output folder (a placeholder on the page) and one undefined name
(marked) differ.
"""

from __future__ import annotations

import contextlib
import logging as _logging
from pathlib import Path
from typing import Any

import pytest

from mano_files import read_data_file
from tests.compat.conftest import (
    DATA_PASSPHRASE,
    KEYRING_PASSPHRASE,
    emulator_2015,
    files_under,
    reference,
    warned,
    write_keyring,
)

pytestmark = pytest.mark.usefixtures("fresh_warnings")

#: Marks the README's code (the warnings it emits are checked at the end of the test).
README = contextlib.nullcontext()


def _keyring_060(emu: Any, home: Path) -> Path:
    # "Initial Setup": the JSON of the page (USERNAME/PASSWORD included), then crypt.py --encrypt
    return write_keyring(
        home,
        {
            "beiwe.onnela": {
                "URL": emu.url,
                "USERNAME": "...",
                "PASSWORD": "...",
                "ACCESS_KEY": emu.access_key,
                "SECRET_KEY": emu.secret_key,
                "SECRETS": {"Beiwe Study Omega": DATA_PASSPHRASE},
            }
        },
    )


def test_every_example_of_the_060_page(
    beiwe_emulator_factory: Any,
    _isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
) -> None:
    emu = emulator_2015(beiwe_emulator_factory)
    _keyring_060(emu, _isolated_environment)  # ~/.nrg-keyring.enc
    monkeypatch.setenv("NRG_KEYRING_PASS", KEYRING_PASSPHRASE)  # "Setting the environment variable"
    monkeypatch.setattr(_logging.root, "level", _logging.root.level)  # undo basicConfig's level

    with README:
        # ---- README: API For Keyring Access
        import mano

        Keyring = mano.keyring("beiwe.onnela")
        # ---- README: API For Accessing Study Information
        for study in mano.studies(Keyring):
            print(study)

        _, study_id = study  # get the last printed study id

        for user_id in mano.users(Keyring, study_id):
            print(user_id)

        for setting in mano.device_settings(Keyring, study_id):
            print(setting)
        # ---- README: end
    printed = capsys.readouterr().out.splitlines()
    studies = sorted((name, sid) for sid, name in emu.studies.items())
    assert printed[: len(studies)] == [str(s) for s in studies]
    users = sorted(reference(emu.credentials, study_id))  # member names start with the pid
    pids = sorted({name.split("/")[0] for name in users})
    assert printed[len(studies) : len(studies) + len(pids)] == pids
    assert "('gps', True)" in printed
    assert Keyring["SECRETS"] == {"Beiwe Study Omega": DATA_PASSPHRASE}
    for secret in (emu.secret_key, emu.access_key, DATA_PASSPHRASE):
        assert secret not in repr(Keyring) + str(Keyring)

    with README:
        # ---- README: API For Downloading Data
        import logging

        from mano import sync as msync

        logging.basicConfig(level=logging.INFO)

        output_folder = str(tmp_path / "beiwe-data")  # set this to a real folder location

        zf = msync.download(Keyring, study_id, user_id, data_streams=["identifiers"])

        zf.extractall(output_folder)
        # ---- README: end
    identifiers = reference(emu.credentials, study_id, [user_id], ["identifiers"])
    assert identifiers, "the example's participant has identifiers"
    tree = files_under(Path(output_folder))
    assert {k: v for k, v in tree.items() if k != "registry"} == identifiers
    assert "registry" in tree  # 0.6.0's extractall wrote it too

    with README:
        # ---- README: Encrypt Data Files At Rest
        lock_streams = ["gps", "audio_recordings"]

        zf = msync.download(Keyring, study_id, user_id)

        data_encryption_key = Keyring["SECRETS"][
            "Beiwe Study Omega"
        ]  # not the keyring decryption key!

        msync.save(
            Keyring,
            zf,
            user_id,
            output_folder,
            lock=lock_streams,
            passphrase=data_encryption_key,
        )
        # ---- README: end
    everything = reference(emu.credentials, study_id, [user_id])
    assert {n.split("/")[1] for n in everything} >= {"gps", "identifiers"}  # gps gets locked
    _assert_saved(Path(output_folder), everything, lock_streams)

    with README:
        # ---- README: Backfill (download with limits)
        data_streams = ["accel", "ios_log", "gps"]

        time_start = "2015-10-01T00:00:00"
        time_end = "2015-12-01T00:00:00"

        zf = msync.download(
            Keyring,
            study_id,
            user_id,
            data_streams=data_streams,
            time_start=time_start,
            time_end=time_end,
        )

        zf.extractall(output_folder)
        # ---- README: end
    window = reference(
        emu.credentials,
        study_id,
        [user_id],
        ["accelerometer", "ios_log", "gps"],
        "2015-10-01T00:00:00",
        "2015-12-01T00:00:00",
    )
    assert window and {n.split("/")[1] for n in window} <= {"accelerometer", "ios_log", "gps"}
    assert set(zf.namelist()) == set(window) | {"registry"}  # 'accel' meant accelerometer
    tree = files_under(Path(output_folder))
    assert all(tree[name] == data for name, data in window.items())

    backfilled = tmp_path / "backfilled"
    output_folder = str(backfilled)  # a fresh study folder, to see what backfill alone writes
    with README:
        # ---- README: Backfill (the backfill function)
        start_date = "2015-01-01T00:00:00"
        passphrase = data_encryption_key  # (added: the page uses `passphrase` without defining it)

        msync.backfill(
            Keyring,
            study_id,
            user_id,
            output_folder,
            start_date=start_date,
            lock=lock_streams,
            passphrase=passphrase,
        )
        # ---- README: end
    _assert_saved(backfilled, everything, lock_streams)
    assert set(files_under(backfilled)) == {
        n + ".zst.lock" if n.split("/")[1] in lock_streams else n for n in everything
    }

    names = warned(recwarn.list)
    assert names == {
        "mano.keyring",
        "mano.studies",
        "mano.users",
        "mano.device_settings",
        "mano.sync.download",
        "mano.sync.save(Keyring, ...)",
        "mano.sync.backfill",
    }
    # attributed to the script's own lines, once per entry point
    deprecations = [w for w in recwarn.list if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == len(names)
    assert all(w.filename == __file__ for w in deprecations)


def _assert_saved(folder: Path, expected: dict[str, bytes], locked: list[str]) -> None:
    for name, data in expected.items():
        stream = name.split("/")[1]
        if stream in locked:
            path = folder / (name + ".zst.lock")
            with read_data_file(path, key=DATA_PASSPHRASE) as fh:
                assert fh.read() == data, name
        else:
            assert (folder / name).read_bytes() == data, name


def test_keyring_none_reads_the_environment_with_or_without_username(
    beiwe_emulator: Any, monkeypatch: pytest.MonkeyPatch, fresh_warnings: None
) -> None:
    import mano

    emu = beiwe_emulator
    monkeypatch.setenv("BEIWE_URL", emu.url)
    monkeypatch.setenv("BEIWE_ACCESS_KEY", emu.access_key)
    monkeypatch.setenv("BEIWE_SECRET_KEY", emu.secret_key)
    with pytest.warns(DeprecationWarning, match=r"mano\.keyring is .* use mano_auth\.load_keyring"):
        Keyring = mano.keyring(None)
    assert Keyring == {"URL": emu.url, "ACCESS_KEY": emu.access_key, "SECRET_KEY": emu.secret_key}
    monkeypatch.setenv("BEIWE_USERNAME", "someone")
    monkeypatch.setenv("BEIWE_PASSWORD", "website password")
    Keyring = mano.keyring(None)  # the second call does not warn again
    assert Keyring["USERNAME"] == "someone" and Keyring["PASSWORD"] == "website password"
    assert "website password" not in repr(Keyring) + str(Keyring)
    with pytest.warns(DeprecationWarning, match=r"mano\.studies is"):
        assert [s for s in mano.studies(Keyring)][0][0] == "Mano Emulated Study"
    monkeypatch.delenv("BEIWE_SECRET_KEY")
    with pytest.raises(mano.KeyringError, match="BEIWE_SECRET_KEY not set"):
        mano.keyring(None)


def test_expand_study_id_studyid_studyname(beiwe_emulator: Any, fresh_warnings: None) -> None:
    import mano

    emu = beiwe_emulator
    with pytest.warns(DeprecationWarning):
        assert mano.expand_study_id(emu.credentials, emu.study_id[:6]) == (
            emu.study_name,
            emu.study_id,
        )
        assert mano.expand_study_id(emu.credentials, "zzzzzz-no") is None
        assert mano.studyid(emu.credentials, emu.study_name) == emu.study_id
        assert mano.studyname(emu.credentials, emu.study_id) == emu.study_name
        with pytest.raises(mano.StudyIDError):
            mano.studyid(emu.credentials, "No such study")
        with pytest.raises(mano.AmbiguousStudyIDError):
            mano.expand_study_id(emu.credentials, "")
        with pytest.raises(mano.LoginError, match="device_settings"):
            mano.login(emu.credentials)
        assert mano.interval("12h") == 43200 and mano.interval("1d") == 86400
        with pytest.raises(mano.IntervalError):
            mano.interval("12 hours")
