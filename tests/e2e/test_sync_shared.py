"""Participants that only need their recent days re-checked share get-data requests."""

from __future__ import annotations

from pathlib import Path

import pytest

import mano_sync._policy as policy
import mano_sync._sync as sync_module
from mano_api import ConnectionFailed
from mano_sync import sync_study
from mano_testing import Emulator
from tests.sync.helpers import assert_tree_matches, fast_client, get_data_names

#: Statistics that never answer, as on a server whose statistics task has not run yet: late
#: data then shows only in the re-check itself.
NO_STATISTICS = "get-summary-statistics:5xx=always,get-participant-data-quantities:5xx=always"


def _get_data_requests(emu: Emulator) -> int:
    return sum(1 for r in emu.request_log if r.path.startswith("/get-data"))


def test_noop_resync_is_two_requests_for_a_small_study(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=5, days=3, seed=31) as emu:
        first = sync_study(emu.credentials, emu.study_id, out)
        assert first.ok
        with_data = [p for p in emu.participants if emu.files(p)]
        assert len(with_data) >= 4
        assert first.requests >= len(with_data)
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, out)
        assert again.ok and again.new == again.updated == 0
        assert again.unchanged == len(emu.files())
        # the shared re-check of recent days, and the sweep for late survey answers and audio
        assert _get_data_requests(emu) == 2
        assert get_data_names(emu) == []
        # every participant still gets its summary; the request and its bytes are counted once
        synced = {p.participant: p for p in again.participants.values() if not p.skipped}
        assert set(synced) == set(with_data)
        assert not any(p.failed for p in synced.values())
        assert again.requests == sum(p.requests for p in synced.values()) == 2
        served = sum(r.bytes_sent for r in emu.request_log if r.path.startswith("/get-data"))
        assert again.bytes_downloaded == served > 0


def test_shared_recheck_brings_late_data(tmp_path: Path) -> None:
    out = tmp_path / "study"
    with Emulator(participants=4, days=2, seed=32) as emu:
        emu.set_faults(NO_STATISTICS)
        with fast_client(emu) as client:
            assert sync_study(emu.credentials, emu.study_id, out, client=client).ok
            rewritten = emu.late_data(count=5)
            assert len({name.split("/", 1)[0] for name in rewritten}) >= 2
            emu.reset_log()
            again = sync_study(emu.credentials, emu.study_id, out, client=client)
        assert again.ok and again.updated == 5 and again.new == 0
        assert _get_data_requests(emu) == 2  # the shared re-check and the unchunked sweep
        assert get_data_names(emu) == rewritten
        per = {p.participant: p.updated for p in again.participants.values()}
        for pid in {name.split("/", 1)[0] for name in rewritten}:
            assert per[pid] == sum(1 for n in rewritten if n.startswith(pid + "/"))
        emu.set_faults(None)
        assert_tree_matches(out, emu.files())


def test_failed_shared_recheck_falls_back_to_one_request_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "study"
    with Emulator(participants=4, days=2, seed=33) as emu:
        assert sync_study(emu.credentials, emu.study_id, out).ok
        rewritten = emu.late_data(count=3)
        with_data = [p for p in emu.participants if emu.files(p)]

        def broken(*args: object, **kwargs: object) -> None:
            raise ConnectionFailed("the connection dropped (test)")

        monkeypatch.setattr(sync_module._Run, "recheck_together", broken)
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, out, recheck_days=3)
        assert again.ok and again.updated == 3
        assert get_data_names(emu) == rewritten
        assert _get_data_requests(emu) >= len(with_data)
        assert_tree_matches(out, emu.files())


def test_many_participants_are_split_into_bounded_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "study"
    monkeypatch.setattr(policy, "MAX_BATCH", 2)
    with Emulator(participants=5, days=2, seed=34) as emu:
        assert sync_study(emu.credentials, emu.study_id, out).ok
        with_data = [p for p in emu.participants if emu.files(p)]
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, out)
        assert again.ok and again.new == again.updated == 0
        # pairs share a request; an odd one out has its own
        assert _get_data_requests(emu) == 2 * ((len(with_data) + 1) // 2)  # re-checks, sweeps
