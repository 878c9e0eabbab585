"""The README's Python tour runs as written and prints what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tour() -> tuple[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python tour", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```\n\n```text\n(.*?)\n```", section, re.S)
    assert match, "the Python tour has a python block followed by its output"
    return match.group(1), match.group(2)


def _normalise(text: str) -> list[str]:
    return [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line) for line in text.splitlines()]


def test_python_tour_runs_and_prints_what_the_readme_shows(tmp_path: Path) -> None:
    code, shown = _tour()
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert _normalise(done.stdout) == _normalise(shown)
    assert sorted(p.name for p in (tmp_path / "my-study").iterdir() if p.is_dir())
