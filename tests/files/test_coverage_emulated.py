"""coverage() on the emulator's study, with holes punched in, equals the truth from its file list."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from mano_files import coverage
from mano_testing import Emulator


def test_emulated_study_with_holes(tmp_path: Path) -> None:
    root = tmp_path / "study"
    with Emulator(participants=3, days=5, seed=8) as emu:
        files = emu.files()
    first_day = min(f.time_bin.date() for f in files)
    spans = {
        pid: (
            min(f.time_bin.date() for f in files if f.participant == pid),
            max(f.time_bin.date() for f in files if f.participant == pid),
        )
        for pid in {f.participant for f in files}
    }
    # The participant with the longest span loses a whole day in the middle.
    victim = max(sorted(spans), key=lambda pid: spans[pid][1] - spans[pid][0])
    start, stop = spans[victim]
    assert (stop - start).days >= 2
    hole = start + timedelta(days=1)
    kept = [f for f in files if not (f.participant == victim and f.time_bin.date() == hole)]
    # ...and a participant whose GPS stops after day 1.
    quiet = sorted(pid for pid in spans if pid != victim)[0]
    kept = [
        f
        for f in kept
        if not (f.participant == quiet and f.stream == "gps" and f.time_bin.date() > first_day)
    ]
    for f in kept:
        target = root / f.zip_name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(f.data())

    report = coverage(root)

    truth: dict[tuple[str, str, date], tuple[set[int], int, int]] = {}
    for f in kept:
        hours, n, size = truth.get((f.participant, f.stream, f.time_bin.date()), (set(), 0, 0))
        hours.add(f.time_bin.hour)
        truth[f.participant, f.stream, f.time_bin.date()] = (hours, n + 1, size + len(f.data()))
    got = {
        (r.participant, r.stream, r.day): (r.hours, r.files, r.bytes)
        for r in report.rows
        if r.files
    }
    assert got == {k: (len(h), n, size) for k, (h, n, size) in truth.items()}

    by_id = {p.participant: p for p in report.participants}
    v = by_id[victim]
    assert hole in v.missing_days
    days = {f.time_bin.date() for f in kept if f.participant == victim}
    span = [min(days) + timedelta(d) for d in range((max(days) - min(days)).days + 1)]
    assert list(v.missing_days) == [d for d in span if d not in days]
    ordinals = sorted(
        {int(f.time_bin.timestamp()) // 3600 for f in kept if f.participant == victim}
    )
    assert v.longest_gap_hours == max(
        b - a - 1 for a, b in zip(ordinals, ordinals[1:], strict=False)
    )
    assert v.longest_gap_hours >= 24
    gps = by_id[quiet].stream("gps")
    assert gps is not None and gps.days == 1
    assert report.files == len(kept)
