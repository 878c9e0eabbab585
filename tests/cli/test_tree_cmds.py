"""`mano compress|decompress|lock|unlock|verify` on a real synced tree."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from tests.cli.conftest import Run

RunFn = Callable[..., Run]
LOCK = {"MANO_LOCK_PASSPHRASE": "data passphrase"}


def _ok(result: Run) -> Run:
    assert result.exit_code == 0, result.stderr
    return result


def _files(folder: Path) -> dict[str, bytes]:
    """Data files (participant folders; the root holds the study's settings JSON for Forest)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and len(p.relative_to(folder).parts) > 1
        and not any(x.startswith(".") for x in p.relative_to(folder).parts)
    }


@pytest.fixture
def tree(synced: Path, tmp_path: Path) -> Path:
    target = tmp_path / "study"
    shutil.copytree(synced, target)
    return target


def test_compress_level_shorthand_then_decompress_round_trip(tree: Path, mano: RunFn) -> None:
    before = _files(tree)
    result = _ok(mano(["-y", "compress", str(tree), "-19", "--delete-original", "--json"]))
    summary = json.loads(result.stdout)
    assert summary["done"] == len(before) and summary["ok"]
    after = _files(tree)
    assert set(after) == {name + ".zst" for name in before}
    name = next(iter(before))
    frame = after[name + ".zst"]
    assert zstandard.ZstdDecompressor().decompressobj().decompress(frame) == before[name]
    _ok(mano(["verify", str(tree)]))  # the sync manifest follows the new form
    _ok(mano(["-y", "decompress", str(tree), "--delete-zst"]))
    assert _files(tree) == before
    report = json.loads(_ok(mano(["verify", str(tree), "--json"])).stdout)
    assert report["ok"] and report["matched"] == len(before)


def test_compress_keeps_originals_by_default(tree: Path, cli: RunFn) -> None:
    before = _files(tree)
    text = _ok(cli(["compress", str(tree), "--level", "3"])).stdout
    assert text.startswith(f"compress: {len(before)} done, 0 skipped, 0 failed")
    after = _files(tree)
    assert set(after) == set(before) | {n + ".zst" for n in before}


def test_lock_and_unlock_streams(tree: Path, cli: RunFn) -> None:
    before = _files(tree)
    _ok(cli(["lock", str(tree), "-s", "gps", "-s", "accelerometer"], env=LOCK))
    locked = _files(tree)
    for name in before:
        stream = name.split("/")[1]
        if stream in ("gps", "accelerometer"):
            assert name + ".zst.lock" in locked and name not in locked
            assert before[name] not in locked[name + ".zst.lock"]
        else:
            assert locked[name] == before[name]
    _ok(cli(["verify", str(tree)], env=LOCK))
    _ok(cli(["unlock", str(tree)], env=LOCK))
    assert _files(tree) == before


def test_lock_passphrase_from_keyring_secrets(
    tree: Path, emu: object, cli: RunFn, tmp_path: Path
) -> None:
    from mano_auth import write_keyring

    ring = tmp_path / "ring.enc"
    section = {**emu.credentials, "SECRETS": {emu.study_id: "from keyring"}}  # type: ignore[attr-defined]
    write_keyring({"lab": section}, ring, password="pw")
    k = ["--keyring-file", str(ring), "--keyring", "lab"]
    env = {"NRG_KEYRING_PASS": "pw"}
    _ok(cli([*k, "lock", str(tree), "-s", "gps"], env=env))
    wrong = cli(["unlock", str(tree)], env={"MANO_LOCK_PASSPHRASE": "not it"})
    assert wrong.exit_code == 3
    assert any(n.endswith(".zst.lock") for n in _files(tree))  # nothing changed
    _ok(cli([*k, "unlock", str(tree)], env=env))
    assert not any(n.endswith(".lock") for n in _files(tree))


def test_verify_reports_missing_and_tampered_files(tree: Path, cli: RunFn) -> None:
    names = sorted(_files(tree))
    (tree / names[0]).unlink()
    victim = tree / names[1]
    victim.write_bytes(victim.read_bytes() + b"\nx")
    result = cli(["verify", str(tree), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["missing"] == [names[0]]
    assert report["mismatched"] == [names[1]]
    assert result.stderr.count("\n") == 1


def test_verify_without_manifest_checks_readability(tmp_path: Path, cli: RunFn) -> None:
    gps = tmp_path / "t" / "abcdefgh" / "gps"
    gps.mkdir(parents=True)
    (gps / "2024-01-01 00_00_00+00_00.csv").write_text("timestamp,UTC time\n1,2")
    (gps / "2024-01-01 01_00_00+00_00.csv.zst").write_bytes(
        zstandard.ZstdCompressor().compress(b"a,b\n1,2")
    )
    result = _ok(cli(["verify", str(tmp_path / "t"), "--json"]))
    report = json.loads(result.stdout)
    assert report["checked"] == 2 and report["manifest"] is None and report["ok"]


def test_sync_after_compress_fetches_nothing_again(tree: Path, emu: object, cli: RunFn) -> None:
    from tests.cli.conftest import env_for

    count = len(_files(tree))
    _ok(cli(["-y", "compress", str(tree), "--delete-original"]))
    result = _ok(cli(["sync", emu.study_id, "-o", str(tree), "--json"], env=env_for(emu)))  # type: ignore[attr-defined]
    summary = json.loads(result.stdout)["summary"]
    assert summary["new"] == 0 and summary["updated"] == 0 and summary["unchanged"] == count
    assert all(name.endswith(".zst") for name in _files(tree))


def test_shell_completion_script(mano: RunFn) -> None:
    # typer detects the parent shell; its own tests switch detection off to name one
    result = mano(
        ["--show-completion", "bash"], env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    )
    assert result.exit_code == 0
    assert "_MANO_COMPLETE=complete_bash" in result.stdout
    assert "complete -o default -F _mano_completion mano" in result.stdout


def test_lock_passphrase_from_secrets_keyed_by_study_name(
    tree: Path, emu: object, cli: RunFn, tmp_path: Path
) -> None:
    """mano 0.6.0 keyrings key SECRETS by study name; the folder's manifest knows only the id."""
    from mano_auth import write_keyring

    ring = tmp_path / "ring.enc"
    section = {**emu.credentials, "SECRETS": {emu.study_name: "by name"}}  # type: ignore[attr-defined]
    write_keyring({"lab": section}, ring, password="pw")
    k = ["--keyring-file", str(ring), "--keyring", "lab"]
    env = {"NRG_KEYRING_PASS": "pw"}
    _ok(cli([*k, "lock", str(tree), "-s", "wifi"], env=env))
    assert any(n.endswith(".zst.lock") for n in _files(tree))
    assert cli(["unlock", str(tree)], env={"MANO_LOCK_PASSPHRASE": "nope"}).exit_code == 3
    _ok(cli(["unlock", str(tree)], env={"MANO_LOCK_PASSPHRASE": "by name"}))
    assert not any(n.endswith(".lock") for n in _files(tree))
