"""Rows the phones write, rendered from a participant's :class:`~mano_testing._life.Life`.

Each function returns ``(milliseconds into the hour, values after the UTC-time column)`` pairs for
one hourly chunk. Duty-cycled sensors (GPS, accelerometer) are on for ``*_on_duration_seconds``
and off for ``*_off_duration_seconds`` from the study's device settings; a burst's samples depend
only on the burst (not on the hour being rendered), so a burst crossing an hour boundary continues
seamlessly in the next chunk. ``scale`` multiplies the sampling rate inside a burst (1.0 is the
phone's real rate; at least one sample per burst is always kept).
"""

from __future__ import annotations

import base64
import math
import random
from collections.abc import Sequence

from mano_testing._life import Leg, Life, offset_position

__all__ = [
    "ACCEL_G",
    "accelerometer_rows",
    "bluetooth_rows",
    "bursts",
    "call_rows",
    "gps_rows",
    "power_rows",
    "text_rows",
    "wifi_rows",
]

HOUR_MS = 3_600_000
#: Standard gravity: Android reports acceleration in m/s², iOS in units of g.
ACCEL_G = 9.80665
_NOISE_SIZE = 4099
_NOISE_RNG = random.Random("mano-testing:noise")
_NOISE = [_NOISE_RNG.gauss(0.0, 1.0) for _ in range(_NOISE_SIZE)]
del _NOISE_RNG


def _int(settings: dict[str, object], key: str, default: int) -> int:
    value = settings.get(key, default)
    return value if isinstance(value, int) and value > 0 else default


def bursts(hour_ms: int, on_s: int, off_s: int, phase_s: int) -> list[tuple[int, int]]:
    """``(burst index, burst start ms)`` of every burst overlapping ``[hour_ms, hour_ms + 1 h)``.

    Bursts start every ``on_s + off_s`` seconds from ``phase_s`` (the app's timers start when it
    does) and last ``on_s`` seconds.
    """
    period = (on_s + off_s) * 1000
    phase = phase_s * 1000
    first = (hour_ms - phase - on_s * 1000) // period + 1
    out: list[tuple[int, int]] = []
    k = first
    while True:
        start = phase + k * period
        if start >= hour_ms + HOUR_MS:
            return out
        if start + on_s * 1000 > hour_ms:
            out.append((k, start))
        k += 1


def _samples(on_s: int, rate_hz: float, scale: float) -> tuple[int, float]:
    n = max(1, round(on_s * rate_hz * scale))
    return n, on_s * 1000 / n


# -- GPS ---------------------------------------------------------------------------------------


def gps_rows(
    life: Life, settings: dict[str, object], hour_ms: int, scale: float, phase_s: int
) -> list[tuple[int, str]]:
    """About 1 Hz fixes during each GPS-on window; ~4 % of windows get no fix at all."""
    on_s = _int(settings, "gps_on_duration_seconds", 60)
    off_s = _int(settings, "gps_off_duration_seconds", 600)
    n, step = _samples(on_s, 1.0, scale)
    rows: list[tuple[int, str]] = []
    end = hour_ms + HOUR_MS
    found = bursts(hour_ms, on_s, off_s, phase_s)
    for pos, (k, start) in enumerate(found):
        rng = random.Random(f"{life.seed}:gps:{k}")
        if rng.random() < 0.04 and not (pos == 0 and len(found) == 1):
            continue  # no fix during this window (indoors, phone in a bag, GPS off)
        leg = life.leg_at(start)
        moving = leg.mode != "stay"
        accuracy = rng.uniform(5.0, 15.0) if moving else rng.uniform(12.0, 50.0)
        # the error of a fix drifts slowly inside one window: an offset per burst, small steps
        east, north = rng.gauss(0, accuracy / 3), rng.gauss(0, accuracy / 3)
        alt = life.altitude + rng.gauss(0, 4)
        k0 = rng.randrange(_NOISE_SIZE)
        for i in range(n):
            t = start + int(i * step) + k0 % 40 + i  # the fix clock drifts ~1 ms per fix
            if t < hour_ms:
                continue
            if t >= end:
                break
            here = life.leg_at(t) if moving else leg
            lat, lon = here.position(t)
            east += _NOISE[(k0 + 2 * i) % _NOISE_SIZE] * 0.4
            north += _NOISE[(k0 + 2 * i + 1) % _NOISE_SIZE] * 0.4
            lat, lon = offset_position(lat, lon, east, north)
            acc = accuracy + _NOISE[(k0 + 3 * i) % _NOISE_SIZE] * 0.5
            rows.append(
                (t - hour_ms, f"{lat:.7f},{lon:.7f},{alt:.1f},{min(50.0, max(5.0, acc)):.1f}")
            )
    return rows


# -- accelerometer -----------------------------------------------------------------------------

#: Where gravity sits (in g, Android's sign convention: +1 on the axis pointing up) per posture.
_POSTURES: dict[str, tuple[float, float, float]] = {
    "table": (0.0, 0.0, 1.0),  # lying face up
    "pocket": (0.0, 1.0, 0.0),  # upright in a trouser pocket
    "mount": (0.0, 0.707, 0.707),  # in a car holder
}


