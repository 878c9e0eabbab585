"""Study information calls of both surfaces, over ``mano_api``."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, NoReturn

import mano_api
from mano._deprecation import deprecated
from mano._errors import (
    AmbiguousStudyIDError,
    IntervalError,
    LoginError,
    StudyIDError,
    StudyNameError,
)
from mano._keyring import DEFAULT_KEYRING_FILE, Keyring, from_environment, from_file, to_credentials

__all__ = [
    "device_settings",
    "expand_study_id",
    "fetch_accessible_studies",
    "fetch_study_device_settings",
    "fetch_users_in_study",
    "interval",
    "keyring",
    "keyring_from_env",
    "load_keyring",
    "login",
    "studies",
    "studyid",
    "studyname",
    "users",
]


# -- keyrings ----------------------------------------------------------------------------------


def keyring(
    deployment: str | None,
    keyring_file: str | os.PathLike[str] = DEFAULT_KEYRING_FILE,
    passphrase: str | None = None,
) -> Keyring:
    """mano 0.6.0: one section of an encrypted keyring, as a dict.

    ``deployment=None`` reads ``BEIWE_*`` variables. The passphrase comes from ``passphrase``,
    else ``NRG_KEYRING_PASS``, else a prompt (only on a terminal: under cron this fails at once
    instead of hanging).
    """
    deprecated("mano.keyring", "mano_auth.load_keyring(name, path, password=...)")
    if deployment is None:
        return from_environment()
    return from_file(deployment, keyring_file, passphrase)


def keyring_from_env() -> Keyring:
    """mano 0.6.0: the keyring from ``BEIWE_URL``, ``BEIWE_ACCESS_KEY``, ``BEIWE_SECRET_KEY``."""
    deprecated("mano.keyring_from_env", "mano_auth.load_keyring(None)")
    return from_environment()


def load_keyring(
    name: str | None,
    keyring_file: str | os.PathLike[str] | None = None,
    password: str | None = None,
) -> Keyring:
    """Newest mano: like :func:`keyring`, with the passphrase keyword named ``password``.

    ``keyring_file=None`` means ``MANO_KEYRING_FILE``, else ``~/.nrg-keyring.enc``.
    """
    deprecated("mano.load_keyring", "mano_auth.load_keyring (returns validated Credentials)")
    if name is None:
        return from_environment()
    return from_file(name, keyring_file, password)


# -- studies and participants ------------------------------------------------------------------


def _studies(Keyring: object) -> list[tuple[str, str]]:
    with mano_api.BeiweClient(to_credentials(Keyring)) as client:
        return [(s.name, s.id) for s in client.studies()]


def studies(Keyring: object) -> Iterator[tuple[str, str]]:
    """mano 0.6.0: ``(study name, study id)`` of every accessible study."""
    deprecated("mano.studies", "mano_api.BeiweClient(creds).studies() (Study objects)")
    yield from _studies(Keyring)


def fetch_accessible_studies(Keyring: object) -> list[tuple[str, str]]:
    """Newest mano: ``(study name, study id)`` of every accessible study."""
    deprecated("mano.fetch_accessible_studies", "mano_api.fetch_accessible_studies")
    return _studies(Keyring)


def _users(Keyring: object, study_id: str) -> list[str]:
    with mano_api.BeiweClient(to_credentials(Keyring)) as client:
        return client.participant_ids(study_id)


def users(Keyring: object, study_id: str) -> Iterator[str]:
    """mano 0.6.0: the participant ids of a study."""
    deprecated("mano.users", "mano_api.BeiweClient(creds).participant_ids(study)")
    yield from _users(Keyring, study_id)


def fetch_users_in_study(Keyring: object, study_id: str) -> list[str]:
    """Newest mano: the participant ids of a study."""
    deprecated("mano.fetch_users_in_study", "mano_api.fetch_users_in_study")
    return _users(Keyring, study_id)


def _settings(Keyring: object, study_id: str) -> list[tuple[str, Any]]:
    with mano_api.BeiweClient(to_credentials(Keyring)) as client:
        return list(client.study_settings(study_id).device_settings.items())


def device_settings(Keyring: object, study_id: str) -> Iterator[tuple[str, Any]]:
    """mano 0.6.0: ``(setting, value)`` of the study's device settings.

    0.6.0 logged in to the website with USERNAME/PASSWORD and scraped an HTML page (values
    were strings); this reads the Data Access API's study settings (typed values: booleans,
    integers), so no website password is needed.
    """
    deprecated("mano.device_settings", "mano_api.BeiweClient(creds).study_settings(study)")
    yield from _settings(Keyring, study_id)


def fetch_study_device_settings(Keyring: object, study_id: str) -> list[tuple[str, Any]]:
    """Newest mano: ``(setting, value)`` of the study's device settings."""
    deprecated("mano.fetch_study_device_settings", "mano_api.fetch_study_device_settings")
    return _settings(Keyring, study_id)


def expand_study_id(Keyring: object, segment: str) -> tuple[str, str] | None:
    """mano 0.6.0: ``(name, id)`` of the one study whose id starts with ``segment``.

    Returns:
        None when no study matches (0.6.0 logged a warning and returned None too).

    Raises:
        AmbiguousStudyIDError: several studies match.
    """
    deprecated("mano.expand_study_id", "mano_api.BeiweClient(creds).resolve_study(prefix)")
    found = [(n, i) for n, i in _studies(Keyring) if i.startswith(segment)]
    if len(found) > 1:
        names = ", ".join(f"{n} ({i})" for n, i in found)
        raise AmbiguousStudyIDError(f"study id prefix {segment!r} matches {names}; give more of it")
    return found[0] if found else None


def studyid(Keyring: object, name: str) -> str:
    """mano 0.6.0: the id of the study named ``name``."""
    deprecated("mano.studyid", "mano_api.BeiweClient(creds).resolve_study(name).id")
    for study_name, study_id in _studies(Keyring):
        if study_name == name:
            return study_id
    raise StudyIDError(f"no accessible study is named {name!r}")


def studyname(Keyring: object, sid: str) -> str:
    """mano 0.6.0: the name of the study with id ``sid``."""
    deprecated("mano.studyname", "mano_api.BeiweClient(creds).resolve_study(id).name")
    for study_name, study_id in _studies(Keyring):
        if study_id == sid:
            return study_name
    raise StudyNameError(f"no accessible study has the id {sid!r}")


def login(Keyring: object) -> NoReturn:
    """mano 0.6.0 logged in to the website to scrape device settings; nothing needs it now.

    Raises:
        LoginError: always, saying what to call instead.
    """
    deprecated("mano.login", "nothing: the Data Access API needs no website password")
    raise LoginError(
        "mano.login is gone: it only served device_settings, which now reads the Data Access "
        "API with ACCESS_KEY and SECRET_KEY; call mano.device_settings(Keyring, study_id)"
    )


_INTERVAL = re.compile(r"^([0-9]+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def interval(x: str) -> int:
    """mano 0.6.0: ``"12h"``, ``"1d"``, ``"30m"``, ``"5s"`` in seconds.

    Raises:
        IntervalError: not ``<number><s|m|h|d>``.
    """
    deprecated("mano.interval", "datetime.timedelta")
    match = _INTERVAL.match(x) if isinstance(x, str) else None
    if match is None:
        raise IntervalError(f"invalid interval {x!r}; use <number><s|m|h|d>, e.g. 12h")
    amount, unit = int(match.group(1)), match.group(2)
    return int(timedelta(**{_UNITS[unit]: amount}).total_seconds())
