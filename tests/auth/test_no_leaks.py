"""No secret reaches an exception, repr, log record (DEBUG included) or warning."""

from __future__ import annotations

import json
import logging
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mano_auth
from mano_auth import Credentials, ManoAuthError
from tests.auth.conftest import (
    PASSPHRASE,
    SECRET_KEY,
    SECRET_STRINGS,
    SECTION,
    STUDY_PASSPHRASE,
    cryptease_encrypt,
)

NEW_PASSPHRASE = "brand-new-passphrase-Frotz"
BAD_SECRET = "bad_secret=Gnusto-Rezrov"  # server-invalid, still a secret
URL_PASSWORD = "url-password-Blorb"
ALL_SECRETS = (*SECRET_STRINGS, NEW_PASSPHRASE, BAD_SECRET, URL_PASSWORD)


def _exception_text(exc: BaseException) -> str:
    parts = ["".join(traceback.format_exception(exc)), repr(exc), str(exc), repr(exc.args)]
    parts.extend(repr(v) for v in vars(exc).values())
    return "\n".join(parts)


def test_no_secret_in_errors_reprs_logs_or_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level
    keyring = tmp_path / "k.enc"
    content = {
        "good": SECTION,
        "badkey": {**SECTION, "SECRET_KEY": BAD_SECRET},
        "badurl": {**SECTION, "URL": f"https://alice:{URL_PASSWORD}@b.org"},
        "http": {**SECTION, "URL": "http://b.org"},
        "nourl": {k: v for k, v in SECTION.items() if k != "URL"},
    }
    cryptease_encrypt(keyring, json.dumps(content).encode(), PASSPHRASE)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(content))

    texts: list[str] = []
    outcomes: list[str] = []

    def attempt(action: Callable[[], Any]) -> None:
        try:
            result = action()
        except ManoAuthError as exc:
            texts.append(_exception_text(exc))
            outcomes.append(type(exc).__name__)
        else:
            texts.extend([repr(result), str(result)])
            outcomes.append("ok")

    class NotATerminal:
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr("sys.stdin", NotATerminal())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attempt(lambda: mano_auth.load_keyring("good", keyring, password=PASSPHRASE))
        attempt(lambda: mano_auth.read_keyring(keyring, password=PASSPHRASE))
        attempt(lambda: mano_auth.load_keyring("good", keyring, password=PASSPHRASE + "x"))
        attempt(lambda: mano_auth.load_keyring("good", keyring))
        attempt(lambda: mano_auth.load_keyring("nope", keyring, password=PASSPHRASE))
        # A bad key loads with a KeyShapeWarning and is refused when used (check_keys).
        for name in ("badkey", "badurl", "http", "nourl"):
            attempt(
                lambda name=name: mano_auth.load_keyring(
                    name, keyring, password=PASSPHRASE
                ).check_keys()
            )
            attempt(lambda name=name: mano_auth.load_keyring(name, plain).check_keys())
        attempt(
            lambda: mano_auth.load_keyring("good", keyring, password=PASSPHRASE).study_passphrase(
                "Unknown"
            )
        )
        attempt(lambda: mano_auth.add_section("good", SECTION, keyring, password=PASSPHRASE))
        attempt(
            lambda: mano_auth.add_section(
                "x", {**SECTION, "SECRET_KEY": BAD_SECRET}, keyring, password=PASSPHRASE
            )
        )
        attempt(lambda: mano_auth.add_section("x", SECTION, keyring, password=PASSPHRASE))
        attempt(lambda: mano_auth.remove_section("x", keyring, password=PASSPHRASE))
        attempt(lambda: mano_auth.remove_section("x", keyring, password=PASSPHRASE))
        attempt(lambda: mano_auth.write_keyring({"good": SECTION}, keyring, password=PASSPHRASE))
        attempt(
            lambda: mano_auth.change_passphrase(
                keyring, password=PASSPHRASE, new_password=NEW_PASSPHRASE
            )
        )
        attempt(
            lambda: mano_auth.change_passphrase(
                keyring, password=PASSPHRASE, new_password=NEW_PASSPHRASE
            )
        )
        attempt(lambda: mano_auth.list_sections(keyring, password=NEW_PASSPHRASE))
        attempt(lambda: mano_auth.list_sections(keyring, password=PASSPHRASE))
        monkeypatch.setenv("NRG_KEYRING_PASS", NEW_PASSPHRASE)
        attempt(lambda: mano_auth.load_keyring("good", keyring))
        monkeypatch.setenv("BEIWE_URL", "https://b.org")
        monkeypatch.setenv("BEIWE_ACCESS_KEY", "abc")
        monkeypatch.setenv("BEIWE_SECRET_KEY", BAD_SECRET)
        attempt(lambda: mano_auth.load_keyring().check_keys())
        monkeypatch.setenv("BEIWE_SECRET_KEY", SECRET_KEY)
        monkeypatch.setenv("BEIWE_PASSWORD", URL_PASSWORD)
        attempt(lambda: mano_auth.load_keyring())
        attempt(lambda: Credentials.from_dict(SECTION, name="x").study_passphrase("Nope"))

    texts.extend(r.getMessage() for r in caplog.records)
    texts.extend(repr(r.args) for r in caplog.records)
    texts.extend(f"{w.category.__name__}: {w.message}" for w in caught)
    texts.append(caplog.text)

    # The scenario really exercised the paths it claims to.
    assert outcomes == [
        "ok",
        "ok",
        "WrongPassphrase",
        "PassphraseRequired",
        "SectionNotFound",
        "InvalidKey",
        "InvalidKey",
        "InvalidURL",
        "InvalidURL",
        "InsecureURL",
        "InsecureURL",
        "MissingField",
        "MissingField",
        "StudyPassphraseNotFound",
        "SectionExists",
        "InvalidKey",
        "ok",
        "ok",
        "SectionNotFound",
        "KeyringExists",
        "ok",
        "WrongPassphrase",
        "ok",
        "WrongPassphrase",
        "ok",
        "InvalidKey",
        "ok",
        "StudyPassphraseNotFound",
    ]
    assert any("UnencryptedKeyringWarning" in t for t in texts)
    assert any("DEBUG" in t or "decrypted keyring" in t for t in texts)
    assert len(caplog.records) > 10

    blob = "\n".join(texts)
    for secret in ALL_SECRETS:
        assert secret not in blob, f"secret leaked: {secret[:4]}…"
    # Sanity: the capture does contain what it should.
    assert str(keyring) in blob and "Study A" in blob
    assert STUDY_PASSPHRASE not in blob
