"""Prompting: only on a terminal; without one, fail at once (real subprocesses, real pty)."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.auth.conftest import PASSPHRASE

_SCRIPT = """
import sys, time
from mano_auth import ManoAuthError, load_keyring
started = time.monotonic()
try:
    creds = load_keyring("beiwe", sys.argv[1])
except ManoAuthError as exc:
    print(f"{time.monotonic() - started:.3f}")
    print(exc, file=sys.stderr)
    sys.exit(3)
print("OK", creds.access_key[:6])
"""


def _env() -> dict[str, str]:
    # The autouse fixture already removed NRG_KEYRING_PASS and friends from os.environ.
    assert "NRG_KEYRING_PASS" not in os.environ
    return dict(os.environ)


@pytest.mark.parametrize("stdin", ["devnull", "open-pipe"])
def test_no_tty_no_passphrase_fails_fast_with_one_line(keyring_file: Path, stdin: str) -> None:
    """Under cron stdin is /dev/null or a pipe nobody writes to; neither may hang."""
    # A new session has no controlling terminal, so /dev/tty cannot be used either; with an
    # open, silent pipe as stdin, any attempt to prompt would block until the timeout.
    process = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(keyring_file)],
        stdin=subprocess.DEVNULL if stdin == "devnull" else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,
    )
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        if process.stdin:
            process.stdin.close()
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read().decode(), process.stderr.read().decode()
    process.stdout.close()
    process.stderr.close()
    assert process.returncode == 3, err
    assert float(out.strip()) < 1.0  # time spent inside load_keyring
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "NRG_KEYRING_PASS" in lines[0] and "stdin is not a terminal" in lines[0]
    assert lines[0].startswith(f"the keyring {keyring_file} needs a passphrase")


def test_env_passphrase_works_without_tty(keyring_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(keyring_file)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**_env(), "NRG_KEYRING_PASS": PASSPHRASE},
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "OK AcCeSs"
    assert done.stderr == ""  # no warning of any kind


def _run_on_pty(keyring_file: Path, answer: str) -> tuple[int, str, str]:
    master, slave = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(keyring_file)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
        start_new_session=True,  # no controlling tty: getpass prompts on stderr, reads stdin
    )
    os.close(slave)
    assert process.stderr is not None and process.stdout is not None
    seen = b""
    deadline = time.monotonic() + 30
    try:
        while b"Passphrase for" not in seen:
            assert time.monotonic() < deadline, f"no prompt; stderr so far: {seen!r}"
            ready, _, _ = select.select([process.stderr], [], [], 1.0)
            if ready:
                chunk = os.read(process.stderr.fileno(), 4096)
                assert chunk, f"stderr closed before the prompt: {seen!r}"
                seen += chunk
        os.write(master, answer.encode() + b"\n")
        process.wait(timeout=30)
        out = process.stdout.read().decode()
        seen += process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
        process.stdout.close()
        process.stderr.close()
    return process.returncode, out, seen.decode()


def test_prompts_on_a_terminal(keyring_file: Path) -> None:
    code, out, err = _run_on_pty(keyring_file, PASSPHRASE)
    assert code == 0, err
    assert out.strip() == "OK AcCeSs"
    assert f"Passphrase for {keyring_file}: " in err
    assert PASSPHRASE not in err and PASSPHRASE not in out  # not echoed


def test_wrong_passphrase_typed_on_a_terminal(keyring_file: Path) -> None:
    code, _out, err = _run_on_pty(keyring_file, "not it")
    assert code == 3
    assert err.strip().splitlines()[-1] == (
        f"wrong passphrase for the keyring {keyring_file} (it does not decrypt to JSON); check "
        "NRG_KEYRING_PASS or the passphrase given"
    )


def test_confirmation_prompt_mismatch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mano_auth import PassphraseError, write_keyring

    class Terminal:
        def isatty(self) -> bool:
            return True

    answers = iter(["one", "two"])
    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(PassphraseError, match=r"^the two passphrases differ; nothing was changed$"):
        write_keyring({}, tmp_path / "k.enc")
    assert not (tmp_path / "k.enc").exists()


def test_eof_at_prompt(monkeypatch: pytest.MonkeyPatch, keyring_file: Path) -> None:
    from mano_auth import PassphraseRequired, load_keyring

    class Terminal:
        def isatty(self) -> bool:
            return True

    def eof(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("sys.stdin", Terminal())
    monkeypatch.setattr("getpass.getpass", eof)
    with pytest.raises(
        PassphraseRequired, match=r"^no passphrase entered for the keyring .*; set NRG_KEYRING_PASS"
    ):
        load_keyring("beiwe", keyring_file)