def _tilt(vec: tuple[float, float, float], rng: random.Random) -> tuple[float, float, float]:
    """``vec`` rotated by a few degrees (unit length kept: a resting phone measures exactly 1 g)."""
    a, b = math.radians(rng.gauss(0, 4)), math.radians(rng.gauss(0, 4))
    x, y, z = vec
    y, z = y * math.cos(a) - z * math.sin(a), y * math.sin(a) + z * math.cos(a)
    x, z = x * math.cos(b) + z * math.sin(b), -x * math.sin(b) + z * math.cos(b)
    return x, y, z


def accelerometer_rows(
    life: Life,
    settings: dict[str, object],
    os_type: str,
    hour_ms: int,
    scale: float,
    phase_s: int,
) -> list[tuple[int, str]]:
    """Samples at the study's frequency during each accelerometer-on window.

    At rest gravity sits on one axis (1 g); on foot the vertical axis oscillates at the walker's
    step cadence (1.6-2 Hz); in a car a little vibration. Android writes m/s² with gravity
    positive on the upward axis, iOS writes g with gravity negative on it.
    """
    on_s = _int(settings, "accelerometer_on_duration_seconds", 10)
    off_s = _int(settings, "accelerometer_off_duration_seconds", 10)
    freq = _int(settings, "accelerometer_frequency", 10)
    n, step = _samples(on_s, freq, scale)
    android = os_type == "ANDROID"
    unit = ACCEL_G if android else -1.0
    accuracy = "3" if android else "unknown"
    rows: list[tuple[int, str]] = []
    end = hour_ms + HOUR_MS
    two_pi = 2 * math.pi
    for k, start in bursts(hour_ms, on_s, off_s, phase_s):
        rng = random.Random(f"{life.seed}:accel:{k}")
        leg: Leg = life.leg_at(start)
        k0 = rng.randrange(_NOISE_SIZE)
        if leg.mode == "walk":
            gx, gy, gz = _tilt(_POSTURES["pocket"], rng)
            amp = rng.uniform(0.35, 0.5)
            cadence = life.cadence + rng.gauss(0, 0.03)
            sway, noise, phase = 0.08, 0.02, rng.uniform(0, two_pi)
        else:
            posture = "mount" if leg.mode == "drive" else rng.choice(("table", "table", "pocket"))
            gx, gy, gz = _tilt(_POSTURES[posture], rng)
            amp, cadence, sway, phase = 0.0, 0.0, 0.0, 0.0
            noise = 0.03 if leg.mode == "drive" else 0.004
        for i in range(n):
            t = start + int(i * step)
            if t < hour_ms:
                continue
            if t >= end:
                break
            x, y, z = gx, gy, gz
            if amp:
                s = (t - start) / 1000.0
                bounce = amp * math.sin(two_pi * cadence * s + phase) + 0.1 * amp * math.sin(
                    2 * two_pi * cadence * s
                )
                x += sway * math.sin(math.pi * cadence * s)
                y += bounce * gy
                z += bounce * gz
            j = (k0 + 3 * i) % (_NOISE_SIZE - 3)
            x = (x + _NOISE[j] * noise) * unit
            y = (y + _NOISE[j + 1] * noise) * unit
            z = (z + _NOISE[j + 2] * noise) * unit
            rows.append((t - hour_ms, f"{accuracy},{x:.6f},{y:.6f},{z:.6f}"))
    return rows


# -- communication, power and radio ------------------------------------------------------------


def _waking_offsets(life: Life, hour_ms: int, rng: random.Random, n: int) -> list[int]:
    """``n`` distinct sorted offsets into the hour, inside the waking part of it."""
    plan = life.plan_at(hour_ms)
    lo = max(0, plan.wake_ms - hour_ms)
    hi = min(HOUR_MS, plan.sleep_ms - hour_ms)
    if hi - lo < n:
        lo, hi = 0, HOUR_MS
    return sorted(rng.sample(range(lo, hi), n))


def call_rows(
    life: Life, contacts: Sequence[str], hour_ms: int, rng: random.Random, n: int
) -> list[tuple[int, str]]:
    """Android call log rows (the server moves the timestamp column to the front)."""
    rows = []
    for off in _waking_offsets(life, hour_ms, rng, n):
        kind = rng.choices(("Incoming Call", "Outgoing Call", "Missed Call"), (4, 4, 2))[0]
        duration = 0 if kind == "Missed Call" else int(rng.lognormvariate(4.5, 1.0)) + 5
        rows.append((off, f"{rng.choice(contacts[:4])},{kind},{duration}"))
    return rows


def text_rows(
    life: Life, contacts: Sequence[str], hour_ms: int, rng: random.Random, n: int
) -> list[tuple[int, str]]:
    """Android SMS/MMS log rows; ``time sent`` is the sender's clock (slightly earlier if received)."""
    rows = []
    for off in _waking_offsets(life, hour_ms, rng, n):
        kind = rng.choices(("sent SMS", "received SMS", "sent MMS", "received MMS"), (8, 8, 1, 1))[
            0
        ]
        length = "MMS" if kind.endswith("MMS") else str(rng.randrange(1, 160))
        sent = hour_ms + off - (rng.randrange(200, 4000) if kind.startswith("received") else 0)
        rows.append((off, f"{rng.choice(contacts)},{kind},{length},{sent}"))
    return rows


