"""Shared helpers for the mano-sync tests: compare a synced tree with the emulator's files."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from mano_api import BeiweClient


def fast_client(emu: Any) -> BeiweClient:
    """A client with short backoff so fault tests stay quick."""
    return BeiweClient(emu.credentials, backoff=0.02, backoff_max=0.2, retries=8)


#: What `mano sync` saves at the study root for Forest (settings, interventions, history).
SIDE_INPUT_SUFFIXES = (
    "_surveys_and_settings.json",
    "_intervention_data.json",
    "_surveys_history_data.json",
)


def tree_files(out: Path) -> dict[str, bytes]:
    """Every non-hidden file in the participant folders under ``out`` (relative path -> bytes).

    The study root holds Forest's side-input JSON files only (see :func:`root_files`).
    """
    found: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        if Path(folder) == out:
            continue
        for name in files:
            if name.startswith("."):
                continue
            path = Path(folder, name)
            found[path.relative_to(out).as_posix()] = path.read_bytes()
    return found


def root_files(out: Path) -> list[str]:
    """Non-hidden files at the study root."""
    return sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))


def hidden_leftovers(out: Path) -> list[str]:
    """Temporary files anywhere under ``out``."""
    return sorted(
        str(Path(folder, n).relative_to(out))
        for folder, _d, files in os.walk(out)
        for n in files
        if n.endswith(".mano-tmp")
    )


def _collision_name(zip_name: str, n: int) -> str:
    if n == 0:
        return zip_name
    stem, dot, ext = zip_name.rpartition(".")
    return f"{stem}_{n}{dot}{ext}"


def assert_tree_matches(out: Path, files: list[Any]) -> None:
    """The tree holds exactly the emulator's files, byte for byte.

    Files sharing a zip name (``_2`` collisions) must be present under ``name``, ``name_2``,
    ... with the same multiset of contents.
    """
    tree = tree_files(out)
    groups: dict[str, list[bytes]] = defaultdict(list)
    for f in files:
        groups[f.zip_name].append(f.data())
    expected_paths: set[str] = set()
    for name, contents in groups.items():
        paths = [_collision_name(name, 0)] + [
            _collision_name(name, n) for n in range(2, len(contents) + 1)
        ]
        expected_paths.update(paths)
        missing = [p for p in paths if p not in tree]
        assert not missing, f"missing from the tree: {missing[:5]}"
        assert sorted(tree[p] for p in paths) == sorted(contents), f"content differs: {name}"
    extra = sorted(set(tree) - expected_paths)
    assert not extra, f"unexpected files in the tree: {extra[:5]}"
    # at the root, only Forest's side inputs, each one complete JSON
    for name in root_files(out):
        assert name.endswith(SIDE_INPUT_SUFFIXES), f"unexpected file at the root: {name}"
        json.loads((out / name).read_bytes())


def get_data_names(emu: Any) -> list[str]:
    """Data member names sent by every get-data response in the log (``.zst`` removed)."""
    names = []
    for record in emu.request_log:
        if record.path.startswith("/get-data"):
            names.extend(n.removesuffix(".zst") for n in record.names)
    return sorted(names)
