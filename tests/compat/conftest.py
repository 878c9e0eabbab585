"""Helpers for running the two seed READMEs' examples against the emulator.

The examples are transcribed as code in the tests (never read from a file); only the server
address, the keys and placeholder folders differ from what the READMEs print.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cryptease
import pytest

from mano_api import BeiweClient

KEYRING_PASSPHRASE = "keyring passphrase"
DATA_PASSPHRASE = "data passphrase for the study"

#: Forest's side inputs, which every sync refreshes at the study folder's root.
SIDE_INPUT_SUFFIXES = (
    "_surveys_and_settings.json",
    "_intervention_data.json",
    "_surveys_history_data.json",
)


def encrypt_like_crypt_py(plain: Path, target: Path, passphrase: str) -> Path:
    """``crypt.py --encrypt PLAIN --output-file TARGET``: cryptease's own library calls."""
    key = cryptease.kdf(passphrase)
    with plain.open("rb") as source, warnings.catch_warnings():
        # cryptease 0.2 still names cryptography's deprecated CFB8 location
        warnings.simplefilter("ignore")
        cryptease.encrypt(source, key, filename=str(target))
    return target


def write_keyring(home: Path, sections: dict[str, Any], name: str = ".nrg-keyring.enc") -> Path:
    """Write a keyring the way both READMEs say: a JSON file, encrypted with cryptease."""
    plain = home / "my_credentials_file.json"
    plain.write_text(json.dumps(sections, indent=4))
    return encrypt_like_crypt_py(plain, home / name, KEYRING_PASSPHRASE)


def reference(
    credentials: Any,
    study_id: str,
    participants: list[str] | None = None,
    streams: list[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    version: int = 1,
) -> dict[str, bytes]:
    """The members the server sends for a request (raw, through mano_api), by name."""
    with (
        BeiweClient(credentials) as client,
        client.download(
            study_id,
            participants=participants,
            streams=streams,
            start=start,
            end=end,
            version=version,
        ) as archive,
    ):
        return {m.name: archive.read(m) for m in archive.members()}


def files_under(folder: Path) -> dict[str, bytes]:
    """Every non-hidden file under ``folder`` by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and not any(x.startswith(".") for x in p.relative_to(folder).parts)
        and not (p.parent == folder and p.name.endswith(SIDE_INPUT_SUFFIXES))
    }


@pytest.fixture
def fresh_warnings() -> Iterator[None]:
    """Each legacy call warns once per process: forget that, so a test sees its warnings."""
    from mano import _deprecation

    _deprecation.reset()
    yield
    _deprecation.reset()


def emulator_2015(factory: Any) -> Any:
    """An emulator whose data lies in the READMEs' example window (October 2015)."""
    return factory(participants=3, days=3, seed=5, start=datetime(2015, 10, 10, tzinfo=UTC))


def emulator_2020(factory: Any) -> Any:
    """An emulator whose data follows the newest README's backfill start (2020-02-20)."""
    return factory(participants=2, days=2, seed=5, start=datetime(2020, 3, 2, tzinfo=UTC))


def warned(record: Any) -> set[str]:
    """The legacy entry points named by the DeprecationWarnings in ``record``."""
    return {
        str(w.message).split(" is the mano 0.6.0")[0]
        for w in record
        if issubclass(w.category, DeprecationWarning)
    }
