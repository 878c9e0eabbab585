"""Tests that keep the workspace's shape honest: public names, dependency arrows."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "mano-auth": "mano_auth",
    "mano-api": "mano_api",
    "mano-files": "mano_files",
    "mano-sync": "mano_sync",
    "mano-cli": "mano_cli",
    "mano-testing": "mano_testing",
    "mano": "mano",
}


def _public_names(module: object) -> set[str]:
    """Names a user can reach: everything bound in the package that is not private, and the
    names it loads on first access (``_LAZY``, PEP 562)."""
    names = set(getattr(module, "_LAZY", {}))
    for name, value in vars(module).items():
        if name.startswith("_") and name != "__version__":
            continue
        # Submodules bound as attributes by the import system are not part of the API, unless
        # the package exports them (mano 0.6.0's `mano.sync` is reached as an attribute).
        if type(value).__name__ == "module" and name not in getattr(module, "__all__", ()):
            continue
        if name in {"annotations", "logging"}:
            continue
        names.add(name)
    return names


@pytest.mark.parametrize("import_name", sorted(PACKAGES.values()))
def test_all_matches_public_names(import_name: str) -> None:
    module = importlib.import_module(import_name)
    exported = set(module.__all__)
    assert len(module.__all__) == len(exported), "duplicates in __all__"
    assert exported == _public_names(module)
    for name in exported:
        assert hasattr(module, name), name


@pytest.mark.parametrize("dist", sorted(PACKAGES))
def test_package_layout(dist: str) -> None:
    import_name = PACKAGES[dist]
    base = ROOT / "packages" / dist
    assert (base / "pyproject.toml").is_file()
    assert (base / "README.md").is_file()
    assert (base / "src" / import_name / "py.typed").is_file()
    about = (base / "src" / import_name / "__about__.py").read_text()
    assert "__version__" in about
    module = importlib.import_module(import_name)
    assert module.__version__.count(".") == 2


def _imported_modules(package_dir: Path) -> set[str]:
    found: set[str] = set()
    for path in package_dir.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


# What each package may import from this repository (the dependency arrows).
ALLOWED = {
    "mano_auth": set(),
    "mano_api": {"mano_auth"},
    "mano_files": set(),
    "mano_sync": {"mano_api", "mano_auth", "mano_files"},
    "mano_cli": {"mano_api", "mano_auth", "mano_files", "mano_sync", "mano_testing"},
    "mano_testing": set(),
    # the compatibility package: a thin layer over the libraries, never the CLI
    "mano": {"mano_api", "mano_auth", "mano_files", "mano_sync"},
}


@pytest.mark.parametrize("dist", sorted(PACKAGES))
def test_dependency_arrows_in_source(dist: str) -> None:
    import_name = PACKAGES[dist]
    imported = _imported_modules(ROOT / "packages" / dist / "src" / import_name)
    ours = {m for m in imported if m.startswith("mano_") and m != import_name}
    if import_name == "mano":
        assert "typer" not in imported
    assert ours <= ALLOWED[import_name], f"{import_name} imports {ours - ALLOWED[import_name]}"


def test_mano_testing_imports_no_other_mano_package() -> None:
    """Importing the emulator (and its plugin and CLI) loads no other mano package."""
    code = (
        "import sys, mano_testing, mano_testing.__main__ as _m\n"
        "import importlib.util\n"
        "if importlib.util.find_spec('mano_testing.pytest_plugin'):\n"
        "    import mano_testing.pytest_plugin\n"
        "bad = sorted(m for m in sys.modules if m.startswith('mano_') and not m.startswith('mano_testing'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
