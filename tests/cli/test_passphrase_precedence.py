"""Lock passphrases: keyring SECRETS, then MANO_LOCK_PASSPHRASE, then a prompt; a warning when
the first two disagree."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Run

RunFn = Callable[..., Run]


def _ring(emu: Any, path: Path, secret: str) -> Path:
    from mano_auth import write_keyring

    write_keyring(
        {"lab": {**emu.credentials, "SECRETS": {emu.study_name: secret}}}, path, password="pw"
    )
    return path


def test_disagreeing_sources_warn_and_the_keyring_wins(
    emu: Any, synced: Path, cli: RunFn, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(synced, tree)
    ring = _ring(emu, tmp_path / "ring.enc", "zebra-4711")
    env = {"NRG_KEYRING_PASS": "pw", "MANO_LOCK_PASSPHRASE": "okapi-0815"}
    base = ["--keyring-file", str(ring), "--keyring", "lab"]
    result = cli([*base, "lock", str(tree), "-s", "gps"], env=env)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "differ" in line]
    assert len(warnings) == 1
    assert "MANO_LOCK_PASSPHRASE and the keyring's SECRETS entry" in warnings[0]
    assert "using the keyring's" in warnings[0]
    assert "zebra-4711" not in result.stderr and "okapi-0815" not in result.stderr
    # the files were locked with the keyring's passphrase: the variable alone cannot open them
    wrong = cli(["unlock", str(tree)], env={"MANO_LOCK_PASSPHRASE": "okapi-0815"})
    assert wrong.exit_code == 3
    right = cli(["unlock", str(tree)], env={"MANO_LOCK_PASSPHRASE": "zebra-4711"})
    assert right.exit_code == 0, right.stderr


def test_agreeing_sources_are_silent(emu: Any, synced: Path, cli: RunFn, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(synced, tree)
    ring = _ring(emu, tmp_path / "ring.enc", "same")
    env = {"NRG_KEYRING_PASS": "pw", "MANO_LOCK_PASSPHRASE": "same"}
    result = cli(
        ["--keyring-file", str(ring), "--keyring", "lab", "lock", str(tree), "-s", "gps"], env=env
    )
    assert result.exit_code == 0 and "differ" not in result.stderr
