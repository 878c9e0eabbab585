"""write_new_file: how the tree operations publish a converted file.

A new name appears only with its complete content, an existing file is never replaced, and
nothing is left behind when writing fails; with and without ``O_TMPFILE``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import zstandard

import mano_files
from mano_files import TargetExists, compress_tree, decompress_tree
from mano_files import _atomic as atomic
from mano_files._atomic import write_new_file


@pytest.fixture(params=["unnamed", "named"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Both ways to publish: an unnamed O_TMPFILE file, and a named temp file (fallback)."""
    if request.param == "named":
        monkeypatch.setitem(atomic._tmpfile, "usable", False)
    elif not atomic._tmpfile["usable"]:
        pytest.skip("no O_TMPFILE on this platform or file system")
    yield request.param


def test_creates_the_file_and_its_folder(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "p1" / "gps" / "2024-03-04 00_00_00+00_00.csv"
    write_new_file(target, b"timestamp,UTC time\n1,2")
    assert target.read_bytes() == b"timestamp,UTC time\n1,2"
    assert os.listdir(target.parent) == [target.name]  # no temp file left beside it
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_never_replaces_an_existing_file(tmp_path: Path, mode: str) -> None:
    target = tmp_path / "a.csv"
    target.write_bytes(b"keep me")
    with pytest.raises(TargetExists):
        write_new_file(target, b"new content")
    assert target.read_bytes() == b"keep me"
    assert os.listdir(tmp_path) == ["a.csv"]


def test_a_failed_write_leaves_nothing(tmp_path: Path, mode: str) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        if os.access(folder, os.W_OK):  # root ignores the mode
            pytest.skip("running with permission to write anywhere")
        with pytest.raises(mano_files.PermissionDenied):
            write_new_file(folder / "a.csv", b"x")
    finally:
        folder.chmod(0o700)
    assert os.listdir(folder) == []


def test_tree_round_trip_leaves_only_data_files(tmp_path: Path, mode: str) -> None:
    tree = tmp_path / "study" / "ab12cd34" / "gps"
    tree.mkdir(parents=True)
    contents = {f"2024-03-04 {h:02d}_00_00+00_00.csv": f"t,u\n{h},x".encode() for h in range(5)}
    for name, data in contents.items():
        (tree / name).write_bytes(data)
    assert compress_tree(tmp_path / "study", delete_original=True).done == 5
    assert sorted(os.listdir(tree)) == sorted(n + ".zst" for n in contents)
    assert decompress_tree(tmp_path / "study", delete_zst=True).done == 5
    assert {n: (tree / n).read_bytes() for n in os.listdir(tree)} == contents


def test_tree_operations_never_replace_an_existing_target(tmp_path: Path, mode: str) -> None:
    tree = tmp_path / "study" / "ab12cd34" / "gps"
    tree.mkdir(parents=True)
    name = "2024-03-04 00_00_00+00_00.csv"
    (tree / name).write_bytes(b"t,u\n1,x")
    other = zstandard.ZstdCompressor().compress(b"t,u\n2,y")  # another content: a conflict
    (tree / (name + ".zst")).write_bytes(other)
    summary = compress_tree(tmp_path / "study", delete_original=True)
    assert (summary.done, summary.failed) == (0, [])
    [conflict] = summary.conflicts
    assert conflict.path == tree / name
    assert (tree / (name + ".zst")).read_bytes() == other  # neither form touched
    assert (tree / name).read_bytes() == b"t,u\n1,x"
    assert sorted(os.listdir(tree)) == [name, name + ".zst"]  # no temp file, named or not
