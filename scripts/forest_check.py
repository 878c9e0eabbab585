"""Run Forest on a study synced from the emulator and check it finds what the emulator made.

Run with ``hatch run forest:check`` (Forest and its scientific stack live only in that
environment). Syncs a 3-participant x 3-day emulated study with ``mano_sync.sync_study``, then
calls Forest's public entry points on the tree:

- jasmine (GPS): every participant with GPS gets daily rows, a home (home time > 0) and a daily
  distance between 0 and 200 km;
- willow (calls and texts): call and text counts equal the rows the emulator generated;
- oak (accelerometer): walking time > 0 on every day the emulator recorded a walking bout;
- sycamore (surveys, given the side-input JSON files sync saved): as many submitted surveys as the
  emulator's ground truth.

Prints one line per participant (home time, distance, calls, texts, walking minutes, survey
completion) and exits 1 with the failed checks listed when any check fails.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys
import tempfile
import warnings
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

TZ = "America/New_York"


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _sync(out: Path, participants: int, days: int, seed: int) -> Any:
    from mano_sync import sync_study
    from mano_testing import Emulator

    emu = Emulator(participants=participants, days=days, seed=seed).start()
    sync_study(emu.credentials, emu.study_id, out)
    return emu


def _csvs(folder: Path, pattern: str = "**/*.csv") -> list[Path]:
    return sorted(Path(p) for p in glob.glob(str(folder / pattern), recursive=True))


def _frame(path: Path) -> Any:
    import pandas as pd

    return pd.read_csv(path)


def _per_participant(folder: Path, pids: list[str]) -> dict[str, Any]:
    """Forest writes one CSV per participant, named after it."""
    out = {}
    for path in _csvs(folder):
        for pid in pids:
            if path.stem == pid or path.stem.startswith(pid):
                out[pid] = _frame(path)
    return out


def _rows(emu: Any, pid: str, stream: str) -> list[list[str]]:
    rows: list[list[str]] = []
    for f in emu.files(pid, stream):
        rows.extend(line.split(",") for line in f.data().decode().split("\n")[1:])
    return rows


def _walking_days(emu: Any, pid: str) -> set[str]:
    """Local dates on which a whole accelerometer bout was recorded during a walk."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    world = emu._state.world
    life = world.life(world.participants[pid])
    stamps = sorted(int(r[0]) for r in _rows(emu, pid, "accelerometer"))
    days: set[str] = set()
    bout: list[int] = []
    for t in [*stamps, 1 << 62]:
        if bout and t - bout[-1] > 500:
            if len(bout) >= 80 and all(life.leg_at(x).mode == "walk" for x in (bout[0], bout[-1])):
                days.add(datetime.fromtimestamp(bout[0] / 1000, ZoneInfo(TZ)).date().isoformat())
            bout = []
        bout.append(t)
    return days


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")

    from forest.constants import Frequency
    from forest.jasmine.traj2stats import gps_stats_main
    from forest.oak.base import run as oak_run
    from forest.sycamore.base import compute_survey_stats
    from forest.willow.log_stats import log_stats_main

    from mano_sync import side_input_names

    # Forest's modules log progress at INFO through the root handler: keep the output readable
    logging.basicConfig(level=logging.ERROR, force=True)
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.ERROR)

    work = Path(args.keep or tempfile.mkdtemp(prefix="mano-forest-"))
    study, results = work / "study", work / "forest"
    emu = _sync(study, args.participants, args.days, args.seed)
    try:
        pids = sorted(p.name for p in study.iterdir() if p.is_dir() and not p.name.startswith("."))
        start = emu.start_date.date().isoformat()
        end = (emu.start_date + timedelta(days=emu.days)).date().isoformat()
        names = side_input_names(emu.study_id, emu.study_name)
        failures: list[str] = []

        gps_stats_main(str(study), str(results / "jasmine"), TZ, Frequency.DAILY, False)
        jasmine = _per_participant(results / "jasmine", pids)
        log_stats_main(str(study), str(results / "willow"), TZ, Frequency.DAILY)
        willow = _per_participant(results / "willow", pids)
        oak_run(str(study), str(results / "oak"), TZ, Frequency.DAILY)
        oak = _per_participant(results / "oak", pids)
        surveys_only = _survey_streams(study, work / "surveys", names.values())
        compute_survey_stats(
            str(surveys_only), str(results / "sycamore"), TZ, pids, start_date=start, end_date=end,
            config_path=str(study / names["settings"]),
            interventions_filepath=str(study / names["interventions"]),
            history_path=str(study / names["survey_history"]),
        )  # fmt: skip
        submits = _sycamore_submits(results / "sycamore")

        truth: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for d in emu.survey_deliveries():
            truth[d.participant]["delivered"] += 1
            truth[d.participant]["opened"] += d.opened
            truth[d.participant]["submitted"] += d.submitted

        _say(f"study {emu.study_id} ({len(pids)} participants with data, {start} to {end}, {TZ})")
        _say(f"{'participant':12} {'os':8} {'home h':>7} {'km':>6} {'calls':>5} {'texts':>5} "
              f"{'walk min':>8} {'surveys submitted':>18}")  # fmt: skip
        for pid in pids:
            os_type = emu.participant_os(pid)
            home, km = "–", "–"
            gps = jasmine.get(pid)
            if emu.files(pid, "gps"):
                if gps is None or gps.empty:
                    failures.append(f"jasmine: no daily rows for {pid}")
                else:
                    home_h = gps["home_time"].fillna(0)  # hours
                    dist = gps["dist_traveled"].fillna(0)
                    home, km = f"{home_h.sum():.1f}", f"{dist.sum():.1f}"
                    if not (home_h > 0).any():
                        failures.append(f"jasmine: no home time for {pid}")
                    if not dist.between(0, 200).all():
                        failures.append(f"jasmine: daily distance out of 0-200 km for {pid}")
            calls_truth = len(_rows(emu, pid, "calls"))
            texts_truth = len(_rows(emu, pid, "texts"))
            calls = texts = 0
            logs = willow.get(pid)
            if logs is not None and not logs.empty:
                calls = int(sum(logs[c].fillna(0).sum() for c in
                                ("num_in_call", "num_out_call", "num_mis_call") if c in logs))  # fmt: skip
                texts = int(sum(logs[c].fillna(0).sum() for c in
                                ("num_r", "num_s", "num_mms_r", "num_mms_s") if c in logs))  # fmt: skip
            if (calls, texts) != (calls_truth, texts_truth):
                failures.append(f"willow: {pid} calls/texts {calls}/{texts}, "
                                f"generated {calls_truth}/{texts_truth}")  # fmt: skip
            walk_minutes = 0.0
            steps = oak.get(pid)
            walked = _walking_days(emu, pid)
            if steps is not None and not steps.empty:
                walk_minutes = float(steps["walking_time"].fillna(0).sum())
                by_day = {
                    str(d)[:10]: w
                    for d, w in zip(steps["date"], steps["walking_time"].fillna(0), strict=False)
                }
                for day in sorted(walked):
                    if not by_day.get(day, 0) > 0:
                        failures.append(f"oak: no walking for {pid} on {day}")
            elif walked:
                failures.append(f"oak: no output for {pid} (walked on {', '.join(sorted(walked))})")
            # completion = submitted / delivered. "Opened" is not compared: sycamore does not
            # count an Android survey that was opened and left unsubmitted as opened
            want = {k: truth[pid][k] for k in ("delivered", "submitted")}
            got = submits.get(pid, {})
            surveys = f"{got.get('submitted', 0)}/{got.get('delivered', 0)}"
            if {k: got.get(k, 0) for k in want} != want:
                failures.append(f"sycamore: {pid} surveys {got}, emulator {dict(truth[pid])}")
            _say(f"{pid:12} {os_type:8} {home:>7} {km:>6} {calls:>5} {texts:>5} "
                  f"{walk_minutes:>8.1f} {surveys:>18}")  # fmt: skip
        for pid in sorted(set(emu.participants) - set(pids)):
            _say(f"{pid:12} {emu.participant_os(pid):8} no data (registered but never uploaded)")
        if failures:
            _say("\nFAILED:\n  " + "\n  ".join(failures))
            return 1
        _say("\nforest check passed: jasmine, willow, oak and sycamore agree with the emulator")
        return 0
    finally:
        emu.stop()


