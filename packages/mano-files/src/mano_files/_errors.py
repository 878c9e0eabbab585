"""The mano-files exception tree.

Every error raised on purpose by mano-files derives from :class:`ManoFilesError`. Builtin
exceptions are mixed in where callers expect them, so ``except ValueError`` and
``except OSError`` keep working::

    ManoFilesError
     ├── InvalidDataPath(ValueError)         not a Beiwe data file path / name
     ├── InvalidOption(ValueError)           bad level, form, stream name or worker count
     ├── CorruptFile(ValueError)             content does not match its form
     │    ├── CorruptZstd                    truncated or damaged zstd data
     │    │    └── InflationLimit            zstd data inflating beyond the configured limits
     │    └── ReadBackMismatch               a new file does not read back as its source
     ├── SourceChanged                       a file changed while it was being read
     ├── WrongPassphrase(ValueError)         a locked file does not open with the passphrase
     │    └── PassphraseMismatch             not the passphrase the tree was locked with
     ├── KeyRequired(ValueError)             a locked file was met without a passphrase
     ├── UnsupportedEncryption(ValueError)   the cryptease header names an unknown cipher or KDF
     ├── ManifestError(ValueError)           a manifest for verify cannot be read
     ├── CryptoUnavailable(RuntimeError)     the installed cryptography has no AES-CFB8
     └── LocalIOError(OSError)               any other local file-system failure
          ├── PermissionDenied(PermissionError)
          ├── DiskFull                       ENOSPC / EDQUOT
          └── TargetExists(FileExistsError)  refused to overwrite an existing file

Messages say what happened and what to do next; they never contain a passphrase or key.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = [
    "CorruptFile",
    "CorruptZstd",
    "CryptoUnavailable",
    "DiskFull",
    "InflationLimit",
    "InvalidDataPath",
    "InvalidOption",
    "KeyRequired",
    "LocalIOError",
    "ManifestError",
    "ManoFilesError",
    "PassphraseMismatch",
    "PermissionDenied",
    "ReadBackMismatch",
    "SourceChanged",
    "TargetExists",
    "UnsupportedEncryption",
    "WrongPassphrase",
]


class ManoFilesError(Exception):
    """Root of every error mano-files raises on purpose."""


class InvalidDataPath(ManoFilesError, ValueError):
    """A path is not ``<pid>/<stream>/[<survey_id>/]<time>.<ext>[.zst][.lock]``."""


class InvalidOption(ManoFilesError, ValueError):
    """An option value is out of range (level, form, stream, workers...)."""


class CorruptFile(ManoFilesError, ValueError):
    """A file's content does not match its form (name suffixes)."""


class CorruptZstd(CorruptFile):
    """Zstandard data is truncated, damaged or fails its checksum."""


class InflationLimit(CorruptZstd):
    """zstd data inflates beyond the configured ratio or size (a decompression bomb)."""


class ReadBackMismatch(CorruptFile):
    """A newly written file does not read back to the content read from its source."""


class SourceChanged(ManoFilesError):
    """A file changed (size, modification time or inode) while it was being read."""


class WrongPassphrase(ManoFilesError, ValueError):
    """A locked file does not decrypt to plausible content with the given passphrase."""


class PassphraseMismatch(WrongPassphrase):
    """The passphrase differs from the one the tree's passphrase check was written with."""


class KeyRequired(ManoFilesError, ValueError):
    """A locked (``.lock``) file was met but no passphrase or key was given."""


class UnsupportedEncryption(ManoFilesError, ValueError):
    """A ``.lock`` file's header names a cipher or key derivation mano cannot handle."""


class ManifestError(ManoFilesError, ValueError):
    """A manifest given to :func:`verify_tree` cannot be read."""


class CryptoUnavailable(ManoFilesError, RuntimeError):
    """The installed ``cryptography`` offers no AES-CFB8 (needed for cryptease's format)."""


class LocalIOError(ManoFilesError, OSError):
    """A local file-system operation failed."""

    def __init__(self, message: str, *, errno: int | None = None, path: str | None = None):
        super().__init__(message)
        self.errno = errno
        self.filename = path

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class PermissionDenied(LocalIOError, PermissionError):
    """The operating system refused access to a file or folder."""


class DiskFull(LocalIOError):
    """No space (or quota) left on the device."""


class TargetExists(LocalIOError, FileExistsError):
    """The output file exists and overwriting was not requested."""


def wrap_os_error(exc: OSError, path: str | os.PathLike[str], action: str) -> LocalIOError:
    """Translate an ``OSError`` into the matching :class:`LocalIOError` subclass.

    Args:
        exc: The error raised by the operating system.
        path: The file or folder involved.
        action: What was being done, e.g. ``"write"``, used in the message.

    Returns:
        The exception to raise (``raise wrap_os_error(...) from exc``).
    """
    if isinstance(exc, LocalIOError):
        return exc
    where = os.fspath(path)
    code = exc.errno
    if code in (_errno.EACCES, _errno.EPERM) or isinstance(exc, PermissionError):
        return PermissionDenied(
            f"permission denied to {action} {where!r}: check the file and folder permissions",
            errno=code,
            path=where,
        )
    if code in (_errno.ENOSPC, getattr(_errno, "EDQUOT", -1)):
        folder, name = os.path.split(where)
        return DiskFull(
            f"disk full in {folder or '.'!r} while trying to {action} {name!r}: free some space "
            "and run again (nothing was half-written)",
            errno=code,
            path=where,
        )
    if code == _errno.EEXIST or isinstance(exc, FileExistsError):
        return TargetExists(
            f"{where!r} already exists: pass overwrite=True (--overwrite) to replace it",
            errno=code,
            path=where,
        )
    reason = exc.strerror or str(exc)
    return LocalIOError(f"could not {action} {where!r}: {reason}", errno=code, path=where)
