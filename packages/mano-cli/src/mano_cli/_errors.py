"""Errors of the `mano` command and the ONE place that turns any exception into an exit code.

The tree of errors the CLI raises itself::

    CliError                       exit code carried by the instance (default 1)
     ├── UsageProblem              2   bad option values, conflicting flags, unknown stream …
     │    └── ConfirmationRefused  2   destructive action without a TTY and without -y
     ├── CredentialsProblem        3   no credentials, no passphrase and no TTY to ask for one
     ├── LocalProblem              5   output folder unwritable, not a folder …
     ├── PartialFailure            1   some items failed, the rest were done
     └── Conflicts                 7   forms of a file differ; none of them was touched

Library roots are mapped in :func:`classify`; see :data:`EXIT_CODES` for the documented table.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass

__all__ = [
    "EXIT_AUTH",
    "EXIT_CODES",
    "EXIT_CONFLICTS",
    "EXIT_DISK_FULL",
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_IO",
    "EXIT_LOCKED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_SERVER",
    "EXIT_USAGE",
    "CliError",
    "ConfirmationRefused",
    "Conflicts",
    "CredentialsProblem",
    "Failure",
    "LocalProblem",
    "PartialFailure",
    "UsageProblem",
    "classify",
    "exit_code_epilog",
    "is_disk_full",
]

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_SERVER = 4
EXIT_IO = 5
EXIT_LOCKED = 6
EXIT_CONFLICTS = 7
EXIT_DISK_FULL = 8
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

#: The documented exit codes (shown in `mano --help` and the README).
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_PARTIAL: "partial failure (some files or studies failed; the rest is done)",
    EXIT_USAGE: "usage error (bad option, unknown study/stream/participant, bad date)",
    EXIT_AUTH: "credentials or passphrase problem (keyring, keys, lock passphrase)",
    EXIT_SERVER: "server problem (unreachable, 5xx, maintenance, broken download)",
    EXIT_IO: "local I/O problem (unwritable folder, corrupt file)",
    EXIT_LOCKED: "study folder locked by another running mano",
    EXIT_CONFLICTS: "conflicts (two forms of a file differ; both kept, listed with -v)",
    EXIT_DISK_FULL: "disk full (nothing half-written; free space and rerun)",
    EXIT_INTERNAL: "internal error (a bug: rerun with -vv and report it)",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


def exit_code_epilog() -> str:
    """Return the exit-code table as help-epilog text."""
    lines = ["Exit codes:"]
    lines += [f"{code:>4}  {meaning}" for code, meaning in EXIT_CODES.items()]
    return "\n".join(lines)


class CliError(Exception):
    """An error the CLI reports as one line with a specific exit code."""

    exit_code: int = EXIT_PARTIAL

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageProblem(CliError):
    """The command line asks for something impossible."""

    exit_code = EXIT_USAGE


class ConfirmationRefused(UsageProblem):
    """A destructive action needs -y (no TTY to ask) or the user said no."""


class CredentialsProblem(CliError):
    """Credentials or a passphrase are missing or wrong."""

    exit_code = EXIT_AUTH


class LocalProblem(CliError):
    """A local file or folder cannot be used."""

    exit_code = EXIT_IO


class PartialFailure(CliError):
    """Some of the work failed; the message says how much."""

    exit_code = EXIT_PARTIAL


class Conflicts(CliError):
    """Forms of some files differ in content; they were listed and left as they were."""

    exit_code = EXIT_CONFLICTS


@dataclass(frozen=True)
class Failure:
    """How an exception is reported: exit code and a one-line message."""

    exit_code: int
    message: str


def _one_line(text: str) -> str:
    return " ".join(text.split())


# Library exception classes -> exit code, by class name. The most derived class of the raised
# exception that appears here decides, so a subclass entry overrides its root. Matching by
# name keeps this table import-free (a failing library import must not break error reporting).
_CODES: dict[str, int] = {
    # mano-auth: keyring, passphrases, credentials
    "ManoAuthError": EXIT_AUTH,
    "KeyringPermissionError": EXIT_IO,
    "KeyringCorrupted": EXIT_IO,
    "KeyringExists": EXIT_USAGE,
    "SectionExists": EXIT_USAGE,
    # mano-api: the server and the request
    "ManoAPIError": EXIT_SERVER,
    "ClientConfigurationError": EXIT_AUTH,
    "InvalidArgument": EXIT_USAGE,
    "StudyLookupError": EXIT_USAGE,
    "BadRequest": EXIT_USAGE,
    "AccessDenied": EXIT_AUTH,
    "NotFound": EXIT_USAGE,
    "EndpointNotFound": EXIT_SERVER,
    "RedirectedToHTTPS": EXIT_AUTH,
    "ResponseError": EXIT_SERVER,
    "InvalidResponse": EXIT_SERVER,
    "TransportError": EXIT_SERVER,
    # mano-files: local files
    "ManoFilesError": EXIT_IO,
    "WrongPassphrase": EXIT_AUTH,
    "PassphraseRequired": EXIT_AUTH,
    "KeyRequired": EXIT_AUTH,
    "DiskFull": EXIT_DISK_FULL,
    "InvalidOption": EXIT_USAGE,
    # mano-sync
    "ManoSyncError": EXIT_PARTIAL,
    "SyncLocked": EXIT_LOCKED,
    "ConfigError": EXIT_USAGE,
    "ManifestError": EXIT_IO,
    "UnsafeMember": EXIT_SERVER,
}


def classify(exc: BaseException) -> Failure:
    """Map any exception to its exit code and a one-line message (the only such table).

    Args:
        exc: What was raised while running a command.

    Returns:
        The exit code and a single-line message without a traceback.
    """
    if isinstance(exc, KeyboardInterrupt):
        return Failure(EXIT_INTERRUPTED, "interrupted; partial work was kept, rerun to finish")
    if isinstance(exc, CliError):
        return Failure(exc.exit_code, _one_line(str(exc)))
    message = _one_line(str(exc)) or type(exc).__name__
    if is_disk_full(exc):
        return Failure(EXIT_DISK_FULL, message if "disk" in message else _os_error_message(exc))
    for cls in type(exc).__mro__:
        if not cls.__module__.startswith("mano_"):
            continue
        code = _CODES.get(cls.__name__)
        if code is not None:
            return Failure(code, message)
    if isinstance(exc, OSError):
        full = exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1))
        return Failure(EXIT_DISK_FULL if full else EXIT_IO, _os_error_message(exc))
    return Failure(
        EXIT_INTERNAL,
        f"internal error: {type(exc).__name__}: {message} (rerun with -vv and report this)",
    )


_FULL: frozenset[int] = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` or what caused it is "no space left" (any package's wrapper)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if getattr(current, "errno", None) in _FULL:
            return True
        if "database or disk is full" in str(current):  # SQLite's SQLITE_FULL
            return True
        current = current.__cause__ or current.__context__
        seen += 1
    return False


def _os_error_message(exc: BaseException) -> str:
    what = getattr(exc, "strerror", None) or str(exc)
    filename = getattr(exc, "filename", None)
    where = f": {filename}" if filename else ""
    hint = ""
    code = getattr(exc, "errno", None)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = " (check the folder's permissions or choose another with -o)"
    elif code in _FULL:
        hint = " (free some space and rerun; finished files are kept)"
    return _one_line(f"{what}{where}{hint}")
