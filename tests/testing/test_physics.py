"""The emulated phones obey physics and the apps' recording rules (what Forest relies on)."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mano_testing import Emulator
from mano_testing._life import distance_m
from mano_testing._phone import ACCEL_G
from mano_testing._synth import World, render

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def emu() -> Emulator:
    return Emulator(participants=3, days=3, seed=11)


def _world(emu: Emulator) -> World:
    return emu._state.world


def _rows(emu: Emulator, pid: str, stream: str) -> list[list[str]]:
    out: list[list[str]] = []
    for f in emu.files(pid, stream):
        out.extend(line.split(",") for line in f.data().decode().split("\n")[1:])
    out.sort(key=lambda r: int(r[0]))
    return out


def _active(emu: Emulator) -> list[str]:
    return [pid for pid in emu.participants if emu.files(pid, "gps")]


def _groups(stamps: list[int], gap_ms: int) -> list[list[int]]:
    groups: list[list[int]] = []
    for t in stamps:
        if groups and t - groups[-1][-1] <= gap_ms:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def _complete_bursts(emu: Emulator, pid: str, stream: str, gap_ms: int) -> list[list[int]]:
    """Bursts of every hourly file that neither touch nor cross the hour's edges."""
    bursts: list[list[int]] = []
    for f in emu.files(pid, stream):
        hour = int(f.time_bin.timestamp()) * 1000
        stamps = [int(line.split(",", 1)[0]) for line in f.data().decode().split("\n")[1:]]
        for group in _groups(stamps, gap_ms):
            if group[0] - hour > 1000 and hour + 3_600_000 - group[-1] > 1000:
                bursts.append(group)
    return bursts


@pytest.mark.parametrize(("on", "off"), [(60, 600), (30, 120)])
def test_gps_bursts_follow_the_duty_cycle(on: int, off: int) -> None:
    emu = Emulator(participants=2, days=2, seed=3)
    emu._state.world.studies[emu.study_id].device_settings.update(
        gps_on_duration_seconds=on, gps_off_duration_seconds=off
    )
    for pid in _active(emu):
        bursts = _complete_bursts(emu, pid, "gps", 5_000)
        assert len(bursts) > 40
        for burst in bursts:
            assert len(burst) == on  # ~1 Hz for the whole on-window
            assert (on - 1) * 1000 <= burst[-1] - burst[0] < on * 1000
            gaps = [b - a for a, b in zip(burst, burst[1:], strict=False)]
            assert all(900 <= g <= 1100 for g in gaps)
        starts = [b[0] for b in bursts]
        period = (on + off) * 1000
        for a, b in zip(starts, starts[1:], strict=False):
            cycles = round((b - a) / period)
            assert cycles >= 1 and abs((b - a) - cycles * period) < 200


def test_nights_are_spent_at_home(emu: Emulator) -> None:
    for pid in _active(emu):
        nights: dict[object, list[tuple[float, float]]] = defaultdict(list)
        for row in _rows(emu, pid, "gps"):
            local = datetime.fromtimestamp(int(row[0]) / 1000, NY)
            if 1 <= local.hour < 5:
                nights[local.date()].append((float(row[2]), float(row[3])))
        assert nights
        home = _world(emu).participants[pid].home
        for fixes in nights.values():
            lat = sum(f[0] for f in fixes) / len(fixes)
            lon = sum(f[1] for f in fixes) / len(fixes)
            assert max(distance_m((lat, lon), f) for f in fixes) < 100
            assert distance_m((lat, lon), home) < 50


def test_gps_speeds_and_accuracy_are_plausible(emu: Emulator) -> None:
    moved = 0.0
    for pid in _active(emu):
        rows = _rows(emu, pid, "gps")
        for a, b in zip(rows, rows[1:], strict=False):
            dt = (int(b[0]) - int(a[0])) / 1000
            d = distance_m((float(a[2]), float(a[3])), (float(b[2]), float(b[3])))
            assert d / dt < 40, (a, b)
            moved += d
        accuracy = [float(r[5]) for r in rows]
        assert all(5 <= a <= 50 for a in accuracy)
        assert min(accuracy) < 10 and max(accuracy) > 40  # varies with where the phone is
    assert moved > 5_000  # people do go places


