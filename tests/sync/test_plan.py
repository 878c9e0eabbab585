"""Request window planning."""

from __future__ import annotations

from mano_sync._plan import DAY, HOUR, WindowPlanner, merge_ranges

T0 = 1601856000  # 2020-10-05 00:00 UTC


def _all(planner: WindowPlanner) -> list[tuple[int, int | None]]:
    out = []
    while (w := planner.next()) is not None:
        out.append((w.start, w.end))
    return out


def test_windows_follow_byte_budget_and_cover_everything() -> None:
    daily = {T0 + d * DAY: 100 for d in range(10)}
    p = WindowPlanner(
        [(T0, T0 + 10 * DAY - HOUR)], daily_bytes=daily, budget=300, now=T0 + 100 * DAY, ratio=1.0
    )
    windows = _all(p)
    assert windows[0] == (T0, T0 + 3 * DAY - HOUR)
    # contiguous, non-overlapping, covering the whole range
    for (_s1, e1), (s2, _e2) in zip(windows, windows[1:], strict=False):
        assert e1 is not None and s2 == e1 + HOUR
    assert windows[-1][1] == T0 + 10 * DAY - HOUR


def test_big_day_is_split_into_hours() -> None:
    daily = {T0: 24 * 1000}
    p = WindowPlanner(
        [(T0, T0 + DAY - HOUR)], daily_bytes=daily, budget=4000, now=T0 + 5 * DAY, ratio=1.0
    )
    w = p.next()
    assert w is not None and w.start == T0 and w.end == T0 + 3 * HOUR


def test_open_range_ends_with_open_window() -> None:
    daily = {T0: 10}
    p = WindowPlanner([(T0, None)], daily_bytes=daily, budget=10**9, now=T0 + 3 * DAY, ratio=1.0)
    assert _all(p) == [(T0, None)]


def test_blind_windows_grow_when_small() -> None:
    p = WindowPlanner([(T0, None)], daily_bytes=None, budget=1000, now=T0 + 400 * DAY)
    w1 = p.next()
    assert w1 is not None and w1.end == T0 + 23 * HOUR
    p.feedback(w1, 0)
    w2 = p.next()
    assert w2 is not None and w2.start == T0 + DAY and w2.end == T0 + DAY + 47 * HOUR


def test_merge_ranges() -> None:
    assert merge_ranges(
        [(10 * HOUR, 12 * HOUR), (0, HOUR), (13 * HOUR, None), (2 * HOUR, 3 * HOUR)]
    ) == [
        (0, 3 * HOUR),
        (10 * HOUR, None),
    ]


def test_shorten_replans_the_rest() -> None:
    p = WindowPlanner(
        [(T0, T0 + 2 * DAY - HOUR), (T0 + 5 * DAY, T0 + 6 * DAY - HOUR)],
        daily_bytes={T0: 1},
        budget=10**9,
        now=T0 + 10 * DAY,
        ratio=1.0,
    )
    w = p.next()
    assert w is not None and (w.start, w.end) == (T0, T0 + 2 * DAY - HOUR)
    short = p.shorten(w, T0 + 5 * HOUR)
    assert (short.start, short.end) == (T0, T0 + 5 * HOUR)
    assert _all(p) == [(T0 + 6 * HOUR, T0 + 2 * DAY - HOUR), (T0 + 5 * DAY, T0 + 6 * DAY - HOUR)]


def test_member_cap_counts_only_days_with_data() -> None:
    # 10 busy days, then 60 empty days: windows hold at most ~max_members files
    daily = {T0 + d * DAY: (10 if d < 10 else 0) for d in range(70)}
    p = WindowPlanner(
        [(T0, None)],
        daily_bytes=daily,
        budget=10**9,
        now=T0 + 70 * DAY,
        ratio=1.0,
        max_members=40 * 24 * 4,
    )
    windows = _all(p)
    # 4 busy days per window, the empty tail joins the last window
    assert windows == [
        (T0, T0 + 4 * DAY - HOUR),
        (T0 + 4 * DAY, T0 + 8 * DAY - HOUR),
        (T0 + 8 * DAY, None),
    ]
