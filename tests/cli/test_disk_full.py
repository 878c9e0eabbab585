"""A full disk: one line naming the folder, exit code 8, nothing half-written, a consistent
manifest, and a rerun after freeing space that completes. Real small tmpfs mounts (root only)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mano_cli._errors import EXIT_DISK_FULL
from tests.cli.conftest import Run, env_for

RunFn = Callable[..., Run]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/proc/filesystems"),
    reason="needs root to mount a small tmpfs",
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """A tmpfs mounted at tmp_path/disk; call it with a size ("600k") to (re)size it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = False

    def size(value: str) -> Path:
        nonlocal mounted
        opts = f"remount,size={value}" if mounted else f"size={value}"
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(mount)], check=True)
        mounted = True
        return mount

    try:
        yield size
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(mount)], check=False)


def _temps(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".mano-tmp")]


def test_sync_on_a_full_disk_stops_with_one_line_and_resumes(
    emu: Any, mano: RunFn, small_disk: Callable[[str], Path]
) -> None:
    disk = small_disk("1200k")
    out = disk / "study"
    first = mano(["sync", emu.study_id, "-o", str(out)], env=env_for(emu))
    assert first.exit_code == EXIT_DISK_FULL, first.stderr
    lines = [x for x in first.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "disk full" in lines[0] and str(out) in lines[0]
    assert not _temps(disk)
    small_disk("50m")
    again = mano(["sync", emu.study_id, "-o", str(out)], env=env_for(emu))
    assert again.exit_code == 0, again.stderr
    assert not _temps(disk)
    verify = mano(["verify", str(out)])
    assert verify.exit_code == 0 and " 0 differ, 0 missing, 0 unreadable" in verify.stdout
    expected = {f.zip_name.removesuffix(".zst") for f in emu.files()}
    got = {str(p.relative_to(out)) for p in out.rglob("*.csv")}
    assert got >= {n for n in expected if n.endswith(".csv")}


def test_decompress_on_a_full_disk_stops_at_once_and_keeps_every_zst(
    synced: Path, mano: RunFn, small_disk: Callable[[str], Path]
) -> None:
    disk = small_disk("50m")
    tree = disk / "study"
    subprocess.run(["cp", "-a", str(synced), str(tree)], check=True)
    assert mano(["-y", "compress", str(tree), "--delete-original"]).exit_code == 0
    st = os.statvfs(disk)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize  # tmpfs counts whole pages per file
    small_disk(f"{used // 1024 + 200}k")  # room for some plain files, not all
    full = mano(["-y", "decompress", str(tree), "--delete-zst"])
    assert full.exit_code == EXIT_DISK_FULL, full.stderr
    lines = [x for x in full.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "disk full in" in lines[0] and str(tree) in lines[0]
    assert not _temps(tree)
    small_disk("50m")
    again = mano(["-y", "decompress", str(tree), "--delete-zst"])
    assert again.exit_code == 0, again.stderr
    assert not list(tree.rglob("*.zst"))
    assert mano(["verify", str(tree)]).exit_code == 0
