"""cryptease-compatible encryption at rest, with the key derived once per run.

cryptease's file format (what mano 0.6.0 wrote for ``.lock`` files)::

    <uint32 header length, native (little-endian)> <JSON header> <16-byte IV> <ciphertext>

    header = {"cipher": {"function": "AES", "params": {"bits": 256, "mode": "CFB8"}},
              "kdf": {"function": "PBKDF2HMAC",
                      "params": {"salt": <b64>, "length": 32, "iterations": 100000,
                                 "algorithm": "sha256"}},
              "iv": <b64>}

mano 0.6.0 ran PBKDF2 (100,000 rounds) with a fresh salt for every file. mano-files derives one
key per run and writes every file of that run with the same salt and a fresh IV, which cryptease's
``key_from_file`` + ``decrypt`` still read. When reading, keys are cached by salt, so a tree
written by mano-files costs one derivation and a mano 0.6.0 tree one per file.
"""

from __future__ import annotations

import base64
import binascii
import functools
import importlib
import json
import os
import struct
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Final

if TYPE_CHECKING:  # cryptography costs ~20 ms to import; only runs that lock or unlock pay it
    from cryptography.hazmat.primitives.ciphers import CipherContext

from mano_files._errors import (
    CorruptFile,
    CryptoUnavailable,
    InvalidOption,
    UnsupportedEncryption,
    WrongPassphrase,
)

__all__ = [
    "DEFAULT_ITERATIONS",
    "LockKey",
    "cfb8_mode",
    "derive_key",
    "encryptor_for",
    "read_lock_header",
    "write_lock_header",
]

DEFAULT_ITERATIONS: Final = 100_000
_KEY_BYTES: Final = 32
_SALT_BYTES: Final = 32
_IV_BYTES: Final = 16
_MAX_HEADER: Final = 64 * 1024
_LEN = struct.Struct("<I")


# Where CFB8 lives: cryptography >= 47 (decrepit) first, then the deprecated location.
_CFB8_MODULES: tuple[str, ...] = (
    "cryptography.hazmat.decrepit.ciphers.modes",
    "cryptography.hazmat.primitives.ciphers.modes",
)


@functools.cache
def cfb8_mode() -> type[Any]:
    """Return cryptography's CFB8 mode class without triggering its deprecation warning.

    cryptography 47+ moved CFB8 to ``cryptography.hazmat.decrepit.ciphers.modes`` (the old
    location warns and goes away in 49); older releases only have the old location.

    Raises:
        CryptoUnavailable: no known location offers CFB8.
    """
    for name in _CFB8_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mode = getattr(module, "CFB8", None)
        if mode is not None:
            return mode  # type: ignore[no-any-return]
    raise CryptoUnavailable(
        "the installed 'cryptography' package has no AES-CFB8 mode, which cryptease's "
        "format needs: install a cryptography release that ships "
        "cryptography.hazmat.decrepit.ciphers.modes.CFB8"
    )


def _pbkdf2(passphrase: str, salt: bytes, iterations: int) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=_KEY_BYTES, salt=salt, iterations=iterations)
    return kdf.derive(passphrase.encode("utf-8"))


