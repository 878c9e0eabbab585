"""Completeness: every file the server holds is in the tree after one sync, whenever it arrived.

The deployed server stores survey answers and audio under their upload path with the phone's
creation time as time bin and counts them in no statistic, so a late backlog shows nowhere but
in get-data itself (``Emulator.late_upload``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mano_sync import Manifest, sync_study
from mano_testing import Emulator
from tests.sync.helpers import assert_tree_matches, fast_client

FAULTS = "5xx=2,reset=1,truncate=1"


def get_data_names(emu: Emulator) -> list[str]:
    """Members of every complete get-data response (a response cut by a fault is retried)."""
    return sorted(
        n.removesuffix(".zst")
        for r in emu.request_log
        if r.path.startswith("/get-data") and r.fault not in ("truncate", "reset")
        for n in r.names
    )


def _resent(emu: Emulator, held: set[str]) -> list[str]:
    """Names sent by get-data that the tree already held before the run."""
    return [n for n in get_data_names(emu) if n in held]


def _hash_calls(emu: Emulator) -> int:
    return sum(1 for r in emu.request_log if "file-hashes" in r.path)


def _sync(emu: Emulator, out: Path, faults: bool, **kwargs: object):  # type: ignore[no-untyped-def]
    if faults:
        emu.set_faults(FAULTS)
        with fast_client(emu) as client:
            summary = sync_study(emu.credentials, emu.study_id, out, client=client, **kwargs)
        emu.set_faults(None)
        return summary
    return sync_study(emu.credentials, emu.study_id, out, **kwargs)


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
@pytest.mark.parametrize(
    ("stream", "age"),
    [("survey_answers", 10), ("survey_answers", 100), ("audio_recordings", 10),
     ("ambient_audio", 10)],
)  # fmt: skip
def test_late_unchunked_upload_is_fetched_by_the_next_plain_sync(
    tmp_path: Path, stream: str, age: int, faults: bool
) -> None:
    out = tmp_path / "study"
    with Emulator(participants=2, days=14, seed=41, scale=0.1) as emu:
        assert _sync(emu, out, faults).ok
        held = {f.zip_name for f in emu.files()}
        pid = next(p for p in emu.participants if emu.files(p, "survey_answers"))
        new = emu.late_upload(pid, stream, age_days=age, count=2)
        emu.reset_log()
        summary = _sync(emu, out, faults)
        assert summary.ok, summary.failed
        assert summary.new == 2 and summary.updated == 0
        assert sorted(set(get_data_names(emu))) == sorted(new)
        assert _resent(emu, held) == []
        assert_tree_matches(out, emu.files())
        # and the one after brings nothing: the new files are held by their storage path
        emu.reset_log()
        again = _sync(emu, out, faults)
        assert again.ok and again.new == again.updated == 0
        assert get_data_names(emu) == []


def test_first_sync_finds_files_older_than_every_statistic(tmp_path: Path) -> None:
    """Statistics start at the first chunked data; a survey answered before it is not lost."""
    with Emulator(participants=2, days=5, seed=42, scale=0.1) as emu:
        pid = next(p for p in emu.participants if emu.files(p, "survey_answers"))
        new = emu.late_upload(pid, "survey_answers", age_days=40, count=3)
        summary = sync_study(emu.credentials, emu.study_id, tmp_path)
        assert summary.ok and summary.new == len(emu.files())
        assert_tree_matches(tmp_path, emu.files())
        names = get_data_names(emu)
        assert len(names) == len(set(names)) == len(emu.files())  # nothing sent twice
        assert set(new) <= set(names)


def test_a_survey_submitted_twice_in_one_second_is_kept_twice(tmp_path: Path) -> None:
    with Emulator(participants=2, days=6, seed=43, scale=0.1) as emu:
        assert sync_study(emu.credentials, emu.study_id, tmp_path).ok
        pid = next(p for p in emu.participants if emu.files(p, "survey_answers"))
        emu.late_upload(pid, "survey_answers", age_days=4, twice=True)
        summary = sync_study(emu.credentials, emu.study_id, tmp_path)
        assert summary.ok and summary.new == 2
        assert_tree_matches(tmp_path, emu.files())
        emu.reset_log()
        again = sync_study(emu.credentials, emu.study_id, tmp_path)
        assert again.ok and again.new == again.updated == 0 and get_data_names(emu) == []


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_recheck_all_finds_a_chunk_rewritten_long_ago(tmp_path: Path, faults: bool) -> None:
    out = tmp_path / "study"
    with Emulator(participants=1, days=40, seed=44, scale=0.1) as emu:
        assert _sync(emu, out, faults).ok
        held = {f.zip_name for f in emu.files()}
        rewritten = emu.late_data(count=2, age_days=30)
        emu.reset_log()
        summary = _sync(emu, out, faults, recheck_days="all")
        assert summary.ok and summary.updated == len(rewritten) and summary.new == 0
        assert get_data_names(emu) == rewritten  # nothing else re-sent
        assert set(rewritten) <= held
        assert_tree_matches(out, emu.files())


@pytest.mark.parametrize("faults", [False, True], ids=["clean", "faults"])
def test_failed_file_hashes_call_is_not_repeated_for_a_week(tmp_path: Path, faults: bool) -> None:
    out = tmp_path / "study"
    with Emulator(
        participants=4, days=3, seed=45, scale=0.1
    ) as emu:  # "current": the endpoint fails
        emu.reset_log()
        assert _sync(emu, out, faults, workers=4).ok
        assert _hash_calls(emu) <= 1  # never more than one failed call per run
        # a second run (e.g. after a killed one) uses no file-hashes call either
        emu.reset_log()
        assert _sync(emu, out, faults, workers=4).ok
        assert _hash_calls(emu) == 0
        with Manifest(out) as m:  # a week later it is tried again (once)
            key = f"file_hashes_failed:{emu.url}"
            assert m.get_meta(key) is not None
            m.set_meta(key, "2000-01-01T00:00:00+00:00")
        emu.reset_log()
        assert _sync(emu, out, faults, workers=4).ok
        assert _hash_calls(emu) == 1


def test_sweep_registries_stay_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A participant holding more unchunked files than MAX_REGISTRY is swept in time ranges."""
    import mano_sync._fetch as fetch_module
    import mano_sync._policy as policy

    out = tmp_path / "study"
    with Emulator(participants=3, days=10, seed=46, scale=0.1) as emu:
        assert sync_study(emu.credentials, emu.study_id, out).ok
        pid = next(p for p in emu.participants if emu.files(p, "survey_answers"))
        new = emu.late_upload(pid, "survey_answers", age_days=5, count=3)
        new += emu.late_upload(pid, "ambient_audio", age_days=60)
        sizes: list[int] = []
        real = fetch_module.request_archive

        def spy(*args: object, **kwargs: object) -> object:
            registry = kwargs.get("registry")
            streams = kwargs.get("streams")
            if streams and set(streams) <= {"survey_answers", "audio_recordings", "ambient_audio"}:
                sizes.append(len(registry) if isinstance(registry, dict) else 0)  # the sweep
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(policy, "MAX_REGISTRY", 5)
        monkeypatch.setattr(fetch_module, "request_archive", spy)
        emu.reset_log()
        summary = sync_study(emu.credentials, emu.study_id, out)
        assert summary.ok and summary.new == len(new) and summary.updated == 0
        assert sorted(get_data_names(emu)) == sorted(new)
        unchunked = sum(1 for f in emu.files(pid) if not f.chunked)
        assert unchunked > 5 and len(sizes) >= unchunked // 5
        assert max(sizes) <= 5 + 2  # cut at hour boundaries: an hour may hold one or two more
        assert_tree_matches(out, emu.files())
