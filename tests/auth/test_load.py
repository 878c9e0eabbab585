"""Loading credentials: environment, cryptease keyrings, plain JSON, and every error message."""

from __future__ import annotations

import json
import os
import stat
import warnings
from pathlib import Path

import pytest

import mano_auth
from mano_auth import (
    Credentials,
    EmptyEnvironmentVariable,
    InsecureURL,
    InvalidKey,
    InvalidURL,
    Keyring,
    KeyringFormatError,
    KeyringNotFound,
    KeyringPermissionError,
    KeyShapeWarning,
    ManoAuthError,
    MissingEnvironmentVariable,
    MissingField,
    NotACrypteaseFile,
    PassphraseRequired,
    SectionNotFound,
    UnencryptedKeyringWarning,
    WrongPassphrase,
    list_sections,
    load_keyring,
    read_keyring,
)
from tests.auth.conftest import (
    ACCESS_KEY,
    KEYRING,
    PASSPHRASE,
    SECRET_KEY,
    STUDY_PASSPHRASE,
    WEB_PASSWORD,
    cryptease_encrypt,
)


def _no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    class NotATerminal:
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", NotATerminal())


# --- the happy paths ---------------------------------------------------------------------------


def test_cryptease_keyring_loads_with_password_argument(keyring_file: Path) -> None:
    creds = load_keyring("beiwe", keyring_file, password=PASSPHRASE)
    assert creds == Credentials(
        url="https://studies.beiwe.org",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        username="alice",
        password=WEB_PASSWORD,
        secrets={"Study A": STUDY_PASSPHRASE},
        name="beiwe",
    )
    assert creds.base_url == "https://studies.beiwe.org"
    assert creds.study_passphrase("Study A") == STUDY_PASSPHRASE


