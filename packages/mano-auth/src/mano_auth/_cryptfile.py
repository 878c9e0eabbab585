"""The cryptease 0.2.0 file format, read and written byte-compatibly without its warnings.

Layout (what ``cryptease.encrypt`` and ``crypt.py --encrypt`` write)::

    [4 bytes]  header length N, native unsigned int (struct "I")
    [N bytes]  JSON header: {"cipher": {"function": "AES", "params": {"bits": 256, "mode": "CFB8"}},
                             "kdf": {"function": "PBKDF2HMAC", "params": {"salt": <b64>,
                                     "length": 32, "iterations": 100000, "algorithm": "sha256"}},
                             "iv": <b64>}
    [16 bytes] the IV (the one actually used; the header copy is informational)
    [rest]     AES-256-CFB8 ciphertext of the payload

The key is PBKDF2-HMAC-SHA256(passphrase as UTF-8, salt, 100 000 rounds, 32 bytes). CFB8 has no
authentication: a wrong key decrypts to garbage without error, so callers must check the
plaintext (the keyring code requires a UTF-8 JSON object).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from mano_auth._compat import resolve_cfb8

__all__ = [
    "KDF_ITERATIONS",
    "CryptHeader",
    "HeaderError",
    "decrypt",
    "derive_key",
    "encrypt",
    "parse_header",
]

#: PBKDF2 rounds cryptease 0.2.0 uses (it ignores the header's value when reading).
KDF_ITERATIONS = 100_000
_KEY_LENGTH = 32
_IV_LENGTH = 16
_SALT_LENGTH = 32
_INT = struct.Struct("I")
_INT_SWAPPED = struct.Struct(">I" if struct.pack("I", 1) == struct.pack("<I", 1) else "<I")
# A cryptease header is ~250 bytes; anything far larger is not one.
_MAX_HEADER = 64 * 1024


class HeaderError(ValueError):
    """The bytes do not start with a usable cryptease header (message says why)."""


@dataclass(frozen=True)
class CryptHeader:
    """What the header of a cryptease file says.

    Attributes:
        salt: PBKDF2 salt.
        iterations: PBKDF2 rounds recorded in the header.
        payload_offset: Where the 16-byte IV starts (4 + header length).
    """

    salt: bytes
    iterations: int
    payload_offset: int


def parse_header(data: bytes) -> CryptHeader:
    """Parse the header at the start of ``data``.

    Args:
        data: The file's bytes (at least the header and the IV).

    Returns:
        The parsed header.

    Raises:
        HeaderError: Not a cryptease header, or one this module cannot decrypt.
    """
    if len(data) < _INT.size:
        raise HeaderError("too short to hold a cryptease header")
    raw_header = None
    length = 0
    # cryptease writes the length in native byte order; accept a file from the other order too.
    for fmt in (_INT, _INT_SWAPPED):
        length = fmt.unpack_from(data)[0]
        if 2 <= length <= _MAX_HEADER and len(data) >= _INT.size + length:
            candidate = data[_INT.size : _INT.size + length]
            if candidate[:1] == b"{":
                raw_header = candidate
                break
    if raw_header is None:
        raise HeaderError("no cryptease header (the first 4 bytes are not a plausible length)")
    try:
        header = json.loads(raw_header.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise HeaderError("the cryptease header is not valid JSON") from exc
    if not isinstance(header, dict) or "cipher" not in header or "kdf" not in header:
        raise HeaderError("the header has no 'cipher' and 'kdf' entries")
    cipher, kdf = header["cipher"], header["kdf"]
    try:
        cipher_params = cipher["params"]
        ok = (
            cipher["function"] == "AES"
            and cipher_params["mode"] == "CFB8"
            and int(cipher_params["bits"]) == 256
        )
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise HeaderError(f"unsupported cipher {json.dumps(cipher)[:100]} (expected AES-256 CFB8)")
    function = kdf.get("function") if isinstance(kdf, dict) else None
    if function == "RAND":
        raise HeaderError(
            "the file was encrypted with a random key (cryptease.randkey), not a passphrase"
        )
    try:
        params = kdf["params"]
        if function != "PBKDF2HMAC" or params.get("algorithm", "sha256") != "sha256":
            raise HeaderError(f"unsupported key derivation {function!r} (expected PBKDF2HMAC)")
        if int(params.get("length", _KEY_LENGTH)) != _KEY_LENGTH:
            raise HeaderError("unsupported key length (expected 32 bytes)")
        salt = base64.b64decode(params["salt"], validate=True)
        iterations = int(params.get("iterations", KDF_ITERATIONS))
    except HeaderError:
        raise
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise HeaderError("the header's key-derivation parameters are malformed") from exc
    if not salt or not 1 <= iterations <= 10_000_000:
        raise HeaderError("the header's key-derivation parameters are out of range")
    if len(data) < _INT.size + length + _IV_LENGTH:
        raise HeaderError("the file ends before its 16-byte IV (truncated?)")
    return CryptHeader(salt=salt, iterations=iterations, payload_offset=_INT.size + length)


def derive_key(passphrase: str, salt: bytes, iterations: int = KDF_ITERATIONS) -> bytes:
    """Derive the AES key exactly as ``cryptease.kdf`` does."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=_KEY_LENGTH, salt=salt, iterations=iterations
    )
    return kdf.derive(passphrase.encode("utf-8"))


def decrypt(data: bytes, passphrase: str) -> bytes:
    """Decrypt a whole cryptease file held in memory (keyrings are tiny).

    Args:
        data: The file's bytes.
        passphrase: The passphrase.

    Returns:
        The plaintext. A wrong passphrase yields garbage, not an error.

    Raises:
        HeaderError: ``data`` is not a complete cryptease file.
    """
    header = parse_header(data)
    iv = data[header.payload_offset : header.payload_offset + _IV_LENGTH]
    # cryptease 0.2.0 always derives with 100 000 rounds and writes that in the header; a
    # header naming another count comes from another writer, whose count is the right one.
    key = derive_key(passphrase, header.salt, header.iterations)
    decryptor = Cipher(algorithms.AES(key), resolve_cfb8()(iv)).decryptor()
    return decryptor.update(data[header.payload_offset + _IV_LENGTH :]) + decryptor.finalize()


def encrypt(plain: bytes, passphrase: str, *, salt: bytes | None = None) -> bytes:
    """Encrypt ``plain`` into a complete cryptease file (fresh salt and IV each time).

    Args:
        plain: The payload.
        passphrase: The passphrase.
        salt: Salt to use (tests only); a fresh random one by default.

    Returns:
        The file's bytes, readable by ``cryptease.decrypt`` and ``crypt.py --decrypt``.
    """
    salt = os.urandom(_SALT_LENGTH) if salt is None else salt
    iv = os.urandom(_IV_LENGTH)
    key = derive_key(passphrase, salt)
    # Same keys, order and json.dumps defaults as cryptease.create_header.
    header: dict[str, Any] = {
        "cipher": {"function": "AES", "params": {"bits": 256, "mode": "CFB8"}},
        "kdf": {
            "function": "PBKDF2HMAC",
            "params": {
                "salt": base64.b64encode(salt).decode("utf-8"),
                "length": _KEY_LENGTH,
                "iterations": KDF_ITERATIONS,
                "algorithm": "sha256",
            },
        },
        "iv": base64.b64encode(iv).decode("utf-8"),
    }
    raw_header = json.dumps(header).encode()
    encryptor = Cipher(algorithms.AES(key), resolve_cfb8()(iv)).encryptor()
    body = encryptor.update(plain) + encryptor.finalize()
    return _INT.pack(len(raw_header)) + raw_header + iv + body
