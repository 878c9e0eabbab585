"""Each role installs alone with the README's own command and brings only what its job needs.

Slow: every test makes a fresh venv and runs the one `pip install` line the README documents for
its role, exactly as written, from the root of this checkout (the packages are not on PyPI, so
the siblings must come from the clone). The venv reaches only the package registries.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

#: pip's own download cache, as it is before the autouse fixture points HOME at a temp folder:
#: the venvs are fresh, but the wheels they fetch need not be downloaded again on every run.
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")

#: The README's comment on each role's line (the line is found by it, so the test runs what
#: the README says, word for word).
ROLES = {
    "analysis": "# analysis machines",
    "lab tools": "# lab tools",
    "data managers": "# data managers",
}


def readme_command(role: str) -> list[str]:
    """The README's `pip install ...` line for a role, as argv (comment dropped)."""
    tag = ROLES[role]
    lines = [
        line
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("pip install ") and tag in line
    ]
    assert len(lines) == 1, f"README.md must have exactly one 'pip install' line tagged {tag!r}"
    argv = shlex.split(lines[0], comments=True)
    assert argv[:2] == ["pip", "install"], lines[0]
    return argv


def _venv(tmp_path: Path) -> Path:
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    return env / "bin"


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(
        {
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_CACHE_DIR": PIP_CACHE,
            "NO_COLOR": "1",
            "COLUMNS": "80",
        }
    )
    return subprocess.run(argv, capture_output=True, text=True, env=env, **kw)  # type: ignore[call-overload, no-any-return]


def _install(tmp_path: Path, role: str) -> tuple[Path, set[str]]:
    """Run the README's command for ``role`` in a fresh venv; the distributions it holds."""
    bindir = _venv(tmp_path)
    argv = readme_command(role)
    done = _run([str(bindir / "python"), "-m", *argv, "--quiet"], cwd=ROOT, timeout=900)
    assert done.returncode == 0, f"{shlex.join(argv)} failed:\n{done.stdout}\n{done.stderr}"
    listed = _run(
        [str(bindir / "python"), "-m", "pip", "list", "--format=json"], check=True, timeout=120
    )
    return bindir, {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}


def _imports(bindir: Path, *modules: str) -> subprocess.CompletedProcess[str]:
    code = "".join(f"import {m}\n" for m in modules)
    return _run([str(bindir / "python"), "-c", code], timeout=120)


def test_analysis_machines_get_files_without_network_or_cli(tmp_path: Path) -> None:
    bindir, names = _install(tmp_path, "analysis")
    assert {"mano-files", "zstandard", "cryptease"} <= names
    assert not names & {"requests", "typer", "rich", "mano-api", "mano-cli", "mano-testing"}
    done = _imports(bindir, "mano_files")
    assert done.returncode == 0, done.stderr


def test_lab_tools_get_the_api_without_cli_or_zstd(tmp_path: Path) -> None:
    bindir, names = _install(tmp_path, "lab tools")
    assert {"mano-api", "mano-auth", "requests"} <= names
    assert not names & {"typer", "rich", "zstandard", "mano-cli", "mano-testing"}
    done = _imports(bindir, "mano_api", "mano_auth")
    assert done.returncode == 0, done.stderr


def test_data_managers_get_mano_without_the_emulator(tmp_path: Path) -> None:
    bindir, names = _install(tmp_path, "data managers")
    assert {"mano-cli", "mano-sync", "mano-api", "mano-auth", "mano-files", "typer"} <= names
    assert "mano-testing" not in names
    assert "pytest" not in names

    helped = _run([str(bindir / "mano"), "--help"], timeout=120)
    assert helped.returncode == 0, helped.stderr
    assert "sync" in helped.stdout and "Exit codes" in helped.stdout

    no_emulator = _imports(bindir, "mano_testing")
    assert no_emulator.returncode == 1
    assert "No module named 'mano_testing'" in no_emulator.stderr

    plugins = _run(
        [
            str(bindir / "python"),
            "-c",
            "from importlib.metadata import entry_points\n"
            "print(sorted(e.value for e in entry_points(group='pytest11')))\n",
        ],
        check=True,
        timeout=120,
    )
    assert plugins.stdout.strip() == "[]"  # no pytest plugin of ours (nor anyone's)

    work = tmp_path / "work"
    work.mkdir()
    demo = _run([str(bindir / "mano"), "demo"], cwd=work, timeout=120)
    assert demo.returncode == 2
    assert demo.stdout == ""
    assert demo.stderr.count("\n") == 1, demo.stderr
    assert "pip install 'mano-cli[demo]'" in demo.stderr
    assert list(work.iterdir()) == []  # nothing created
