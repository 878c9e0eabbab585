"""`mano download` is a one-off: no sync state, identical files untouched, nothing overwritten
silently, never plaintext beside a locked copy."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mano_files import CHECK_NAME
from tests.cli.conftest import Run, env_for

RunFn = Callable[..., Run]


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` (hidden ones too): relative path -> (inode, mtime_ns)."""
    out: dict[str, tuple[int, int]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(folder).as_posix()] = (st.st_ino, st.st_mtime_ns)
    return out


def _download(mano: RunFn, emu: Any, *args: str) -> Run:
    return mano(["download", emu.study_id, *args, "--json"], env=env_for(emu))


def test_download_twice_leaves_no_state_and_rewrites_nothing(
    emu: Any, mano: RunFn, tmp_path: Path
) -> None:
    out = tmp_path / "once"
    first = _download(mano, emu, "-o", str(out))
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    n = len(emu.files())
    assert data["new"] == n and data["unchanged"] == 0 and data["failed"] == []
    before = _files(out)
    assert not [p for p in before if any(part.startswith(".") for part in p.split("/"))]
    assert len(before) == n
    second = _download(mano, emu, "-o", str(out))
    assert second.exit_code == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["unchanged"] == n and again["new"] == again["updated"] == 0
    assert _files(out) == before  # same inodes and times: nothing rewritten
    plain = mano(["download", emu.study_id, "-o", str(out)], env=env_for(emu))
    assert f"0 new, 0 updated, {n} unchanged" in plain.stdout


def test_download_does_not_overwrite_a_local_edit_without_overwrite(
    emu: Any, mano: RunFn, tmp_path: Path
) -> None:
    out = tmp_path / "edited"
    f = next(x for x in emu.files() if x.stream == "gps")
    assert _download(mano, emu, "-o", str(out), "-s", "gps").exit_code == 0
    edited = out / f.zip_name
    edited.write_bytes(b"my own notes\n")
    refused = _download(mano, emu, "-o", str(out), "-s", "gps")
    assert refused.exit_code == 1
    data = json.loads(refused.stdout)
    assert len(data["failed"]) == 1 and "--overwrite" in data["failed"][0]
    assert edited.read_bytes() == b"my own notes\n"
    replaced = _download(mano, emu, "-o", str(out), "-s", "gps", "--overwrite")
    assert replaced.exit_code == 0, replaced.stderr
    assert json.loads(replaced.stdout)["updated"] == 1
    assert edited.read_bytes() == f.data()


def test_download_never_puts_plaintext_beside_a_locked_copy(
    emu: Any, mano: RunFn, tmp_path: Path
) -> None:
    out = tmp_path / "locked"
    assert _download(mano, emu, "-o", str(out), "-s", "gps").exit_code == 0
    env = {**env_for(emu), "MANO_LOCK_PASSPHRASE": "correct-horse"}
    locked = mano(["-y", "lock", str(out), "-s", "gps"], env=env)
    assert locked.exit_code == 0, locked.stderr
    before = _files(out)
    data = [p for p in before if p != CHECK_NAME]  # lock's hidden passphrase check stays too
    assert data and all(p.endswith(".lock") for p in data)
    for flags in ([], ["--overwrite"]):
        again = _download(mano, emu, "-o", str(out), "-s", "gps", *flags)
        assert again.exit_code == 1
        failed = json.loads(again.stdout)["failed"]
        assert len(failed) == len(data) and all("locked" in x for x in failed)
        assert _files(out) == before  # no plaintext written anywhere


def test_download_zip_refuses_to_overwrite(emu: Any, mano: RunFn, tmp_path: Path) -> None:
    target = tmp_path / "raw.zip"
    target.write_bytes(b"precious")
    refused = mano(["download", emu.study_id, "--zip", str(target)], env=env_for(emu))
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr and "--overwrite" in refused.stderr
    assert target.read_bytes() == b"precious"
    done = mano(["download", emu.study_id, "--zip", str(target), "--overwrite"], env=env_for(emu))
    assert done.exit_code == 0, done.stderr
    assert target.read_bytes()[:2] == b"PK"
    assert sorted(os.listdir(tmp_path)) == ["raw.zip"]
