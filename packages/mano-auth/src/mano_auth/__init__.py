"""Keyrings and credentials for the Beiwe Data Access API (cryptease-compatible).

``load_keyring("beiwe")`` decrypts a section of ``~/.nrg-keyring.enc`` (the keyring mano 0.6.0
and cryptease's ``crypt.py`` use); ``load_keyring()`` reads ``BEIWE_URL``, ``BEIWE_ACCESS_KEY``
and ``BEIWE_SECRET_KEY``. Nothing prompts unless stdin is a terminal, and no secret ever appears
in a message, repr or log record. Errors are rooted at :class:`ManoAuthError`.
"""

import logging

from mano_auth.__about__ import __version__
from mano_auth._compat import resolve_cfb8
from mano_auth._credentials import (
    Credentials,
    KeyShapeWarning,
    StudyLike,
    is_loopback_host,
    normalise_url,
)
from mano_auth._errors import (
    CipherUnavailable,
    CredentialsError,
    EmptyEnvironmentVariable,
    EnvironmentVariableError,
    InsecureURL,
    InvalidField,
    InvalidKey,
    InvalidURL,
    KeyringCorrupted,
    KeyringError,
    KeyringExists,
    KeyringFormatError,
    KeyringNotFound,
    KeyringPermissionError,
    ManoAuthError,
    MissingEnvironmentVariable,
    MissingField,
    NotACrypteaseFile,
    PassphraseError,
    PassphraseRequired,
    SectionExists,
    SectionNotFound,
    StudyPassphraseNotFound,
    WrongPassphrase,
)
from mano_auth._keyring import (
    DEFAULT_KEYRING_FILE,
    KEYRING_FILE_ENV,
    PASSPHRASE_ENV,
    Keyring,
    UnencryptedKeyringWarning,
    add_section,
    change_passphrase,
    default_keyring_path,
    get_passphrase,
    list_sections,
    load_keyring,
    read_keyring,
    remove_section,
    write_keyring,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "DEFAULT_KEYRING_FILE",
    "KEYRING_FILE_ENV",
    "PASSPHRASE_ENV",
    "CipherUnavailable",
    "Credentials",
    "CredentialsError",
    "EmptyEnvironmentVariable",
    "EnvironmentVariableError",
    "InsecureURL",
    "InvalidField",
    "InvalidKey",
    "InvalidURL",
    "Keyring",
    "KeyShapeWarning",
    "KeyringError",
    "KeyringExists",
    "KeyringCorrupted",
    "KeyringFormatError",
    "KeyringNotFound",
    "KeyringPermissionError",
    "ManoAuthError",
    "MissingEnvironmentVariable",
    "MissingField",
    "NotACrypteaseFile",
    "PassphraseError",
    "PassphraseRequired",
    "SectionExists",
    "SectionNotFound",
    "StudyLike",
    "StudyPassphraseNotFound",
    "UnencryptedKeyringWarning",
    "WrongPassphrase",
    "__version__",
    "add_section",
    "change_passphrase",
    "default_keyring_path",
    "get_passphrase",
    "is_loopback_host",
    "list_sections",
    "load_keyring",
    "normalise_url",
    "read_keyring",
    "remove_section",
    "resolve_cfb8",
    "write_keyring",
]
