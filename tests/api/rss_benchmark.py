"""Peak RSS of the client while downloading a big get-data/v2 archive from the emulator.

Run: ``hatch run python -m tests.api.rss_benchmark [--mb 1024]``. The emulator runs in this
process; the client runs in a child process that reports its own peak RSS (``VmHWM``), so the figure
is the client's alone. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

AUDIO = ["ambient_audio", "audio_recordings"]
# Bytes per audio file at scale 1 (ambient: 16 rows * 512 B; recordings: 16 * 256 B).
_PER_SCALE = {"ambient_audio": 16 * 512, "audio_recordings": 16 * 256}


def _peak_rss_kb() -> int:
    """This process's peak RSS since it started (``VmHWM``).

    ``ru_maxrss`` is not that: Linux carries the high-water mark over ``fork`` and ``exec``, so a
    child started from a big parent (a pytest worker that ran other tests) reports the parent's
    peak. ``VmHWM`` belongs to the address space that ``exec`` created.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child() -> None:
    """Download with mano_api and stream every member through SHA-1; report RSS."""
    from mano_api import BeiweClient

    job = json.loads(sys.stdin.read())
    start = time.monotonic()
    digest = hashlib.sha1()
    members = 0
    with BeiweClient(job["credentials"], timeout=(10, 600)) as client:
        with client.download(
            job["study_id"], streams=AUDIO, version=2, tmp_dir=job["tmp_dir"]
        ) as archive:
            size = archive.size
            for member in archive:
                members += 1
                with archive.open(member) as fh:
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
        received = client.bytes_received
    peak_kb = _peak_rss_kb()
    print(
        json.dumps(
            {
                "archive_bytes": size,
                "bytes_received": received,
                "members": members,
                "seconds": round(time.monotonic() - start, 2),
                "peak_rss_mb": round(peak_kb / 1024, 1),
            }
        )
    )


def run(target_mb: int) -> dict[str, object]:
    """Serve a study with ~``target_mb`` of audio and measure a child client downloading it."""
    from mano_testing import Emulator

    participants, days = 2, 40
    with tempfile.TemporaryDirectory(prefix="mano-rss-") as tmp:
        probe = Emulator(participants=participants, days=days, seed=2, scale=1)
        per_scale = sum(_PER_SCALE[f.stream] for s in AUDIO for f in probe.files(stream=s))
        scale = max(1.0, target_mb * 1024 * 1024 / per_scale)
        with Emulator(
            participants=participants,
            days=days,
            seed=2,
            scale=scale,
            data_dir=Path(tmp, "objects"),
            shuffle=False,
        ) as emu:
            expected_members = sum(len(emu.files(stream=s)) for s in AUDIO)
            job = {
                "credentials": emu.credentials,
                "study_id": emu.study_id,
                "tmp_dir": str(Path(tmp, "dl")),
            }
            env = dict(os.environ)
            out = subprocess.run(
                [sys.executable, "-m", "tests.api.rss_benchmark", "--child"],
                input=json.dumps(job),
                capture_output=True,
                text=True,
                check=True,
                timeout=1800,
                env=env,
                cwd=Path(__file__).resolve().parents[2],
            )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    result["scale"] = round(scale, 1)
    result["expected_members"] = expected_members
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=1024, help="approximate archive size (MiB)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
        return
    print(json.dumps(run(args.mb)))


if __name__ == "__main__":
    main()
