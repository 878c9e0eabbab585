"""The README's CLI tour reproduces word for word: same emulator options, same outputs.

The tour's set-up block is followed as written (the emulator command line, the keys it
exports, the tour keyring); then every ``$ command`` of every console block runs in order
through bash, without a terminal, and its output (stdout and stderr together) and exit code
must be the ones shown. Only the emulator's port, the folder and the demo's elapsed seconds
may differ.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOUR_DIR = "/tmp/tour"  # the folder the README's outputs were captured in

pytestmark = pytest.mark.slow


def _section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("\n## CLI tour\n", 1)[1].split("\n## ", 1)[0]


def _setup_lines() -> list[str]:
    match = re.search(r"```bash\n(.*?)```", _section(), re.S)
    assert match, "the CLI tour starts with a bash block that sets it up"
    return [line for line in match.group(1).splitlines() if line.strip()]


def _steps() -> list[tuple[str, list[str], int]]:
    """(command, expected output lines, expected exit code) of every console block, in order."""
    steps: list[tuple[str, list[str], int]] = []
    for block in re.findall(r"```console\n(.*?)```", _section(), re.S):
        for chunk in re.split(r"^\$ ", block, flags=re.M)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            code = 0
            while shown and not shown[-1].strip():
                shown.pop()
            if shown and shown[-1].startswith("# exit code "):
                code = int(shown.pop().removeprefix("# exit code "))
            steps.append((command, shown, code))
    return steps


def _normalise(lines: list[str], url: str, folder: Path) -> list[str]:
    out = []
    for line in lines:
        line = line.replace(url, "URL").replace(str(folder), "DIR").replace(TOUR_DIR, "DIR")
        line = re.sub(r"http://127\.0\.0\.1:\d+", "URL", line)
        line = re.sub(r", \d+\.\d s$", ", N s", line)  # the demo's elapsed time
        out.append(line.rstrip())
    return out


def test_cli_tour_reproduces(tmp_path: Path) -> None:
    setup = _setup_lines()
    assert len(setup) == 3, setup
    serve = shlex.split(setup[0], comments=True)
    assert serve[:3] == ["python", "-m", "mano_testing"] and serve[-1] == "&", serve
    exports = dict(
        item.split("=", 1)
        for line in setup[1:]
        for item in shlex.split(line, comments=True)
        if item != "export"
    )
    folder = tmp_path / "tour"
    folder.mkdir()
    # the README's command line, on a free port (several runs may share the machine)
    args = serve[3:-1]
    args[args.index("--port") + 1] = "0"
    emulator = subprocess.Popen(
        [sys.executable, "-m", "mano_testing", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        line = emulator.stdout.readline()
        info = json.loads(line)
        # the keys the README exports are the ones this emulator serves
        assert exports["BEIWE_ACCESS_KEY"] == info["access_key"]
        assert exports["BEIWE_SECRET_KEY"] == info["secret_key"]
        url = info["url"]
        env = {
            **os.environ,
            **exports,
            "BEIWE_URL": url,
            "MANO_KEYRING_FILE": exports["MANO_KEYRING_FILE"].replace(TOUR_DIR, str(folder)),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        steps = _steps()
        assert len(steps) >= 15
        for command, shown, code in steps:
            done = subprocess.run(
                ["bash", "-c", command],
                cwd=folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=300,
            )
            got = done.stdout.rstrip("\n").split("\n") if done.stdout.strip() else []
            assert (_normalise(got, url, folder), done.returncode) == (
                _normalise(shown, url, folder),
                code,
            ), f"$ {command}"
    finally:
        emulator.terminate()
        emulator.wait(timeout=60)
