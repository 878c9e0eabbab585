"""Property test of every deleting tree tool: random trees, a real SIGKILL at a random moment,
then a rerun must reach exactly the tree an uninterrupted run gives.

Trees mix plain, ``.zst`` and ``.zst.lock`` files, both forms of one file with equal and with
different content, a plaintext beside its locked copy, and symbolic links to data outside the
tree. After kill + rerun: no byte of any original content is lost, no unencrypted form is left
beside a locked copy that the run made, no temp file remains, the rerun fails nothing and
reports the same conflicts as the uninterrupted run, and a further run has nothing left to do.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard

from mano_files import (
    LockKey,
    TreeSummary,
    compress_tree,
    decompress_tree,
    derive_key,
    hash_tree,
    lock_tree,
    read_data_file,
    unlock_tree,
    write_data_file,
)
from mano_files._datafile import reading_key
from tests.files.conftest import csv_bytes

pytestmark = pytest.mark.slow

PASS = "kill -9 passphrase"
KILLS = 20
TOOLS = ("compress", "decompress", "lock", "unlock")

_READ_KEY = reading_key(PASS)  # one key object: each salt is derived once


@functools.cache
def _lock_key() -> LockKey:
    return derive_key(PASS)


_CHILD = """
import sys, time
from mano_files import compress_tree, decompress_tree, lock_tree, unlock_tree
tool, root, passphrase = sys.argv[1], sys.argv[2], sys.argv[3]
print("ready", flush=True)
start = time.monotonic()
if tool == "compress":
    compress_tree(root, delete_original=True, workers=2)
elif tool == "decompress":
    decompress_tree(root, delete_zst=True, workers=2)
elif tool == "lock":
    lock_tree(root, passphrase, workers=2)
else:
    unlock_tree(root, passphrase, workers=2)
