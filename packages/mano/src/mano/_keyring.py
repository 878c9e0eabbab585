"""Keyrings as mano 0.6.0 and the newest mano hand them out: a plain dict of one section.

``mano.keyring("name")`` returned ``json.loads(...)[name]``: a dict with ``URL``,
``ACCESS_KEY``, ``SECRET_KEY`` and maybe ``USERNAME``, ``PASSWORD`` and ``SECRETS``. Scripts
index it (``Keyring['SECRETS'][study]``), copy it and pass it back to every call, so this
module returns exactly that, as a ``dict`` subclass whose ``repr`` shows no secret. Nothing is
validated at load time (0.6.0 validated nothing either): a section is checked when a call uses
it, by :func:`to_credentials`, with mano-auth's messages.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mano._errors import ManoError
from mano_auth import Credentials, MissingEnvironmentVariable, read_keyring

__all__ = ["DEFAULT_KEYRING_FILE", "Keyring", "from_environment", "from_file", "to_credentials"]

#: Where mano 0.6.0 and the newest mano look for the keyring.
DEFAULT_KEYRING_FILE = "~/.nrg-keyring.enc"

_ENV = {
    "URL": "BEIWE_URL",
    "ACCESS_KEY": "BEIWE_ACCESS_KEY",
    "SECRET_KEY": "BEIWE_SECRET_KEY",
    "USERNAME": "BEIWE_USERNAME",
    "PASSWORD": "BEIWE_PASSWORD",
}
_REQUIRED = ("URL", "ACCESS_KEY", "SECRET_KEY")


class Keyring(dict[str, Any]):
    """One keyring section as a dict (``Keyring['URL']``, ``Keyring['SECRETS'][study]``).

    Attributes:
        name: The section it came from (``None`` for the environment).
    """

    def __init__(self, section: Mapping[str, Any], name: str | None = None) -> None:
        super().__init__(section)
        self.name = name

    def __repr__(self) -> str:
        url = self.get("URL", self.get("url"))
        fields = ", ".join(sorted(str(k) for k in self))
        return f"Keyring(name={self.name!r}, URL={url!r}, fields=[{fields}], secrets redacted)"

    __str__ = __repr__


def from_file(
    name: str, keyring_file: str | os.PathLike[str] | None, passphrase: str | None
) -> Keyring:
    """Decrypt ``keyring_file`` and return section ``name`` unvalidated (as 0.6.0 did).

    ``keyring_file=None`` means ``MANO_KEYRING_FILE``, else ``~/.nrg-keyring.enc``.

    Raises:
        mano_auth.ManoAuthError: missing file, wrong passphrase, no such section, ...
    """
    ring = read_keyring(keyring_file, password=passphrase)
    return Keyring(ring.section(name), name=name)


def from_environment() -> Keyring:
    """``BEIWE_URL``, ``BEIWE_ACCESS_KEY``, ``BEIWE_SECRET_KEY`` (``BEIWE_USERNAME`` and
    ``BEIWE_PASSWORD`` too when set; 0.6.0 required them, the API never used them).

    Raises:
        mano_auth.MissingEnvironmentVariable: a required variable is not set.
    """
    missing = tuple(_ENV[k] for k in _REQUIRED if _ENV[k] not in os.environ)
    if missing:
        raise MissingEnvironmentVariable(
            f"{', '.join(missing)} not set; set BEIWE_URL, BEIWE_ACCESS_KEY and "
            "BEIWE_SECRET_KEY, or name a keyring section",
            variables=missing,
        )
    return Keyring({k: os.environ[v] for k, v in _ENV.items() if v in os.environ})


def to_credentials(keyring: object) -> Credentials:
    """The validated credentials of whatever a script passes as its keyring.

    Accepts a :class:`Keyring`, any mapping with ``URL``/``ACCESS_KEY``/``SECRET_KEY`` (the
    newest README's ``json.load``-ed section), a whole keyring file loaded as JSON with exactly
    one section, or a ``mano_auth.Credentials``.

    Raises:
        mano_auth.CredentialsError: the section is unusable (the message names the field).
        ManoError: a keyring file with several sections, or not a mapping at all.
    """
    if isinstance(keyring, Credentials):
        return keyring
    if not isinstance(keyring, Mapping):
        raise ManoError(
            f"the keyring must be a dict with URL, ACCESS_KEY and SECRET_KEY (as returned by "
            f"mano.keyring or mano.load_keyring), not {type(keyring).__name__}"
        )
    name = keyring.name if isinstance(keyring, Keyring) else None
    if any(k in keyring for k in ("URL", "url", "ACCESS_KEY", "access_key")):
        return Credentials.from_dict(keyring, name=name)
    sections = {str(k): v for k, v in keyring.items() if isinstance(v, Mapping)}
    if len(sections) == 1:
        # A whole keyring file read with json.load: its only section is meant.
        ((only, section),) = sections.items()
        return Credentials.from_dict(section, name=only)
    listing = ", ".join(repr(s) for s in sections) or "none"
    raise ManoError(
        f"the keyring has no URL, ACCESS_KEY and SECRET_KEY; it looks like a whole keyring "
        f"file with sections {listing}: pass one section, e.g. keyring[{next(iter(sections), 'NAME')!r}]"
    )
