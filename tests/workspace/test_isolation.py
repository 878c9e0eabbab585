"""Installing one package alone brings only what its job needs (slow: fresh venvs)."""

from __future__ import annotations

import json
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _install_alone(tmp_path: Path, *dists: str) -> set[str]:
    """Install the given packages (and siblings they need) into a fresh venv; list what came."""
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    python = env / "bin" / "python"
    # Siblings are found on disk, never on an index: mano-* are not published yet.
    links = [str(ROOT / "packages" / d) for d in ("mano-auth", "mano-files", "mano-api")]
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *(str(ROOT / "packages" / d) for d in dists),
            *(arg for link in links for arg in ("--find-links", link)),
        ],
        check=True,
        timeout=600,
    )
    out = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {p["name"].lower() for p in json.loads(out.stdout)}


def test_mano_files_alone_brings_no_network_or_cli_packages(tmp_path: Path) -> None:
    names = _install_alone(tmp_path, "mano-files")
    assert "mano-files" in names
    assert "zstandard" in names
    assert "requests" not in names
    assert "typer" not in names


def test_mano_api_alone_brings_no_cli_or_zstd(tmp_path: Path) -> None:
    names = _install_alone(tmp_path, "mano-auth", "mano-api")
    assert {"mano-api", "mano-auth", "requests"} <= names
    assert "typer" not in names
    assert "zstandard" not in names
