"""Helpers for the `mano` CLI tests: in-process (CliRunner) and real subprocess runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mano_cli.main import app


@dataclass(frozen=True)
class Run:
    """The outcome of one `mano` invocation."""

    exit_code: int
    stdout: str
    stderr: str


def _cli(args: list[str], env: Mapping[str, str] | None = None, input: str | None = None) -> Run:
    runner = CliRunner()
    result = runner.invoke(app, args, env=dict(env or {}), input=input, catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def cli() -> Callable[..., Run]:
    """Run `mano ARGS` in-process (stdin is not a TTY)."""
    return _cli


def _subprocess(
    args: list[str],
    env: Mapping[str, str] | None = None,
    input: str | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> Run:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "mano_cli", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def mano() -> Callable[..., Run]:
    """Run `python -m mano_cli ARGS` as a real subprocess (stdin is a pipe, not a TTY)."""
    return _subprocess


@pytest.fixture
def beiwe_env() -> Iterator[Callable[[object], dict[str, str]]]:
    """Build BEIWE_* variables for an emulator."""

    def make(emu: object) -> dict[str, str]:
        return {
            "BEIWE_URL": emu.url,  # type: ignore[attr-defined]
            "BEIWE_ACCESS_KEY": emu.access_key,  # type: ignore[attr-defined]
            "BEIWE_SECRET_KEY": emu.secret_key,  # type: ignore[attr-defined]
        }

    yield make


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    """One emulator per test module (3 participants x 2 days, seed 1)."""
    from mano_testing import Emulator

    with Emulator(participants=3, days=2, seed=1) as server:
        yield server


def env_for(server: Any, key: str = "default") -> dict[str, str]:
    """BEIWE_* variables for one of the emulator's researchers."""
    access, secret = server.keys[key]
    return {"BEIWE_URL": server.url, "BEIWE_ACCESS_KEY": access, "BEIWE_SECRET_KEY": secret}


@pytest.fixture(scope="module")
def synced(emu: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study folder synced once from ``emu`` (treat as read-only; copy it to change it)."""
    from mano_sync import sync_study

    out = tmp_path_factory.mktemp("synced") / "study"
    summary = sync_study(emu.credentials, emu.study_id, out)
    assert summary.ok and summary.new > 0
    return out
