"""`mano sync --shard K/N`: shards started together on one folder give the tree of one plain
sync, and a later plain sync (or `mano verify`) sees one consistent tree."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mano_sync import SHARDS_DIR, Shard, sync_study
from mano_testing import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(participants=7, days=2, seed=23) as server:
        yield server


@pytest.fixture(scope="module")
def reference(emu: Emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("ref") / "study"
    summary = sync_study(emu.credentials, emu.study_id, out)
    assert summary.ok and summary.new > 0
    return _tree(out)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(x.startswith(".") for x in p.relative_to(folder).parts)
    }


def _env(emu: Emulator) -> dict[str, str]:
    return {
        **os.environ,
        "BEIWE_URL": emu.url,
        "BEIWE_ACCESS_KEY": emu.access_key,
        "BEIWE_SECRET_KEY": emu.secret_key,
    }


def _shard(emu: Emulator, out: Path, k: int, n: int = 3) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mano_cli",
            "sync",
            emu.study_id,
            "-o",
            str(out),
            "--shard",
            f"{k}/{n}",
            "--json",
        ],
        env=_env(emu),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str]) -> dict[str, object]:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    result: dict[str, object] = json.loads(out)
    return result


def _plain_resync(emu: Emulator, out: Path) -> None:
    again = sync_study(emu.credentials, emu.study_id, out)
    assert again.ok
    assert (again.new, again.updated) == (0, 0)  # the shards' files are all known
    assert not list((out / SHARDS_DIR).glob("*.sqlite"))  # folded into the study manifest
    proc = subprocess.run(
        [sys.executable, "-m", "mano_cli", "verify", str(out), "--json"],
        env=_env(emu),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    data_files = [name for name in _tree(out) if "/" in name]  # not the side-input JSON at the root
    assert report["ok"] and report["missing"] == [] and report["matched"] == len(data_files)


def test_three_shards_at_once_give_the_tree_of_one_plain_sync(
    emu: Emulator, reference: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "one-folder"
    procs = [_shard(emu, out, k) for k in (1, 2, 3)]  # started together, one folder
    results = [_finish(p) for p in procs]
    assert [r["shard"] for r in results] == ["1/3", "2/3", "3/3"]
    per_shard = [set(r["summary"]["participants"]) for r in results]  # type: ignore[index]
    assert sorted(p for people in per_shard for p in people) == sorted(emu.participants)
    for k, people in enumerate(per_shard, start=1):
        assert all(Shard(k, 3).owns(p) for p in people)
    assert _tree(out) == reference  # same files, same bytes
    assert sorted(p.name for p in (out / SHARDS_DIR).glob("*.sqlite")) == [
        "1-of-3.sqlite",
        "2-of-3.sqlite",
        "3-of-3.sqlite",
    ]
    # shards again: each its own manifest, nothing new
    again = [_finish(p) for p in [_shard(emu, out, k) for k in (1, 2, 3)]]
    assert all(r["summary"]["new"] == 0 for r in again)  # type: ignore[index]
    _plain_resync(emu, out)
    assert _tree(out) == reference


def test_a_killed_shard_reruns_to_the_same_tree(
    emu: Emulator, reference: dict[str, bytes], tmp_path: Path
) -> None:
    out = tmp_path / "one-folder"
    victim_shard = max((1, 2, 3), key=lambda k: len(Shard(k, 3).select(emu.participants)))
    emu.set_faults("get-data:slow=0.4")  # keep every shard busy long enough to be killed
    try:
        procs = {k: _shard(emu, out, k) for k in (1, 2, 3)}
        victim = procs[victim_shard]
        deadline = time.monotonic() + 60
        pids = Shard(victim_shard, 3).select(emu.participants)
        while time.monotonic() < deadline and not any(
            any((out / p).rglob("*.csv")) for p in pids if (out / p).is_dir()
        ):
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=60)
        assert victim.returncode == -signal.SIGKILL
        for k, proc in procs.items():
            if k != victim_shard:
                _finish(proc)
    finally:
        emu.set_faults(None)
    assert _tree(out) != reference  # the killed shard left work undone
    rerun = _finish(_shard(emu, out, victim_shard))
    assert rerun["exit_code"] == 0
    assert _tree(out) == reference
    # a shard leaves study-level temp files (another shard's may be in use) to plain runs
    assert all(p.parent == out for p in out.rglob("*.mano-tmp"))
    _plain_resync(emu, out)
    assert not list(out.rglob("*.mano-tmp"))
    assert _tree(out) == reference


def test_a_plain_sync_waits_for_no_shard(emu: Emulator, tmp_path: Path) -> None:
    """While a shard runs, a plain sync of the folder is refused (exit 6), and vice versa."""
    from mano_sync import FolderLock, ShardLock, SyncLocked

    out = tmp_path / "busy"
    with ShardLock(out, Shard(1, 2)):
        with ShardLock(out, Shard(2, 2)):  # shards do not exclude each other
            pass
        with pytest.raises(SyncLocked):
            ShardLock(out, Shard(1, 2)).acquire()  # the same shard twice does
        with pytest.raises(SyncLocked):
            FolderLock(out).acquire()
    with FolderLock(out), pytest.raises(SyncLocked):
        ShardLock(out, Shard(1, 2)).acquire()