def test_accelerometer_units_and_gravity_at_rest(emu: Emulator) -> None:
    world = _world(emu)
    seen = set()
    for pid in _active(emu):
        os_type = emu.participant_os(pid)
        g = ACCEL_G if os_type == "ANDROID" else 1.0
        life = world.life(world.participants[pid])
        resting = 0
        for row in _rows(emu, pid, "accelerometer"):
            t = int(row[0])
            assert row[2] == ("3" if os_type == "ANDROID" else "unknown")
            if life.asleep(t) and life.leg_at(t).mode == "stay":
                x, y, z = (float(v) for v in row[3:6])
                assert abs(math.sqrt(x * x + y * y + z * z) - g) < 0.05 * g
                resting += 1
        assert resting > 500
        seen.add(os_type)
    assert seen == {"ANDROID", "IOS"}


def test_accelerometer_bursts_follow_the_settings(emu: Emulator) -> None:
    settings = _world(emu).studies[emu.study_id].device_settings
    on, off = (
        settings["accelerometer_on_duration_seconds"],
        settings["accelerometer_off_duration_seconds"],
    )
    freq = settings["accelerometer_frequency"]
    assert isinstance(on, int) and isinstance(off, int) and isinstance(freq, int)
    for pid in _active(emu):
        bursts = _complete_bursts(emu, pid, "accelerometer", 2_000)
        assert len(bursts) > 100
        assert all(len(b) == on * freq for b in bursts)
        starts = [b[0] for b in bursts]
        assert all(
            (b - a) % ((on + off) * 1000) == 0 for a, b in zip(starts, starts[1:], strict=False)
        )


def _cadence(samples: list[tuple[float, float, float, float]]) -> float:
    mags = [math.sqrt(x * x + y * y + z * z) for _, x, y, z in samples]
    mean = sum(mags) / len(mags)
    crossings = sum(1 for a, b in zip(mags, mags[1:], strict=False) if (a - mean) < 0 <= (b - mean))
    return crossings / ((samples[-1][0] - samples[0][0]) / 1000)


def test_walking_bouts_have_a_step_cadence(emu: Emulator) -> None:
    world = _world(emu)
    walking_bursts = 0
    for pid in _active(emu):
        life = world.life(world.participants[pid])
        rows = _rows(emu, pid, "accelerometer")
        samples_by_t = {int(r[0]): (int(r[0]), float(r[3]), float(r[4]), float(r[5])) for r in rows}
        bursts = [
            [samples_by_t[t] for t in group]
            for group in _groups(sorted(samples_by_t), 500)
            if life.leg_at(group[0]).mode == "walk" and life.leg_at(group[-1]).mode == "walk"
        ]
        for samples in bursts:
            if len(samples) < 80:
                continue
            walking_bursts += 1
            assert 1.5 <= _cadence(samples) <= 2.1
            g = ACCEL_G if emu.participant_os(pid) == "ANDROID" else 1.0
            mags = [math.sqrt(x * x + y * y + z * z) / g for _, x, y, z in samples]
            assert max(mags) - min(mags) > 0.5  # steps, not a phone on a table
    assert walking_bursts >= 3


@pytest.fixture(scope="module")
def surveys_emu() -> Emulator:
    """Ten days: enough deliveries for every outcome (only survey files get rendered)."""
    return Emulator(participants=4, days=10, seed=11)


