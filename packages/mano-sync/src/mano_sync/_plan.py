"""Request planning: hour-aligned time windows sized to a byte budget.

A participant's data is fetched as a sequence of get-data requests, each covering whole UTC
hours ``[start, end]``. The size of the next window comes from the server's per-day byte counts
(summary statistics) when they exist, scaled by what the previous requests of this run really
transferred, so each request stays near the byte budget: none is huge, none is silent for long,
and days without data cost nothing. Without statistics the planner adapts from the bytes each
window returned (doubling the window after small answers, shrinking it after big ones).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["HOUR", "DAY", "Window", "WindowPlanner", "merge_ranges"]

HOUR = 3600
DAY = 86400
#: Earliest data the server keeps (rows before 2014-08-01 are dropped).
EARLIEST = 1406851200
_MAX_WINDOW_DAYS = 92


@dataclass(frozen=True, slots=True)
class Window:
    """One request window of whole UTC hours.

    Attributes:
        start: First hour (unix seconds, hour-aligned, inclusive).
        end: Last hour (unix seconds, hour-aligned, inclusive), or ``None`` for "up to now".
        estimate: Expected archive bytes, or ``None`` when unknown.
    """

    start: int
    end: int | None
    estimate: int | None = None

    def contains(self, t: float) -> bool:
        """Whether a time bin falls in this window."""
        return t >= self.start and (self.end is None or t < self.end + HOUR)

    @property
    def stop(self) -> int | None:
        """First second after the window, or ``None`` when open-ended."""
        return None if self.end is None else self.end + HOUR


def floor_hour(t: float) -> int:
    """Start of the UTC hour holding ``t``."""
    return int(math.floor(t / HOUR)) * HOUR


def merge_ranges(ranges: Sequence[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    """Merge overlapping or touching hour ranges ``(start, end_inclusive_or_None)``."""
    out: list[tuple[int, int | None]] = []
    for s, e in sorted(ranges, key=lambda r: r[0]):
        if out:
            ps, pe = out[-1]
            if pe is None:
                continue
            if s <= pe + HOUR:
                out[-1] = (ps, None if e is None else max(pe, e))
                continue
        out.append((s, e))
    return out


class WindowPlanner:
    """Yields the windows of one participant, one at a time, adapting as answers arrive.

    Args:
        ranges: Hour ranges to cover, ``(first_hour, last_hour_or_None)``; ``None`` = up to now.
        daily_bytes: The server's byte count per UTC day start (summary statistics), if known.
        budget: Target archive bytes per request.
        now: Current time (unix seconds).
        ratio: Initial guess of archive bytes per statistics byte.
    """

    def __init__(
        self,
        ranges: Sequence[tuple[int, int | None]],
        *,
        daily_bytes: Mapping[int, int] | None,
        budget: int,
        now: float,
        ratio: float = 0.5,
        stats_through: int | None = None,
        lag_days: int = 7,
        max_members: int = 20000,
    ) -> None:
        """See the class docstring; ``stats_through`` is the last day the server's statistics
        cover for the whole study, ``lag_days`` how long after it data is still expected."""
        self._ranges = merge_ranges(ranges)
        self._daily = dict(daily_bytes or {})
        self._budget = max(1, budget)
        self._now_hour = floor_hour(now)
        self._ratio = ratio
        self._cursor: int | None = self._ranges[0][0] if self._ranges else None
        self._range_index = 0
        self._last_range = 0
        known = [b for b in self._daily.values() if b > 0]
        last = max(self._daily) if self._daily else None
        if stats_through is not None and last is not None:
            last = max(last, stats_through)
        self._last_stat_day = last
        self._lag = lag_days * DAY
        self._avg_day = (sum(known) / len(known)) if known else 0.0
        # Without statistics: observed archive bytes per hour, and the next window length.
        self._observed_per_hour: float | None = None
        self._blind_hours = 24
        # Members per request stay bounded too (memory of the zip directory, save time).
        self._max_members = max_members
        self._files_per_hour = 40.0  # a guess above 19 hourly streams plus surveys

    @property
    def ratio(self) -> float:
        """Archive bytes per statistics byte, as learnt so far."""
        return self._ratio

    @property
    def has_statistics(self) -> bool:
        """Whether per-day byte counts drive the sizing."""
        return bool(self._daily)

    def _day_bytes(self, day: int) -> float:
        if day in self._daily:
            return self._daily[day] * self._ratio
        if self._last_stat_day is not None and self._last_stat_day < day <= (
            self._last_stat_day + self._lag
        ):
            return self._avg_day * self._ratio  # statistics lag behind uploads
        return 0.0

    def _hours_for_budget(self, start: int, limit: int | None) -> tuple[int, float | None]:
        """How many hours from ``start`` fit the budget, and their estimated bytes."""
        active_cap = max(1, int(self._max_members / self._files_per_hour))
        if not self._daily:
            if self._observed_per_hour is not None and self._observed_per_hour > 0:
                hours = int(self._budget / self._observed_per_hour)
                hours = max(1, min(hours, self._blind_hours * 4, _MAX_WINDOW_DAYS * 24))
            else:
                hours = self._blind_hours
            return min(hours, active_cap), None
        total = 0.0
        hours = 0
        active = 0  # hours of days with data: they bound the member count
        t = start
        # No length cap: days the statistics say are empty cost nothing to ask for.
        while (limit is None or t <= limit) and t <= self._now_hour:
            day = t - t % DAY
            per_hour = self._day_bytes(day) / 24
            if hours > 0 and (
                total + per_hour > self._budget or (per_hour > 0 and active >= active_cap)
            ):
                break
            # a whole remaining day fits: step by days for speed
            left_in_day = (day + DAY - t) // HOUR
            day_rest = per_hour * left_in_day
            if total + day_rest <= self._budget and (
                per_hour == 0 or active + left_in_day <= active_cap
            ):
                total += day_rest
                hours += left_in_day
                if per_hour > 0:
                    active += left_in_day
                t += left_in_day * HOUR
                continue
            total += per_hour
            hours += 1
            if per_hour > 0:
                active += 1
            t += HOUR
        return max(1, hours), total

    def next(self) -> Window | None:
        """The next window, or ``None`` when every range is covered."""
        while self._cursor is not None:
            start = self._cursor
            rs, re_ = self._ranges[self._range_index]
            limit = re_
            if limit is not None and start > limit:
                self._advance_range()
                continue
            self._last_range = self._range_index
            hours, estimate = self._hours_for_budget(start, limit)
            end = start + (hours - 1) * HOUR
            open_end = False
            if limit is None and end >= self._now_hour:
                open_end = True
            elif limit is not None and end >= limit:
                end = limit
            if open_end:
                self._cursor = None
                self._range_index = len(self._ranges)
                return Window(start, None, None if estimate is None else int(estimate))
            if limit is not None and end >= limit:
                self._advance_range()
            else:
                self._cursor = end + HOUR
            return Window(start, end, None if estimate is None else int(estimate))
        return None

    def shorten(self, window: Window, end: int) -> Window:
        """Cut the window just handed out to end at hour ``end``; the rest comes next."""
        end = floor_hour(end)
        if end < window.start or (window.end is not None and end >= window.end):
            return window
        # the cut-off part is planned again, from the range the window came from
        self._cursor = end + HOUR
        self._range_index = self._last_range
        return Window(window.start, end, window.estimate)

    def _advance_range(self) -> None:
        self._range_index += 1
        if self._range_index < len(self._ranges):
            self._cursor = self._ranges[self._range_index][0]
        else:
            self._cursor = None

    def feedback(self, window: Window, received: int, members: int = 0) -> None:
        """Learn from what a window really transferred (archive bytes, data members)."""
        stop_ = window.stop if window.stop is not None else self._now_hour + HOUR
        span = max(1, (stop_ - window.start) // HOUR)
        if members:
            self._files_per_hour = max(self._files_per_hour, members / span)
        if window.estimate:
            seen = received / max(1.0, float(window.estimate) / self._ratio)
            # smooth, and keep the ratio in a sane band
            self._ratio = min(4.0, max(0.02, 0.5 * self._ratio + 0.5 * seen))
        if not self._daily:
            stop = window.stop if window.stop is not None else self._now_hour + HOUR
            hours = max(1, (stop - window.start) // HOUR)
            per_hour = received / hours
            if received < self._budget / 4:
                self._blind_hours = min(self._blind_hours * 2, _MAX_WINDOW_DAYS * 24)
            if received > 0:
                prev = self._observed_per_hour
                self._observed_per_hour = per_hour if prev is None else 0.5 * prev + 0.5 * per_hour
