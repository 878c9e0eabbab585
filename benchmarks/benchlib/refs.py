"""Reference tools: Debian's zstd / openssl / curl / sha1sum, and mano 0.6.0 in its own venv.

mano 0.6.0 lives in ``benchmarks/.venv-mano06`` (``pip install mano==0.6.0``; never in the
workspace environment: its top-level package ``mano`` must not meet ours). It calls
``locale.setlocale(LC_ALL, 'en_US.UTF-8')`` at import, so it needs that locale: the system one
when installed (``locale -a``), otherwise one compiled without root into
``benchmarks/.locale`` with ``localedef`` and found through ``LOCPATH``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from benchlib.measure import NotMeasured

BENCH = Path(__file__).resolve().parents[1]
VENV = BENCH / ".venv-mano06"
LOCALE_DIR = BENCH / ".locale"
MANO06 = "mano==0.6.0"


def require(tool: str) -> str:
    """Path of a command-line tool, or :class:`NotMeasured` saying how to install it."""
    path = shutil.which(tool)
    if path is None:
        package = {"sha1sum": "coreutils", "xargs": "findutils"}.get(tool, tool)
        raise NotMeasured(f"`{tool}` not installed (apt-get install -y {package})")
    return path


@dataclass(frozen=True)
class Mano06:
    """A working mano 0.6.0 install: its interpreter and the environment it needs."""

    python: Path
    env: dict[str, str]
    version: str


def _system_has_locale() -> bool:
    try:
        out = subprocess.run(["locale", "-a"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    names = {line.strip().lower() for line in out.stdout.splitlines()}
    return bool(names & {"en_us.utf8", "en_us.utf-8"})


def _locale_env() -> dict[str, str]:
    """Environment giving mano 0.6.0 an en_US.UTF-8 locale; compiles one if needed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env["LANG"] = "en_US.UTF-8"
    if _system_has_locale():
        return env
    target = LOCALE_DIR / "en_US.UTF-8"
    if not (target / "LC_CTYPE").exists():
        if shutil.which("localedef") is None:
            raise NotMeasured("no en_US.UTF-8 locale and no `localedef` (apt-get install locales)")
        LOCALE_DIR.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            ["localedef", "-i", "en_US", "-f", "UTF-8", str(target)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        # localedef exits 1 on mere warnings; the compiled locale is what counts
        if not (target / "LC_CTYPE").exists():
            raise NotMeasured(f"localedef en_US.UTF-8 failed: {out.stderr.strip()[:200]}")
    env["LOCPATH"] = str(LOCALE_DIR)
    return env


def _version(python: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m, mano; print(m.version('mano'))"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    if out.returncode != 0:
        tail = (out.stderr.strip().splitlines() or ["?"])[-1]
        raise NotMeasured(f"mano 0.6.0 venv does not import: {tail[:200]}")
    return out.stdout.strip()


def mano06(*, install: bool) -> Mano06:
    """The mano 0.6.0 reference, installing it first when ``install`` and it is missing.

    Raises:
        NotMeasured: When it is not installed (and ``install`` is false) or cannot be set up.
    """
    python = VENV / "bin" / "python"
    if not python.exists():
        if not install:
            raise NotMeasured("mano 0.6.0 venv missing (run benchmarks/setup.sh)")
        setup_venv()
    env = _locale_env()
    return Mano06(python=python, env=env, version=_version(python, env))


def setup_venv() -> None:
    """Create ``.venv-mano06`` and ``pip install mano==0.6.0`` into it (needs the index)."""
    python = VENV / "bin" / "python"
    try:
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", MANO06],
            check=True,
            timeout=900,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        raise NotMeasured(f"could not install {MANO06} into {VENV.name}: {exc}") from exc
