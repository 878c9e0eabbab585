"""`mano sync` in one process, the emulator in another: late uploads and `report --compare`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


class Server:
    """``python -m mano_testing serve`` driven through its stdin commands."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mano_testing", "serve", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())

    def command(self, name: str, **kwargs: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({name: kwargs}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        assert "ok" in answer, answer
        return answer["ok"]

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BEIWE_URL": self.info["url"],
            "BEIWE_ACCESS_KEY": self.info["access_key"],
            "BEIWE_SECRET_KEY": self.info["secret_key"],
        }

    def mano(self, *args: str) -> dict[str, Any]:
        proc = subprocess.run(
            [sys.executable, "-m", "mano_cli", *args, "--json"],
            capture_output=True, text=True, env=self.env, timeout=300, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=30)


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server("--participants", "2", "--days", "14", "--seed", "51", "--scale", "0.1")
    yield s
    s.stop()


def _missing(server: Server, out: Path) -> list[str]:
    report = server.mano("report", str(out), "--compare", server.info["study_id"])
    return list(report["compare"]["missing"])


def test_plain_mano_sync_fetches_late_uploads_10_and_100_days_old(
    server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "study"
    study = server.info["study_id"]
    first = server.mano("sync", study, "-o", str(out))["summary"]
    assert first["ok"] and first["new"] > 0
    assert _missing(server, out) == []
    late = server.command("late_upload", stream="survey_answers", age_days=10)
    late += server.command("late_upload", stream="survey_answers", age_days=100)
    late += server.command("late_upload", stream="audio_recordings", age_days=10)
    assert len(late) == 3
    assert sorted(set(late) & set(_missing(server, out))) == sorted(late)  # the report sees them
    second = server.mano("sync", study, "-o", str(out))["summary"]
    assert second["ok"] and second["new"] == 3 and second["updated"] == 0
    for name in late:
        assert (out / name).is_file()
    assert _missing(server, out) == []
    # a chunk rewritten 12 days back: the weekly full re-check brings it
    rewritten = server.command("late_data", count=1, age_days=12)
    weekly = server.mano("sync", study, "-o", str(out), "--recheck", "all")["summary"]
    assert weekly["ok"] and weekly["updated"] == len(rewritten) == 1 and weekly["new"] == 0
    assert _missing(server, out) == []
