"""Prompts happen on a terminal (a real pty) and never without one."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest


def _echo_off(fd: int) -> bool:
    return not termios.tcgetattr(fd)[3] & termios.ECHO


_LAUNCHER = (
    "import fcntl, os, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # stdin (the pty) becomes the controlling terminal\n"
    "os.execv(sys.executable, [sys.executable, '-m', 'mano_cli', *sys.argv[1:]])\n"
)


def _run_in_pty(
    args: list[str],
    answers: list[tuple[bytes, bytes, bool]],
    timeout: float = 60,
    no_color: bool = True,
) -> tuple[int, str]:
    """Run `python -m mano_cli ARGS` on a pty and answer its prompts.

    Each answer is ``(text to wait for, reply, hidden)``; a hidden reply is sent only once the
    child has turned echo off (getpass flushes anything typed earlier).
    """
    # A fresh process, not pty.fork(): forking this (multi-threaded: emulators) process could
    # deadlock, and Python 3.12+ warns about it. subprocess spawns without running Python code in
    # the child; the small launcher makes the pty its controlling terminal, then becomes mano.
    fd, child_end = os.openpty()
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80", "TERM": "xterm-256color"}
    if not no_color:
        env.pop("NO_COLOR")
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, *args],
        stdin=child_end,
        stdout=child_end,
        stderr=child_end,
        env=env,
        start_new_session=True,  # a session leader without a terminal, so it can take the pty
    )
    os.close(child_end)
    output = b""
    seen = 0
    pending = list(answers)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
            if pending and pending[0][0] in output[seen:]:
                wait_for, reply, hidden = pending[0]
                if hidden and not _echo_off(fd):
                    continue
                os.write(fd, reply)
                seen = output.index(wait_for, seen) + len(wait_for)
                pending.pop(0)
        else:
            process.kill()
    finally:
        code = process.wait(timeout=60)
        os.close(fd)
    return code, output.decode("utf-8", "replace")


@pytest.fixture
def tree(synced: Path, tmp_path: Path) -> Path:
    target = tmp_path / "study"
    shutil.copytree(synced, target)
    return target


def test_confirmation_prompt_on_a_terminal(tree: Path) -> None:
    code, out = _run_in_pty(
        ["compress", str(tree), "--delete-original"], [(b"[y/N]", b"n\n", False)]
    )
    assert code == 2, out
    assert "cancelled" in out
    assert not list(tree.rglob("*.zst"))
    code, out = _run_in_pty(
        ["compress", str(tree), "--delete-original"], [(b"[y/N]", b"y\n", False)]
    )
    assert code == 0, out
    assert list(tree.rglob("*.zst")) and not list(tree.rglob("*.csv"))


def test_lock_passphrase_prompt_asks_twice_on_a_terminal(tree: Path) -> None:
    code, out = _run_in_pty(
        ["lock", str(tree), "-s", "gps"],
        [(b"Data passphrase", b"secret words\n", True), (b"Repeat", b"secret words\n", True)],
    )
    assert code == 0, out
    assert "secret words" not in out  # hidden input
    assert list(tree.rglob("*.zst.lock"))
    code, out = _run_in_pty(["unlock", str(tree)], [(b"Data passphrase", b"secret words\n", True)])
    assert code == 0, out
    assert not list(tree.rglob("*.zst.lock"))


_COLOUR = re.compile(r"\x1b\[[0-9;]*(?:3[0-7]|9[0-7]|38;5;[0-9]+)m")


def test_no_color_is_honoured_on_a_terminal() -> None:
    code, coloured = _run_in_pty(["--help"], [], no_color=False)
    assert code == 0
    assert _COLOUR.search(coloured), "help is coloured on a terminal"
    code, plain = _run_in_pty(["--help"], [])
    assert code == 0
    assert not _COLOUR.search(plain), "NO_COLOR=1 means no colour codes"
    assert "Exit codes:" in plain


def test_keyring_remove_asks_the_keyring_passphrase_once(tmp_path: Path) -> None:
    """A read followed by a write of an encrypted keyring prompts once, not twice."""
    from mano_auth import Credentials, write_keyring

    path = tmp_path / "keyring.enc"
    creds = Credentials(url="https://beiwe.example.org", access_key="A" * 8, secret_key="B" * 8)
    write_keyring({"one": creds, "two": creds}, path, password="pass phrase")
    code, out = _run_in_pty(
        ["-y", "--keyring-file", str(path), "keyring", "remove", "one"],
        [(b"Passphrase for", b"pass phrase\n", True)],
    )
    assert code == 0, out
    assert out.lower().count("passphrase for") == 1, out
    from mano_auth import read_keyring

    assert read_keyring(path, password="pass phrase").names == ["two"]
