"""Every package under packages/ is releasable: license, metadata, changelog (new ones too)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIRS = sorted(p.parent for p in ROOT.glob("packages/*/pyproject.toml"))
PYTHONS = ("3.11", "3.12", "3.13")


def _project(pkg: Path) -> dict[str, object]:
    data = tomllib.loads((pkg / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    assert isinstance(project, dict)
    return project


def test_root_license_is_bsd_3_clause() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License\n")
    assert "Neither the name of the copyright holder" in text


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_package_carries_the_license(pkg: Path) -> None:
    assert (pkg / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    project = _project(pkg)
    assert project["license"] == "BSD-3-Clause"
    assert project["license-files"] == ["LICENSE"]


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_package_metadata_is_complete(pkg: Path) -> None:
    project = _project(pkg)
    assert project["name"] == pkg.name
    assert project["readme"] == "README.md" and (pkg / "README.md").is_file()
    assert project["requires-python"] == ">=3.11"
    assert project["dynamic"] == ["version"]
    assert project["authors"]
    assert project["description"]
    urls = project["urls"]
    assert isinstance(urls, dict)
    assert {"Homepage", "Source", "Issues", "Changelog"} <= set(urls)
    classifiers = project["classifiers"]
    assert isinstance(classifiers, list)
    for version in PYTHONS:
        assert f"Programming Language :: Python :: {version}" in classifiers
    # PEP 639: the license expression replaces license classifiers (mixing them is an error)
    assert not [c for c in classifiers if c.startswith("License ::")]


@pytest.mark.parametrize("pkg", PACKAGE_DIRS, ids=lambda p: p.name)
def test_changelog_has_the_current_version(pkg: Path) -> None:
    about = next(pkg.glob("src/*/__about__.py")).read_text(encoding="utf-8")
    found = re.search(r'__version__ = "([^"]+)"', about)
    assert found, about
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", changelog, flags=re.M)
    section = next((s for s in sections if s.splitlines()[0].strip() == pkg.name), None)
    assert section is not None, f"CHANGELOG.md has no '## {pkg.name}' section"
    assert f"### {found.group(1)} " in section, f"{pkg.name} {found.group(1)} not in CHANGELOG.md"


def test_emulator_is_only_an_extra_of_the_cli() -> None:
    """Data managers get no emulator and no pytest plugin of ours unless they ask for the demo."""
    project = _project(ROOT / "packages" / "mano-cli")
    deps = project["dependencies"]
    assert isinstance(deps, list)
    assert not [d for d in deps if d.startswith("mano-testing")]
    extras = project["optional-dependencies"]
    assert isinstance(extras, dict)
    assert extras["demo"] == ["mano-testing>=0.1,<1"]


def test_demo_without_the_emulator_says_how_to_get_it(tmp_path: Path) -> None:
    """`mano demo` where mano-testing is not installed: one line, exit 2, nothing created."""
    code = (
        "import sys\n"
        "sys.modules['mano_testing'] = None  # as if the demo extra were not installed\n"
        "from mano_cli.main import main\n"
        "sys.argv = ['mano', 'demo', 'here']\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
    )
    assert out.returncode == 2, out
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert "pip install 'mano-cli[demo]'" in lines[0]
    assert "./packages/mano-testing" in lines[0]
    assert list(tmp_path.iterdir()) == []