print(time.monotonic() - start, flush=True)
"""


def _run(tool: str, root: Path) -> TreeSummary:
    if tool == "compress":
        return compress_tree(root, delete_original=True, workers=2)
    if tool == "decompress":
        return decompress_tree(root, delete_zst=True, workers=2)
    if tool == "lock":
        return lock_tree(root, _lock_key(), workers=2)
    return unlock_tree(root, _READ_KEY, workers=2)


def _content(rng: random.Random, i: int) -> bytes:
    rows = rng.choice([20, 200, 2000, 30_000])  # 1 KB ... 1.5 MB
    return csv_bytes("gps", rows, seed=i)


def _build(root: Path, outside: Path, seed: int) -> None:
    """A random participant tree; every kind of group at least once."""
    rng = random.Random(seed)
    key = _lock_key()
    kinds = ["plain", "zst", "lock", "pair", "pair-differs", "plain+lock", "lock-differs"] * 2
    kinds += [rng.choice(["plain", "zst", "lock", "pair"]) for _ in range(10)]
    rng.shuffle(kinds)
    folder = root / "ab12cd34" / "gps"
    folder.mkdir(parents=True)
    for i, kind in enumerate(kinds):
        plain = folder / f"2020-10-{1 + i // 24:02d} {i % 24:02d}_00_00+00_00.csv"
        data = _content(rng, seed * 100 + i)
        if kind in ("plain", "pair", "pair-differs", "plain+lock", "lock-differs"):
            plain.write_bytes(data)
        if kind == "lock-differs":
            write_data_file(
                data[:-10], plain, source_form="plain", form="lock", key=key,
                remove_other_forms=False,
            )  # fmt: skip
        if kind in ("zst", "pair"):
            write_data_file(data, plain, source_form="plain", form="zst", remove_other_forms=False)
        if kind == "pair-differs":
            other = data + b"\n1,2,3,4,edited"
            write_data_file(other, plain, source_form="plain", form="zst", remove_other_forms=False)
        if kind in ("lock", "plain+lock"):
            write_data_file(
                data, plain, source_form="plain", form="lock", key=key, remove_other_forms=False
            )
    outside.mkdir(parents=True)
    target = outside / "2020-09-30 00_00_00+00_00.csv"
    target.write_bytes(b"timestamp,a\n1,2")
    os.symlink(target, folder / "2020-09-30 00_00_00+00_00.csv")
    (outside / "zz9yy8xx" / "gps").mkdir(parents=True)
    (outside / "zz9yy8xx" / "gps" / "2020-09-30 01_00_00+00_00.csv").write_bytes(b"a,b\n1,2")
    os.symlink(outside / "zz9yy8xx", root / "zz9yy8xx")


def _plain(path: Path) -> bytes:
    with read_data_file(path, key=_READ_KEY) as fh:
        return fh.read()


def _state(root: Path) -> dict[str, Any]:
    """Every entry under root: links by target, data files by plain content; no hidden files."""
    state: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if name.startswith(".mano-") and not name.endswith(".mano-tmp"):
                continue  # mano's own state (sync manifest, hash cache, passphrase check)
            if name.startswith("."):
                state[rel] = "hidden"
            elif path.is_symlink():
                state[rel] = ("link", os.readlink(path))
            elif path.is_file():
                state[rel] = _plain(path)
    return {k: v for k, v in state.items() if v != "hidden" or not k.endswith(".sqlite")}


def _groups(state: dict[str, Any]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for rel, value in state.items():
        if isinstance(value, bytes) and rel.endswith((".csv", ".zst", ".lock")):
            base = rel.split(".csv")[0] + ".csv"
            groups.setdefault(base, set()).add(rel[len(base) :] or "plain")
    return groups


def _check_invariants(tool: str, initial: dict[str, Any], final: dict[str, Any]) -> None:
    assert not [k for k, v in final.items() if v == "hidden"], "temp files left behind"
    before, after = _groups(initial), _groups(final)
    for base, forms in before.items():
        kept = {final[base + ("" if f == "plain" else f)] for f in after.get(base, set())}
        for form in forms:
            content = initial[base + ("" if form == "plain" else form)]
            assert content in kept, f"{tool}: content of {base}{form} lost"
        if (
            tool == "lock"
            and len({initial[base + ("" if f == "plain" else f)] for f in forms}) == 1
        ):
            assert after[base] == {".zst.lock"}, f"lock left {after[base]} for {base}"


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("templates")
    out = {}
    for n, tool in enumerate(TOOLS):
        root = base / tool / "study"
        _build(root, base / tool / "outside", seed=n + 1)
        out[tool] = root
    return out


def _copy(template: Path, dest: Path) -> Path:
    shutil.copytree(template.parent, dest, symlinks=True)
    study = dest / "study"
    # links must point into this copy's own "outside" folder
    for dirpath, dirnames, filenames in os.walk(study):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink():
                target = Path(os.readlink(path))
                new = dest / target.relative_to(template.parent)
                path.unlink()
                os.symlink(new, path)
    return study


def _relinked(state: dict[str, Any], old: Path, new: Path) -> dict[str, Any]:
    return {
        k: (("link", v[1].replace(str(old), str(new))) if isinstance(v, tuple) else v)
        for k, v in state.items()
    }


@pytest.mark.parametrize("tool", TOOLS)
def test_killed_runs_converge_to_the_uninterrupted_result(
    tool: str, templates: dict[str, Path], tmp_path: Path
) -> None:
    template = templates[tool]
    reference_root = _copy(template, tmp_path / "reference")
    initial = _state(reference_root)
    reference = _run(tool, reference_root)
    assert not reference.failed, reference.failed
    expected = _state(reference_root)
    _check_invariants(tool, initial, expected)
    assert len(reference.links) == 2  # both links reported, neither followed
    conflicts = sorted(str(c.path.relative_to(reference_root)) for c in reference.conflicts)
    assert conflicts  # the template has differing pairs
    assert _run(tool, reference_root).done == 0  # converged
    reference_check = hash_tree(reference_root, passphrase=_READ_KEY, cache=False)
    assert not reference_check.failed
    expected_differing = sorted(
        str(c.path.relative_to(reference_root)) for c in reference_check.conflicts
    )
    assert set(conflicts) <= set(expected_differing)

    rng = random.Random(f"kills-{tool}")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    durations: list[float] = []
    killed = 0
    trial = 0
    # until KILLS runs were killed mid-way (at most 3 * KILLS trials: a run that finished
    # before its kill still has its rerun checked, but does not count as a kill)
    while killed < KILLS and trial < 3 * KILLS:
        trial += 1
        dest = tmp_path / f"trial{trial}"
        root = _copy(template, dest)
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, tool, str(root), PASS],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        span = max(durations) if durations else 0.3
        time.sleep(rng.uniform(0, 0.8 * span))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        out = child.communicate()[0]
        if child.returncode == 0 and out.strip():
            durations.append(float(out.strip()))
        summary = _run(tool, root)  # the rerun
        assert not summary.failed, (trial, summary.failed)
        got = sorted(str(c.path.relative_to(root)) for c in summary.conflicts)
        assert got == conflicts, trial
        final = _state(root)
        assert final == _relinked(expected, tmp_path / "reference", dest), f"trial {trial}"
        _check_invariants(tool, _relinked(initial, tmp_path / "reference", dest), final)
        assert _run(tool, root).done == 0
        check = hash_tree(root, passphrase=_READ_KEY, cache=False)  # what `mano verify` reads
        assert not check.failed, (trial, check.failed)
        differing = sorted(str(c.path.relative_to(root)) for c in check.conflicts)
        assert differing == expected_differing, trial
        shutil.rmtree(dest)
    assert killed >= KILLS, f"only {killed} of {trial} runs were killed mid-way"


def test_the_state_helper_sees_temp_files(tmp_path: Path) -> None:
    """The convergence check would notice a leftover temp file or a changed byte."""
    root = tmp_path / "study"
    (root / "ab12cd34" / "gps").mkdir(parents=True)
    path = root / "ab12cd34" / "gps" / "2020-10-01 00_00_00+00_00.csv.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(b"a,b\n1,2"))
    clean = _state(root)
    (path.parent / ".x.csv.0011.mano-tmp").write_bytes(b"x")
    with pytest.raises(AssertionError, match="temp files"):
        _check_invariants("compress", clean, _state(root))
