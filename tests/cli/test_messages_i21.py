"""Messages that name the right thing: one data file accepted where the help offers it,
--zip pointing at a folder, write problems called write problems, a server failing every
download is a server problem (exit 4)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mano_cli._errors import EXIT_SERVER, EXIT_USAGE
from tests.cli.conftest import Run, env_for
from tests.files.conftest import csv_bytes, relpath_for

RunFn = Callable[..., Run]


def test_one_data_file_is_accepted_by_every_tree_command(tmp_path: Path, cli: RunFn) -> None:
    path = tmp_path / "study" / relpath_for("gps")
    path.parent.mkdir(parents=True)
    data = csv_bytes("gps", 50)
    path.write_bytes(data)
    other = path.with_name("2020-10-05 09_00_00+00_00.csv")
    other.write_bytes(data)
    result = cli(["compress", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("compress: 1 done")
    zst = Path(str(path) + ".zst")
    assert zstandard.ZstdDecompressor().decompress(zst.read_bytes()) == data
    assert not Path(str(other) + ".zst").exists()  # only the file named
    assert cli(["verify", str(zst)]).exit_code == 0
    missing = cli(["compress", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 5 and "does not exist" in missing.stderr


def test_zip_pointing_at_a_folder_names_the_folder(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    result = cli(["download", emu.study_id, "--zip", str(tmp_path)], env=env_for(emu))
    assert result.exit_code == EXIT_USAGE, result.stderr
    assert str(tmp_path) in result.stderr and "mano-tmp" not in result.stderr
    assert "is a folder" in result.stderr


def test_a_write_problem_is_called_a_write_problem(
    tmp_path: Path, cli: RunFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "study" / relpath_for("gps")
    path.parent.mkdir(parents=True)
    path.write_bytes(csv_bytes("gps", 50))
    real_open = os.open

    def no_create(file: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        unnamed = getattr(os, "O_TMPFILE", 0)
        if flags & os.O_CREAT or (unnamed and flags & unnamed == unnamed):
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_create)
    result = cli(["-v", "compress", str(tmp_path / "study")])
    monkeypatch.undo()
    assert result.exit_code == 1
    assert "permission denied to write" in result.stderr
    assert "to read" not in result.stderr


def test_every_download_failing_with_5xx_is_a_server_problem(tmp_path: Path, mano: RunFn) -> None:
    from mano_testing import Emulator

    with Emulator(participants=2, days=1, seed=5, faults="5xx=always") as emu:
        env = env_for(emu)
        result = mano(["--retries", "0", "sync", emu.study_id, "-o", str(tmp_path / "s")], env=env)
        assert result.exit_code == EXIT_SERVER, (result.stdout, result.stderr)
        emu.set_faults(None)
        again = mano(
            ["--retries", "0", "--json", "sync", emu.study_id, "-o", str(tmp_path / "s")], env=env
        )
        assert again.exit_code == 0, again.stderr
        assert json.loads(again.stdout)
