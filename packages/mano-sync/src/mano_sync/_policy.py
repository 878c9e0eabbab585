"""Every tunable of the sync engine in one place: request sizes, re-check windows, batches,
helper processes and how often an optional endpoint is tried.

Retries of one request (connection errors, 5xx, truncated zips) are the client's:
``mano_api.BeiweClient(retries=...)``. Above it the engine's rule is: a request that still
fails ends that participant's run with a reported failure (the next run resumes from what the
manifest recorded), and a failed shared request hands its participants to their own requests.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_RECHECK_DAYS",
    "DEFAULT_REQUEST_BYTES",
    "FILE_HASHES_RETRY_SECONDS",
    "MAX_BATCH",
    "MAX_REGISTRY",
    "MIN_REQUEST_BYTES",
    "SAVERS",
    "SENTINEL_KEY",
    "SENTINEL_VALUE",
]

#: Re-check this many days before a participant's last data on every run (late rewrites of
#: hourly chunks). Late unchunked files (survey answers, audio) are found at any age by the
#: sweep of every run (see :mod:`mano_sync._ask`), and ``recheck_days=None`` (``--recheck
#: all``) re-checks every stream's whole history.
DEFAULT_RECHECK_DAYS = 3.0
#: Target archive bytes per get-data request.
DEFAULT_REQUEST_BYTES = 128 * 1024 * 1024
#: Smallest byte budget per request when a participant's data is split for pipelining.
MIN_REQUEST_BYTES = 2 * 1024 * 1024
#: Archives saved at the same time, each with a helper process (mano_files.WriterProcess)
#: storing its small files on another core while the saving thread decides names and records
#: rows. Two keep a helper busy across archive boundaries (quick study, 2 cores: 1.83 s vs
#: 2.01 s for one). Without helpers one archive is saved at a time: two savers doing the file
#: work in threads only trade the GIL (on 2 cores four took longer than one, with three times
#: its kernel time).
SAVERS = 2
#: Most registry entries sent in one request (about 400 kB of JSON): big registries keep the
#: server silent before its first byte (proxies cut at 60-120 s) and proxies refuse big bodies
#: (nginx's default 1 MiB -> 413).
MAX_REGISTRY = 4000
#: Most participants in one shared request (re-checks, the unchunked sweep).
MAX_BATCH = 10
#: After get-participant-file-hashes failed on a server, do not call it again for this long
#: (the deployed server answers 500 whenever a participant has data; each call fills its log).
FILE_HASHES_RETRY_SECONDS = 7 * 86400
#: Registry entry sent when there is nothing to send, so the server answers with SHA-1
#: registry values (MD5s, and "" for unchunked files, otherwise). It matches no storage path
#: and no content hash.
SENTINEL_KEY = "mano-sync/no-such-file"
SENTINEL_VALUE = "-"
