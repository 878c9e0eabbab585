"""Shared values and helpers for the mano-auth tests."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest

# Distinctive values so a leak test can search every captured string for them.
ACCESS_KEY = "AcCeSs" + "Zq7/Xw3+" * 7 + "Kk"  # 64 chars, alphabet of docs/beiwe-server.md#auth
SECRET_KEY = "SeCrEt" + "Pm4+Tn8/" * 7 + "Qq"  # 64 chars
PASSPHRASE = "correct horse battery staple 7"
STUDY_PASSPHRASE = "study-data-passphrase-Xyzzy"
WEB_PASSWORD = "website-password-Plugh42"
SECRET_STRINGS = (SECRET_KEY, PASSPHRASE, STUDY_PASSPHRASE, WEB_PASSWORD)

SECTION: dict[str, Any] = {
    "URL": "https://studies.beiwe.org",
    "ACCESS_KEY": ACCESS_KEY,
    "SECRET_KEY": SECRET_KEY,
    "USERNAME": "alice",
    "PASSWORD": WEB_PASSWORD,
    "SECRETS": {"Study A": STUDY_PASSPHRASE},
}
KEYRING: dict[str, Any] = {
    "beiwe": SECTION,
    "local": {"URL": "http://127.0.0.1:8000/", "ACCESS_KEY": "abc", "SECRET_KEY": "def+/"},
}


def cryptease_encrypt(path: Path, payload: bytes, passphrase: str) -> None:
    """Encrypt exactly as cryptease 0.2.0's ``crypt.py --encrypt -o path`` does."""
    import io

    import cryptease as crypt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptease's own CFB8 deprecation warning
        key = crypt.kdf(passphrase)
        crypt.encrypt(io.BytesIO(payload), key, filename=str(path))


def cryptease_decrypt(path: Path, passphrase: str) -> bytes:
    """Decrypt exactly as mano 0.6.0 reads a keyring."""
    import cryptease as crypt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with path.open("rb") as fo:
            key = crypt.key_from_file(fo, passphrase)
            return b"".join(crypt.decrypt(fo, key))


@pytest.fixture
def keyring_file(tmp_path: Path) -> Path:
    """A keyring written by cryptease itself, passphrase PASSPHRASE."""
    path = tmp_path / "nrg-keyring.enc"
    cryptease_encrypt(path, json.dumps(KEYRING).encode(), PASSPHRASE)
    return path
