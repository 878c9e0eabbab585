"""The cryptease file format details, and the public surface of mano_auth."""

from __future__ import annotations

import json
import os
import struct
import sys
import time
from pathlib import Path

import pytest

import mano_auth
from mano_auth import (
    Credentials,
    Keyring,
    WrongPassphrase,
    _cryptfile,
    add_section,
    load_keyring,
    read_keyring,
)
from tests.auth.conftest import KEYRING, PASSPHRASE, SECTION, cryptease_decrypt


def test_round_trip_and_fresh_salt_and_iv() -> None:
    one = _cryptfile.encrypt(b'{"a": 1}', PASSPHRASE)
    two = _cryptfile.encrypt(b'{"a": 1}', PASSPHRASE)
    assert one != two  # new salt and IV each time
    assert _cryptfile.decrypt(one, PASSPHRASE) == _cryptfile.decrypt(two, PASSPHRASE) == b'{"a": 1}'


def test_other_byte_order_header_is_read(tmp_path: Path) -> None:
    data = _cryptfile.encrypt(json.dumps(KEYRING).encode(), PASSPHRASE)
    (length,) = struct.unpack("I", data[:4])
    swapped_order = ">I" if sys.byteorder == "little" else "<I"
    path = tmp_path / "k.enc"
    path.write_bytes(struct.pack(swapped_order, length) + data[4:])
    assert load_keyring("beiwe", path, password=PASSPHRASE).url == "https://studies.beiwe.org"


def test_header_iterations_are_honoured(tmp_path: Path) -> None:
    """A writer recording another PBKDF2 count is read with that count."""
    data = _cryptfile.encrypt(b"{}", PASSPHRASE, salt=b"x" * 32)
    (length,) = struct.unpack("I", data[:4])
    header = json.loads(data[4 : 4 + length])
    header["kdf"]["params"]["iterations"] = 1000
    raw_header = json.dumps(header).encode()
    iv = data[4 + length : 4 + length + 16]
    key = _cryptfile.derive_key(PASSPHRASE, b"x" * 32, 1000)
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    encryptor = Cipher(algorithms.AES(key), mano_auth.resolve_cfb8()(iv)).encryptor()
    body = encryptor.update(json.dumps(KEYRING).encode()) + encryptor.finalize()
    path = tmp_path / "k.enc"
    path.write_bytes(struct.pack("I", len(raw_header)) + raw_header + iv + body)
    assert read_keyring(path, password=PASSPHRASE).names == ["beiwe", "local"]
    with pytest.raises(WrongPassphrase):
        read_keyring(path, password="other")


@pytest.mark.parametrize(
    ("cipher", "kdf", "reason"),
    [
        ({"function": "AES", "params": {"bits": 128, "mode": "CFB8"}}, None, "unsupported cipher"),
        ({"function": "AES", "params": {"bits": 256, "mode": "GCM"}}, None, "unsupported cipher"),
        (
            None,
            {"function": "SCRYPT", "params": {"salt": "eA=="}},
            "unsupported key derivation 'SCRYPT'",
        ),
        (
            None,
            {"function": "PBKDF2HMAC", "params": {"salt": "%%%"}},
            "key-derivation parameters are malformed",
        ),
        (
            None,
            {"function": "PBKDF2HMAC", "params": {"salt": "eA==", "iterations": 0}},
            "out of range",
        ),
    ],
)
def test_unsupported_headers(tmp_path: Path, cipher: object, kdf: object, reason: str) -> None:
    header = {
        "cipher": cipher or {"function": "AES", "params": {"bits": 256, "mode": "CFB8"}},
        "kdf": kdf
        or {
            "function": "PBKDF2HMAC",
            "params": {"salt": "eA==", "length": 32, "iterations": 100000, "algorithm": "sha256"},
        },
        "iv": "",
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "k.enc"
    path.write_bytes(struct.pack("I", len(raw)) + raw + bytes(40))
    with pytest.raises(mano_auth.NotACrypteaseFile, match=reason):
        read_keyring(path, password=PASSPHRASE)


def test_in_memory_keyring_accepts_credentials() -> None:
    keyring = Keyring({"a": Credentials.from_dict(SECTION), "b": KEYRING["local"]})
    assert keyring.path is None and keyring.names == ["a", "b"]
    assert keyring["a"].name == "a" and keyring["b"].url == "http://127.0.0.1:8000"
    with pytest.raises(
        mano_auth.SectionNotFound, match=r"^no section 'c' in the keyring \(sections: 'a', 'b'\)"
    ):
        keyring["c"]


def test_stale_temp_files_are_cleaned_fresh_ones_kept(keyring_file: Path) -> None:
    folder = keyring_file.parent
    stale = folder / f".{keyring_file.name}.abc123.mano-tmp"
    fresh = folder / f".{keyring_file.name}.def456.mano-tmp"
    unrelated = folder / ".other.abc.mano-tmp"
    for p in (stale, fresh, unrelated):
        p.write_bytes(b"x")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(unrelated, (old, old))
    add_section("x", SECTION, keyring_file, password=PASSPHRASE)
    assert not stale.exists() and fresh.exists() and unrelated.exists()
    assert "x" in json.loads(cryptease_decrypt(keyring_file, PASSPHRASE))


def test_architecture_names_are_exported() -> None:
    contract = {
        "Credentials",
        "Keyring",
        "load_keyring",
        "read_keyring",
        "write_keyring",
        "add_section",
        "remove_section",
        "change_passphrase",
        "list_sections",
        "default_keyring_path",
        "ManoAuthError",
    }
    assert contract <= set(mano_auth.__all__)
    from mano_auth._errors import ManoAuthError

    assert mano_auth.ManoAuthError is ManoAuthError


def test_error_tree_docstring_matches_the_classes() -> None:
    """The tree drawn in _errors' docstring is the real class hierarchy, complete."""
    import re

    from mano_auth import _errors

    drawn: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (_errors.__doc__ or "").splitlines():
        match = re.match(r"^[\s│├└─]*([A-Z][A-Za-z]+)\b", line)
        if not match or match.group(1) not in _errors.__all__:
            continue
        column, name = match.start(1), match.group(1)
        while stack and stack[-1][0] >= column:
            stack.pop()
        drawn[name] = stack[-1][1] if stack else None
        stack.append((column, name))
    assert set(drawn) == set(_errors.__all__)
    for name, parent in drawn.items():
        cls = getattr(_errors, name)
        ours = [b.__name__ for b in cls.__bases__ if issubclass(b, _errors.ManoAuthError)]
        assert ours == ([parent] if parent else []), name
