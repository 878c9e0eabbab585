"""Exceptions raised by mano-sync.

The tree::

    ManoSyncError                      root of every mano-sync error
    ├── SyncLocked                     another run holds <out>/.mano-sync.lock
    ├── ConfigError (ValueError)       a jobs file is invalid (names the line and key)
    ├── ManifestError                  the manifest is unreadable or belongs to another study
    ├── PassphraseRequired (ValueError) locking or unlocking was asked for without a passphrase
    └── UnsafeMember (ValueError)      a zip member name would land outside the expected layout

Errors of the layers below (``mano_api.ManoAPIError`` for the server,
``mano_files.ManoFilesError`` for local files) are passed through unchanged when they stop a
whole run; per-file and per-participant problems are collected in the returned summary instead.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = [
    "ConfigError",
    "ManifestError",
    "ManoSyncError",
    "PassphraseRequired",
    "SyncLocked",
    "UnsafeMember",
    "disk_full_error",
    "is_disk_full",
]


class ManoSyncError(Exception):
    """Root of every error raised by mano-sync."""


class SyncLocked(ManoSyncError):
    """Another sync run holds the lock of this output folder.

    Attributes:
        path: The lock file.
        holder: What the lock file says about its holder (pid, host, start time), if readable.
    """

    def __init__(self, path: str, holder: str = "") -> None:
        self.path = path
        self.holder = holder
        who = f" ({holder})" if holder else ""
        super().__init__(
            f"another mano sync is running on this folder{who}; wait for it to finish "
            f"(lock file: {path})"
        )


class ManifestError(ManoSyncError):
    """The manifest cannot be used (corrupt, newer schema, or another study's)."""


class PassphraseRequired(ManoSyncError, ValueError):
    """Locking (or hashing locked files) was requested without a passphrase."""


class UnsafeMember(ManoSyncError, ValueError):
    """A zip member name is not a safe ``<pid>/<stream>/[<survey>/]<file>`` path.

    Attributes:
        name: The offending member name.
        reason: Why it was rejected.
    """

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"refused zip member {name!r}: {reason}")


class ConfigError(ManoSyncError, ValueError):
    """A jobs file is unreadable or invalid.

    Attributes:
        path: The file (``None`` for text given directly).
        line: 1-based line of the mistake, when known.
        key: The key concerned, when there is one.
        reason: The message without the location.
    """

    def __init__(
        self,
        reason: str,
        *,
        path: object = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.reason = reason
        where = str(path) if path is not None else "config"
        if line is not None:
            where += f", line {line}"
        super().__init__(reason if path is None and line is None else f"{where}: {reason}")


def disk_full_error(out: Path) -> Exception:
    """The one error a full disk stops a run with (mano_files.DiskFull, naming the folder)."""
    from mano_files import DiskFull

    return DiskFull(
        f"disk full while syncing into {out}: free some space and run again (files already "
        "saved are kept and recorded; nothing is half-written)",
        errno=errno.ENOSPC,
        path=str(out),
    )


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is "no space left on device" or a quota."""
    current: BaseException | None = exc
    for _ in range(8):
        if current is None:
            return False
        if getattr(current, "errno", None) in _FULL_ERRNOS:
            return True
        if "database or disk is full" in str(current):  # SQLite
            return True
        current = current.__cause__ or current.__context__
    return False


_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
