"""What the numbers were measured on: CPU, cores, RAM, OS, tool and package versions."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

PACKAGES = (
    "mano-auth",
    "mano-api",
    "mano-files",
    "mano-sync",
    "mano-cli",
    "mano-testing",
    "zstandard",
    "cryptease",
    "cryptography",
    "requests",
)


def _first_line(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else None


def tool_versions() -> dict[str, str | None]:
    """Versions of the reference command-line tools (``None`` when missing)."""
    zstd = _first_line(["zstd", "--version"])
    if zstd and " v" in zstd:
        zstd = zstd.split(" v", 1)[1].split(",", 1)[0]
    openssl = _first_line(["openssl", "version"])
    if openssl and openssl.startswith("OpenSSL "):
        openssl = openssl.split()[1]
    curl = _first_line(["curl", "--version"])
    if curl and curl.startswith("curl "):
        curl = curl.split()[1]
    sha1sum = _first_line(["sha1sum", "--version"])
    if sha1sum:
        sha1sum = sha1sum.rsplit(" ", 1)[-1]
    return {"zstd": zstd, "openssl": openssl, "curl": curl, "sha1sum": sha1sum}


def package_versions() -> dict[str, str | None]:
    """Versions of mano's packages and the libraries doing the work, in this interpreter."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git_commit(root: Path) -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "packages"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    # "+dirty": uncommitted changes under packages/ (other work in progress) when the run started
    return head + ("+dirty" if dirty else "")


def machine_info(root: Path, mano06_version: str | None) -> dict[str, Any]:
    """Everything a reader needs to judge the numbers."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    versions: dict[str, str | None] = {**tool_versions(), **package_versions()}
    versions["mano (0.6.0 reference venv)"] = mano06_version
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu_model": _cpu_model(),
        "cpus_logical": os.cpu_count(),
        "cpus_usable": usable,
        "ram_gb": _ram_gb(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "git_commit": _git_commit(root),
        "versions": versions,
        "cache_state": (
            "warm: every input is read once before timing and both sides of a row read the "
            "same files from the page cache (OS caches are never dropped: CI runs unprivileged)"
        ),
    }
