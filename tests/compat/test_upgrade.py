"""``pip install`` of packages/mano over PyPI's mano 0.6.0 upgrades it; old scripts keep running.

Slow: a fresh venv, mano 0.6.0 (and its dependencies) from PyPI, then the README's install line.
"""

from __future__ import annotations

import os
import subprocess
import venv
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
    write_keyring,
)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

#: mano 0.6.0's PyPI page, as one script (folders come from the command line).
OLD_SCRIPT = """\
import sys

import mano
Keyring = mano.keyring('beiwe.onnela')

for study in mano.studies(Keyring):
    print(study)

_, study_id = study  # get the last printed study id

for user_id in mano.users(Keyring, study_id):
    print(user_id)

for setting in mano.device_settings(Keyring, study_id):
    print(setting)

import logging
from mano import sync as msync

logging.basicConfig(level=logging.INFO)

output_folder = sys.argv[1]

zf = msync.download(Keyring, study_id, user_id, data_streams=['identifiers'])

zf.extractall(output_folder)

lock_streams = ['gps', 'audio_recordings']

zf = msync.download(Keyring, study_id, user_id)

data_encryption_key = Keyring['SECRETS']['Beiwe Study Omega']  # not the keyring decryption key!

msync.save(
    Keyring,
    zf,
    user_id,
    output_folder,
    lock=lock_streams,
    passphrase=data_encryption_key,
)

start_date = '2015-01-01T00:00:00'
passphrase = data_encryption_key

msync.backfill(
    Keyring,
    study_id,
    user_id,
    sys.argv[2],
    start_date=start_date,
    lock=lock_streams,
    passphrase=passphrase,
)
print("done", study_id, user_id)
"""


def _pip(python: Path, *args: str) -> str:
    out = subprocess.run(
        [str(python), "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


def _version(python: Path) -> str:
    for line in _pip(python, "show", "mano").splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError("mano is not installed")


def test_readme_install_upgrades_060_in_place_and_old_scripts_run(
    beiwe_emulator_factory: Any, tmp_path: Path, _isolated_environment: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _pip(python, "install", "--quiet", "mano==0.6.0")
    assert _version(python) == "0.6.0"

    # The install line of README.md ("Coming from mano 0.6.0 or the newest mano").
    packages = ["mano-auth", "mano-api", "mano-files", "mano-sync", "mano"]
    log = _pip(python, "install", *(str(ROOT / "packages" / p) for p in packages))
    assert "Successfully uninstalled mano-0.6.0" in log
    assert _version(python) == "1.0.0"
    site = subprocess.run(
        [str(python), "-c", "import mano, os; print(os.path.dirname(mano.__file__))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    assert not (Path(site) / "mano.py").exists() and not (Path(site) / "config.json").exists()

    emu = emulator_2015(beiwe_emulator_factory)
    write_keyring(
        _isolated_environment,
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
    script = tmp_path / "old_script.py"
    script.write_text(OLD_SCRIPT)
    out, backfilled = tmp_path / "beiwe-data", tmp_path / "backfilled"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(_isolated_environment),
        "NRG_KEYRING_PASS": KEYRING_PASSPHRASE,
        "LC_ALL": "C",  # 0.6.0 needed en_US.UTF-8 at import; 1.0 needs no locale
    }
    run = subprocess.run(
        [str(python), str(script), str(out), str(backfilled)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    last = run.stdout.strip().splitlines()[-1].split()
    assert last[0] == "done"
    study_id, user_id = last[1], last[2]
    # a script run as __main__ sees each DeprecationWarning once, naming the successor
    assert run.stderr.count("DeprecationWarning: mano.keyring is") == 1
    assert "use mano_sync.backfill" in run.stderr

    everything = reference(emu.credentials, study_id, [user_id])
    assert everything
    for folder in (out, backfilled):
        for name, data in everything.items():
            if name.split("/")[1] in ("gps", "audio_recordings"):
                with read_data_file(folder / (name + ".zst.lock"), key=DATA_PASSPHRASE) as fh:
                    assert fh.read() == data
            else:
                assert (folder / name).read_bytes() == data
    assert set(files_under(backfilled)) == {
        n + ".zst.lock" if n.split("/")[1] in ("gps", "audio_recordings") else n for n in everything
    }
