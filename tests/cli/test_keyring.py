"""`mano keyring …`: a real encrypted keyring file, passphrases only from the environment."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Run, env_for

RunFn = Callable[..., Run]
PASS = {"NRG_KEYRING_PASS": "first passphrase"}


def _ok(result: Run) -> Run:
    assert result.exit_code == 0, result.stderr
    return result


def test_keyring_lifecycle(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    ring = tmp_path / "ring.enc"
    k = ["--keyring-file", str(ring)]
    _ok(cli([*k, "keyring", "init"], env=PASS))
    assert ring.is_file() and ring.stat().st_mode & 0o077 == 0
    assert b"ACCESS_KEY" not in ring.read_bytes()  # encrypted
    assert json.loads(_ok(cli([*k, "keyring", "list", "--json"], env=PASS)).stdout) == []

    # keys come from the environment, never from an argument
    _ok(cli([*k, "keyring", "add", "lab", "--from-env"], env={**PASS, **env_for(emu)}))
    listed = json.loads(_ok(cli([*k, "keyring", "list", "--json"], env=PASS)).stdout)
    assert [r["name"] for r in listed] == ["lab"]
    assert listed[0]["url"] == emu.url
    assert listed[0]["access_key"] == emu.access_key[:4] + "…"
    shown = _ok(cli([*k, "keyring", "list"], env=PASS))
    assert emu.secret_key not in shown.stdout + shown.stderr
    assert emu.access_key not in shown.stdout

    # the section works for API calls
    studies = json.loads(_ok(cli([*k, "--keyring", "lab", "studies", "--json"], env=PASS)).stdout)
    assert {s["id"] for s in studies} == set(emu.studies)
    # MANO_KEYRING picks the section too
    again = _ok(cli([*k, "studies", "--json"], env={**PASS, "MANO_KEYRING": "lab"}))
    assert json.loads(again.stdout) == studies

    # a study's data passphrase
    _ok(
        cli(
            [*k, "keyring", "secret", "lab", emu.study_name],
            env={**PASS, "MANO_LOCK_PASSPHRASE": "data"},
        )
    )
    listed = json.loads(_ok(cli([*k, "keyring", "list", "--json"], env=PASS)).stdout)
    assert listed[0]["secrets"] == [emu.study_name]
    from mano_auth import load_keyring

    assert (
        load_keyring("lab", ring, password="first passphrase").study_passphrase(emu.study_name)
        == "data"
    )

    # replacing needs -y without a TTY
    replace = cli(
        [*k, "keyring", "add", "lab", "--from-env", "--replace"], env={**PASS, **env_for(emu)}
    )
    assert replace.exit_code == 2 and "-y" in replace.stderr
    _ok(
        cli(
            [*k, "-y", "keyring", "add", "lab", "--from-env", "--replace"],
            env={**PASS, **env_for(emu)},
        )
    )

    # change the passphrase: the old one stops working
    _ok(cli([*k, "keyring", "passwd"], env={**PASS, "MANO_NEW_KEYRING_PASS": "second"}))
    old = cli([*k, "keyring", "list"], env=PASS)
    assert old.exit_code == 3
    _ok(cli([*k, "keyring", "list"], env={"NRG_KEYRING_PASS": "second"}))

    # removal asks; -y confirms
    _ok(cli([*k, "-y", "keyring", "remove", "lab"], env={"NRG_KEYRING_PASS": "second"}))
    assert (
        json.loads(
            _ok(cli([*k, "keyring", "list", "--json"], env={"NRG_KEYRING_PASS": "second"})).stdout
        )
        == []
    )


def test_keyring_check_all_sections_reports_each(emu: Any, mano: RunFn, tmp_path: Path) -> None:
    from mano_auth import write_keyring

    ring = tmp_path / "ring.enc"
    good = dict(emu.credentials)
    bad = {**good, "SECRET_KEY": "x" * 64}
    write_keyring({"good": good, "bad": bad}, ring, password="pw")
    result = mano(
        [
            "--retries",
            "0",
            "--keyring-file",
            str(ring),
            "keyring",
            "check",
            "--all-sections",
            "--json",
        ],
        env={"NRG_KEYRING_PASS": "pw"},
    )
    assert result.exit_code == 1, result.stderr
    entries = {e["section"]: e for e in json.loads(result.stdout)}
    assert entries["good"]["ok"] is True and entries["good"]["studies"] == len(emu.studies)
    assert entries["bad"]["ok"] is False and entries["bad"]["exit_code"] == 3
    assert result.stderr.strip().splitlines() == [
        "mano: error: 1 of 2 keyring sections failed the check"
    ]
    assert "x" * 64 not in result.stdout + result.stderr


def test_add_without_tty_and_without_keys_fails_fast(cli: RunFn, tmp_path: Path) -> None:
    result = cli(
        [
            "--keyring-file",
            str(tmp_path / "r.enc"),
            "keyring",
            "add",
            "lab",
            "--url",
            "https://x.org",
        ],
        env=PASS,
    )
    assert result.exit_code == 3
    assert "BEIWE_ACCESS_KEY" in result.stderr
    assert not (tmp_path / "r.enc").exists()
