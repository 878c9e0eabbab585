"""The registry a request sends is built in SQL for the usual file and in Python for the rest;
together they must give what the rules say, file by file (docs/beiwe-server.md#registry)."""

from __future__ import annotations

import itertools
from pathlib import Path

from mano_sync._ask import Asker
from mano_sync._manifest import Manifest, ManifestFile
from mano_sync._names import (
    CHUNKED_PREFIX,
    UNCHUNKED_STREAMS,
    parse_member,
    storage_key_from_member,
)
from mano_sync._plan import Window
from mano_sync._policy import SENTINEL_KEY, SENTINEL_VALUE

STUDY = "a" * 24
PID = "abcd1234"
T0 = 1_700_000_000 - 1_700_000_000 % 3600


def _expected(rows: list[ManifestFile], start: int, last: int | None) -> dict[str, str]:
    """The rules, written out once more without the SQL shortcut (hours start..last)."""
    out: dict[str, str] = {}
    for r in rows:
        if r.time_bin < start or (last is not None and r.time_bin >= last + 3600):
            continue
        value = r.sha1_b64 or r.md5_b64
        key = r.storage_key
        if key is None:
            key = storage_key_from_member(parse_member(r.zip_name), STUDY)
        if key is not None and value:
            out[key.removeprefix(CHUNKED_PREFIX)] = value
        elif key is not None and not key.startswith(CHUNKED_PREFIX):
            out[key] = SENTINEL_VALUE
        elif key is None and r.stream in UNCHUNKED_STREAMS and r.sha1_b64:
            out[f"mano-sync/{r.path}"] = r.sha1_b64
    return out or {SENTINEL_KEY: SENTINEL_VALUE}


def _rows() -> list[ManifestFile]:
    rows = []
    hashes = [("s" * 27 + "=", None), ("", "m" * 23 + "=="), (None, "m" * 23 + "=="), ("", None),
              (None, None), ("s" * 27 + "=", "m" * 23 + "==")]  # fmt: skip
    kinds = ["chunked", "unchunked", "none"]
    for i, ((sha1, md5), kind, stream) in enumerate(
        itertools.product(hashes, kinds, ["gps", "survey_answers"])
    ):
        t = T0 + 3600 * i
        hour = f"2023-11-14 {i % 24:02d}_00_00+00_00"
        if stream == "gps":
            name = f"{PID}/gps/{hour}.csv"
        else:
            name = f"{PID}/survey_answers/5f0e3c2b1a9d8e7f6a5b4c3d/{hour}.csv"
        key = {
            "chunked": f"{CHUNKED_PREFIX}{STUDY}/{PID}/{stream}/2023-11-14T{i % 24:02d}:00:00.csv",
            "unchunked": f"{STUDY}/{PID}/{stream}/5f0e3c2b1a9d8e7f6a5b4c3d/{1_699_900_000_000 + i}.csv",
            "none": None,
        }[kind]
        rows.append(
            ManifestFile(
                path=f"{name}-{i}",
                participant=PID,
                stream=stream,
                time_bin=t,
                zip_name=name,
                storage_key=key,
                size=1,
                size_on_disk=1,
                sha1_b64=sha1,
                md5_b64=md5,
                form="plain",
                mtime_ns=1,
                fetched_at="2026-01-01T00:00:00+00:00",
            )
        )
    return rows


def test_registry_matches_the_rules_file_by_file(tmp_path: Path) -> None:
    rows = _rows()
    with Manifest(tmp_path, study_id=STUDY) as manifest:
        manifest.record_many(rows)
        manifest.commit()
        ask = Asker(None, STUDY, manifest, streams=None, start=None, end=None,  # type: ignore[arg-type]
                    recheck_days=3, use_file_hashes=False)  # fmt: skip
        last = max(r.time_bin for r in rows)
        assert len(_expected(rows, 0, None)) > 20  # most rows make an entry
        for start, end in [(0, None), (T0 + 3600 * 5, T0 + 3600 * 20), (last + 3600, None)]:
            got = ask.registry_for(PID, Window(start, end))
            assert got == _expected(rows, start, end)
        # a narrower stream set picks its files in SQL too
        only = ask.registry_for(PID, Window(0, None), ("survey_answers",))
        assert only == _expected([r for r in rows if r.stream == "survey_answers"], 0, None)
        assert any(k.startswith("mano-sync/") for k in only)
        assert any(v == SENTINEL_VALUE for v in only.values())
