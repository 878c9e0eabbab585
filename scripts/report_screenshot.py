"""Render `mano report --html` for an emulated study in headless Chromium and save a PNG.

Usage (from the repository root)::

    hatch run python scripts/report_screenshot.py [--out docs/report-screenshot.png] [--keep DIR]

The study comes from the mano-testing emulator (its synthetic files written into a tree as
`mano sync` would), with deliberate holes punched in: a participant whose phone was off for two
days, one whose GPS stopped, one who dropped out early. Needs the Debian ``chromium`` package
(not available in CI, hence a script and not a test). Exits non-zero when Chromium reports a
console error or the screenshot is missing.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mano_files import coverage

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]


def _say(message: str) -> None:
    sys.stdout.write(message + "\n")


def build_from_emulator(root: Path, participants: int, days: int) -> tuple[bool, object]:
    """Write the emulator's files into ``root``; returns (done, the study's settings)."""
    try:
        from mano_api import BeiweClient
        from mano_testing import Emulator
    except ImportError:
        return False, None
    with Emulator(participants=participants, days=days, seed=3) as emu:
        for f in emu.files():
            path = root / f.zip_name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f.data())
        with BeiweClient(emu.credentials) as client:
            settings = client.study_settings(emu.study_id)
    return True, settings


def build_synthetic(root: Path, participants: int, days: int) -> None:
    """A stand-in study with the emulator's stream mix, for when mano-testing is absent."""
    rng = random.Random(3)
    start = datetime(2026, 3, 1, tzinfo=UTC)
    android = ("accelerometer", "gps", "wifi", "bluetooth", "power_state", "calls", "texts")
    ios = ("accelerometer", "gps", "devicemotion", "power_state", "reachability", "ios_log")
    chance = {"calls": 0.15, "texts": 0.25, "reachability": 0.3, "ios_log": 0.5, "power_state": 0.6}
    for i in range(participants):
        pid = "".join(rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(8))
        streams = android if i % 3 else ios
        for hour in range(days * 24):
            when = start + timedelta(hours=hour)
            for stream in streams:
                if rng.random() < chance.get(stream, 0.92):
                    folder = root / pid / stream
                    folder.mkdir(parents=True, exist_ok=True)
                    name = when.strftime("%Y-%m-%d %H_%M_%S") + "+00_00.csv.zst"
                    (folder / name).write_bytes(b"x" * rng.randint(200, 4000))


def punch_holes(root: Path) -> list[str]:
    """Delete data to create known gaps; returns a description of each hole."""
    people = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    notes: list[str] = []
    days = sorted({f.name[:10] for f in people[0].rglob("*") if f.is_file()})
    if len(people) >= 1 and len(days) > 6:
        off = set(days[3:5])
        for f in people[0].rglob("*"):
            if f.is_file() and f.name[:10] in off:
                f.unlink()
        notes.append(f"{people[0].name}: phone off {days[3]}..{days[4]}")
    if len(people) >= 2:
        gone = 0
        for f in (people[1] / "gps").rglob("*") if (people[1] / "gps").is_dir() else []:
            if f.is_file() and f.name[:10] >= days[len(days) // 2]:
                f.unlink()
                gone += 1
        notes.append(f"{people[1].name}: GPS stops at {days[len(days) // 2]} ({gone} files)")
    if len(people) >= 3:
        cut = days[-len(days) // 3]
        for f in people[2].rglob("*"):
            if f.is_file() and f.name[:10] >= cut:
                f.unlink()
        notes.append(f"{people[2].name}: drops out on {cut}")
    return notes


def screenshot(html: Path, png: Path, *, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            chromium,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            html.resolve().as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        console = [
            line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line
        ]
        dom = subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--dump-dom",
                html.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if proc.returncode != 0 or not png.is_file():
        sys.exit(f"chromium failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    if console:
        sys.exit("console errors:\n" + "\n".join(console))
    if "<svg" not in dom.stdout or "<rect" not in dom.stdout:
        sys.exit("the rendered DOM has no heatmap")
    _say(f"chromium: no console errors; DOM has {dom.stdout.count('<rect')} heatmap cells")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/report-screenshot.png"))
    parser.add_argument("--keep", type=Path, help="Keep the tree and HTML in this folder.")
    parser.add_argument("--participants", type=int, default=8)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="mano-report-"))
    root = work / "study"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    source = "emulator"
    done, settings = build_from_emulator(root, args.participants, args.days)
    if not done:
        source = "synthetic (mano_testing.Emulator not available)"
        build_synthetic(root, args.participants, args.days)
    for note in punch_holes(root):
        _say(f"hole: {note}")
    report = coverage(root, settings=settings)
    html = work / "report.html"
    report.to_html(html, title="Data coverage: emulated study")
    _say(f"study from {source}: {report.files} files, {len(report.participants)} participants")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    screenshot(html, args.out, width=args.width, height=args.height)
    _say(f"wrote {args.out} ({args.out.stat().st_size:,} bytes); HTML at {html}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
