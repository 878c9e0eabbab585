"""The Credentials value: URL rules, key rules, redaction, study passphrases."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

from mano_auth import (
    Credentials,
    InsecureURL,
    InvalidField,
    InvalidKey,
    InvalidURL,
    KeyShapeWarning,
    MissingField,
    StudyPassphraseNotFound,
    is_loopback_host,
    normalise_url,
)
from tests.auth.conftest import ACCESS_KEY, SECRET_KEY, SECTION, STUDY_PASSPHRASE, WEB_PASSWORD


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://studies.beiwe.org", "https://studies.beiwe.org"),
        ("https://studies.beiwe.org/", "https://studies.beiwe.org"),
        ("  HTTPS://Studies.Beiwe.ORG//  ", "https://studies.beiwe.org"),
        ("https://studies.beiwe.org:443/", "https://studies.beiwe.org"),
        ("https://studies.beiwe.org:8443", "https://studies.beiwe.org:8443"),
        ("https://host.org/beiwe/", "https://host.org/beiwe"),
        ("http://127.0.0.1:51234", "http://127.0.0.1:51234"),
        ("http://127.8.9.10/", "http://127.8.9.10"),
        ("http://localhost:8000/", "http://localhost:8000"),
        ("http://LOCALHOST", "http://localhost"),
        ("http://[::1]:9000/", "http://[::1]:9000"),
        ("https://[2001:db8::1]/", "https://[2001:db8::1]"),
    ],
)
def test_url_normalisation(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "URL is empty; set it to the server address, e.g. https://studies.beiwe.org"),
        (
            "studies.beiwe.org",
            "URL 'studies.beiwe.org' is not an http(s) URL with a host name; did you mean https://studies.beiwe.org?",
        ),
        (
            "ftp://studies.beiwe.org",
            "URL 'ftp://studies.beiwe.org' is not an http(s) URL with a host name; use https://<host>",
        ),
        ("https://", "URL 'https://' is not an http(s) URL with a host name; use https://<host>"),
        ("https://host:notaport", "URL is not a valid URL; use the form https://studies.beiwe.org"),
        ("https://[::1", "URL is not a valid URL; use the form https://studies.beiwe.org"),
        (
            "https://b.org/?study=1",
            "URL 'https://b.org/?study=1' has a query or fragment; give only the server address, e.g. https://studies.beiwe.org",
        ),
        (
            "https://b.org/#x",
            "URL 'https://b.org/#x' has a query or fragment; give only the server address, e.g. https://studies.beiwe.org",
        ),
    ],
)
def test_malformed_urls(given: str, message: str) -> None:
    with pytest.raises(InvalidURL) as info:
        normalise_url(given)
    assert str(info.value) == message
    assert not isinstance(info.value, InsecureURL)


def test_url_with_user_info_is_refused_without_echo() -> None:
    with pytest.raises(InvalidURL) as info:
        normalise_url("https://alice:hunter2@studies.beiwe.org")
    assert "hunter2" not in str(info.value)
    assert str(info.value).startswith("URL contains a user name or password (user:pass@host)")


@pytest.mark.parametrize(
    "url",
    [
        "http://studies.beiwe.org",
        "http://10.0.0.5:8080/",
        "http://128.0.0.1",
        "http://localhost.evil.org",
        "http://[::2]",
    ],
)
def test_http_needs_loopback(url: str) -> None:
    with pytest.raises(
        InsecureURL,
        match=r"uses http; use https://.* instead \(the Beiwe server redirects http with a 301",
    ):
        normalise_url(url)


def test_insecure_message_keeps_port_and_path() -> None:
    with pytest.raises(InsecureURL) as info:
        normalise_url("http://b.org:8080/beiwe/")
    assert str(info.value).startswith(
        "URL 'http://b.org:8080/beiwe/' uses http; use https://b.org:8080/beiwe instead"
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("[::1]", True),
        ("128.0.0.1", False),
        ("example.org", False),
        ("0.0.0.0", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_keys_are_stripped_and_checked() -> None:
    creds = Credentials("https://b.org", f" {ACCESS_KEY}\n", f"{SECRET_KEY}\r\n")
    assert (creds.access_key, creds.secret_key) == (ACCESS_KEY, SECRET_KEY)
    for bad in ("a=", "a-b", "a_b", "a b", "é"):
        # Building credentials only warns (mano 0.6.0 read such keyrings); using them refuses.
        with pytest.warns(KeyShapeWarning, match="ACCESS_KEY contains the character"):
            loose = Credentials("https://b.org", bad, "ok")
        assert loose.access_key == bad
        with pytest.raises(InvalidKey):
            loose.check_keys()
        with pytest.warns(KeyShapeWarning) as caught:
            loose = Credentials("https://b.org", "ok", bad)
        assert bad not in str(caught[0].message)
        with pytest.raises(InvalidKey) as info:
            loose.check_keys()
        assert "SECRET_KEY contains 1 character(s) the Beiwe server rejects" in str(info.value)


def test_empty_and_wrongly_typed_fields() -> None:
    with pytest.raises(InvalidField, match=r"^ACCESS_KEY is empty; copy it from the Beiwe website"):
        Credentials("https://b.org", "  ", "x")
    with pytest.raises(InvalidField, match=r"^SECRET_KEY must be a string, not int"):
        Credentials("https://b.org", "x", 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidField, match=r"SECRETS in keyring section 's' must be an object"):
        Credentials.from_dict({**SECTION, "SECRETS": ["a"]}, name="s")
    with pytest.raises(InvalidField, match=r"must map study names \(strings\) to passphrases"):
        Credentials.from_dict({**SECTION, "SECRETS": {"A": 1}}, name="s")
    with pytest.raises(InvalidField, match=r"^the credentials must be an object with URL"):
        Credentials.from_dict("nope")  # type: ignore[arg-type]


def test_from_dict_lower_case_and_missing() -> None:
    creds = Credentials.from_dict({"url": "https://b.org", "access_key": "a", "secret_key": "b"})
    assert (creds.url, creds.access_key, creds.secret_key, creds.name) == (
        "https://b.org",
        "a",
        "b",
        None,
    )
    with pytest.raises(MissingField) as info:
        Credentials.from_dict({})
    assert str(info.value) == (
        "the credentials lack URL, ACCESS_KEY, SECRET_KEY (fields present: none); add URL, "
        "ACCESS_KEY and SECRET_KEY to it"
    )


def test_to_dict_round_trip() -> None:
    creds = Credentials.from_dict(SECTION, name="beiwe")
    assert creds.to_dict() == SECTION
    assert Credentials.from_dict(creds.to_dict(), name="beiwe") == creds
    minimal = Credentials("https://b.org", "a", "b")
    assert minimal.to_dict() == {"URL": "https://b.org", "ACCESS_KEY": "a", "SECRET_KEY": "b"}


def test_repr_and_str_redact() -> None:
    creds = Credentials.from_dict(SECTION, name="beiwe")
    text = repr(creds)
    assert text == (
        "Credentials(name='beiwe', url='https://studies.beiwe.org', access_key='AcCe…', "
        "secret_key='***', username='alice', password='***', secrets=<1 redacted: 'Study A'>)"
    )
    assert (
        str(creds) == "https://studies.beiwe.org (access key AcCe…, from keyring section 'beiwe')"
    )
    assert (
        str(Credentials("https://b.org", "ab", "c"))
        == "https://b.org (access key ***, from environment)"
    )
    for shown in (text, str(creds), f"{creds}", f"{creds!r}", repr([creds]), repr({"c": creds})):
        for secret in (SECRET_KEY, ACCESS_KEY, WEB_PASSWORD, STUDY_PASSPHRASE):
            assert secret not in shown


def test_frozen_hashable_copyable_picklable() -> None:
    creds = Credentials.from_dict(SECTION, name="beiwe")
    with pytest.raises(FrozenInstanceError):
        creds.url = "https://x.org"  # type: ignore[misc]
    assert hash(creds) == hash(Credentials.from_dict(SECTION, name="beiwe"))
    assert pickle.loads(pickle.dumps(creds)) == creds
    assert copy.deepcopy(creds) == creds
    assert creds != Credentials.from_dict(SECTION, name="other")


class _Study:
    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name


@pytest.mark.parametrize(
    ("study", "studies", "expected"),
    [
        ("Study A", None, STUDY_PASSPHRASE),
        ("5f3a0b1c2d3e4f5a6b7c8d9e", {"5f3a0b1c2d3e4f5a6b7c8d9e": "Study A"}, STUDY_PASSPHRASE),
        (_Study("5f3a0b1c2d3e4f5a6b7c8d9e", "Study A"), None, STUDY_PASSPHRASE),
        ("Study B", {"6f3a0b1c2d3e4f5a6b7c8d9e": "Study B"}, "pb"),  # SECRETS keyed by id
        (_Study("6f3a0b1c2d3e4f5a6b7c8d9e", "Study B"), None, "pb"),
        ("6f3a0b1c2d3e4f5a6b7c8d9e", None, "pb"),
    ],
)
def test_study_passphrase_by_name_or_id(
    study: Any, studies: dict[str, str] | None, expected: str
) -> None:
    creds = Credentials.from_dict(
        {**SECTION, "SECRETS": {"Study A": STUDY_PASSPHRASE, "6f3a0b1c2d3e4f5a6b7c8d9e": "pb"}}
    )
    assert creds.study_passphrase(study, studies=studies) == expected


def test_study_passphrase_missing_lists_names_not_passphrases() -> None:
    creds = Credentials.from_dict(SECTION, name="beiwe")
    with pytest.raises(StudyPassphraseNotFound) as info:
        creds.study_passphrase(
            "5f3a0b1c2d3e4f5a6b7c8d9e", studies={"5f3a0b1c2d3e4f5a6b7c8d9e": "Other"}
        )
    assert str(info.value) == (
        "no data passphrase for study 'Other' (id 5f3a0b1c2d3e4f5a6b7c8d9e) in SECRETS of keyring "
        "section 'beiwe' (known studies: 'Study A'); add it as \"SECRETS\": "
        '{"<study name>": "<passphrase>"}'
    )
    assert info.value.known == ("Study A",)
    assert isinstance(info.value, KeyError)
    assert STUDY_PASSPHRASE not in str(info.value)
    empty = Credentials("https://b.org", "a", "b")
    with pytest.raises(
        StudyPassphraseNotFound, match=r"in SECRETS of these credentials \(known studies: none\)"
    ):
        empty.study_passphrase("X")
