"""Every error mano-auth raises.

One root, so callers (the CLI maps it to exit code 3) can catch everything with one clause.
Builtins are mixed in where callers would expect them (``except KeyError`` around a lookup,
``except FileNotFoundError`` around a load). Messages are one line, say what happened and what
to do next, and never contain a secret key, password or passphrase.

::

    ManoAuthError
    ├── KeyringError                    problems with the keyring file itself
    │   ├── KeyringNotFound             (FileNotFoundError) no file where we looked
    │   ├── KeyringPermissionError      (PermissionError) the file cannot be read or written
    │   ├── NotACrypteaseFile           (ValueError) neither cryptease nor plain JSON
    │   ├── KeyringFormatError          (ValueError) decrypts, but is not {section: {...}}
    │   ├── KeyringCorrupted            (ValueError) decrypts to JSON text cut short or damaged
    │   ├── KeyringExists               (FileExistsError) refusing to overwrite a keyring
    │   ├── SectionNotFound             (KeyError) no such section; lists the sections
    │   └── SectionExists               the section is already there (use replace=True)
    ├── PassphraseError
    │   ├── WrongPassphrase             the passphrase does not decrypt the keyring
    │   └── PassphraseRequired          no passphrase given and no terminal to ask on
    ├── CredentialsError                (ValueError) a credential value is unusable
    │   ├── MissingField                a required field (URL, ACCESS_KEY, SECRET_KEY) is absent
    │   ├── InvalidField                a field has the wrong type or is empty
    │   ├── InvalidURL                  the URL cannot be used
    │   │   └── InsecureURL             http:// to a non-loopback host (use https://)
    │   └── InvalidKey                  a key has characters the server rejects (400)
    ├── EnvironmentVariableError
    │   ├── MissingEnvironmentVariable  BEIWE_URL and friends are not set
    │   └── EmptyEnvironmentVariable    a variable is set but empty
    ├── StudyPassphraseNotFound         (KeyError) no SECRETS entry; lists known study names
    └── CipherUnavailable               (RuntimeError) cryptography provides no AES-CFB8
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CipherUnavailable",
    "CredentialsError",
    "EmptyEnvironmentVariable",
    "EnvironmentVariableError",
    "InsecureURL",
    "InvalidField",
    "InvalidKey",
    "InvalidURL",
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
    "StudyPassphraseNotFound",
    "WrongPassphrase",
]


class ManoAuthError(Exception):
    """Root of every mano-auth error. ``str(error)`` is a one-line, secret-free message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # KeyError would otherwise repr-quote the message; OSError would prefix errno.
        return self.message


class KeyringError(ManoAuthError):
    """A problem with the keyring file. ``path`` is where it is (or was looked for)."""

    def __init__(self, message: str, *, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class KeyringNotFound(KeyringError, FileNotFoundError):
    """No keyring file where we looked."""


class KeyringPermissionError(KeyringError, PermissionError):
    """The keyring file (or its folder) cannot be read or written by this user."""


class NotACrypteaseFile(KeyringError, ValueError):
    """The file is neither a cryptease-encrypted file nor a plain JSON keyring."""


class KeyringFormatError(KeyringError, ValueError):
    """The keyring opens but its content is not a JSON object of sections."""


class KeyringCorrupted(KeyringError, ValueError):
    """The keyring decrypts to JSON text that is cut short or damaged (e.g. a truncated file)."""


class KeyringExists(KeyringError, FileExistsError):
    """Refusing to overwrite an existing keyring file."""


class SectionNotFound(KeyringError, KeyError):
    """The keyring has no section of that name. ``sections`` lists those it has."""

    def __init__(
        self, message: str, *, path: Path | None = None, sections: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, path=path)
        self.sections = sections


class SectionExists(KeyringError):
    """The section already exists; pass ``replace=True`` to overwrite it."""


class PassphraseError(ManoAuthError):
    """The keyring passphrase is wrong or missing."""


class WrongPassphrase(PassphraseError):
    """The passphrase does not decrypt the keyring."""


class PassphraseRequired(PassphraseError):
    """A passphrase is needed, none was given, and stdin is not a terminal to ask on."""


class CredentialsError(ManoAuthError, ValueError):
    """A credential value is missing or unusable. ``field`` names it (``URL``, ...)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MissingField(CredentialsError):
    """A required field is absent from a keyring section or mapping."""


class InvalidField(CredentialsError):
    """A field has the wrong type or is empty."""


class InvalidURL(CredentialsError):
    """The server URL is malformed."""


class InsecureURL(InvalidURL):
    """``http://`` to a host that is not a loopback address; the server needs https."""


class InvalidKey(CredentialsError):
    """An access or secret key has characters the server rejects (only ``A-Za-z0-9/+``)."""


class EnvironmentVariableError(ManoAuthError):
    """A credential environment variable is missing or empty. ``variables`` names them."""

    def __init__(self, message: str, *, variables: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.variables = variables


class MissingEnvironmentVariable(EnvironmentVariableError):
    """Required environment variables are not set."""


class EmptyEnvironmentVariable(EnvironmentVariableError):
    """An environment variable is set to the empty string."""


class StudyPassphraseNotFound(ManoAuthError, KeyError):
    """No data passphrase for the study in ``SECRETS``. ``known`` lists the study names."""

    def __init__(self, message: str, *, known: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.known = known


class CipherUnavailable(ManoAuthError, RuntimeError):
    """The installed ``cryptography`` provides AES-CFB8 in none of the known places."""
