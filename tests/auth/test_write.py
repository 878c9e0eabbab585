"""Writing keyrings: atomic, 0600, and readable by cryptease, crypt.py and mano 0.6.0."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import mano_auth._cryptfile as cryptfile_module
import mano_auth._keyring as keyring_module
from mano_auth import (
    Credentials,
    InvalidKey,
    KeyringError,
    KeyringExists,
    KeyringNotFound,
    KeyringPermissionError,
    MissingField,
    PassphraseError,
    PassphraseRequired,
    SectionExists,
    SectionNotFound,
    UnencryptedKeyringWarning,
    WrongPassphrase,
    add_section,
    change_passphrase,
    list_sections,
    load_keyring,
    read_keyring,
    remove_section,
    write_keyring,
)
from tests.auth.conftest import (
    ACCESS_KEY,
    KEYRING,
    PASSPHRASE,
    SECRET_KEY,
    SECTION,
    cryptease_decrypt,
    cryptease_encrypt,
)

CRYPT_PY = Path(sys.executable).parent / "crypt.py"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _crypt_py(*args: str, passphrase: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "ENCRYPT_PASS": passphrase}
    return subprocess.run(
        [sys.executable, str(CRYPT_PY), *args],
        env=env,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_written_keyring_reads_back_with_cryptease_and_crypt_py(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    creds = Credentials.from_dict(SECTION, name="beiwe")
    assert (
        write_keyring({"beiwe": creds, "local": KEYRING["local"]}, path, password=PASSPHRASE)
        == path
    )
    assert _mode(path) == 0o600
    expected = {
        "beiwe": SECTION,
        "local": {"URL": "http://127.0.0.1:8000", "ACCESS_KEY": "abc", "SECRET_KEY": "def+/"},
    }
    # mano 0.6.0's way: crypt.key_from_file + crypt.decrypt + json.loads
    assert json.loads(cryptease_decrypt(path, PASSPHRASE)) == expected
    # cryptease's own command line
    done = _crypt_py("--decrypt", str(path), passphrase=PASSPHRASE)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
    # and ourselves
    assert load_keyring("beiwe", path, password=PASSPHRASE) == creds


def test_crypt_py_encrypted_keyring_loads(tmp_path: Path) -> None:
    plain = tmp_path / "keyring.json"
    plain.write_text(json.dumps(KEYRING))
    done = _crypt_py("--encrypt", "-o", str(tmp_path / "k.enc"), str(plain), passphrase=PASSPHRASE)
    assert done.returncode == 0, done.stderr
    creds = load_keyring("beiwe", tmp_path / "k.enc", password=PASSPHRASE)
    assert (creds.access_key, creds.secret_key) == (ACCESS_KEY, SECRET_KEY)


def test_header_is_byte_compatible_with_cryptease(tmp_path: Path) -> None:
    """Same header keys, order and separators as cryptease.create_header."""
    import cryptease as crypt

    from mano_auth import _cryptfile

    ours = _cryptfile.encrypt(b"{}", PASSPHRASE, salt=b"s" * 32)
    length = int.from_bytes(ours[:4], sys.byteorder)
    header = json.loads(ours[4 : 4 + length])
    key = crypt.kdf(PASSPHRASE, b"s" * 32)
    iv = ours[4 + length : 4 + length + 16]
    theirs = crypt.create_header(
        {"function": "AES", "params": {"bits": 256, "mode": "CFB8"}}, key.metadata, iv
    ).read()
    assert ours[: 4 + length] == theirs
    assert header["kdf"]["params"]["iterations"] == 100_000
    assert len(ours) == 4 + length + 16 + 2


def test_write_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    write_keyring({}, path, password=PASSPHRASE)
    before = path.read_bytes()
    with pytest.raises(KeyringExists) as info:
        write_keyring({"a": SECTION}, path, password=PASSPHRASE)
    assert str(info.value) == (
        f"a keyring already exists at {path} (the path given); add sections to it with "
        "`mano keyring add`, or remove it first"
    )
    assert path.read_bytes() == before
    write_keyring({"a": SECTION}, path, password=PASSPHRASE, overwrite=True)
    assert list_sections(path, password=PASSPHRASE) == ["a"]


def test_write_validates_sections_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    with pytest.raises(InvalidKey):
        write_keyring({"a": {**SECTION, "SECRET_KEY": "has space"}}, path, password=PASSPHRASE)
    with pytest.raises(MissingField):
        write_keyring({"a": {"URL": "https://b.org"}}, path, password=PASSPHRASE)
    assert not path.exists() and _only_files(tmp_path) == []


def test_write_refuses_empty_new_passphrase(tmp_path: Path) -> None:
    with pytest.raises(PassphraseError, match=r"^refusing an empty passphrase for a keyring"):
        write_keyring({}, tmp_path / "k.enc", password="")


def test_write_to_default_location_creates_it(
    _isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NRG_KEYRING_PASS", PASSPHRASE)
    path = write_keyring({"beiwe": SECTION})
    assert path == _isolated_environment / ".nrg-keyring.enc"
    assert load_keyring("beiwe").secret_key == SECRET_KEY


def test_add_replace_remove_keep_other_sections_and_unknown_fields(keyring_file: Path) -> None:
    original = json.loads(cryptease_decrypt(keyring_file, PASSPHRASE))
    original["beiwe"]["NOTE"] = "kept"
    cryptease_encrypt(keyring_file, json.dumps(original).encode(), PASSPHRASE)

    new = {"URL": "https://other.example.org/", "ACCESS_KEY": "x1", "SECRET_KEY": "y2", "EXTRA": 1}
    keyring = add_section("other", new, keyring_file, password=PASSPHRASE)
    assert keyring.names == ["beiwe", "local", "other"]
    on_disk = json.loads(cryptease_decrypt(keyring_file, PASSPHRASE))
    assert on_disk["beiwe"] == original["beiwe"]
    assert on_disk["other"] == {
        "URL": "https://other.example.org",
        "ACCESS_KEY": "x1",
        "SECRET_KEY": "y2",
        "EXTRA": 1,
    }
    assert _mode(keyring_file) == 0o600

    with pytest.raises(SectionExists) as info:
        add_section("other", SECTION, keyring_file, password=PASSPHRASE)
    assert str(info.value) == (
        f"the keyring {keyring_file} already has a section 'other'; replace it explicitly "
        "(replace=True, `mano keyring add --replace`) or choose another name"
    )
    add_section(
        "other", Credentials.from_dict(SECTION), keyring_file, password=PASSPHRASE, replace=True
    )
    assert load_keyring("other", keyring_file, password=PASSPHRASE).secret_key == SECRET_KEY

    keyring = remove_section("local", keyring_file, password=PASSPHRASE)
    assert keyring.names == ["beiwe", "other"]
    assert list(json.loads(cryptease_decrypt(keyring_file, PASSPHRASE))) == ["beiwe", "other"]
    with pytest.raises(
        SectionNotFound,
        match=r"no section 'local' in the keyring .* \(sections: 'beiwe', 'other'\)",
    ):
        remove_section("local", keyring_file, password=PASSPHRASE)
    assert _only_files(keyring_file.parent) == [keyring_file.name]


def test_add_to_missing_keyring(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "k.enc"
    with pytest.raises(KeyringNotFound):
        add_section("a", SECTION, path, password=PASSPHRASE)
    keyring = add_section("a", SECTION, path, password=PASSPHRASE, create=True)
    assert keyring.names == ["a"] and keyring.path == path
    assert json.loads(cryptease_decrypt(path, PASSPHRASE)) == {"a": SECTION}
    assert _mode(path) == 0o600


def test_add_with_wrong_passphrase_changes_nothing(keyring_file: Path) -> None:
    before = keyring_file.read_bytes()
    with pytest.raises(WrongPassphrase):
        add_section("x", SECTION, keyring_file, password="wrong")
    assert keyring_file.read_bytes() == before


def test_change_passphrase(keyring_file: Path) -> None:
    before = json.loads(cryptease_decrypt(keyring_file, PASSPHRASE))
    assert (
        change_passphrase(keyring_file, password=PASSPHRASE, new_password="new pass")
        == keyring_file
    )
    assert json.loads(cryptease_decrypt(keyring_file, "new pass")) == before
    with pytest.raises(WrongPassphrase):
        read_keyring(keyring_file, password=PASSPHRASE)
    assert _mode(keyring_file) == 0o600
    assert _only_files(keyring_file.parent) == [keyring_file.name]


def test_change_passphrase_never_takes_new_one_from_env(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class NotATerminal:
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", NotATerminal())
    monkeypatch.setenv("NRG_KEYRING_PASS", PASSPHRASE)
    before = keyring_file.read_bytes()
    with pytest.raises(PassphraseRequired, match=r"pass the new passphrase explicitly"):
        change_passphrase(keyring_file)
    assert keyring_file.read_bytes() == before


def test_change_passphrase_encrypts_a_plain_keyring(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps(KEYRING))
    with pytest.warns(UnencryptedKeyringWarning):
        change_passphrase(path, new_password=PASSPHRASE)
    assert json.loads(cryptease_decrypt(path, PASSPHRASE)) == KEYRING
    assert read_keyring(path, password=PASSPHRASE).encrypted


def test_plain_keyring_stays_plain_on_add(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text(json.dumps(KEYRING))
    with pytest.warns(UnencryptedKeyringWarning):
        add_section("x", SECTION, path)
    assert json.loads(path.read_text()) == {**KEYRING, "x": SECTION}
    assert _mode(path) == 0o600


def test_symlinked_keyring_keeps_its_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "keyring.enc"
    real.parent.mkdir()
    write_keyring({"a": SECTION}, real, password=PASSPHRASE)
    link = tmp_path / ".nrg-keyring.enc"
    link.symlink_to(real)
    add_section("b", SECTION, link, password=PASSPHRASE)
    assert link.is_symlink()
    assert list_sections(real, password=PASSPHRASE) == ["a", "b"]


def test_concurrent_edit_is_refused_not_lost(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_encrypt = cryptfile_module.encrypt
    other = tmp_bytes = b""

    def encrypt_while_someone_else_writes(plain: bytes, passphrase: str) -> bytes:
        nonlocal other
        # Another process (here: cryptease itself) rewrites the keyring between our read and
        # our swap.
        cryptease_encrypt(keyring_file, json.dumps({"theirs": SECTION}).encode(), PASSPHRASE)
        other = keyring_file.read_bytes()
        return real_encrypt(plain, passphrase)

    monkeypatch.setattr(cryptfile_module, "encrypt", encrypt_while_someone_else_writes)
    with pytest.raises(KeyringError) as info:
        add_section("ours", SECTION, keyring_file, password=PASSPHRASE)
    assert str(info.value) == (
        f"the keyring {keyring_file} changed while it was being edited; nothing was written, "
        "run the command again"
    )
    assert keyring_file.read_bytes() == other != tmp_bytes
    assert _only_files(keyring_file.parent) == [keyring_file.name]


def test_failed_write_leaves_original_and_no_temp(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = keyring_file.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(keyring_module.os, "replace", boom)
    with pytest.raises(OSError, match="No space left"):
        add_section("x", SECTION, keyring_file, password=PASSPHRASE)
    assert keyring_file.read_bytes() == before
    assert _only_files(keyring_file.parent) == [keyring_file.name]


def test_unwritable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()

    def denied(*args: object, **kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    # Real chmod does not stop root; fail the temp-file creation the way it fails for a user.
    monkeypatch.setattr(keyring_module.tempfile, "mkstemp", denied)
    with pytest.raises(KeyringPermissionError) as info:
        write_keyring({}, folder / "k.enc", password=PASSPHRASE)
    assert str(info.value) == (
        f"permission denied writing in {folder}; choose a writable place for the keyring "
        "(MANO_KEYRING_FILE or --keyring-file)"
    )


def test_temp_files_are_hidden_mano_tmp(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_replace = os.replace

    def spy(src: str, dst: object) -> None:
        seen.append(Path(src).name)
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(keyring_module.os, "replace", spy)
    add_section("x", SECTION, keyring_file, password=PASSPHRASE)
    assert len(seen) == 1
    assert seen[0].startswith(f".{keyring_file.name}.") and seen[0].endswith(".mano-tmp")


def test_bad_section_name(tmp_path: Path) -> None:
    from mano_auth import InvalidField

    with pytest.raises(InvalidField, match=r"section name must be a non-empty string"):
        write_keyring({" a": SECTION}, tmp_path / "k.enc", password=PASSPHRASE)


def test_copy_of_cryptease_written_file_is_untouched_by_reads(keyring_file: Path) -> None:
    copy = keyring_file.with_name("copy.enc")
    shutil.copy2(keyring_file, copy)
    read_keyring(keyring_file, password=PASSPHRASE)
    list_sections(keyring_file, password=PASSPHRASE)
    assert keyring_file.read_bytes() == copy.read_bytes()


def test_unencodable_passphrase_is_refused_without_echo(keyring_file: Path) -> None:
    with pytest.raises(PassphraseError) as info:
        read_keyring(keyring_file, password="abc\udcffdef")
    assert str(info.value) == (
        "the passphrase given contains characters that cannot be encoded as UTF-8 (check the "
        "terminal's or the environment's encoding)"
    )
    assert info.value.__context__ is None or info.value.__suppress_context__
