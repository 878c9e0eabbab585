"""`python -m mano_testing serve` as a subprocess."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.parse
import urllib.request


def test_serve_prints_one_json_line_then_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "mano_testing", "serve", "--participants", "2", "--days", "1",
         "--seed", "3", "--port", "0", "--profile", "fixed", "--faults", "get-studies:5xx=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert list(info) == [
            "url",
            "access_key",
            "secret_key",
            "study_id",
            "study_name",
            "participants",
        ]
        assert info["url"].startswith("http://127.0.0.1:") and len(info["study_id"]) == 24
        assert len(info["participants"]) == 2 and info["participants"] == sorted(
            info["participants"]
        )
        form = urllib.parse.urlencode(
            {"access_key": info["access_key"], "secret_key": info["secret_key"]}
        ).encode()
        try:
            urllib.request.urlopen(info["url"] + "/get-studies/v1", form, timeout=30)
            raise AssertionError("the 5xx fault did not fire")
        except urllib.error.HTTPError as exc:
            assert exc.code == 500
        with urllib.request.urlopen(info["url"] + "/get-studies/v1", form, timeout=30) as resp:
            assert json.loads(resp.read())[info["study_id"]] == info["study_name"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert proc.stdout.read() == ""  # exactly one line on stdout


def test_serve_rejects_bad_faults_with_one_line() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mano_testing", "serve", "--faults", "boom=1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0 and "unknown fault kind 'boom'" in out.stderr
