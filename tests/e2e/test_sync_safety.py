"""Sync-side data safety: damaged members spoil nothing else; no write through a link that
leaves the study folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mano_sync import sync_study
from mano_testing import Emulator
from tests.sync.helpers import assert_tree_matches, fast_client, get_data_names, hidden_leftovers


def _env(emu: Emulator) -> dict[str, str]:
    return {
        **os.environ,
        "BEIWE_URL": emu.url,
        "BEIWE_ACCESS_KEY": emu.access_key,
        "BEIWE_SECRET_KEY": emu.secret_key,
    }


@pytest.mark.parametrize("kind", ["zstd", "crc"])
def test_a_damaged_member_is_reported_and_every_good_one_saved(tmp_path: Path, kind: str) -> None:
    out = tmp_path / "study"
    with Emulator(participants=2, days=3, seed=61) as emu:
        pid = next(p for p in emu.participants if emu.files(p))
        victims = [f for f in emu.files(pid) if f.stream in ("gps", "accelerometer")][:2]
        for f in victims:
            emu.damage(f.zip_name, kind)
        with fast_client(emu) as client:
            summary = sync_study(emu.credentials, emu.study_id, out, client=client)
        assert not summary.ok
        failed = {f.name for f in summary.failed}
        assert failed == {f.v2_name for f in victims}
        assert all(f.participant == pid for f in summary.failed)
        assert summary.new == len(emu.files()) - len(victims)
        assert hidden_leftovers(out) == []
        for f in victims:
            assert not (out / f.zip_name).exists()
        good = [f for f in emu.files() if f.zip_name not in {v.zip_name for v in victims}]
        # every good file is there, byte for byte
        for f in good:
            assert (out / f.zip_name).read_bytes() == f.data()
        # the CLI says "partial" (exit 1) and names the file
        cli = subprocess.run(
            [sys.executable, "-m", "mano_cli", "sync", emu.study_id, "-o", str(out), "--json"],
            # one retry (with its backoff) instead of the default five: the damage is on
            # the server, so every attempt sees it
            capture_output=True, text=True, env={**_env(emu), "MANO_RETRIES": "1"}, timeout=300,
        )  # fmt: skip
        assert cli.returncode == 1, cli.stderr
        assert {f.zip_name.rsplit("/", 1)[1] for f in victims} <= {
            line.split("'")[1].rsplit("/", 1)[1].removesuffix(".zst")
            for line in json.loads(cli.stdout)["summary"]["failed"]
            if "'" in line
        }
        # repaired on the server: the next run brings exactly the damaged files
        emu.repair()
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, out)
        assert again.ok and again.new == len(victims)
        assert get_data_names(emu) == sorted(f.zip_name for f in victims)
        assert_tree_matches(out, emu.files())


def test_sync_never_writes_through_a_participant_link_leaving_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "study"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with Emulator(participants=2, days=2, seed=62) as emu:
        pids = [p for p in emu.participants if emu.files(p)]
        linked, other = pids[0], pids[1]
        out.mkdir()
        (out / linked).symlink_to(elsewhere, target_is_directory=True)
        summary = sync_study(emu.credentials, emu.study_id, out)
        assert not summary.ok
        assert list(elsewhere.iterdir()) == []  # nothing written outside
        reasons = {f.reason for f in summary.failed}
        assert all(f.participant == linked for f in summary.failed)
        assert any("symbolic link" in r and str(elsewhere) in r for r in reasons)
        assert summary.participants[other].ok
        assert_tree_matches(out, [f for f in emu.files() if f.participant == other])
        # a stream folder linked outside is refused the same way
        stream_out = tmp_path / "stream-elsewhere"
        stream_out.mkdir()
        (out / linked).unlink()
        (out / linked).mkdir()
        (out / linked / "gps").symlink_to(stream_out, target_is_directory=True)
        again = sync_study(emu.credentials, emu.study_id, out)
        assert list(stream_out.iterdir()) == []
        assert {f.name.split("/")[1] for f in again.failed} == {"gps"}
        assert all((out / f.zip_name).is_file() for f in emu.files(linked) if f.stream != "gps")


def test_a_link_inside_the_study_folder_is_followed(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=2, days=1, seed=63) as emu:
        pid = next(p for p in emu.participants if emu.files(p))
        (out / ".moved").mkdir(parents=True)
        (out / pid).symlink_to(out / ".moved", target_is_directory=True)
        summary = sync_study(emu.credentials, emu.study_id, out)
        assert summary.ok, summary.failed
        assert sorted(p.name for p in (out / ".moved").iterdir())


def test_sync_never_replaces_a_locked_file_by_plaintext(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=1, days=2, seed=64) as emu:
        assert sync_study(emu.credentials, emu.study_id, out).ok
        env = {**_env(emu), "MANO_LOCK_PASSPHRASE": "correct-horse"}
        locked = subprocess.run(
            [sys.executable, "-m", "mano_cli", "-y", "lock", str(out), "-s", "gps"],
            capture_output=True, text=True, env=env, timeout=300,
        )  # fmt: skip
        assert locked.returncode == 0, locked.stderr
        rewritten = emu.late_data(count=10_000)  # every chunk changes, gps too
        gps = sorted(n for n in rewritten if "/gps/" in n)
        assert gps
        summary = sync_study(emu.credentials, emu.study_id, out, recheck_days="all")
        assert {f.name.removesuffix(".zst") for f in summary.failed} == set(gps)
        assert all("locked here" in f.reason for f in summary.failed)
        for name in gps:
            assert not (out / name).exists() and (out / (name + ".zst.lock")).is_file()
        assert summary.updated == len(rewritten) - len(gps)
        # with the passphrase the new content is stored locked again
        again = sync_study(
            emu.credentials, emu.study_id, out, lock=["gps"], passphrase="correct-horse"
        )
        assert again.ok and again.updated == len(gps)
        for name in gps:
            assert not (out / name).exists() and (out / (name + ".zst.lock")).is_file()