def test_survey_timings_follow_each_app(surveys_emu: Emulator) -> None:
    emu = surveys_emu
    world = _world(emu)
    checked = {"ANDROID": 0, "IOS": 0}
    for pid in _active(emu):
        os_type = emu.participant_os(pid)
        by_survey: dict[str, list[list[str]]] = defaultdict(list)
        for f in emu.files(pid, "survey_timings"):
            for line in f.data().decode().split("\n")[1:]:
                by_survey[line.split(",")[3]].append(line.split(","))
        for delivery in world.deliveries[pid]:
            rows = [
                r for r in by_survey[delivery.survey_id]
                if delivery.delivered_ms <= int(r[0]) <= (delivery.rows[-1][0] if delivery.rows else 0)
            ]  # fmt: skip
            stamps = [int(r[0]) for r in rows]
            assert stamps == sorted(stamps)
            if os_type == "ANDROID":
                events = [r[2] for r in rows]
                if not delivery.opened:
                    assert rows == []
                    continue
                assert events[0] == "Survey first rendered and displayed to user"
                assert int(rows[0][0]) == delivery.opened_ms
                assert ("User hit submit" in events) == delivery.submitted
                if delivery.submitted:
                    assert events[-1] == "User hit submit"
                    assert int(rows[-1][0]) == delivery.submitted_ms
            else:
                events = [r[8] for r in rows]
                assert events[0] == "notified" and int(rows[0][0]) == delivery.delivered_ms
                if not delivery.opened:
                    assert events == ["notified"]
                    continue
                assert events[1] == "present"
                assert set(events[1:-1]) <= {"present", "changed", "unpresent"}
                assert (events[-1] == "submitted") == delivery.submitted
                if not delivery.submitted:
                    assert events[-1] == "unpresent"
            checked[os_type] += 1
    assert checked["ANDROID"] >= 2 and checked["IOS"] >= 2


def test_survey_answers_agree_with_the_timings(surveys_emu: Emulator) -> None:
    emu = surveys_emu
    world = _world(emu)
    outcomes = {"never opened": 0, "abandoned": 0, "submitted": 0, "skipped answers": 0}
    for pid in _active(emu):
        for delivery in world.deliveries[pid]:
            if not delivery.opened:
                outcomes["never opened"] += 1
                continue
            if not delivery.submitted:
                outcomes["abandoned"] += 1
                continue
            outcomes["submitted"] += 1
            (answers,) = [
                f for f in emu.files(pid, "survey_answers")
                if f.survey_id == delivery.survey_id
                and int(f.storage_path.rsplit("/", 1)[1].split(".")[0]) == delivery.submitted_ms
            ]  # fmt: skip
            final: dict[str, str] = {}
            for _t, values in delivery.rows:
                if values[0] and values[4] and (len(values) == 5 or values[5] == "changed"):
                    final[values[0]] = values[4]
            for line in answers.data().decode().split("\n")[1:]:
                qid, answer = line.split(",")[0], line.split(",")[-1]
                assert answer == final.get(qid, "NO_ANSWER_SELECTED")
                outcomes["skipped answers"] += answer == "NO_ANSWER_SELECTED"
    assert all(outcomes.values()), outcomes


def test_calls_and_texts_while_awake_charging_at_night(emu: Emulator) -> None:
    world = _world(emu)
    android = [pid for pid in _active(emu) if emu.participant_os(pid) == "ANDROID"]
    assert android
    for pid in android:
        life = world.life(world.participants[pid])
        rows = _rows(emu, pid, "calls") + _rows(emu, pid, "texts")
        assert rows
        for row in rows:
            assert not life.asleep(int(row[0])), row
        events = _rows(emu, pid, "power_state")
        plugged = [r for r in events if r[2] == "Power connected"]
        assert plugged
        for row in plugged:
            assert 21 <= datetime.fromtimestamp(int(row[0]) / 1000, NY).hour <= 23
        for row in events:
            if row[2].startswith("Screen"):
                assert not life.asleep(int(row[0]))


def test_render_is_deterministic_and_late_rows_stay_plausible(emu: Emulator) -> None:
    world = _world(emu)
    pid = _active(emu)[0]
    spec = next(f for f in world.files.values() if f.participant == pid and f.stream == "gps")
    assert render(spec, 0, world) == render(spec, 0, world)
    late = render(spec, 2, world).decode().split("\n")[1:]
    assert len(late) > len(render(spec, 0, world).decode().split("\n")) - 1
    rows = [r.split(",") for r in late]
    for a, b in zip(rows, rows[1:], strict=False):
        dt = (int(b[0]) - int(a[0])) / 1000
        assert dt > 0
        d = distance_m((float(a[2]), float(a[3])), (float(b[2]), float(b[3])))
        assert d / dt < 40
