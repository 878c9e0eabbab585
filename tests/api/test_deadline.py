"""A server trickling bytes forever: each download attempt is cut off at its deadline, retried,
and finally reported, so a nightly run always ends."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mano_api import BeiweClient, ClientConfigurationError, Timeout
from mano_testing import Emulator


@pytest.fixture(scope="module")
def trickling() -> Emulator:
    with Emulator(participants=1, days=1, seed=3, faults="trickle=0.05") as emu:
        yield emu


def test_a_trickling_download_is_cut_at_the_deadline_and_retried(trickling: Emulator) -> None:
    started = time.monotonic()
    with BeiweClient(
        trickling.credentials, download_deadline=1.0, retries=1, backoff=0.05
    ) as client:
        with pytest.raises(Timeout, match=r"did not finish sending .* within 1 s") as info:
            client.download(trickling.study_id, streams=["gps"])
        assert client.requests_sent >= 2  # retried once
    elapsed = time.monotonic() - started
    assert elapsed < 20, elapsed
    assert "gave up after 2 attempts" in str(info.value)


def test_the_deadline_is_validated() -> None:
    creds = {"URL": "http://127.0.0.1:1", "ACCESS_KEY": "a" * 20, "SECRET_KEY": "b" * 40}
    for bad in (0, -1, float("inf")):
        with pytest.raises(ClientConfigurationError):
            BeiweClient(creds, download_deadline=bad)


def test_a_sync_against_a_trickling_server_ends_and_reports(
    trickling: Emulator, tmp_path: Path
) -> None:
    env = dict(
        os.environ,
        BEIWE_URL=trickling.url,
        BEIWE_ACCESS_KEY=trickling.access_key,
        BEIWE_SECRET_KEY=trickling.secret_key,
    )
    out = tmp_path / "study"
    cmd = [sys.executable, "-m", "mano_cli", "--deadline", "1", "--retries", "1"]
    proc = subprocess.run(
        [*cmd, "sync", trickling.study_id, "-o", str(out), "-s", "gps"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "within 1 s" in proc.stderr or "within 1 s" in proc.stdout, proc.stderr
