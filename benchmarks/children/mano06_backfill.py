"""Back-fill participants with mano 0.6.0 (run by the mano 0.6.0 venv's interpreter).

One participant after the other, as mano 0.6.0 does: ``mano.sync.backfill(Keyring, study_id,
user_id, output_dir, start_date=...)`` walks 5-day windows from ``start_date`` to now with a
3-second sleep between windows. The keyring dict comes as JSON in MANO_BENCH_KEYRING (never on
the command line).

Usage: python mano06_backfill.py STUDY_ID OUTPUT_DIR START_DATE PID [PID ...]
"""

from __future__ import annotations

import json
import os
import sys

import mano.sync  # type: ignore[import-not-found]  # mano 0.6.0, only in its venv


def main() -> None:
    keyring = json.loads(os.environ["MANO_BENCH_KEYRING"])
    study_id, output_dir, start_date, *participants = sys.argv[1:]
    for pid in participants:
        mano.sync.backfill(keyring, study_id, pid, output_dir, start_date=start_date)
    files = written = 0
    for dirpath, _, names in os.walk(output_dir):
        for name in names:
            if not name.startswith("."):
                files += 1
                written += os.path.getsize(os.path.join(dirpath, name))
    sys.stdout.write(json.dumps({"files": files, "bytes_out": written}) + "\n")


if __name__ == "__main__":
    main()