@dataclass(frozen=True, eq=False, repr=False)
class LockKey:
    """A derived AES-256 key plus what is needed to derive the keys of other files.

    Create with :func:`derive_key`. The key and passphrase never appear in ``repr``.

    Attributes:
        salt: The PBKDF2 salt this key was derived with (written into every file it locks).
        iterations: The PBKDF2 round count.
    """

    key: bytes
    salt: bytes
    iterations: int = DEFAULT_ITERATIONS
    _passphrase: str | None = None
    _cache: dict[tuple[bytes, int], bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __repr__(self) -> str:
        salt = base64.b64encode(self.salt).decode("ascii")
        return f"LockKey(salt={salt!r}, iterations={self.iterations}, key=<redacted>)"

    __str__ = __repr__

    @property
    def kdf_metadata(self) -> dict[str, Any]:
        """The ``kdf`` part of the cryptease header for files locked with this key."""
        return {
            "function": "PBKDF2HMAC",
            "params": {
                "salt": base64.b64encode(self.salt).decode("utf-8"),
                "length": _KEY_BYTES,
                "iterations": self.iterations,
                "algorithm": "sha256",
            },
        }

    def for_salt(self, salt: bytes, iterations: int) -> bytes:
        """Return the raw key for a file locked with ``salt`` (derived once, then cached).

        Raises:
            WrongPassphrase: the file used another salt and this key carries no passphrase.
        """
        if salt == self.salt and iterations == self.iterations:
            return self.key
        cache_key = (salt, iterations)
        with self._lock:
            cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        if self._passphrase is None:
            raise WrongPassphrase(
                "this file was locked with a different key (another salt); "
                "give the passphrase instead of a derived key"
            )
        derived = _pbkdf2(self._passphrase, salt, iterations)
        with self._lock:
            self._cache[cache_key] = derived
        return derived


def derive_key(
    passphrase: str, *, salt: bytes | None = None, iterations: int = DEFAULT_ITERATIONS
) -> LockKey:
    """Derive a lock key from a passphrase (PBKDF2-HMAC-SHA256, cryptease's parameters).

    Call once per run and pass the result to every write/read; unlocking files that carry other
    salts derives (and caches) their keys from the passphrase kept inside the key object.

    Args:
        passphrase: The passphrase (non-empty).
        salt: The salt to use; a fresh random 32-byte salt when omitted.
        iterations: PBKDF2 rounds (cryptease uses 100,000).

    Returns:
        The derived :class:`LockKey`.

    Raises:
        InvalidOption: the passphrase is empty or not a string, or iterations < 1.
    """
    if not isinstance(passphrase, str) or not passphrase:
        raise InvalidOption("the passphrase must be a non-empty string")
    if iterations < 1:
        raise InvalidOption("iterations must be at least 1")
    if salt is None:
        salt = os.urandom(_SALT_BYTES)
    return LockKey(
        key=_pbkdf2(passphrase, salt, iterations),
        salt=bytes(salt),
        iterations=iterations,
        _passphrase=passphrase,
    )


def encryptor_for(key: LockKey) -> tuple[bytes, CipherContext]:
    """Start encrypting one file: return its header (incl. IV) and the cipher context."""
    iv = os.urandom(_IV_BYTES)
    header = {
        "cipher": {"function": "AES", "params": {"bits": 256, "mode": "CFB8"}},
        "kdf": key.kdf_metadata,
        "iv": base64.b64encode(iv).decode("utf-8"),
    }
    blob = json.dumps(header).encode("utf-8")
    prefix = _LEN.pack(len(blob)) + blob + iv
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    return prefix, Cipher(algorithms.AES(key.key), cfb8_mode()(iv)).encryptor()


def write_lock_header(fh: BinaryIO, key: LockKey) -> CipherContext:
    """Write a cryptease header and IV to ``fh``; return the encryptor for the payload."""
    prefix, ctx = encryptor_for(key)
    fh.write(prefix)
    return ctx


def _read_exact(fh: BinaryIO, n: int) -> bytes:
    data = fh.read(n)
    while len(data) < n:
        more = fh.read(n - len(data))
        if not more:
            break
        data += more
    return data


def read_lock_header(fh: BinaryIO, key: LockKey | str | None, where: str) -> CipherContext:
    """Read a cryptease header + IV from ``fh`` and return the payload decryptor.

    Args:
        fh: Positioned at the start of the locked file.
        key: A :class:`LockKey` or passphrase.
        where: The file's name for messages.

    Raises:
        CorruptFile: not a cryptease file (bad length or JSON).
        UnsupportedEncryption: unknown cipher or KDF.
        WrongPassphrase: see :meth:`LockKey.for_salt`.
    """
    raw_len = _read_exact(fh, 4)
    if len(raw_len) < 4:
        raise CorruptFile(f"{where}: too short to be a locked (cryptease) file")
    (length,) = _LEN.unpack(raw_len)
    if not 0 < length <= _MAX_HEADER:
        # cryptease packs the length in native order; accept a big-endian writer too.
        (length,) = struct.unpack(">I", raw_len)
        if not 0 < length <= _MAX_HEADER:
            raise CorruptFile(f"{where}: not a locked (cryptease) file: bad header length")
    blob = _read_exact(fh, length)
    try:
        header = json.loads(blob.decode("utf-8"))
        cipher = header["cipher"]
        kdf = header["kdf"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise CorruptFile(f"{where}: not a locked (cryptease) file: unreadable header") from exc
    try:
        cparams = cipher["params"]
        ok_cipher = (
            cipher["function"] == "AES" and cparams["bits"] == 256 and cparams["mode"] == "CFB8"
        )
        kparams = kdf["params"]
        ok_kdf = (
            kdf["function"] == "PBKDF2HMAC"
            and kparams.get("algorithm", "sha256") == "sha256"
            and kparams.get("length", _KEY_BYTES) == _KEY_BYTES
        )
        salt = base64.b64decode(kparams["salt"], validate=True) if ok_kdf else b""
        iterations = int(kparams["iterations"]) if ok_kdf else 0
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise CorruptFile(f"{where}: locked file header is damaged") from exc
    if not ok_cipher or not ok_kdf:
        raise UnsupportedEncryption(
            f"{where}: locked with {cipher.get('function')}/{kdf.get('function')}; mano only "
            "opens cryptease AES-256-CFB8 files with a PBKDF2HMAC-SHA256 passphrase key"
        )
    iv = _read_exact(fh, _IV_BYTES)
    if len(iv) < _IV_BYTES:
        raise CorruptFile(f"{where}: locked file ends inside its header")
    if key is None:  # pragma: no cover - callers check first
        raise WrongPassphrase(f"{where}: a passphrase is needed")
    lock_key = derive_key(key, salt=salt, iterations=iterations) if isinstance(key, str) else key
    raw_key = lock_key.for_salt(salt, iterations)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    return Cipher(algorithms.AES(raw_key), cfb8_mode()(iv)).decryptor()
