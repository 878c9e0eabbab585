"""Data and report files follow the umask (the lab's group may read them); secrets stay 0600."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import env_for


def _mano(args: list[str], umask: int, env: dict[str, str], cwd: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mano_cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=180,
        preexec_fn=lambda: os.umask(umask),  # cron's or the lab's umask
    )
    assert proc.returncode == 0, proc.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_honour_the_umask_and_keyrings_stay_private(
    emu: Any, synced: Path, tmp_path: Path, umask: int, mode: int
) -> None:
    env = {**env_for(emu), "NRG_KEYRING_PASS": "ring pass"}
    pid = emu.files()[0].participant
    _mano(["settings", emu.study_id, "-o", "studies.json"], umask, env, tmp_path)
    _mano(["info", "quantities", emu.study_id, "-f", "csv", "-o", "q.csv"], umask, env, tmp_path)
    _mano(["info", "survey-history", emu.study_id, "-o", "surveys.json"], umask, env, tmp_path)
    _mano(
        ["download", emu.study_id, "--zip", "raw.zip", "-p", pid, "-s", "gps"], umask, env, tmp_path
    )
    _mano(["download", emu.study_id, "-o", "dl", "-p", pid, "-s", "gps"], umask, env, tmp_path)
    _mano(["sync", emu.study_id, "-o", "study", "-s", "wifi"], umask, env, tmp_path)
    _mano(["report", str(synced), "--csv", "cov.csv", "--html", "cov.html"], umask, env, tmp_path)
    ring = tmp_path / "ring.enc"
    _mano(
        ["--keyring-file", str(ring), "keyring", "add", "lab", "--from-env"], umask, env, tmp_path
    )
    with zipfile.ZipFile(tmp_path / "raw.zip") as z:
        assert z.namelist()
    outputs = [tmp_path / n for n in ("studies.json", "q.csv", "surveys.json", "raw.zip")]
    outputs += [tmp_path / "cov.csv", tmp_path / "cov.html"]
    data = [p for p in (tmp_path / "dl").rglob("*") if p.is_file()]
    data += [p for p in (tmp_path / "study").rglob("*.csv")]
    assert data
    assert {str(p.relative_to(tmp_path)): oct(_mode(p)) for p in outputs + data} == {
        str(p.relative_to(tmp_path)): oct(mode) for p in outputs + data
    }
    assert oct(_mode(ring)) == oct(0o600)
    assert not list(tmp_path.rglob("*.mano-tmp"))
