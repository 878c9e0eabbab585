"""Thin wrappers keeping the function names of the newest public mano working."""

from __future__ import annotations

import os

from mano_files._datafile import DEFAULT_LEVEL
from mano_files._tree import TreeSummary, compress_tree, decompress_tree, set_default_workers

__all__ = ["compress_to_zst_files", "decompress_zst_files", "set_threads"]


def set_threads(n: int | None) -> None:
    """Set how many files tree operations process in parallel (None: all cores).

    Raises:
        InvalidOption: ``n`` is not a positive integer.
    """
    set_default_workers(n)


def compress_to_zst_files(
    folder: str | os.PathLike[str],
    compression_level: int = DEFAULT_LEVEL,
    delete_original: bool = False,
    overwrite: bool = False,
) -> TreeSummary:
    """Compress every Beiwe data file under ``folder`` (or one file) to ``.zst``.

    Same as :func:`compress_tree` with mano's argument names; existing ``.zst`` files are
    skipped unless ``overwrite``.
    """
    return compress_tree(
        folder, level=compression_level, delete_original=delete_original, overwrite=overwrite
    )


def decompress_zst_files(
    folder: str | os.PathLike[str],
    delete_zst: bool = False,
    overwrite: bool = False,
    *,
    delete_zsts: bool | None = None,
) -> TreeSummary:
    """Decompress every ``.zst`` data file under ``folder`` (or one file).

    Same as :func:`decompress_tree`; ``delete_zsts`` is accepted as mano's older spelling.
    """
    if delete_zsts is not None:
        delete_zst = delete_zsts
    return decompress_tree(folder, delete_zst=delete_zst, overwrite=overwrite)
