"""One DeprecationWarning per legacy entry point and process, naming what replaces it."""

from __future__ import annotations

import sys
import threading
import warnings

__all__ = ["deprecated", "reset"]

_seen: set[str] = set()
_lock = threading.Lock()


def _stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first frame outside ``mano``.

    The warning then points at the user's line (and is shown by Python's default filters when
    that line is in ``__main__``), never at this package.
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "mano" and not module.startswith("mano."):
            break
        frame = frame.f_back
        level += 1
    return level


def deprecated(entry: str, replacement: str) -> None:
    """Warn, once per process, that ``entry`` is a legacy call and ``replacement`` its successor.

    Args:
        entry: The legacy call as users write it (``mano.keyring``).
        replacement: The call to use instead, with the difference that matters.
    """
    with _lock:
        if entry in _seen:
            return
        _seen.add(entry)
    warnings.warn(
        f"{entry} is the mano 0.6.0 / newest-mano API kept for existing scripts; "
        f"use {replacement} (see docs/migrating.md)",
        DeprecationWarning,
        stacklevel=_stacklevel(),
    )


def reset() -> None:
    """Forget which warnings were emitted (tests use this to see them again)."""
    with _lock:
        _seen.clear()
