"""A first sync in its own process with a timeline of its stages (for ``profile_sync.py``).

Like ``sync_child.py`` (credentials in MANO_BENCH_KEYRING), but it wraps the engine's stage
functions to record when each ran, on which thread, and prints one JSON line: the spans (seconds
since the interpreter started), the time imports took, and CPU time of this process and of its
helper processes.

Usage: python profile_child.py STUDY_ID OUTPUT_DIR WORKERS
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import functools  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

SPANS: list[tuple[str, str, float, float]] = []


def _wrap(owner: Any, name: str, label: str) -> None:
    real: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(real)
    def timed(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter() - STARTED
        try:
            return real(*args, **kwargs)
        finally:
            SPANS.append((threading.current_thread().name, label, t, time.perf_counter() - STARTED))

    setattr(owner, name, timed)


def main() -> None:
    from mano_auth import Credentials
    from mano_sync import _fetch, _manifest, _run, _sync, sync_study

    imported = time.perf_counter() - STARTED
    import mano_api  # the sync imports it lazily; here its cost is counted apart

    imported_api = time.perf_counter() - STARTED
    _wrap(_fetch.Fetcher, "get", "fetch")
    _wrap(_run, "save_archive", "save")
    _wrap(_sync, "study_statistics", "statistics")
    _wrap(_sync, "save_side_inputs", "side inputs")
    _wrap(_run._Run, "prepare", "local checks")
    _wrap(_run._Run, "sweep", "sweep")
    _wrap(_manifest.Manifest, "close", "manifest close")
    _wrap(mano_api.BeiweClient, "participant_ids", "participants")
    creds = Credentials.from_dict(json.loads(os.environ["MANO_BENCH_KEYRING"]))
    study_id, output, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    begin = time.perf_counter() - STARTED
    summary = sync_study(creds, study_id, output, workers=workers)
    end = time.perf_counter() - STARTED
    me = resource.getrusage(resource.RUSAGE_SELF)
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "files": summary.new,
        "failed": len(summary.failed),
        "imports": imported,
        "imports_api": imported_api - imported,
        "sync": [begin, end],
        "spans": SPANS,
        "cpu_self": [me.ru_utime, me.ru_stime],
        "cpu_helpers": [helpers.ru_utime, helpers.ru_stime],
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
