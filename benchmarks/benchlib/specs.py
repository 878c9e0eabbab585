"""Every row of the table: its title, its goal, and where the goal is written down.

One place, so a row keeps its title and goal even when its group fails before measuring.
"""

from __future__ import annotations

from typing import Final, TypedDict


class RowSpec(TypedDict):
    """Fixed description of one row."""

    id: str
    title: str
    goal: str
    source: str


CONTEXT: Final = "— (context, no goal)"
#: Where every goal is written down and explained.
GOALS: Final = "benchmarks/README.md#rows-references-and-goals"

_SPECS: Final[tuple[tuple[str, str, str, str], ...]] = (
    # group "sync"
    ("sync_curl", "first sync of an emulated study (v2) vs curl of the same bytes",
     "≥ 0.7× curl", GOALS),
    ("sync_zst_curl", "first sync keeping the .zst files (`keep_compressed=True`) vs curl",
     CONTEXT, GOALS),
    ("sync_limit", "first sync vs its physical limit: max(curl of the same v2 bytes, writing the "
     "same plain files from memory)", "≥ 0.4× the limit", GOALS),
    ("sync_pipeline", "first sync vs a shell pipeline doing the same job "
     "(curl → unzip → `zstd -d -r --rm`)", "≥ 1.5× the pipeline", GOALS),
    ("sync_floor", "first sync vs only writing the same plain files (temp file + rename, data "
     "already in memory)", CONTEXT, GOALS),
    ("sync_mano06", "first sync vs mano 0.6.0 `backfill` of the same participants",
     "≥ 20× mano 0.6.0", GOALS),
    ("sync_rss", "peak RSS of the sync process", "≤ 200 MB", GOALS),
    # group "download"
    ("download_rss", "one ~1 GB get-data v2 download: client peak RSS", "< 150 MB", GOALS),
    # group "resync"
    ("resync", "no-op re-sync vs first sync (time)", "≤ 5% of first sync (≥ 50k files in full)",
     GOALS),
    # group "compress"
    ("compress", "compress tree (level 2) vs `zstd -r -2`", "≥ 1.2× zstd -r", GOALS),
    ("decompress", "decompress tree vs `zstd -d -r`", "≥ 1.2× zstd -d -r", GOALS),
    ("compress_parallel", "compress tree vs `zstd -2` on every core (xargs -P)", CONTEXT,
     GOALS),
    ("compress_small", "small-file tree: compress (level 2) vs `zstd -r -2 -T<cores>`",
     "≥ 1.2× zstd -r", GOALS),
    ("decompress_small", "small-file tree: decompress vs `zstd -d -r -T<cores>`",
     "≥ 1.2× zstd -d -r", GOALS),
    # group "lock"
    ("lock_openssl", "lock tree (zstd + AES-256-CFB8) vs `openssl enc -aes-256-cfb8` per file, "
     "every core", CONTEXT, GOALS),
    ("lock_mano06", "lock small files vs mano 0.6.0 (`crypt.kdf` + `crypt.encrypt` per file)",
     "≥ 5× mano 0.6.0", GOALS),
    ("lock_mano06_small", "small-file tree: lock vs mano 0.6.0 (`crypt.kdf` + `crypt.encrypt` "
     "per file)", "≥ 5× mano 0.6.0", GOALS),
    # group "hash"
    ("hash_cold", "hash tree, empty cache (cold) vs `sha1sum`", "≥ 0.7× sha1sum", GOALS),
    ("hash_warm", "hash tree, warm cache vs cold", "≥ 20× cold", GOALS),
    ("hash_cold_small", "small-file tree: hash, empty cache (cold) vs `sha1sum`",
     "≥ 0.7× sha1sum", GOALS),
    ("hash_warm_small", "small-file tree: hash, warm cache vs cold", "≥ 20× cold", GOALS),
    # group "startup"
    # group "forest"
    ("forest_check", "Forest (jasmine, willow, oak, sycamore) on a 3 × 3-day emulated study "
     "synced by mano: `hatch run forest:check`", "passes", GOALS),
    ("startup_version", "CLI start-up: `mano --version` vs `python -c 'import typer'`",
     "≤ 1.5× import typer", GOALS),
    ("startup_decompress", "CLI start-up: `mano -y decompress EMPTY_FOLDER` vs "
     "`python -c 'import typer'`", "≤ 1.5× import typer", GOALS),
    # group "report"
    ("report", "report (`mano_files.coverage`) vs `find -printf '%s %p'` listing",
     "seconds at 100k files (≤ 10 s per 100k files)", GOALS),
)  # fmt: skip

SPECS: Final[dict[str, RowSpec]] = {
    row_id: RowSpec(id=row_id, title=title, goal=goal, source=source)
    for row_id, title, goal, source in _SPECS
}

GROUP_ROWS: Final[dict[str, tuple[str, ...]]] = {
    "sync": (
        "sync_curl",
        "sync_zst_curl",
        "sync_limit",
        "sync_pipeline",
        "sync_floor",
        "sync_mano06",
        "sync_rss",
    ),
    "download": ("download_rss",),
    "forest": ("forest_check",),
    "resync": ("resync",),
    "compress": (
        "compress",
        "decompress",
        "compress_parallel",
        "compress_small",
        "decompress_small",
    ),
    "lock": ("lock_openssl", "lock_mano06", "lock_mano06_small"),
    "hash": ("hash_cold", "hash_warm", "hash_cold_small", "hash_warm_small"),
    "startup": ("startup_version", "startup_decompress"),
    "report": ("report",),
}


def spec(row_id: str) -> RowSpec:
    """The fixed description of a row (``KeyError`` for an unknown id)."""
    return SPECS[row_id]
