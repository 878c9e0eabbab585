"""Cron-style runs: no TTY, --log-file, -q, Ctrl-C (exit 130), nothing on stderr when all is well."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.cli.conftest import Run, env_for

RunFn = Callable[..., Run]


def test_quiet_sync_with_log_file(emu: Any, mano: RunFn, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "mano.log"
    result = mano(
        [
            "-q",
            "--log-file",
            str(log),
            "sync",
            emu.study_id,
            "-o",
            str(tmp_path / "s"),
            "-s",
            "gps",
        ],
        env=env_for(emu),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""  # cron mails nothing when all is well
    text = log.read_text()
    assert "/get-data/v2" in text
    assert emu.secret_key not in text


def test_ctrl_c_exits_130_with_one_line(emu: Any, tmp_path: Path) -> None:
    emu.set_faults("get-data:slow=3")
    try:
        env = {**os.environ, **env_for(emu), "NO_COLOR": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mano_cli", "sync", emu.study_id, "-o", str(tmp_path / "s")],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (tmp_path / "s" / ".mano-sync.sqlite").exists():
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        emu.set_faults(None)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["mano: error: interrupted; partial work was kept, rerun to finish"], err
    assert "Traceback" not in err
