"""Which modules a fresh interpreter has loaded, step by step (for tests of lazy imports)."""

from __future__ import annotations

import json
import subprocess
import sys


def modules_after(steps: list[str], watch: tuple[str, ...]) -> list[set[str]]:
    """Run each step (Python source) in turn in a fresh interpreter.

    Returns the watched modules loaded at start-up, then after each step. Compare with the
    first set: a test runner may load some modules itself at start-up (coverage's .pth
    imports sqlite3, for one).
    """
    code = f"import json, sys\nwatch = {watch!r}\nseen = []\n"
    record = "seen.append([m for m in watch if m in sys.modules])\n"
    code += record + "".join(f"{step}\n{record}" for step in steps)
    code += "print(json.dumps(seen))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    return [set(names) for names in json.loads(out.stdout)]
