"""Newest-mano file tools: ``decompress_zst_files``, ``compress_to_zst_files``.

They run ``mano_files.decompress_tree`` / ``compress_tree``: every write is atomic and
verified, hidden temp files only, and the sync manifest is kept up to date. Both return the
``mano_files.TreeSummary`` (the newest mano returned None) and do not raise for individual
files that fail: check ``summary.failed``.
"""

from __future__ import annotations

import os

from mano._deprecation import deprecated
from mano.constants import GlobalSettings
from mano_files import TreeSummary, compress_tree, decompress_tree

__all__ = ["GlobalSettings", "compress_to_zst_files", "decompress_zst_files"]

#: What ``compression_level=0`` means: zstd's own default level.
ZSTD_DEFAULT_LEVEL = 3


def _workers() -> int | None:
    count = GlobalSettings.multithreading_count
    return None if count == 0 else count


def decompress_zst_files(
    target_path: str | os.PathLike[str],
    delete_zsts: bool = False,
    overwrite: bool = False,
    *,
    delete_zst: bool | None = None,
) -> TreeSummary:
    """Decompress every ``.zst`` data file under ``target_path`` (or that one file).

    ``delete_zst`` (the README's spelling) and ``delete_zsts`` (the code's) both work.
    """
    deprecated("mano.file_management.decompress_zst_files", "mano_files.decompress_tree")
    if delete_zst is not None:
        delete_zsts = delete_zst
    return decompress_tree(
        target_path, delete_zst=delete_zsts, overwrite=overwrite, workers=_workers()
    )


def compress_to_zst_files(
    target_path: str | os.PathLike[str],
    delete_original: bool = False,
    overwrite: bool = False,
    compression_level: int = 2,
) -> TreeSummary:
    """Compress every plain data file under ``target_path`` (or that one file) to ``.zst``.

    ``compression_level`` 1-22; 0 means zstd's default (3); 2, the default, is the server's.
    """
    deprecated("mano.file_management.compress_to_zst_files", "mano_files.compress_tree")
    level = ZSTD_DEFAULT_LEVEL if compression_level == 0 else compression_level
    return compress_tree(
        target_path,
        level=level,
        delete_original=delete_original,
        overwrite=overwrite,
        workers=_workers(),
    )