def _survey_streams(study: Path, target: Path, side_inputs: Any) -> Path:
    """A copy of the survey streams: sycamore reads audio recordings through ffmpeg (a system
    package, not a Python one), and the emulator's iOS recordings are not decodable audio."""
    import shutil

    for pid_dir in study.iterdir():
        if not pid_dir.is_dir() or pid_dir.name.startswith("."):
            continue
        for stream in ("survey_timings", "survey_answers"):
            if (pid_dir / stream).is_dir():
                shutil.copytree(
                    pid_dir / stream, target / pid_dir.name / stream, dirs_exist_ok=True
                )
    for name in side_inputs:
        shutil.copy2(study / name, target / name)
    return target


def _sycamore_submits(folder: Path) -> dict[str, dict[str, int]]:
    """Delivered, opened and submitted surveys per participant (sycamore's submits summary)."""
    path = folder / "summaries" / "submits_summary.csv"
    if not path.exists():
        return {}
    frame = _frame(path)
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    columns = {"delivered": "num_surveys", "opened": "num_opened_surveys",
               "submitted": "num_complete_surveys"}  # fmt: skip
    for _, row in frame.iterrows():
        for ours, theirs in columns.items():
            out[str(row["beiwe_id"])][ours] += int(row.get(theirs, 0) or 0)
    return {pid: dict(v) for pid, v in out.items()}


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
