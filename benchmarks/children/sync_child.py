"""Sync a study with mano-sync in its own process, so its peak RSS is measured alone.

Credentials come as a keyring-section JSON dict in MANO_BENCH_KEYRING (never on the command
line). Prints one JSON line with the summary.

Usage: python sync_child.py STUDY_ID OUTPUT_DIR WORKERS [--keep-compressed]
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from mano_auth import Credentials
from mano_sync import sync_study


def _count(value: Any) -> Any:
    """Summary fields may be counts or lists of names; report counts."""
    if isinstance(value, int | float) or value is None:
        return value
    try:
        return len(value)
    except TypeError:
        return str(value)


def main() -> None:
    creds = Credentials.from_dict(json.loads(os.environ["MANO_BENCH_KEYRING"]))
    study_id, output, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keep = "--keep-compressed" in sys.argv[4:]
    summary = sync_study(creds, study_id, output, workers=workers, keep_compressed=keep)
    fields = (
        "new",
        "updated",
        "unchanged",
        "failed",
        "bytes_downloaded",
        "files_downloaded",
        "requests",
        "version",
        "elapsed",
    )
    result = {name: _count(getattr(summary, name, None)) for name in fields}
    failed = getattr(summary, "failed", None) or []
    result["failed_first"] = str(failed[0])[:300] if failed else None
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
