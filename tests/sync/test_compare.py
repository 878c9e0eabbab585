"""compare_with_server(): exactly the files the server has and the folder lacks (emulator over HTTP)."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mano_api import BeiweClient
from mano_files import derive_key, write_data_file
from mano_sync import ServerComparison, compare_with_server
from mano_testing import Emulator


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(participants=3, days=3, seed=11) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[BeiweClient]:
    with BeiweClient(emu.credentials, retries=1) as c:
        yield c


def populate(emu: Emulator, root: Path, form_of: Any = None, key: Any = None) -> list[str]:
    """Write every file of the emulated study into ``root`` as a sync would; returns names."""
    names = []
    for f in emu.files():
        target = root / f.zip_name
        target.parent.mkdir(parents=True, exist_ok=True)
        form = form_of(f) if form_of else "plain"
        write_data_file(io.BytesIO(f.data()), target, source_form="plain", form=form, key=key)
        names.append(f.zip_name)
    return sorted(names)


def disk_path(root: Path, name: str) -> Path:
    for suffix in ("", ".zst", ".lock", ".zst.lock"):
        candidate = root / (name + suffix)
        if candidate.exists():
            return candidate
    raise AssertionError(name)


def test_full_tree_is_complete(emu: Emulator, client: BeiweClient, tmp_path: Path) -> None:
    root = tmp_path / "study"
    populate(emu, root)
    result = compare_with_server(client, emu.study_id, root)
    assert isinstance(result, ServerComparison)
    assert result.missing == () and result.changed == () and result.unverified == ()
    assert result.complete
    assert result.study_id == emu.study_id and result.study_name == emu.study_name
    # Every local file was in the registry except the unchunked ones we cannot name
    # (survey answers, ambient audio); voice recordings match by hash.
    unnameable = [f for f in emu.files() if f.stream in {"survey_answers", "ambient_audio"}]
    assert result.registry_size == len(emu.files()) - len(unnameable)


def test_lists_exactly_the_deleted_files(
    emu: Emulator, client: BeiweClient, tmp_path: Path
) -> None:
    root = tmp_path / "study"
    rng = random.Random(5)
    # Mixed forms on disk: the comparison hashes plain content whatever the form.
    names = populate(emu, root, form_of=lambda f: rng.choice(["plain", "zst"]))
    by_stream: dict[str, list[str]] = {}
    for f in emu.files():
        by_stream.setdefault(f.stream, []).append(f.zip_name)
    deleted = set(rng.sample(names, 12))
    # Make sure unchunked kinds are among them too.
    for stream in ("survey_answers", "audio_recordings", "ambient_audio", "identifiers"):
        if by_stream.get(stream):
            deleted.add(by_stream[stream][0])
    for name in deleted:
        disk_path(root, name).unlink()
    result = compare_with_server(client, emu.study_id, root)
    assert list(result.missing) == sorted(deleted)
    assert result.changed == () and result.unverified == ()
    assert result.server_only_participants == ()
    assert result.transferred_bytes > 0


def test_missing_participant_and_window(emu: Emulator, client: BeiweClient, tmp_path: Path) -> None:
    root = tmp_path / "study"
    populate(emu, root)
    gone = emu.participants[0]
    expected = sorted(f.zip_name for f in emu.files(participant=gone))
    for path in sorted((root / gone).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    (root / gone).rmdir()
    result = compare_with_server(client, emu.study_id, root)
    assert list(result.missing) == expected
    assert result.server_only_participants == (gone,)
    # Restricted to one other participant: nothing missing there.
    other = compare_with_server(client, emu.study_id, root, participants=[emu.participants[1]])
    assert other.missing == ()


def test_changed_on_server(tmp_path: Path) -> None:
    with Emulator(participants=2, days=2, seed=4) as emu, BeiweClient(emu.credentials) as client:
        root = tmp_path / "study"
        populate(emu, root)
        rewritten = emu.late_data(count=3)
        result = compare_with_server(client, emu.study_id, root)
        assert list(result.changed) == sorted(rewritten)
        assert result.missing == ()


def test_locked_files_without_key_are_unverified(
    emu: Emulator, client: BeiweClient, tmp_path: Path
) -> None:
    root = tmp_path / "study"
    key = derive_key("correct horse battery staple")
    gps = {f.zip_name for f in emu.files(stream="gps")}
    populate(emu, root, form_of=lambda f: "zst.lock" if f.zip_name in gps else "zst", key=key)
    victim = sorted(gps)[0]
    disk_path(root, victim).unlink()
    blind = compare_with_server(client, emu.study_id, root)
    assert blind.missing == (victim,)
    assert list(blind.unverified) == sorted(gps - {victim})
    keyed = compare_with_server(client, emu.study_id, root, key=key)
    assert keyed.missing == (victim,) and keyed.unverified == ()


def test_quantities_side_by_side(emu: Emulator, client: BeiweClient, tmp_path: Path) -> None:
    root = tmp_path / "study"
    populate(emu, root)
    result = compare_with_server(client, emu.study_id, root)
    local = {(q.participant, q.stream): q for q in result.quantities}
    for f in emu.files():
        assert (f.participant, f.stream) in local
    for (pid, stream), q in local.items():
        files = emu.files(participant=pid, stream=stream)
        assert q.local_files == len(files)
        assert q.local_bytes == q.local_plain_bytes == sum(len(f.data()) for f in files)
    data = result.to_dict()
    assert data["complete"] is True and len(data["quantities"]) == len(result.quantities)


def test_after_real_sync_only_deleted_files_come_back(tmp_path: Path) -> None:
    from mano_sync import sync_study

    with Emulator(participants=2, days=2, seed=21) as emu:
        root = tmp_path / "synced"
        summary = sync_study(emu.credentials, emu.study_id, root)
        assert not summary.failed
        files = sorted(f.zip_name for f in emu.files())
        unchunked = [
            f.zip_name
            for f in emu.files()
            if f.stream in {"survey_answers", "ambient_audio", "audio_recordings"}
        ]
        deleted = sorted({files[3], files[-2], *unchunked[:2]})
        for name in deleted:
            disk_path(root, name).unlink()
        with BeiweClient(emu.credentials) as client:
            emu.reset_log()
            result = compare_with_server(client, emu.study_id, root)
        assert list(result.missing) == deleted
        assert result.changed == () and result.unverified == ()
        # The manifest names every unchunked file, so the registry covers every local file
        # and the server sends back only the deleted ones.
        assert result.registry_size == len(files) - len(deleted)
        sent = [r for r in emu.request_log if "get-data" in r.path]
        assert len(sent) == 1 and sent[0].members == len(deleted)
        assert sorted(n.removesuffix(".zst") for n in sent[0].names) == deleted