def power_rows(
    life: Life, os_type: str, hour_ms: int, rng: random.Random, n: int
) -> list[tuple[int, str]]:
    """Screen/lock events while awake; the charger plugged in at bedtime, unplugged on waking."""
    plan = life.plan_at(hour_ms)
    android = os_type == "ANDROID"
    events: list[tuple[int, str]] = []
    end = hour_ms + HOUR_MS
    battery = 0.2 + 0.75 * ((plan.sleep_ms - hour_ms) / (plan.sleep_ms - plan.wake_ms + 1))
    battery = min(0.98, max(0.05, battery))
    if hour_ms <= plan.sleep_ms < end:
        events.append((plan.sleep_ms - hour_ms, "Power connected" if android else "Charging"))
    if hour_ms <= plan.wake_ms < end:
        events.append((plan.wake_ms - hour_ms, "Power disconnected" if android else "Unplugged"))
    if plan.awake(hour_ms, end):
        lo = max(0, plan.wake_ms - hour_ms)
        hi = min(HOUR_MS, plan.sleep_ms - hour_ms)
        pairs = max(1, n // 2)
        if hi - lo > 4 * pairs * 1000:
            starts = sorted(rng.sample(range(lo, hi - 60_000 if hi - lo > 120_000 else hi), pairs))
            for s in starts:
                on, off = ("Screen turned on", "Screen turned off") if android else (
                    "Unlocked", "Locked")  # fmt: skip
                events.append((s, on))
                events.append((min(HOUR_MS - 1, s + rng.randrange(5_000, 55_000)), off))
    events.sort()
    if android:
        return events
    charging = {"Charging", "Unplugged"}
    return [
        (off, f"{ev},{(1.0 if ev == 'Charging' and battery > 0.97 else battery):.2f}")
        if ev in charging
        else (off, f"{ev},{battery:.2f}")
        for off, ev in events
    ]


def _macs(seed: int, kind: str, place: str, n: int) -> list[str]:
    rng = random.Random(f"{seed}:{kind}:{place}")
    return [_hashed(rng) for _ in range(n)]


def _hashed(rng: random.Random) -> str:
    """A hashed identifier as the apps write them (base64 of a SHA-256: 44 characters)."""
    return base64.urlsafe_b64encode(rng.randbytes(32)).decode()


def wifi_rows(
    life: Life, settings: dict[str, object], hour_ms: int, rng: random.Random, scale: float
) -> list[tuple[int, str]]:
    """One scan every ``wifi_log_frequency_seconds``: the access points of where the phone is."""
    every = _int(settings, "wifi_log_frequency_seconds", 300) * 1000
    keep = max(1, round(1 / scale)) if scale < 1 else 1
    rows: list[tuple[int, str]] = []
    first = -(-hour_ms // every) * every
    for index, t in enumerate(range(first, hour_ms + HOUR_MS, every)):
        if index % keep:
            continue
        leg = life.leg_at(t)
        if leg.mode == "stay":
            aps = _macs(life.seed, "wifi", leg.place, 4 if leg.place == "home" else 7)
            seen = [ap for ap in aps if rng.random() < 0.85]
        else:
            seen = [_hashed(rng) for _ in range(rng.randrange(0, 3))]
        for j, mac in enumerate(seen):
            freq = (2412, 2437, 2462, 5180, 5745)[(j + len(mac)) % 5]
            rows.append((t - hour_ms, f"{mac},{freq},{-rng.randrange(35, 90)}"))
    return rows


def bluetooth_rows(
    life: Life, settings: dict[str, object], hour_ms: int, rng: random.Random, scale: float
) -> list[tuple[int, str]]:
    """Devices seen during each Bluetooth-on window: own devices at home, colleagues' at work."""
    on_s = _int(settings, "bluetooth_on_duration_seconds", 60)
    total = _int(settings, "bluetooth_total_duration_seconds", 300)
    offset_s = settings.get("bluetooth_global_offset_seconds", 0)
    phase = offset_s if isinstance(offset_s, int) else 0
    rows: list[tuple[int, str]] = []
    keep = max(1, round(1 / scale)) if scale < 1 else 1
    for _k, start in bursts(hour_ms, on_s, max(1, total - on_s), phase)[::keep]:
        leg = life.leg_at(start)
        if leg.mode == "stay":
            devices = _macs(life.seed, "bt", leg.place, 2 if leg.place == "home" else 6)
        else:
            devices = [_hashed(rng) for _ in range(rng.randrange(0, 4))]
        for mac in devices:
            t = start + rng.randrange(on_s * 1000)
            if hour_ms <= t < hour_ms + HOUR_MS:
                rows.append((t - hour_ms, f"{mac},{-rng.randrange(40, 95)}"))
    rows.sort()
    return rows
