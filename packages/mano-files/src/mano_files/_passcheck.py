"""One passphrase per tree: an encrypted check value kept in the study folder's hidden state.

The first run that locks files in a folder (``mano lock``, ``sync --lock``) writes
``.mano-lock-check``: a known text encrypted in cryptease's format with the run's key. Every
later locking run decrypts it first; a different passphrase does not give back the text and the
run is refused before anything is written, so a tree never ends up locked with two passphrases
by mistake (``force=True`` locks anyway and leaves the check as it was). A tree locked before
the check existed is probed instead: the passphrase must open one of its locked files.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Final

from mano_files._atomic import write_bytes_atomic
from mano_files._crypto import LockKey, derive_key, encryptor_for, read_lock_header
from mano_files._datafile import read_data_file
from mano_files._errors import (
    CorruptFile,
    PassphraseMismatch,
    UnsupportedEncryption,
    WrongPassphrase,
    wrap_os_error,
)

__all__ = ["CHECK_NAME", "check_lock_passphrase", "find_check"]

#: Hidden file in the study folder holding the encrypted check value.
CHECK_NAME: Final = ".mano-lock-check"
_CHECK_TEXT: Final = b"mano lock passphrase check, version 1\n"
_STATE_NAMES: Final = (CHECK_NAME, ".mano-sync.sqlite", ".mano-hashes.sqlite")


def find_check(folder: str | os.PathLike[str]) -> Path:
    """Where the check of ``folder``'s tree is (or goes): the nearest folder, ``folder`` or one
    of its three nearest ancestors, holding mano state; else ``folder`` itself."""
    start = Path(folder).absolute()
    if not start.is_dir():
        start = start.parent
    for candidate in (start, *list(start.parents)[:3]):
        if any((candidate / name).exists() for name in _STATE_NAMES):
            return candidate / CHECK_NAME
    return start / CHECK_NAME


def _mismatch(where: str) -> PassphraseMismatch:
    return PassphraseMismatch(
        f"{where} was locked with a different passphrase: use that one (keyring SECRETS or "
        "MANO_LOCK_PASSPHRASE), or pass --force to lock with this one anyway"
    )


def _opens(check: Path, key: LockKey) -> bool:
    try:
        data = check.read_bytes()
    except OSError as exc:
        raise wrap_os_error(exc, check, "read") from exc
    try:
        fh = io.BytesIO(data)
        decryptor = read_lock_header(fh, key, str(check))
        plain = decryptor.update(fh.read()) + decryptor.finalize()
    except (CorruptFile, UnsupportedEncryption, WrongPassphrase, ValueError):
        raise CorruptFile(
            f"{check} is damaged: delete it and run again (the next lock writes a new one)"
        ) from None
    return plain == _CHECK_TEXT


def check_lock_passphrase(
    folder: str | os.PathLike[str],
    key: LockKey | str,
    *,
    force: bool = False,
    probe: os.PathLike[str] | str | None = None,
    create: bool = True,
) -> Path:
    """Refuse ``key`` unless it is the passphrase ``folder``'s tree is locked with.

    Args:
        folder: The study folder (or a folder or file inside it).
        key: The key a run is about to lock with (or its passphrase).
        force: Skip the comparison (the check is left as it was).
        probe: A locked data file of the tree, tried when there is no check yet.
        create: Write the check when there is none yet.

    Returns:
        The check file's path.

    Raises:
        PassphraseMismatch: another passphrase locked this tree.
        CorruptFile: the check file is damaged.
    """
    lock_key = key if isinstance(key, LockKey) else derive_key(key)
    if not lock_key.key and lock_key._passphrase is not None:
        lock_key = derive_key(lock_key._passphrase)
    check = find_check(folder)
    if os.path.lexists(check):
        if not force and not _opens(check, lock_key):
            raise _mismatch(str(check.parent))
        return check
    if probe is not None and not force:
        try:
            with read_data_file(probe, key=lock_key) as fh:
                fh.read(1 << 16)
        except WrongPassphrase:
            raise _mismatch(str(check.parent)) from None
    if create:
        prefix, encryptor = encryptor_for(lock_key)
        body = prefix + encryptor.update(_CHECK_TEXT) + encryptor.finalize()
        write_bytes_atomic(check, body, overwrite=False)
    return check
