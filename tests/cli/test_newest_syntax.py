"""The command lines of the newest mano's README, typed exactly as it documents them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mano_auth import write_keyring
from mano_cli._argv import ArgvError, normalise_argv
from tests.cli.conftest import Run

RunFn = Callable[..., Run]


def _ok(result: Run) -> Run:
    assert result.exit_code == 0, result.stderr
    return result


def _data(folder: Path) -> dict[str, bytes]:
    """The participants' data files (not the side-input JSON files sync keeps at the root)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.parent != folder
        and not any(x.startswith(".") for x in p.relative_to(folder).parts)
    }


@pytest.fixture
def tree(synced: Path, tmp_path: Path) -> Path:
    target = tmp_path / "study"
    shutil.copytree(synced, target)
    return target


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            ["compress", "D", "-8", "--mt4", "-y"],
            ["--mt", "4", "-y", "compress", "D", "--level", "8"],
        ),
        (
            ["-y", "decompress", "D", "--delete-zst", "--mt0"],
            ["-y", "--mt", "0", "decompress", "D", "--delete-zst"],
        ),
        (["decompress", "D", "--overwrite", "-y"], ["-y", "decompress", "D", "--overwrite"]),
        (["keyring", "list", "--keyring-file", "F"], ["--keyring-file", "F", "keyring", "list"]),
        (["compress", "D", "-0"], ["compress", "D", "--level", "3"]),  # zstd's default
        (["compress", "D", "-22", "--mt", "2"], ["--mt", "2", "compress", "D", "--level", "22"]),
        (
            ["--mt=3", "sync", "S", "-o", "x", "--keyring", "lab", "-vv"],
            ["--mt=3", "--keyring", "lab", "-vv", "sync", "S", "-o", "x"],
        ),
        (["sync", "S", "-o", "x", "--", "-y"], ["sync", "S", "-o", "x", "--", "-y"]),
        (["decompress", "-8"], ["decompress", "-8"]),  # a level means nothing there: Click says so
        (["--help"], ["--help"]),
    ],
)
def test_argv_is_rewritten_for_click(line: list[str], expected: list[str]) -> None:
    assert normalise_argv(line) == expected


def test_level_twice_is_refused() -> None:
    with pytest.raises(ArgvError, match="once"):
        normalise_argv(["compress", "D", "-3", "-0"])


def test_compress_8_mt4_yes_after_the_command(tree: Path, mano: RunFn) -> None:
    before = _data(tree)
    # --delete-original needs -y without a terminal: it only works if -y after the command counts
    _ok(mano(["compress", str(tree), "-8", "--mt4", "-y", "--delete-original"]))
    after = _data(tree)
    assert set(after) == {name + ".zst" for name in before}
    for name, plain in before.items():
        assert (
            zstandard.ZstdDecompressor().decompressobj().decompress(after[name + ".zst"]) == plain
        )
    # -8 was taken as the level, not ignored: the files are smaller than at the default (2)
    level2 = sum(len(zstandard.ZstdCompressor(level=2).compress(p)) for p in before.values())
    assert sum(len(b) for b in after.values()) < level2


def test_yes_first_then_decompress_delete_zst_mt0(tree: Path, mano: RunFn) -> None:
    before = _data(tree)
    _ok(mano(["-y", "compress", str(tree), "--delete-original"]))
    _ok(mano(["-y", "decompress", str(tree), "--delete-zst", "--mt0"]))
    assert _data(tree) == before


def test_decompress_overwrite_yes_at_the_end(tree: Path, mano: RunFn) -> None:
    before = _data(tree)
    _ok(mano(["compress", str(tree)]))
    victim = next(n for n in before if n.endswith(".csv"))
    (tree / victim).write_bytes(b"edited by hand\n")
    refused = mano(["decompress", str(tree), "--overwrite"])
    assert refused.exit_code == 2 and "pass -y" in refused.stderr
    assert (tree / victim).read_bytes() == b"edited by hand\n"
    _ok(mano(["decompress", str(tree), "--overwrite", "-y"]))
    assert (tree / victim).read_bytes() == before[victim]


def test_keyring_list_with_keyring_file_after_the_command(
    emu: Any, cli: RunFn, tmp_path: Path
) -> None:
    ring = tmp_path / "ring.enc"
    write_keyring({"lab": emu.credentials}, ring, password="pw")
    listed = _ok(
        cli(
            ["keyring", "list", "--keyring-file", str(ring), "--json"],
            env={"NRG_KEYRING_PASS": "pw"},
        )
    )
    assert [r["name"] for r in json.loads(listed.stdout)] == ["lab"]
    # and --keyring after the command, for a command that uses the section
    studies = _ok(
        cli(
            ["studies", "--json", "--keyring", "lab", "--keyring-file", str(ring)],
            env={"NRG_KEYRING_PASS": "pw"},
        )
    )
    assert emu.study_id in studies.stdout


def test_help_still_reads_cleanly(mano: RunFn) -> None:
    result = _ok(mano(["--help"]))
    assert "Usage: python -m mano_cli" in result.stdout or "Usage:" in result.stdout
    assert "--mt" in result.stdout and "--yes" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    sub = _ok(mano(["compress", "--help"]))
    assert "--level" in sub.stdout and "Traceback" not in sub.stderr


def test_a_placeholder_keyring_lists_and_fails_cleanly_when_used(
    cli: RunFn, tmp_path: Path
) -> None:
    """The keyring mano 0.6.0's README shows: listed with its problem, refused in one line."""
    ring = tmp_path / "ring.enc"
    section = {
        "URL": "https://studies.beiwe.org",
        "USERNAME": "...",
        "PASSWORD": "...",
        "ACCESS_KEY": "ACCESS_KEY_123",
        "SECRET_KEY": "SECRET_KEY_456",
    }
    from mano_auth._cryptfile import encrypt

    ring.write_bytes(encrypt(json.dumps({"beiwe.onnela": section}).encode(), "pw"))
    env = {"NRG_KEYRING_PASS": "pw"}
    listed = _ok(cli(["keyring", "list", "--keyring-file", str(ring)], env=env))
    assert "beiwe.onnela" in listed.stdout and "https://studies.beiwe.org" in listed.stdout
    assert "ACCESS_KEY contains the character(s) '_'" in listed.stderr
    assert "SECRET_KEY_456" not in listed.stdout + listed.stderr
    used = cli(["studies", "--keyring", "beiwe.onnela", "--keyring-file", str(ring)], env=env)
    assert used.exit_code == 3
    assert used.stderr.strip().splitlines() == [
        "mano: error: keyring section 'beiwe.onnela': ACCESS_KEY contains the character(s) '_' "
        "the Beiwe server rejects; keys use only A-Z, a-z, 0-9, '/' and '+' ('=', '-', '_' and "
        "spaces are not allowed); copy the key again from the Beiwe website"
    ]
