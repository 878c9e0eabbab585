"""`mano demo` on a fresh folder, then `mano verify`, as real subprocesses (what a new user runs)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


def _mano(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "mano_cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_demo_in_an_empty_folder_then_verify(tmp_path: Path) -> None:
    started = time.monotonic()
    demo = _mano(["demo"], cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert demo.returncode == 0, demo.stderr
    assert elapsed < 60, f"mano demo took {elapsed:.1f} s"
    folder = tmp_path / "mano-demo"
    assert str(folder.resolve()) in demo.stdout
    assert "mano --keyring myserver sync" in demo.stdout
    # the tree Forest reads: participant folders, Forest's side-input JSON files and hidden
    # mano files at the top
    top = sorted(p.name for p in folder.iterdir())
    visible = [n for n in top if not n.startswith(".") and not n.endswith(".json")]
    assert visible and all(len(n) == 8 and (folder / n).is_dir() for n in visible)
    side = sorted(n for n in top if n.endswith(".json"))
    assert len(side) == 3 and all((folder / n).is_file() for n in side)
    assert side[-1] == "Mano_Emulated_Study_surveys_and_settings.json"
    assert ".mano-sync.sqlite" in top
    assert not list(folder.rglob("*.mano-tmp"))
    verify = _mano(["verify", "mano-demo"], cwd=tmp_path)
    assert verify.returncode == 0, verify.stderr
    assert " 0 differ, 0 missing, 0 unreadable" in verify.stdout
    # a second run is incremental and still verifies
    again = _mano(["-q", "demo"], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert _mano(["verify", "mano-demo"], cwd=tmp_path).returncode == 0
