"""Measure the emulator's get-data throughput with curl and its RSS while serving.

Not collected by pytest (no ``test_`` prefix). Run from the repository root::

    hatch run python tests/testing/measure_throughput.py --scale 100 --data-dir /tmp/emu-big

The emulator runs as ``python -m mano_testing serve`` in a subprocess; the first download
renders every object into ``--data-dir`` (a one-off), later runs reuse them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.parse


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def curl(url: str, form: dict[str, str]) -> tuple[int, float]:
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
         "--data", urllib.parse.urlencode(form), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    code, size, total = out.stdout.split()
    assert code == "200", code
    return int(size), float(total)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=5)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--scale", type=float, default=100)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mano_testing", "serve", "--participants", str(args.participants),
         "--days", str(args.days), "--scale", str(args.scale), "--data-dir", args.data_dir],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        form = {"access_key": info["access_key"], "secret_key": info["secret_key"],
                "study_id": info["study_id"]}  # fmt: skip
        t0 = time.monotonic()
        size, _ = curl(info["url"] + "/get-data/v2", form)
        print(
            f"warm-up (render into data dir): {size / 1e6:.0f} MB in {time.monotonic() - t0:.1f} s"
        )
        for version in (2, 1):
            for _ in range(args.repeat):
                peak = [0]
                done = threading.Event()

                def sample(done: threading.Event = done, peak: list[int] = peak) -> None:
                    while not done.is_set():
                        peak[0] = max(peak[0], rss_kib(proc.pid))
                        time.sleep(0.05)

                sampler = threading.Thread(target=sample)
                sampler.start()
                size, total = curl(info["url"] + f"/get-data/v{version}", form)
                done.set()
                sampler.join()
                print(
                    f"v{version}: {size / 1e6:.0f} MB in {total:.2f} s = {size / 1e6 / total:.0f} MB/s;"
                    f" emulator peak RSS {peak[0] / 1024:.0f} MiB"
                )
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