def test_passphrase_from_env_and_default_path(
    _isolated_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _isolated_environment
    cryptease_encrypt(home / ".nrg-keyring.enc", json.dumps(KEYRING).encode(), PASSPHRASE)
    monkeypatch.setenv("NRG_KEYRING_PASS", PASSPHRASE)
    assert mano_auth.default_keyring_path() == home / ".nrg-keyring.enc"
    creds = load_keyring("local")
    assert creds.url == "http://127.0.0.1:8000"
    assert (creds.access_key, creds.secret_key) == ("abc", "def+/")


def test_password_argument_wins_over_env(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NRG_KEYRING_PASS", "not the passphrase")
    assert load_keyring("beiwe", keyring_file, password=PASSPHRASE).access_key == ACCESS_KEY


def test_mano_keyring_file_overrides_default(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANO_KEYRING_FILE", str(keyring_file))
    assert mano_auth.default_keyring_path() == keyring_file
    assert list_sections(password=PASSPHRASE) == ["beiwe", "local"]


def test_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIWE_URL", "HTTPS://Studies.Beiwe.ORG:443/")
    monkeypatch.setenv("BEIWE_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("BEIWE_SECRET_KEY", SECRET_KEY + "\n")  # copy-paste newline is stripped
    monkeypatch.setenv("BEIWE_USERNAME", "alice")
    creds = load_keyring()
    assert creds == Credentials("https://studies.beiwe.org", ACCESS_KEY, SECRET_KEY, "alice")
    assert creds.name is None and creds.password is None and dict(creds.secrets) == {}


def test_plain_json_keyring_loads_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(json.dumps(KEYRING))
    path.chmod(0o644)
    with pytest.warns(UnencryptedKeyringWarning) as record:
        creds = load_keyring("beiwe", path)
    assert creds.secret_key == SECRET_KEY
    message = str(record[0].message)
    assert str(path) in message and "not encrypted" in message and "chmod 600" in message
    assert record[0].filename == __file__  # points at the caller, not at mano_auth


def test_plain_json_needs_no_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_tty(monkeypatch)
    path = tmp_path / "keyring.json"
    path.write_text(json.dumps(KEYRING))
    path.chmod(0o600)
    with pytest.warns(UnencryptedKeyringWarning) as record:
        keyring = read_keyring(path)
    assert "chmod" not in str(record[0].message)
    assert keyring.encrypted is False and keyring.names == ["beiwe", "local"]


def test_keyring_mapping_and_repr(keyring_file: Path) -> None:
    keyring = read_keyring(keyring_file, password=PASSPHRASE)
    assert isinstance(keyring, Keyring)
    assert keyring.path == keyring_file and keyring.encrypted
    assert len(keyring) == 2 and list(keyring) == ["beiwe", "local"]
    assert "beiwe" in keyring and "nope" not in keyring
    assert keyring.get("nope") is None
    assert keyring["local"].name == "local"
    assert repr(keyring) == f"Keyring(path={str(keyring_file)!r}, sections=['beiwe', 'local'])"


def test_one_bad_section_does_not_block_the_others(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    content = {
        "bad": {"URL": "ftp://x", "ACCESS_KEY": "a", "SECRET_KEY": "b"},
        "good": KEYRING["local"],
    }
    cryptease_encrypt(path, json.dumps(content).encode(), PASSPHRASE)
    assert load_keyring("good", path, password=PASSPHRASE).secret_key == "def+/"
    with pytest.raises(InvalidURL, match=r"keyring section 'bad': URL 'ftp://x' is not an http"):
        load_keyring("bad", path, password=PASSPHRASE)


# --- every error has a message test ------------------------------------------------------------


def test_missing_file_says_where_and_how(_isolated_environment: Path) -> None:
    expected = _isolated_environment / ".nrg-keyring.enc"
    with pytest.raises(KeyringNotFound) as info:
        load_keyring("beiwe", password="x")
    message = str(info.value)
    assert message == (
        f"no keyring file at {expected} (the default; set MANO_KEYRING_FILE to use another "
        "file); create one with `mano keyring init`, or set BEIWE_URL, BEIWE_ACCESS_KEY and "
        "BEIWE_SECRET_KEY and name no keyring section"
    )
    assert isinstance(info.value, FileNotFoundError) and info.value.path == expected


def test_missing_file_from_env_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANO_KEYRING_FILE", str(tmp_path / "nope.enc"))
    with pytest.raises(
        KeyringNotFound, match=r"nope\.enc \(from MANO_KEYRING_FILE\);.*mano keyring init"
    ):
        load_keyring("beiwe")


def test_wrong_passphrase(keyring_file: Path) -> None:
    with pytest.raises(WrongPassphrase) as info:
        load_keyring("beiwe", keyring_file, password="wrong passphrase")
    assert str(info.value) == (
        f"wrong passphrase for the keyring {keyring_file} (it does not decrypt to JSON); "
        "check NRG_KEYRING_PASS or the passphrase given"
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__


def _fixed_encrypt(
    path: Path, payload: bytes, passphrase: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cryptease's format with a fixed salt and IV: the same bytes on every run."""
    from mano_auth import _cryptfile

    with monkeypatch.context() as m:
        m.setattr(_cryptfile.os, "urandom", lambda n: bytes(range(7, 7 + n)))
        path.write_bytes(_cryptfile.encrypt(payload, passphrase))


@pytest.mark.parametrize("attempt", range(5))
def test_wrong_passphrase_on_tiny_keyring_is_detected(
    tmp_path: Path, attempt: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An empty keyring is 2 bytes of plaintext; a wrong key must still be caught.

    Salt and IV are fixed, so each attempt decrypts to the same bytes on every run (with a
    random salt about 0.2 % of wrong keys gave valid non-object JSON, and the test flaked).
    """
    path = tmp_path / "empty.enc"
    _fixed_encrypt(path, b"{}", PASSPHRASE, monkeypatch)
    with pytest.raises(WrongPassphrase):
        read_keyring(path, password=f"wrong-{attempt}")
    assert read_keyring(path, password=PASSPHRASE).names == []


@pytest.mark.parametrize("payload", [b"7", b'""', b"[]", b"null"])
def test_a_keyring_decrypting_to_json_that_is_not_an_object_is_a_wrong_passphrase(
    tmp_path: Path, payload: bytes
) -> None:
    """What a wrong key on a tiny keyring can decrypt to (a number, a string ...)."""
    path = tmp_path / "tiny.enc"
    cryptease_encrypt(path, payload, PASSPHRASE)
    with pytest.raises(WrongPassphrase, match="or the file is damaged"):
        read_keyring(path, password=PASSPHRASE)


def test_a_truncated_keyring_is_reported_as_damaged(tmp_path: Path) -> None:
    content = {
        "beiwe": {"URL": "https://studies.example.org", "ACCESS_KEY": ACCESS_KEY,
                  "SECRET_KEY": SECRET_KEY},
        "local": {"URL": "http://127.0.0.1:8080", "ACCESS_KEY": ACCESS_KEY,
                  "SECRET_KEY": SECRET_KEY},
    }  # fmt: skip
    path = tmp_path / "k.enc"
    cryptease_encrypt(path, (json.dumps(content, indent=2) + "\n").encode(), PASSPHRASE)
    whole = path.read_bytes()
    assert read_keyring(path, password=PASSPHRASE).names == ["beiwe", "local"]
    for keep in range(len(whole) - 115, len(whole) - 1, 9):
        path.write_bytes(whole[:keep])
        with pytest.raises(mano_auth.KeyringCorrupted, match="is damaged"):
            read_keyring(path, password=PASSPHRASE)
    with pytest.raises(WrongPassphrase):  # a wrong key on the damaged file is still that
        read_keyring(path, password="not it")


def test_missing_section_lists_sections(keyring_file: Path) -> None:
    with pytest.raises(SectionNotFound) as info:
        load_keyring("prod", keyring_file, password=PASSPHRASE)
    assert str(info.value) == (
        f"no section 'prod' in the keyring {keyring_file} (sections: 'beiwe', 'local'); "
        "add it with `mano keyring add`"
    )
    assert info.value.sections == ("beiwe", "local")
    assert isinstance(info.value, KeyError)


def test_missing_section_in_empty_keyring(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    cryptease_encrypt(path, b"{}", PASSPHRASE)
    with pytest.raises(SectionNotFound, match=r"sections: none, the keyring is empty"):
        load_keyring("prod", path, password=PASSPHRASE)


def test_missing_field(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    content = {"s": {"URL": "https://b.org", "ACCESS_KEY": ACCESS_KEY, "PASSWORD": "x"}}
    cryptease_encrypt(path, json.dumps(content).encode(), PASSPHRASE)
    with pytest.raises(MissingField) as info:
        load_keyring("s", path, password=PASSPHRASE)
    assert str(info.value) == (
        "keyring section 's' lacks SECRET_KEY (fields present: ACCESS_KEY, PASSWORD, URL); "
        "add URL, ACCESS_KEY and SECRET_KEY to it"
    )
    assert info.value.field == "SECRET_KEY"


def test_section_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    cryptease_encrypt(path, b'{"s": [1, 2]}', PASSPHRASE)
    with pytest.raises(KeyringFormatError, match=r"^section 's' of .*k\.enc is not an object"):
        load_keyring("s", path, password=PASSPHRASE)


def test_keyring_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    cryptease_encrypt(path, b'["beiwe"]', PASSPHRASE)
    with pytest.raises(
        KeyringFormatError, match=r"decrypts to JSON that is not an object of sections \(list\)"
    ):
        read_keyring(path, password=PASSPHRASE)


def test_malformed_url(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    content = {"s": {"URL": "studies.beiwe.org", "ACCESS_KEY": "a", "SECRET_KEY": "b"}}
    cryptease_encrypt(path, json.dumps(content).encode(), PASSPHRASE)
    with pytest.raises(InvalidURL) as info:
        load_keyring("s", path, password=PASSPHRASE)
    assert str(info.value) == (
        "keyring section 's': URL 'studies.beiwe.org' is not an http(s) URL with a host name; "
        "did you mean https://studies.beiwe.org?"
    )
    assert info.value.field == "URL"


def test_http_url_is_refused_with_https_advice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIWE_URL", "http://studies.beiwe.org/")
    monkeypatch.setenv("BEIWE_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("BEIWE_SECRET_KEY", SECRET_KEY)
    with pytest.raises(InsecureURL) as info:
        load_keyring()
    message = str(info.value)
    assert message.startswith(
        "BEIWE_URL 'http://studies.beiwe.org/' uses http; use https://studies.beiwe.org instead"
    )
    assert "301" in message and "GET" in message
    assert isinstance(info.value, InvalidURL) and isinstance(info.value, ValueError)


def test_bad_key_characters(tmp_path: Path) -> None:
    path = tmp_path / "k.enc"
    content = {
        "a": {"URL": "https://b.org", "ACCESS_KEY": "abc=def-", "SECRET_KEY": "ok"},
        "s": {"URL": "https://b.org", "ACCESS_KEY": "ok", "SECRET_KEY": "top_secret=="},
    }
    cryptease_encrypt(path, json.dumps(content).encode(), PASSPHRASE)
    # Such a section loads (mano 0.6.0 read it) with a warning, and is refused when used.
    with pytest.warns(KeyShapeWarning, match="keyring section 'a': ACCESS_KEY contains"):
        loaded = load_keyring("a", path, password=PASSPHRASE)
    with pytest.raises(InvalidKey) as info:
        loaded.check_keys()
    assert str(info.value) == (
        "keyring section 'a': ACCESS_KEY contains the character(s) '-' '=' the Beiwe server "
        "rejects; keys use only A-Z, a-z, 0-9, '/' and '+' ('=', '-', '_' and spaces are not "
        "allowed); copy the key again from the Beiwe website"
    )
    with pytest.warns(KeyShapeWarning) as caught:
        loaded = load_keyring("s", path, password=PASSPHRASE)
    assert "top" not in str(caught[0].message)
    with pytest.raises(InvalidKey) as info:
        loaded.check_keys()
    assert str(info.value).startswith(
        "keyring section 's': SECRET_KEY contains 3 character(s) the Beiwe server rejects;"
    )
    assert "top" not in str(info.value)


@pytest.mark.parametrize(
    "variable", ["BEIWE_URL", "BEIWE_ACCESS_KEY", "BEIWE_SECRET_KEY", "BEIWE_PASSWORD"]
)
def test_empty_env_variable_is_named(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv("BEIWE_URL", "https://b.org")
    monkeypatch.setenv("BEIWE_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("BEIWE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv(variable, "  ")
    with pytest.raises(EmptyEnvironmentVariable) as info:
        load_keyring()
    assert str(info.value) == f"{variable} is set but empty; give it a value or unset it"
    assert info.value.variables == (variable,)


def test_empty_passphrase_variable_is_named(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NRG_KEYRING_PASS", "")
    with pytest.raises(
        EmptyEnvironmentVariable, match=r"^NRG_KEYRING_PASS is set but empty; set it"
    ):
        load_keyring("beiwe", keyring_file)


def test_empty_keyring_file_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANO_KEYRING_FILE", "")
    with pytest.raises(EmptyEnvironmentVariable, match=r"^MANO_KEYRING_FILE is set but empty"):
        load_keyring("beiwe", password="x")


def test_missing_env_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEIWE_URL", "https://b.org")
    with pytest.raises(MissingEnvironmentVariable) as info:
        load_keyring()
    assert str(info.value) == (
        "BEIWE_ACCESS_KEY, BEIWE_SECRET_KEY not set; set BEIWE_URL, BEIWE_ACCESS_KEY, "
        "BEIWE_SECRET_KEY, or name a keyring section (mano --keyring NAME, load_keyring('NAME'))"
    )
    assert info.value.variables == ("BEIWE_ACCESS_KEY", "BEIWE_SECRET_KEY")


def test_unreadable_permissions(keyring_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyring_file.chmod(0)
    if os.geteuid() == 0:
        # root reads mode-000 files, so make the open itself fail the way it does for a user.
        real_open = Path.open

        def denied(self: Path, *args: object, **kwargs: object) -> object:
            if self == keyring_file:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "open", denied)
    with pytest.raises(KeyringPermissionError) as info:
        load_keyring("beiwe", keyring_file, password=PASSPHRASE)
    assert str(info.value) == (
        f"permission denied reading the keyring {keyring_file}; as its owner run "
        f"`chmod 600 {keyring_file}` (or run as the user who owns it)"
    )
    assert isinstance(info.value, PermissionError)
    keyring_file.chmod(stat.S_IRUSR | stat.S_IWUSR)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "too short to hold a cryptease header"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "no cryptease header"),
        (b"\x05\x00\x00\x00{abc}" + bytes(20), "the cryptease header is not valid JSON"),
        (b'\x0a\x00\x00\x00{"x": 123}' + bytes(20), "the header has no 'cipher' and 'kdf' entries"),
        (b"[1, 2, 3]", "no cryptease header"),
    ],
)
def test_not_a_cryptease_file(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "k.enc"
    path.write_bytes(content)
    with pytest.raises(NotACrypteaseFile) as info:
        load_keyring("beiwe", path, password=PASSPHRASE)
    message = str(info.value)
    assert message.startswith(f"{path} is not a cryptease-encrypted keyring ({reason}")
    assert ") nor a plain JSON object; point MANO_KEYRING_FILE or --keyring-file" in message
    assert message.endswith("or create one with `mano keyring init`")


def test_broken_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text('{"beiwe": {"URL": "https://b.org",}}')
    with pytest.raises(NotACrypteaseFile) as caught:
        load_keyring("beiwe", path)
    # our own words around the parser's (whose wording changes between Python versions)
    message = str(caught.value)
    assert message.startswith(f"{path} looks like a plain JSON keyring but does not parse (")
    assert "); fix the JSON or " in message
    assert "https://b.org" not in message  # the parser's position, never the content


def test_folder_is_not_a_keyring(tmp_path: Path) -> None:
    with pytest.raises(NotACrypteaseFile, match=r"is a folder, not a keyring file"):
        load_keyring("beiwe", tmp_path, password=PASSPHRASE)


def test_truncated_cryptease_file(keyring_file: Path) -> None:
    data = keyring_file.read_bytes()
    header_end = 4 + int.from_bytes(data[:4], "little")
    keyring_file.write_bytes(data[: header_end + 5])
    with pytest.raises(NotACrypteaseFile, match=r"ends before its 16-byte IV"):
        load_keyring("beiwe", keyring_file, password=PASSPHRASE)


def test_random_key_cryptease_file(tmp_path: Path) -> None:
    import io

    import cryptease as crypt

    path = tmp_path / "r.enc"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        crypt.encrypt(io.BytesIO(b"{}"), crypt.randkey(), filename=str(path))
    with pytest.raises(NotACrypteaseFile, match=r"encrypted with a random key"):
        load_keyring("beiwe", path, password=PASSPHRASE)


def test_passphrase_required_without_tty(
    keyring_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_tty(monkeypatch)
    with pytest.raises(PassphraseRequired) as info:
        load_keyring("beiwe", keyring_file)
    assert str(info.value) == (
        f"the keyring {keyring_file} needs a passphrase and stdin is not a terminal to ask on; "
        "set NRG_KEYRING_PASS (from Python: pass password=...)"
    )


def test_every_error_is_a_mano_auth_error_with_one_line() -> None:
    names = [
        n
        for n in mano_auth.__all__
        if n.endswith(
            (
                "Error",
                "Found",
                "Exists",
                "Passphrase",
                "Required",
                "URL",
                "Key",
                "Field",
                "Variable",
                "File",
                "Unavailable",
            )
        )
    ]
    for name in names:
        cls = getattr(mano_auth, name)
        assert issubclass(cls, ManoAuthError), name
