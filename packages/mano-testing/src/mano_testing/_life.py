"""A plausible daily life per synthetic participant: where they are, how they move, when they sleep.

Every participant has a home (where every night is spent), a workplace a few kilometres away and a
park or shop within walking distance. Each local day is a list of legs: stays, drives and walks.
Sensor content (GPS fixes, accelerometer bouts, Wi-Fi scans, calls, charging) is rendered from
these legs, so every stream of one participant tells the same story. Everything derives from the
participant's seed; nothing is stored but a small per-day cache.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DayPlan", "Leg", "Life", "offset_position"]

_M_PER_DEG = 111_320.0
_DAY_MS = 86_400_000


def offset_position(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """``(lat, lon)`` moved ``east_m`` metres east and ``north_m`` metres north."""
    return (
        lat + north_m / _M_PER_DEG,
        lon + east_m / (_M_PER_DEG * math.cos(math.radians(lat))),
    )


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


@dataclass(frozen=True, slots=True)
class Leg:
    """A stay at one place or a trip between two, over ``[start_ms, end_ms)``."""

    start_ms: int
    end_ms: int
    mode: str  # "stay" | "walk" | "drive"
    origin: tuple[float, float]
    dest: tuple[float, float]
    place: str  # the place stayed at, or "trip"

    def position(self, t_ms: int) -> tuple[float, float]:
        """Where the participant is at ``t_ms`` (linear along the trip)."""
        if self.mode == "stay" or self.end_ms <= self.start_ms:
            return self.origin
        f = min(1.0, max(0.0, (t_ms - self.start_ms) / (self.end_ms - self.start_ms)))
        return (
            self.origin[0] + (self.dest[0] - self.origin[0]) * f,
            self.origin[1] + (self.dest[1] - self.origin[1]) * f,
        )


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local day (midnight to midnight in the study's time zone)."""

    day: int
    start_ms: int
    end_ms: int
    wake_ms: int
    sleep_ms: int
    legs: tuple[Leg, ...]
    starts: tuple[int, ...]

    def leg_at(self, t_ms: int) -> Leg:
        """The leg covering ``t_ms`` (which must lie inside the day)."""
        return self.legs[max(0, bisect.bisect_right(self.starts, t_ms) - 1)]

    def awake(self, t0_ms: int, t1_ms: int) -> bool:
        """True when ``[t0_ms, t1_ms)`` overlaps the waking hours."""
        return t0_ms < self.sleep_ms and t1_ms > self.wake_ms

    @property
    def walks(self) -> tuple[Leg, ...]:
        """The legs on foot."""
        return tuple(leg for leg in self.legs if leg.mode == "walk")


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # no tz database: a fixed Eastern offset
        from datetime import timezone

        return timezone(timedelta(hours=-5))


class Life:
    """The daily life of one participant (thread-safe, deterministic per seed)."""

    def __init__(self, seed: int, home: tuple[float, float], tz_name: str, start: datetime):
        rng = random.Random(f"{seed}:places")
        self.seed = seed
        self.home = home
        bearing = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(3_000, 12_000)
        self.work = offset_position(*home, dist * math.cos(bearing), dist * math.sin(bearing))
        bearing = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(600, 1_200)
        self.park = offset_position(*home, dist * math.cos(bearing), dist * math.sin(bearing))
        self.places = {"home": self.home, "work": self.work, "park": self.park}
        self.walk_speed = rng.uniform(1.2, 1.5)  # m/s
        self.cadence = rng.uniform(1.65, 1.95)  # steps per second
        self.altitude = rng.uniform(10, 60)
        self.tz = _zone(tz_name)
        self.first_day: date = start.astimezone(self.tz).date()
        self._plans: dict[int, DayPlan] = {}
        self._lock = threading.Lock()

    # -- days ---------------------------------------------------------------------------------

    def day_of(self, t_ms: int) -> int:
        """Local day index (0 = the local date of the study start) of ``t_ms``."""
        local = datetime.fromtimestamp(t_ms / 1000, self.tz)
        return (local.date() - self.first_day).days

    def _midnight_ms(self, day: int) -> int:
        d = self.first_day + timedelta(days=day)
        return int(datetime(d.year, d.month, d.day, tzinfo=self.tz).timestamp() * 1000)

    def plan(self, day: int) -> DayPlan:
        """The plan of local day ``day`` (cached)."""
        plan = self._plans.get(day)
        if plan is None:
            plan = self._make_plan(day)
            with self._lock:
                if len(self._plans) > 512:
                    self._plans.clear()
                self._plans[day] = plan
        return plan

    def plan_at(self, t_ms: int) -> DayPlan:
        """The plan of the local day holding ``t_ms``."""
        return self.plan(self.day_of(t_ms))

    def _make_plan(self, day: int) -> DayPlan:
        rng = random.Random(f"{self.seed}:day:{day}")
        t0, t1 = self._midnight_ms(day), self._midnight_ms(day + 1)
        hour = 3_600_000

        def at(hours: float) -> int:
            return t0 + int(hours * hour)

        wake = at(rng.uniform(6.3, 7.8))
        sleep = at(rng.uniform(22.4, 23.6))
        weekday = (self.first_day + timedelta(days=day)).weekday() < 5
        works = rng.random() < (0.9 if weekday else 0.15)
        walks = rng.random() < 0.8
        legs: list[Leg] = []
        here = self.home
        now = t0

        def stay(until: int, place: str) -> None:
            nonlocal now
            if until > now:
                legs.append(Leg(now, until, "stay", here, here, place))
                now = until

        def go(dest_name: str, mode: str) -> None:
            nonlocal now, here
            dest = self.places[dest_name]
            speed = self.walk_speed if mode == "walk" else rng.uniform(9.0, 14.0)
            seconds = distance_m(here, dest) / speed
            end = now + int(seconds * 1000)
            legs.append(Leg(now, end, mode, here, dest, "trip"))
            now, here = end, dest

        if works:
            stay(wake + int(rng.uniform(0.6, 1.3) * hour), "home")
            go("work", "drive")
            stay(at(rng.uniform(16.5, 18.0)), "work")
            go("home", "drive")
            if walks:
                stay(now + int(rng.uniform(0.4, 1.5) * hour), "home")
        elif walks:
            stay(at(rng.uniform(10.5, 15.0)), "home")
        if walks:
            go("park", "walk")
            stay(now + int(rng.uniform(10, 40) * 60_000), "park")
            go("home", "walk")
        stay(t1, "home")
        return DayPlan(
            day=day,
            start_ms=t0,
            end_ms=t1,
            wake_ms=wake,
            sleep_ms=sleep,
            legs=tuple(legs),
            starts=tuple(leg.start_ms for leg in legs),
        )

    # -- moments ------------------------------------------------------------------------------

    def leg_at(self, t_ms: int) -> Leg:
        """The leg (stay or trip) at ``t_ms``."""
        return self.plan_at(t_ms).leg_at(t_ms)

    def asleep(self, t_ms: int) -> bool:
        """True between going to bed and waking up."""
        plan = self.plan_at(t_ms)
        return not plan.wake_ms <= t_ms < plan.sleep_ms

    def awake_during(self, t0_ms: int, t1_ms: int) -> bool:
        """True when the hour (or any span inside one local day) overlaps waking hours."""
        return self.plan_at(t0_ms).awake(t0_ms, t1_ms)
