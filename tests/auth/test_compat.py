"""AES-CFB8 keeps working, silently, wherever cryptography keeps it."""

from __future__ import annotations

import importlib
import json
import sys
import warnings
from pathlib import Path

import pytest

from mano_auth import CipherUnavailable, add_section, load_keyring, resolve_cfb8, write_keyring
from mano_auth._compat import CFB8_LOCATIONS, _resolve
from tests.auth.conftest import KEYRING, PASSPHRASE, SECTION, cryptease_encrypt

# NIST SP 800-38A, F.3.17 CFB8-AES256.Encrypt.
_KEY = bytes.fromhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
_IV = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
_PLAIN = bytes.fromhex("6bc1bee22e409f96e93d7e117393172aae2d")
_CIPHER = bytes.fromhex("dc1f1a8520a64db55fcc8ac554844e889700")


def test_installed_cryptography_provides_cfb8_somewhere() -> None:
    """Fails loudly (not at a user's desk) when a cryptography release drops CFB8 entirely."""
    found = []
    for name in CFB8_LOCATIONS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if getattr(module, "CFB8", None) is not None:
                found.append(name)
    assert found, f"no CFB8 in any of {CFB8_LOCATIONS}: cryptease files can no longer be read"
    assert resolve_cfb8() is importlib.import_module(found[0]).CFB8


def test_resolved_cfb8_matches_nist_vector_without_warnings() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mode = resolve_cfb8()
        encryptor = Cipher(algorithms.AES(_KEY), mode(_IV)).encryptor()
        assert encryptor.update(_PLAIN) + encryptor.finalize() == _CIPHER
        decryptor = Cipher(algorithms.AES(_KEY), mode(_IV)).decryptor()
        assert decryptor.update(_CIPHER) + decryptor.finalize() == _PLAIN
    assert [str(w.message) for w in caught] == []


def test_resolution_order_prefers_decrepit() -> None:
    assert CFB8_LOCATIONS[0] == "cryptography.hazmat.decrepit.ciphers.modes"
    assert CFB8_LOCATIONS[1] == "cryptography.hazmat.primitives.ciphers.modes"


def test_falls_back_to_old_location_silently(monkeypatch: pytest.MonkeyPatch) -> None:
    """With only the deprecated location (older cryptography), CFB8 still resolves, quietly."""
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.decrepit.ciphers.modes", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mode = _resolve(CFB8_LOCATIONS)
    assert mode.__name__ == "CFB8"
    assert caught == []


def test_neither_location_raises_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CFB8_LOCATIONS:
        monkeypatch.setitem(sys.modules, name, None)  # makes the import fail
    with pytest.raises(CipherUnavailable) as info:
        _resolve(CFB8_LOCATIONS)
    message = str(info.value)
    assert message.startswith("the installed 'cryptography' provides AES-CFB8")
    assert "hazmat.decrepit.ciphers.modes.CFB8" in message
    assert isinstance(info.value, RuntimeError)


def test_no_warning_loading_or_writing_keyrings(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    cryptease_encrypt(path, json.dumps(KEYRING).encode(), PASSPHRASE)
    resolve_cfb8.cache_clear()  # exercise the first resolution too
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_keyring("beiwe", path, password=PASSPHRASE)
        add_section("new", SECTION, path, password=PASSPHRASE)
        write_keyring({"a": SECTION}, tmp_path / "new.enc", password=PASSPHRASE)
        load_keyring("a", tmp_path / "new.enc", password=PASSPHRASE)
    assert [f"{w.category.__name__}: {w.message}" for w in caught] == []


def test_importing_mano_auth_has_no_side_effects() -> None:
    import subprocess

    code = (
        "import sys, warnings\n"
        "warnings.simplefilter('error')\n"
        "import mano_auth\n"
        "bad = [m for m in ('cryptease',) if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
