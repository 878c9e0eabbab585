"""Exit codes and messages of the tree commands when data is at stake: conflicting forms,
symbolic links left alone, files changing under the reader, verify's reading."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mano_cli._errors import EXIT_CODES, EXIT_CONFLICTS, EXIT_DISK_FULL, EXIT_PARTIAL
from tests.cli.conftest import Run, env_for
from tests.files.conftest import csv_bytes, relpath_for, sha1_b64

RunFn = Callable[..., Run]
LOCK = {"MANO_LOCK_PASSPHRASE": "data passphrase"}


def _tree(root: Path, plain: bytes, compressed: bytes | None = None) -> Path:
    path = root / relpath_for("gps")
    path.parent.mkdir(parents=True)
    path.write_bytes(plain)
    if compressed is not None:
        Path(str(path) + ".zst").write_bytes(zstandard.ZstdCompressor().compress(compressed))
    return path


def test_the_new_exit_codes_are_documented() -> None:
    assert EXIT_CONFLICTS == 7 and EXIT_DISK_FULL == 8
    assert "conflict" in EXIT_CODES[7] and "disk full" in EXIT_CODES[8]
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for code in EXIT_CODES:
        assert f"| {code} |" in readme


def test_conflicting_forms_exit_with_the_conflicts_code_and_list_both(
    tmp_path: Path, cli: RunFn
) -> None:
    a, b = csv_bytes("gps", 100), csv_bytes("gps", 100, seed=3)
    path = _tree(tmp_path / "study", a, b)
    quiet = cli(["-y", "compress", str(tmp_path / "study"), "--delete-original"])
    assert quiet.exit_code == EXIT_CONFLICTS, quiet.stderr
    [error] = quiet.stderr.splitlines()  # one line, naming the first conflict in full
    assert sha1_b64(a) in error and sha1_b64(b) in error
    result = cli(["-v", "-y", "compress", str(tmp_path / "study"), "--delete-original"])
    assert result.exit_code == EXIT_CONFLICTS, result.stderr
    assert "1 conflict(s)" in result.stdout
    line = next(x for x in result.stderr.splitlines() if x.startswith("conflict:"))
    assert sha1_b64(a) in line and sha1_b64(b) in line and f"plain {len(a)} bytes" in line
    assert str(path) in line
    assert path.read_bytes() == a and Path(str(path) + ".zst").exists()
    result = cli(["--json", "lock", "-s", "all", str(tmp_path / "study")], env=LOCK)
    assert result.exit_code == EXIT_CONFLICTS
    data = json.loads(result.stdout)
    [conflict] = data["conflicts"]
    assert {c["sha1"] for c in conflict["copies"]} == {sha1_b64(a), sha1_b64(b)}
    assert not list(path.parent.glob("*.lock"))


def test_lock_exits_non_zero_when_a_link_kept_data_unencrypted(tmp_path: Path, cli: RunFn) -> None:
    outside = tmp_path / "elsewhere"
    _tree(outside, csv_bytes("gps", 50))
    study = tmp_path / "study"
    _tree(study, csv_bytes("gps", 50, seed=1))
    os.symlink(outside / relpath_for("gps").split("/")[0], study / "linked01")
    result = cli(["lock", "-s", "all", str(study)], env=LOCK)
    assert result.exit_code == EXIT_PARTIAL, result.stdout
    assert "1 symbolic link(s) not followed" in result.stdout
    assert "linked01" in result.stderr and "not locked" in result.stderr
    assert (outside / relpath_for("gps")).exists()  # never written through the link
    compress = cli(["compress", str(study)])
    assert compress.exit_code == 0 and "1 symbolic link(s) not followed" in compress.stdout


def test_a_failure_names_the_path_once(tmp_path: Path, cli: RunFn) -> None:
    path = _tree(tmp_path / "study", b"")
    path.unlink()
    zst = Path(str(path) + ".zst")
    zst.write_bytes(b"not zstd at all")
    result = cli(["decompress", str(tmp_path / "study")])
    assert result.exit_code == EXIT_PARTIAL
    assert result.stderr.count(str(zst)) == 1, result.stderr


def test_verify_reads_by_default_and_fast_says_it_trusted_the_cache(
    tmp_path: Path, cli: RunFn
) -> None:
    data = csv_bytes("gps", 300)
    path = _tree(tmp_path / "study", data)
    old = 1_600_000_000_000_000_000
    os.utime(path, ns=(old, old))
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps({relpath_for("gps"): sha1_b64(data)}))
    args = ["verify", str(tmp_path / "study"), "--manifest", str(manifest)]
    assert cli(args).exit_code == 0
    changed = bytearray(data)
    changed[10] ^= 1
    path.write_bytes(bytes(changed))
    os.utime(path, ns=(old, old))
    result = cli(args)
    assert result.exit_code == EXIT_PARTIAL and "1 differ" in result.stdout
    fast = cli([*args, "--fast"])
    assert "--fast" in fast.stdout and "not read" in fast.stdout


def test_lock_refuses_a_second_passphrase_unless_forced(tmp_path: Path, cli: RunFn) -> None:
    study = tmp_path / "study"
    path = _tree(study, csv_bytes("gps", 50))
    assert cli(["lock", "-s", "all", str(study)], env=LOCK).exit_code == 0
    assert (study / ".mano-lock-check").exists()
    second = path.with_name("2020-10-05 05_00_00+00_00.csv")
    second.write_bytes(csv_bytes("gps", 50, seed=2))
    other = {"MANO_LOCK_PASSPHRASE": "another passphrase"}
    refused = cli(["lock", "-s", "all", str(study)], env=other)
    assert refused.exit_code == 3
    [line] = [x for x in refused.stderr.splitlines() if x.strip()]
    assert "different passphrase" in line and "--force" in line
    assert second.exists() and not Path(str(second) + ".zst.lock").exists()
    assert cli(["lock", "-s", "all", str(study)], env=LOCK).exit_code == 0
    assert not second.exists()


def test_lock_probes_a_tree_locked_before_the_check_existed(tmp_path: Path, cli: RunFn) -> None:
    study = tmp_path / "study"
    path = _tree(study, csv_bytes("gps", 50))
    assert cli(["lock", "-s", "all", str(study)], env=LOCK).exit_code == 0
    (study / ".mano-lock-check").unlink()  # as a tree locked by an older mano
    path.with_name("2020-10-05 05_00_00+00_00.csv").write_bytes(csv_bytes("gps", 50, seed=2))
    other = {"MANO_LOCK_PASSPHRASE": "another passphrase"}
    assert cli(["lock", "-s", "all", str(study)], env=other).exit_code == 3
    forced = cli(["lock", "-s", "all", "--force", str(study)], env=other)
    assert forced.exit_code == 0, forced.stderr


def test_sync_lock_refuses_a_second_passphrase(emu: Any, cli: RunFn, tmp_path: Path) -> None:
    out = tmp_path / "locked"
    env = {**env_for(emu), "MANO_LOCK_PASSPHRASE": "data passphrase"}
    args = ["sync", emu.study_id, "-o", str(out), "--lock", "gps", "-s", "gps"]
    assert cli(args, env=env).exit_code == 0
    other = {**env, "MANO_LOCK_PASSPHRASE": "another passphrase"}
    refused = cli(args, env=other)
    assert refused.exit_code == 3 and "different passphrase" in refused.stderr
    assert cli([*args, "--force"], env=other).exit_code == 0


@pytest.mark.parametrize("value", ["inf", "1e10", "nan", "-inf"])
def test_an_absurd_timeout_is_a_usage_error(cli: RunFn, value: str) -> None:
    result = cli(["--timeout", value, "studies"])
    assert result.exit_code == 2, result.stderr
    assert "--timeout" in result.stderr


def test_an_end_in_the_far_future_means_now(emu: Any, mano: RunFn, tmp_path: Path) -> None:
    """One request per future hour until 9999 never ended; the end is clamped to now."""
    out = tmp_path / "study"
    args = ["sync", emu.study_id, "-o", str(out), "-s", "gps", "--end", "9999-12-31"]
    result = mano(args, env=env_for(emu), timeout=90)
    assert result.exit_code == 0, result.stderr
    files = sorted(p.name for p in out.rglob("*.csv"))
    expected = sorted(f.zip_name.rsplit("/", 1)[1] for f in emu.files() if f.stream == "gps")
    assert files == expected
