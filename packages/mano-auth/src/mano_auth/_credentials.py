"""The credentials for one Beiwe server: a validated, redacting, frozen value."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import sys
import urllib.parse
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from mano_auth._errors import (
    EmptyEnvironmentVariable,
    InsecureURL,
    InvalidField,
    InvalidKey,
    InvalidURL,
    MissingEnvironmentVariable,
    MissingField,
    StudyPassphraseNotFound,
)

__all__ = [
    "ENV_ACCESS_KEY",
    "ENV_PASSWORD",
    "ENV_SECRET_KEY",
    "ENV_URL",
    "ENV_USERNAME",
    "Credentials",
    "KeyShapeWarning",
    "StudyLike",
    "is_loopback_host",
    "normalise_url",
    "validate_key",
]

logger = logging.getLogger(__name__)

ENV_URL = "BEIWE_URL"
ENV_ACCESS_KEY = "BEIWE_ACCESS_KEY"
ENV_SECRET_KEY = "BEIWE_SECRET_KEY"
ENV_USERNAME = "BEIWE_USERNAME"
ENV_PASSWORD = "BEIWE_PASSWORD"

# docs/beiwe-server.md#checks: the server answers 400 to a key with any other character (note '=', '-', '_').
_KEY_RE = re.compile(r"[A-Za-z0-9/+]+")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDACTED = "***"


class KeyShapeWarning(UserWarning):
    """A key has characters the Beiwe server rejects (a placeholder or a bad copy-paste).

    Reading such a keyring section still works (mano 0.6.0 read it too); using it for a request
    raises :class:`~mano_auth.InvalidKey` (see :meth:`Credentials.check_keys`).
    """


def _outside_mano_auth() -> int:
    """The ``stacklevel`` that points a warning at the first frame outside mano_auth."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith("mano_auth"):
        frame = frame.f_back
        level += 1
    return level


