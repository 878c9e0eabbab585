"""`mano` loads only what a command uses: no HTTP stack for local work, no Rich without a TTY.

Each case runs the real command in a fresh interpreter (stdin, stdout and stderr are pipes,
as under cron) and lists the modules loaded by the time it exits that were not loaded
before mano was imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mano_cli.tree import LOCK_NAME, MANIFEST_NAME

#: Never needed by a command that works on local files only.
NETWORK = ("requests", "urllib3", "mano_api", "mano_sync", "mano_auth", "http.client")
#: Typer converts option values with Pydantic; mano's plain options never need it.
HEAVY = ("pydantic", "importlib.metadata", "email", "rich.markdown", "rich.progress")

_PROBE = """
import json, sys
# what the interpreter loaded before mano (coverage's .pth, in hatch test, imports sqlite3)
baseline = set(sys.modules)
sys.argv = ["mano", *json.loads(sys.argv[1])]
from mano_cli.main import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print("\\n" + json.dumps({"code": code, "modules": sorted(set(sys.modules) - baseline)}))
"""


def _loaded(args: list[str], **env: str) -> tuple[int, set[str]]:
    full_env = {**os.environ, "TERM": "dumb", **env}
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        full_env.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=full_env,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    last = proc.stdout.strip().splitlines()[-1]
    result = json.loads(last)
    return result["code"], set(result["modules"])


def _offending(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == b or m.startswith(b + ".") for b in banned))


@pytest.mark.parametrize(
    "args",
    [["--version"], ["decompress", "--help"], ["compress", "--help"]],
    ids=["version", "decompress-help", "compress-help"],
)
def test_version_and_help_load_no_network_code(args: list[str]) -> None:
    code, modules = _loaded(args)
    assert code == 0
    assert _offending(modules, NETWORK) == []
    assert "mano_files._tree" not in modules  # help needs no tree code either


def test_version_loads_no_command_and_no_metadata_machinery() -> None:
    code, modules = _loaded(["--version"])
    assert code == 0
    assert _offending(modules, HEAVY) == []
    assert _offending(modules, ("rich",)) == []
    commands = {"mano_cli.tree", "mano_cli.sync", "mano_cli.download", "mano_cli.keyring"}
    assert modules.isdisjoint(commands)


@pytest.mark.parametrize("command", ["decompress", "compress", "verify", "unlock"])
def test_tree_commands_on_an_empty_folder_load_only_local_code(
    tmp_path: Path, command: str
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, modules = _loaded(["-y", command, str(empty)], MANO_LOCK_PASSPHRASE="pass phrase")
    assert code == 0
    assert _offending(modules, NETWORK) == []
    assert _offending(modules, HEAVY) == []
    # no progress bar and no Rich console without a terminal
    assert _offending(modules, ("rich",)) == []
    # an empty folder starts no worker threads and opens no hash cache
    assert "sqlite3" not in modules or command == "verify"
    if command in ("decompress", "compress"):  # nothing to decrypt or hash: no OpenSSL
        assert _offending(modules, ("mano_files._crypto", "hashlib", "secrets")) == []


def test_lock_of_an_empty_folder_loads_no_network_code(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, modules = _loaded(["lock", "-s", "all", str(empty)], MANO_LOCK_PASSPHRASE="pass phrase")
    assert code == 0
    assert _offending(modules, NETWORK) == []
    assert _offending(modules, HEAVY) == []


def test_a_study_folder_still_gets_its_manifest_refreshed(tmp_path: Path) -> None:
    """The lazy look-up of the sync names must still find a study folder."""
    import mano_sync

    assert (MANIFEST_NAME, LOCK_NAME) == (mano_sync.MANIFEST_NAME, mano_sync.LOCK_NAME)
    study = tmp_path / "study"
    study.mkdir()
    with mano_sync.Manifest(study) as manifest:
        manifest.commit()
    code, modules = _loaded(["-y", "decompress", str(study)])
    assert code == 0
    assert "mano_sync" in modules  # the study folder is locked like `mano sync` locks it


def test_bad_option_values_keep_typers_messages() -> None:
    """Options converted without Pydantic still report bad values the way Typer does."""
    result = subprocess.run(
        [sys.executable, "-m", "mano_cli", "--mt", "many", "decompress", "."],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Invalid value for '--mt'" in result.stderr
    assert "integer" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "mano_cli", "--mt", "-1", "decompress", "."],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert result.returncode == 2
    assert "greater than or equal to 0" in result.stderr