@runtime_checkable
class StudyLike(Protocol):
    """Anything with a study ``id`` and ``name`` (such as ``mano_api.Study``)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalise_url(url: str, *, label: str = "URL") -> str:
    """Check a server URL and return it normalised.

    The scheme and host are lowercased, default ports and trailing slashes dropped. ``https`` is
    required, except for loopback hosts (the emulator): the real server answers plain http with a
    301 and most clients then replay the POST as a GET, which fails.

    Args:
        url: What the user gave, e.g. ``"https://studies.beiwe.org/"``.
        label: How to name the value in messages (``URL``, ``BEIWE_URL``, ...).

    Returns:
        E.g. ``"https://studies.beiwe.org"``.

    Raises:
        InvalidURL: Malformed, or with user info, a query or a fragment.
        InsecureURL: ``http://`` to a host that is not loopback.
    """
    if not isinstance(url, str):
        raise InvalidField(
            f"{label} must be a string, not {type(url).__name__}", field=_field(label)
        )
    text = url.strip()
    if not text:
        raise InvalidURL(
            f"{label} is empty; set it to the server address, e.g. https://studies.beiwe.org",
            field=_field(label),
        )
    try:
        parts = urllib.parse.urlsplit(text)
        port = parts.port
    except ValueError:
        # Do not echo: a malformed URL could hide anything.
        raise InvalidURL(
            f"{label} is not a valid URL; use the form https://studies.beiwe.org",
            field=_field(label),
        ) from None
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(
            f"{label} contains a user name or password (user:pass@host); remove it, the API "
            "authenticates with ACCESS_KEY and SECRET_KEY",
            field=_field(label),
        )
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        hint = f"did you mean https://{text}?" if "://" not in text else "use https://<host>"
        raise InvalidURL(
            f"{label} {text!r} is not an http(s) URL with a host name; {hint}", field=_field(label)
        )
    if parts.query or parts.fragment:
        raise InvalidURL(
            f"{label} {text!r} has a query or fragment; give only the server address, "
            "e.g. https://studies.beiwe.org",
            field=_field(label),
        )
    host = parts.hostname.lower()
    if scheme == "http" and not is_loopback_host(host):
        secure = urllib.parse.urlunsplit(("https", parts.netloc, parts.path, "", ""))
        raise InsecureURL(
            f"{label} {text!r} uses http; use {secure.rstrip('/')} instead (the Beiwe server "
            "redirects http with a 301 and the POST is then replayed as a GET, which fails; "
            "plain http is only allowed for localhost/127.0.0.1/::1)",
            field=_field(label),
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    return f"{scheme}://{netloc}{path}"


def validate_key(value: object, *, label: str, secret: bool, strict: bool = True) -> str:
    """Check an access or secret key against what the server accepts; return it stripped.

    Surrounding whitespace (a copy-paste newline) is removed; anything else outside
    ``[A-Za-z0-9/+]`` is refused, because the server answers 400 to it (docs/beiwe-server.md#auth).

    Args:
        value: The key.
        label: Its name in messages (``ACCESS_KEY``, ``BEIWE_SECRET_KEY``, ...).
        secret: When true, the message names no character of the value.
        strict: False: a key of the wrong shape only warns (:class:`KeyShapeWarning`) and is
            returned as it is; it is refused when used (:meth:`Credentials.check_keys`).

    Raises:
        InvalidField: Not a string, or empty.
        InvalidKey: Characters the server rejects (``strict`` only).
    """
    if not isinstance(value, str):
        raise InvalidField(
            f"{label} must be a string, not {type(value).__name__}", field=_field(label)
        )
    key = value.strip()
    if not key:
        raise InvalidField(
            f"{label} is empty; copy it from the Beiwe website (Manage Credentials)",
            field=_field(label),
        )
    if _KEY_RE.fullmatch(key):
        return key
    bad = sorted({c for c in key if not _KEY_RE.fullmatch(c)})
    if secret:
        what = f"{sum(not _KEY_RE.fullmatch(c) for c in key)} character(s)"
    else:
        what = "the character(s) " + " ".join(repr(c) for c in bad[:8])
    message = (
        f"{label} contains {what} the Beiwe server rejects; keys use only A-Z, a-z, 0-9, "
        "'/' and '+' ('=', '-', '_' and spaces are not allowed); copy the key again from the "
        "Beiwe website"
    )
    if not strict:
        warnings.warn(
            f"{message} (requests with it will be refused)",
            KeyShapeWarning,
            stacklevel=_outside_mano_auth(),
        )
        return key
    raise InvalidKey(message, field=_field(label))


def _optional_text(value: object, label: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField(
            f"{label} must be a string, not {type(value).__name__}", field=_field(label)
        )
    return value


def _validate_secrets(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidField(
            f"SECRETS in {where} must be an object {{study name: passphrase}}, not "
            f"{type(value).__name__}",
            field="SECRETS",
        )
    secrets: dict[str, str] = {}
    for study, passphrase in value.items():
        if not isinstance(study, str) or not isinstance(passphrase, str):
            raise InvalidField(
                f"SECRETS in {where} must map study names (strings) to passphrases (strings)",
                field="SECRETS",
            )
        secrets[study] = passphrase
    return secrets


def _field(label: str) -> str:
    """``"keyring section 'x': URL"`` -> ``"URL"``."""
    return label.rsplit(": ", 1)[-1]


def _mask(access_key: str) -> str:
    return access_key[:4] + "…" if len(access_key) > 4 else _REDACTED


@dataclass(frozen=True, repr=False)
class Credentials:
    """Credentials for one Beiwe server, validated on construction.

    ``repr`` and ``str`` show the name, URL and the first characters of the access key only;
    the secret key, password and study passphrases never appear in them.

    Attributes:
        url: The server URL, normalised (see :func:`normalise_url`).
        access_key: Data-access API access key (``[A-Za-z0-9/+]``).
        secret_key: Data-access API secret key (``[A-Za-z0-9/+]``).
        username: Website user name (optional; the API does not use it).
        password: Website password (optional; the API does not use it).
        secrets: Data encryption passphrases by study name (or id).
        name: The keyring section these came from (``None`` for the environment).
    """

    url: str
    access_key: str
    secret_key: str
    username: str | None = None
    password: str | None = None
    secrets: Mapping[str, str] = field(default_factory=dict, hash=False)
    name: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None and not isinstance(self.name, str):
            raise InvalidField("the section name must be a string", field="name")
        where = self._where()
        labels = f"{where}: " if self.name is not None else ""
        object.__setattr__(self, "url", normalise_url(self.url, label=f"{labels}URL"))
        object.__setattr__(
            self,
            "access_key",
            validate_key(self.access_key, label=f"{labels}ACCESS_KEY", secret=False, strict=False),
        )
        object.__setattr__(
            self,
            "secret_key",
            validate_key(self.secret_key, label=f"{labels}SECRET_KEY", secret=True, strict=False),
        )
        object.__setattr__(self, "username", _optional_text(self.username, "USERNAME"))
        object.__setattr__(self, "password", _optional_text(self.password, "PASSWORD"))
        object.__setattr__(self, "secrets", _validate_secrets(self.secrets, where))

    def check_keys(self) -> None:
        """Refuse keys the server would answer 400 to, before any request is sent.

        Construction only warns about them (:class:`KeyShapeWarning`), so a keyring with
        placeholder keys still loads; a client using the credentials calls this.

        Raises:
            InvalidKey: A key has characters the server rejects (the message names the
                section and the field, and no character of the secret key).
        """
        labels = f"{self._where()}: " if self.name is not None else ""
        validate_key(self.access_key, label=f"{labels}ACCESS_KEY", secret=False)
        validate_key(self.secret_key, label=f"{labels}SECRET_KEY", secret=True)

    def _where(self) -> str:
        return f"keyring section {self.name!r}" if self.name is not None else "these credentials"

    @property
    def base_url(self) -> str:
        """The normalised server URL without a trailing slash (same as :attr:`url`)."""
        return self.url

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], name: str | None = None) -> Credentials:
        """Build credentials from a keyring section (``URL``, ``ACCESS_KEY``, ``SECRET_KEY``, ...).

        Lower-case field names are accepted too. Unknown fields are ignored.

        Args:
            data: The section.
            name: The section's name, used in messages and kept on the value.

        Raises:
            MissingField: ``URL``, ``ACCESS_KEY`` or ``SECRET_KEY`` is absent.
            CredentialsError: A value is unusable (see :class:`Credentials`).
        """
        where = f"keyring section {name!r}" if name is not None else "the credentials"
        if not isinstance(data, Mapping):
            raise InvalidField(
                f"{where} must be an object with URL, ACCESS_KEY and SECRET_KEY, not "
                f"{type(data).__name__}"
            )

        def get(key: str) -> Any:
            if key in data:
                return data[key]
            return data.get(key.lower())

        missing = [k for k in ("URL", "ACCESS_KEY", "SECRET_KEY") if get(k) is None]
        if missing:
            present = ", ".join(sorted(str(k) for k in data)) or "none"
            raise MissingField(
                f"{where} {'lack' if name is None else 'lacks'} {', '.join(missing)} "
                f"(fields present: {present}); add "
                "URL, ACCESS_KEY and SECRET_KEY to it",
                field=missing[0],
            )
        return cls(
            url=get("URL"),
            access_key=get("ACCESS_KEY"),
            secret_key=get("SECRET_KEY"),
            username=get("USERNAME"),
            password=get("PASSWORD"),
            secrets=get("SECRETS") or {},
            name=name,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Build credentials from ``BEIWE_URL``, ``BEIWE_ACCESS_KEY``, ``BEIWE_SECRET_KEY``.

        ``BEIWE_USERNAME`` and ``BEIWE_PASSWORD`` are read when set.

        Args:
            environ: The environment to read (default ``os.environ``).

        Raises:
            MissingEnvironmentVariable: A required variable is not set.
            EmptyEnvironmentVariable: A variable is set but empty.
            CredentialsError: A value is unusable; the message names the variable.
        """
        env = os.environ if environ is None else environ
        required = (ENV_URL, ENV_ACCESS_KEY, ENV_SECRET_KEY)
        missing = tuple(v for v in required if v not in env)
        if missing:
            raise MissingEnvironmentVariable(
                f"{', '.join(missing)} not set; set {', '.join(required)}, or name a keyring "
                "section (mano --keyring NAME, load_keyring('NAME'))",
                variables=missing,
            )
        for var in (*required, ENV_USERNAME, ENV_PASSWORD):
            if var in env and not env[var].strip():
                raise EmptyEnvironmentVariable(
                    f"{var} is set but empty; give it a value or unset it", variables=(var,)
                )
        url = normalise_url(env[ENV_URL], label=ENV_URL)
        # Variables are not a keyring file: a key of the wrong shape is refused here, naming
        # the variable (mano.keyring(None), the 0.6.0 call, reads them without checking).
        access_key = validate_key(env[ENV_ACCESS_KEY], label=ENV_ACCESS_KEY, secret=False)
        secret_key = validate_key(env[ENV_SECRET_KEY], label=ENV_SECRET_KEY, secret=True)
        logger.debug("credentials for %s from the environment", url)
        return cls(
            url=url,
            access_key=access_key,
            secret_key=secret_key,
            username=env.get(ENV_USERNAME),
            password=env.get(ENV_PASSWORD),
        )

    def to_dict(self) -> dict[str, Any]:
        """The keyring-section form: ``URL``, ``ACCESS_KEY``, ``SECRET_KEY`` and the optional
        ``USERNAME``, ``PASSWORD``, ``SECRETS`` when set. Contains secrets: never log it."""
        section: dict[str, Any] = {
            "URL": self.url,
            "ACCESS_KEY": self.access_key,
            "SECRET_KEY": self.secret_key,
        }
        if self.username is not None:
            section["USERNAME"] = self.username
        if self.password is not None:
            section["PASSWORD"] = self.password
        if self.secrets:
            section["SECRETS"] = dict(self.secrets)
        return section

    def study_passphrase(
        self, study: str | StudyLike, *, studies: Mapping[str, str] | None = None
    ) -> str:
        """The data encryption passphrase of a study, from ``SECRETS``.

        ``SECRETS`` is keyed by study name (mano 0.6.0) or, for some users, by study id. Lookup
        tries, in order: ``study`` itself, then its name (via ``studies`` or a ``Study``'s
        ``.name``), then its id.

        Args:
            study: A study name, a study id, or an object with ``id`` and ``name``.
            studies: Optional ``{study id: study name}`` map (e.g. from get-studies) so an id can
                be looked up by its name.

        Returns:
            The passphrase.

        Raises:
            StudyPassphraseNotFound: No entry; the message lists the known study names.
        """
        candidates: list[str] = []
        if isinstance(study, str):
            candidates.append(study)
            if studies and study in studies:
                candidates.append(studies[study])
            if studies:
                candidates.extend(sid for sid, sname in studies.items() if sname == study)
            label = repr(study)
            if studies and study in studies:
                label = f"{studies[study]!r} (id {study})"
        else:
            candidates.extend([study.name, study.id])
            label = f"{study.name!r} (id {study.id})"
        for candidate in candidates:
            if candidate in self.secrets:
                return self.secrets[candidate]
        known = tuple(sorted(self.secrets))
        listing = ", ".join(repr(k) for k in known) if known else "none"
        raise StudyPassphraseNotFound(
            f"no data passphrase for study {label} in SECRETS of {self._where()} (known "
            f'studies: {listing}); add it as "SECRETS": {{"<study name>": "<passphrase>"}}',
            known=known,
        )

    def __repr__(self) -> str:
        studies = ", ".join(repr(k) for k in sorted(self.secrets))
        return (
            f"Credentials(name={self.name!r}, url={self.url!r}, "
            f"access_key={_mask(self.access_key)!r}, secret_key={_REDACTED!r}, "
            f"username={self.username!r}, "
            f"password={_REDACTED if self.password is not None else None!r}, "
            f"secrets=<{len(self.secrets)} redacted: {studies}>)"
        )

    def __str__(self) -> str:
        source = f"keyring section {self.name!r}" if self.name is not None else "environment"
        return f"{self.url} (access key {_mask(self.access_key)}, from {source})"
