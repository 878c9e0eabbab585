"""Keyring files: find, decrypt, validate, and rewrite them atomically.

A keyring is a JSON object of sections, ``{name: {"URL", "ACCESS_KEY", "SECRET_KEY",
["USERNAME", "PASSWORD", "SECRETS"]}}``, encrypted with cryptease (``crypt.py --encrypt``), by
default at ``~/.nrg-keyring.enc`` (``MANO_KEYRING_FILE`` overrides). A plain JSON file is read
too, with an :class:`UnencryptedKeyringWarning`.

The passphrase comes from the ``password`` argument, else ``NRG_KEYRING_PASS``, else a prompt,
and the prompt only happens when stdin is a terminal: under cron, with nothing set, loading
fails at once with :class:`~mano_auth.PassphraseRequired` instead of hanging.
"""

from __future__ import annotations

import getpass
import glob
import json
import logging
import os
import stat
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mano_auth._credentials import Credentials, KeyShapeWarning, _outside_mano_auth
from mano_auth._errors import (
    EmptyEnvironmentVariable,
    InvalidField,
    KeyringCorrupted,
    KeyringError,
    KeyringExists,
    KeyringFormatError,
    KeyringNotFound,
    KeyringPermissionError,
    MissingEnvironmentVariable,
    NotACrypteaseFile,
    PassphraseError,
    PassphraseRequired,
    SectionExists,
    SectionNotFound,
    WrongPassphrase,
)

__all__ = [
    "DEFAULT_KEYRING_FILE",
    "KEYRING_FILE_ENV",
    "PASSPHRASE_ENV",
    "Keyring",
    "UnencryptedKeyringWarning",
    "add_section",
    "change_passphrase",
    "default_keyring_path",
    "get_passphrase",
    "list_sections",
    "load_keyring",
    "read_keyring",
    "remove_section",
    "write_keyring",
]

logger = logging.getLogger(__name__)

#: Where mano 0.6.0 and cryptease users keep their keyring.
DEFAULT_KEYRING_FILE = "~/.nrg-keyring.enc"
#: Environment variable naming another keyring file.
KEYRING_FILE_ENV = "MANO_KEYRING_FILE"
#: Environment variable holding the keyring passphrase (the name mano 0.6.0 uses).
PASSPHRASE_ENV = "NRG_KEYRING_PASS"

# A keyring is a few KiB; refuse to slurp a large unrelated file.
_MAX_SIZE = 16 * 1024 * 1024
# Older than this, a temp file beside the keyring is a leftover, not a concurrent write.
_STALE_TEMP_SECONDS = 600
_CREATE_HINT = "create one with `mano keyring init`"
_KNOWN_FIELDS = frozenset({"URL", "ACCESS_KEY", "SECRET_KEY", "USERNAME", "PASSWORD", "SECRETS"})


class UnencryptedKeyringWarning(UserWarning):
    """The keyring file is plain JSON: anyone who can read the file has the keys."""


def default_keyring_path() -> Path:
    """The keyring file to use: ``MANO_KEYRING_FILE`` if set, else ``~/.nrg-keyring.enc``.

    Raises:
        EmptyEnvironmentVariable: ``MANO_KEYRING_FILE`` is set but empty.
    """
    return _resolve_path(None)[0]


def _resolve_path(path: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """The keyring path and how it was chosen (for messages)."""
    if path is not None:
        return Path(path).expanduser(), "the path given"
    value = os.environ.get(KEYRING_FILE_ENV)
    if value is not None:
        if not value.strip():
            raise EmptyEnvironmentVariable(
                f"{KEYRING_FILE_ENV} is set but empty; set it to a keyring file or unset it "
                f"to use {DEFAULT_KEYRING_FILE}",
                variables=(KEYRING_FILE_ENV,),
            )
        return Path(value).expanduser(), f"from {KEYRING_FILE_ENV}"
    return (
        Path(DEFAULT_KEYRING_FILE).expanduser(),
        f"the default; set {KEYRING_FILE_ENV} to use another file",
    )


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, AttributeError, OSError):
        # Closed, replaced or detached stdin: certainly nobody to ask.
        return False


def get_passphrase(
    password: str | None = None,
    *,
    path: str | os.PathLike[str] | None = None,
    confirm: bool = False,
    use_env: bool = True,
) -> str:
    """Find the keyring passphrase without ever blocking a non-interactive run.

    Order: ``password``, then ``NRG_KEYRING_PASS`` (when ``use_env``), then a hidden prompt
    on the terminal, but only when stdin is a TTY.

    Args:
        password: An explicit passphrase (e.g. from a secrets manager).
        path: The keyring, named in the prompt and in messages.
        confirm: Prompt twice and require the same answer (for a new passphrase).
        use_env: Read ``NRG_KEYRING_PASS`` (false when asking for a *new* passphrase).

    Returns:
        The passphrase.

    Raises:
        PassphraseRequired: Nothing given and stdin is not a terminal (or the prompt hit EOF).
        EmptyEnvironmentVariable: ``NRG_KEYRING_PASS`` is set but empty.
        PassphraseError: The two prompted passphrases differ, or a new one is empty.
    """
    if password is not None:
        if confirm and not password:
            raise PassphraseError("refusing an empty passphrase for a keyring; choose one")
        return _encodable(password, "the passphrase given")
    if use_env and PASSPHRASE_ENV in os.environ:
        value = os.environ[PASSPHRASE_ENV]
        if not value:
            raise EmptyEnvironmentVariable(
                f"{PASSPHRASE_ENV} is set but empty; set it to the keyring passphrase or unset it",
                variables=(PASSPHRASE_ENV,),
            )
        logger.debug("keyring passphrase from %s", PASSPHRASE_ENV)
        return _encodable(value, PASSPHRASE_ENV)
    target = f"the keyring {path}" if path is not None else "the keyring"
    if not _stdin_is_tty():
        if use_env:
            how = f"set {PASSPHRASE_ENV} (from Python: pass password=...)"
        else:
            how = "pass the new passphrase explicitly (new_password=...)"
        raise PassphraseRequired(
            f"{target} needs a passphrase and stdin is not a terminal to ask on; {how}"
        )
    logger.debug("asking for the keyring passphrase on the terminal")
    try:
        first = getpass.getpass(
            f"{'New passphrase' if confirm else 'Passphrase'} for {path or 'the keyring'}: "
        )
        if confirm:
            if not first:
                raise PassphraseError("refusing an empty passphrase for a keyring; choose one")
            again = getpass.getpass("Repeat the passphrase: ")
            if again != first:
                raise PassphraseError("the two passphrases differ; nothing was changed")
    except EOFError:
        raise PassphraseRequired(
            f"no passphrase entered for {target}; set {PASSPHRASE_ENV} (from Python: password=...)"
        ) from None
    return _encodable(first, "the passphrase entered")


def _encodable(passphrase: str, source: str) -> str:
    """cryptease derives keys from the UTF-8 bytes; refuse what has none (no echo)."""
    try:
        passphrase.encode("utf-8")
    except UnicodeEncodeError:
        raise PassphraseError(
            f"{source} contains characters that cannot be encoded as UTF-8 (check the "
            "terminal's or the environment's encoding)"
        ) from None
    return passphrase


class Keyring(Mapping[str, Credentials]):
    """The sections of a keyring file, as :class:`Credentials` by section name.

    Sections are validated when looked up, so one stale section does not stop the others from
    loading. ``repr`` lists section names only.

    Attributes:
        path: The file this came from (``None`` when built in memory).
        encrypted: Whether the file is cryptease-encrypted (false for plain JSON).
    """

    def __init__(
        self,
        sections: Mapping[str, Mapping[str, Any] | Credentials],
        *,
        path: Path | None = None,
        encrypted: bool = True,
    ) -> None:
        self.path = path
        self.encrypted = encrypted
        self._sections: dict[str, Any] = {
            name: value.to_dict() if isinstance(value, Credentials) else value
            for name, value in sections.items()
        }

    def __getitem__(self, name: str) -> Credentials:
        return Credentials.from_dict(self._raw_section(name), name=name)

    def section(self, name: str) -> dict[str, Any]:
        """A copy of section ``name`` as written in the file, not validated (the mano 0.6.0
        view of a keyring: a dict; it is checked when used, see :class:`Credentials`).

        Raises:
            SectionNotFound: no such section (the message lists the sections).
            KeyringFormatError: the section is not a JSON object.
        """
        return json.loads(json.dumps(self._raw_section(name)))  # type: ignore[no-any-return]

    def _raw_section(self, name: str) -> Mapping[str, Any]:
        """Section ``name`` as stored; the errors of :meth:`section`."""
        if name not in self._sections:
            raise _section_not_found(name, self.path, tuple(self._sections))
        section = self._sections[name]
        if not isinstance(section, Mapping):
            raise KeyringFormatError(
                f"section {name!r} of {self.path or 'the keyring'} is not an object with URL, "
                "ACCESS_KEY and SECRET_KEY",
                path=self.path,
            )
        return section

    def __contains__(self, name: object) -> bool:
        return name in self._sections

    def __iter__(self) -> Iterator[str]:
        return iter(self._sections)

    def __len__(self) -> int:
        return len(self._sections)

    @property
    def names(self) -> list[str]:
        """Section names in file order."""
        return list(self._sections)

    def __repr__(self) -> str:
        return f"Keyring(path={str(self.path) if self.path else None!r}, sections={self.names!r})"


def _section_not_found(name: str, path: Path | None, sections: tuple[str, ...]) -> SectionNotFound:
    where = f"the keyring {path}" if path else "the keyring"
    listing = ", ".join(repr(s) for s in sections) if sections else "none, the keyring is empty"
    return SectionNotFound(
        f"no section {name!r} in {where} (sections: {listing}); add it with `mano keyring add`",
        path=path,
        sections=sections,
    )


@dataclass
class _Opened:
    path: Path
    raw: bytes
    sections: dict[str, Any]
    encrypted: bool
    passphrase: str | None


def _read_bytes(path: Path, how: str) -> bytes:
    try:
        with path.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > _MAX_SIZE:
                raise NotACrypteaseFile(
                    f"{path} is larger than {_MAX_SIZE // 2**20} MiB, too large to be a keyring; "
                    f"point {KEYRING_FILE_ENV} or --keyring-file at the keyring",
                    path=path,
                )
            return handle.read(_MAX_SIZE + 1)
    except FileNotFoundError:
        raise KeyringNotFound(
            f"no keyring file at {path} ({how}); {_CREATE_HINT}, or set BEIWE_URL, "
            "BEIWE_ACCESS_KEY and BEIWE_SECRET_KEY and name no keyring section",
            path=path,
        ) from None
    except IsADirectoryError:
        raise NotACrypteaseFile(
            f"{path} is a folder, not a keyring file; point {KEYRING_FILE_ENV} or --keyring-file "
            "at the keyring file",
            path=path,
        ) from None
    except PermissionError:
        raise KeyringPermissionError(
            f"permission denied reading the keyring {path}; as its owner run `chmod 600 {path}` "
            "(or run as the user who owns it)",
            path=path,
        ) from None
    except OSError as exc:
        raise KeyringError(
            f"cannot read the keyring {path}: {exc.strerror or exc}", path=path
        ) from None


def _parse_plain(raw: bytes, path: Path) -> dict[str, Any] | None:
    """The sections if ``raw`` is a plain JSON keyring, else None."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        # JSONDecodeError's message names a position, never the content.
        raise NotACrypteaseFile(
            f"{path} looks like a plain JSON keyring but does not parse ({exc}); fix the JSON "
            f"or {_CREATE_HINT}",
            path=path,
        ) from None
    if not isinstance(value, dict):
        return None
    return value


def _warn_plain(path: Path) -> None:
    message = (
        f"the keyring {path} is not encrypted (plain JSON): anyone who can read it has your "
        "keys; encrypt it with `mano keyring passwd`"
    )
    try:
        if os.stat(path).st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            message += f", and it is readable by other users: run `chmod 600 {path}`"
    except OSError:
        pass
    warnings.warn(message, UnencryptedKeyringWarning, stacklevel=_outside_mano_auth())


#: Decrypted text at least this long that reads as JSON text but does not parse was decrypted
#: with the right key and then cut short or damaged: a wrong key gives noise, and noise that
#: long is not printable UTF-8 opening with "{". Shorter plaintext cannot tell the two apart.
_CORRUPT_MIN_TEXT = 16


def _looks_like_json_text(text: str) -> bool:
    return (
        len(text) >= _CORRUPT_MIN_TEXT
        and text.lstrip().startswith("{")
        and all(ch.isprintable() or ch in "\t\r\n" for ch in text)
    )


def _decode_encrypted(raw: bytes, path: Path, passphrase: str) -> dict[str, Any]:
    plain = _cryptfile().decrypt(raw, passphrase)
    wrong = WrongPassphrase(
        f"wrong passphrase for the keyring {path} (it does not decrypt to JSON); check "
        f"{PASSPHRASE_ENV} or the passphrase given",
    )
    try:
        text = plain.decode("utf-8-sig")
    except ValueError:
        # AES-CFB8 has no integrity check: a wrong key gives noise, which is neither UTF-8 nor
        # JSON (UnicodeDecodeError is a ValueError). Never show the decrypted bytes.
        raise wrong from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        if _looks_like_json_text(text):
            raise KeyringCorrupted(
                f"the keyring {path} is damaged: it decrypts to JSON that is cut short or "
                f"broken (at character {getattr(exc, 'pos', '?')} of {len(text)}); restore it "
                f"from a backup or {_CREATE_HINT}",
                path=path,
            ) from None
        raise wrong from None
    if not isinstance(value, dict) and len(text.strip()) >= _CORRUPT_MIN_TEXT // 2:
        raise KeyringFormatError(
            f"the keyring {path} decrypts to JSON that is not an object of sections "
            f'({type(value).__name__}); a keyring is {{"name": {{"URL": ..., '
            '"ACCESS_KEY": ..., "SECRET_KEY": ...}}}',
            path=path,
        )
    if not isinstance(value, dict):
        # a wrong key on a tiny keyring ("{}" is 2 bytes) can decrypt to a number or a string
        raise WrongPassphrase(
            f"wrong passphrase for the keyring {path}, or the file is damaged (it does not "
            f"decrypt to an object of sections); check {PASSPHRASE_ENV} or the passphrase given",
        ) from None
    return value


def _open(path: str | os.PathLike[str] | None, password: str | None) -> _Opened:
    resolved, how = _resolve_path(path)
    logger.debug("reading keyring %s (%s)", resolved, how)
    raw = _read_bytes(resolved, how)
    try:
        _cryptfile().parse_header(raw)
    except _cryptfile().HeaderError as exc:
        plain = _parse_plain(raw, resolved)
        if plain is None:
            raise NotACrypteaseFile(
                f"{resolved} is not a cryptease-encrypted keyring ({exc}) nor a plain JSON "
                f"object; point {KEYRING_FILE_ENV} or --keyring-file at your keyring, or "
                f"{_CREATE_HINT}",
                path=resolved,
            ) from None
        _warn_plain(resolved)
        logger.debug("keyring %s is plain JSON with %d sections", resolved, len(plain))
        return _Opened(resolved, raw, plain, encrypted=False, passphrase=None)
    passphrase = get_passphrase(password, path=resolved)
    sections = _decode_encrypted(raw, resolved, passphrase)
    logger.debug("decrypted keyring %s: %d sections", resolved, len(sections))
    return _Opened(resolved, raw, sections, encrypted=True, passphrase=passphrase)


def read_keyring(
    path: str | os.PathLike[str] | None = None, *, password: str | None = None
) -> Keyring:
    """Open and decrypt a keyring file.

    Args:
        path: The keyring file (default: ``MANO_KEYRING_FILE``, else ``~/.nrg-keyring.enc``).
        password: Its passphrase (default: ``NRG_KEYRING_PASS``, else a prompt on a TTY).

    Returns:
        The keyring; sections are validated when looked up.

    Raises:
        KeyringError: Missing, unreadable, not cryptease, or not a JSON object of sections.
        PassphraseError: Wrong passphrase, or none available without a terminal.
    """
    opened = _open(path, password)
    return Keyring(opened.sections, path=opened.path, encrypted=opened.encrypted)


def load_keyring(
    name: str | None = None,
    path: str | os.PathLike[str] | None = None,
    *,
    password: str | None = None,
) -> Credentials:
    """Credentials from a keyring section, or from the environment when ``name`` is None.

    With ``name=None`` the credentials come from ``BEIWE_URL``, ``BEIWE_ACCESS_KEY`` and
    ``BEIWE_SECRET_KEY`` (plus optional ``BEIWE_USERNAME``/``BEIWE_PASSWORD``) and no file is
    read. Otherwise the section ``name`` of the keyring file is decrypted and validated.

    Args:
        name: The keyring section, or None for the environment.
        path: The keyring file (default: ``MANO_KEYRING_FILE``, else ``~/.nrg-keyring.enc``).
        password: The keyring passphrase (default: ``NRG_KEYRING_PASS``, else a prompt, only
            when stdin is a terminal).

    Returns:
        Validated credentials.

    Raises:
        ManoAuthError: See the tree in ``mano_auth._errors``; every message is one line.
    """
    if name is None:
        try:
            return Credentials.from_env()
        except MissingEnvironmentVariable as exc:
            if path is None:
                raise
            raise MissingEnvironmentVariable(
                f"{exc.message} (a keyring file was given: name one of its sections)",
                variables=exc.variables,
            ) from None
    if not isinstance(name, str) or not name:
        raise InvalidField("the keyring section name must be a non-empty string", field="name")
    keyring = read_keyring(path, password=password)
    credentials = keyring[name]
    logger.debug("loaded keyring section %r (%s)", name, credentials.url)
    return credentials


def list_sections(
    path: str | os.PathLike[str] | None = None, *, password: str | None = None
) -> list[str]:
    """The section names of a keyring (decrypting it; no keys are returned or logged)."""
    return read_keyring(path, password=password).names


# --- writing -----------------------------------------------------------------------------------


def _serialise(sections: Mapping[str, Any]) -> bytes:
    return (json.dumps(sections, indent=2) + "\n").encode("utf-8")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temps(target: Path, *, keep: Path) -> None:
    """Delete temp files an interrupted earlier write of ``target`` left behind."""
    cutoff = time.time() - _STALE_TEMP_SECONDS
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.mano-tmp"):
        try:
            if leftover != keep and leftover.lstat().st_mtime < cutoff:
                leftover.unlink()
                logger.debug("removed stale temp file %s", leftover)
        except OSError:
            pass


def _cryptfile() -> Any:
    """The keyring file format (loads cryptography only when a keyring file is read or written;
    credentials from the environment or a dict never need it)."""
    from mano_auth import _cryptfile as module

    return module


def _atomic_write(path: Path, data: bytes, *, expect: bytes | None = None) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600.

    A symlinked keyring keeps its link (the link's target is replaced). With ``expect``, the
    current content must still be ``expect`` just before the swap (a concurrent edit is refused
    rather than lost).
    """
    target = Path(os.path.realpath(path))
    folder = target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".mano-tmp")
    except PermissionError:
        raise KeyringPermissionError(
            f"permission denied writing in {folder}; choose a writable place for the keyring "
            f"({KEYRING_FILE_ENV} or --keyring-file)",
            path=path,
        ) from None
    except OSError as exc:
        raise KeyringError(
            f"cannot write the keyring in {folder}: {exc.strerror or exc}", path=path
        ) from None
    tmp = Path(tmp_name)
    _remove_stale_temps(target, keep=tmp)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if expect is not None:
            try:
                current = target.read_bytes()
            except FileNotFoundError:
                current = None
            if current != expect:
                raise KeyringError(
                    f"the keyring {path} changed while it was being edited; nothing was "
                    "written, run the command again",
                    path=path,
                )
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def _section_dict(name: str, value: Credentials | Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(name, str) or not name or name != name.strip():
        raise InvalidField(
            "a keyring section name must be a non-empty string without surrounding spaces",
            field="name",
        )
    if isinstance(value, Credentials):
        return value.to_dict()
    # Validate before writing: a keyring never gains a section that cannot load or be used.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", KeyShapeWarning)  # refused just below instead
        credentials = Credentials.from_dict(value, name=name)
    credentials.check_keys()
    # Keep unknown fields; the known ones are replaced by their validated, upper-case form.
    section = {k: v for k, v in value.items() if str(k).upper() not in _KNOWN_FIELDS}
    section.update(credentials.to_dict())
    return section


def write_keyring(
    sections: Mapping[str, Credentials | Mapping[str, Any]],
    path: str | os.PathLike[str] | None = None,
    *,
    password: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Create a new encrypted keyring (cryptease format, mode 0600, written atomically).

    Args:
        sections: ``{name: Credentials or keyring-section dict}``; may be empty.
        path: Where (default: ``MANO_KEYRING_FILE``, else ``~/.nrg-keyring.enc``).
        password: The new passphrase (default: ``NRG_KEYRING_PASS``, else prompted twice on a
            terminal).
        overwrite: Replace an existing file instead of raising :class:`KeyringExists`.

    Returns:
        The path written.
    """
    resolved, how = _resolve_path(path)
    if resolved.exists() and not overwrite:
        raise KeyringExists(
            f"a keyring already exists at {resolved} ({how}); add sections to it with "
            "`mano keyring add`, or remove it first",
            path=resolved,
        )
    content = {name: _section_dict(name, value) for name, value in sections.items()}
    passphrase = get_passphrase(password, path=resolved, confirm=True)
    _atomic_write(resolved, _cryptfile().encrypt(_serialise(content), passphrase))
    logger.info("wrote keyring %s (%d sections)", resolved, len(content))
    return resolved


def _rewrite(opened: _Opened, sections: dict[str, Any], passphrase: str | None) -> None:
    payload = _serialise(sections)
    data = payload if passphrase is None else _cryptfile().encrypt(payload, passphrase)
    _atomic_write(opened.path, data, expect=opened.raw)


def add_section(
    name: str,
    credentials: Credentials | Mapping[str, Any],
    path: str | os.PathLike[str] | None = None,
    *,
    password: str | None = None,
    replace: bool = False,
    create: bool = False,
) -> Keyring:
    """Add (or with ``replace=True`` replace) a section, rewriting the keyring atomically.

    Other sections, and unknown fields in them, are kept as they are. A plain JSON keyring
    stays plain JSON; an encrypted one is re-encrypted with the same passphrase.

    Args:
        name: The section name.
        credentials: ``Credentials`` or a keyring-section dict (validated first).
        path: The keyring file (default as in :func:`read_keyring`).
        password: The keyring passphrase.
        replace: Overwrite an existing section instead of raising :class:`SectionExists`.
        create: Create a new keyring (with ``password`` as its passphrase) if there is none.

    Returns:
        The keyring as written.
    """
    section = _section_dict(name, credentials)
    try:
        opened = _open(path, password)
    except KeyringNotFound:
        if not create:
            raise
        written = write_keyring({name: section}, path, password=password)
        return Keyring({name: section}, path=written)
    if name in opened.sections and not replace:
        raise SectionExists(
            f"the keyring {opened.path} already has a section {name!r}; replace it explicitly "
            "(replace=True, `mano keyring add --replace`) or choose another name",
            path=opened.path,
        )
    sections = dict(opened.sections)
    sections[name] = section
    _rewrite(opened, sections, opened.passphrase)
    logger.info(
        "%s section %r in keyring %s",
        "replaced" if name in opened.sections else "added",
        name,
        opened.path,
    )
    return Keyring(sections, path=opened.path, encrypted=opened.encrypted)


def remove_section(
    name: str, path: str | os.PathLike[str] | None = None, *, password: str | None = None
) -> Keyring:
    """Remove a section, rewriting the keyring atomically.

    Raises:
        SectionNotFound: No such section (the message lists the sections).
    """
    opened = _open(path, password)
    if name not in opened.sections:
        raise _section_not_found(name, opened.path, tuple(opened.sections))
    sections = {k: v for k, v in opened.sections.items() if k != name}
    _rewrite(opened, sections, opened.passphrase)
    logger.info("removed section %r from keyring %s", name, opened.path)
    return Keyring(sections, path=opened.path, encrypted=opened.encrypted)


def change_passphrase(
    path: str | os.PathLike[str] | None = None,
    *,
    password: str | None = None,
    new_password: str | None = None,
) -> Path:
    """Re-encrypt a keyring with a new passphrase (atomically; content unchanged).

    A plain JSON keyring is encrypted by this.

    Args:
        path: The keyring file (default as in :func:`read_keyring`).
        password: The current passphrase (default: ``NRG_KEYRING_PASS``, else a prompt).
        new_password: The new passphrase (default: prompted twice; never read from the
            environment).

    Returns:
        The path written.
    """
    opened = _open(path, password)
    new = get_passphrase(new_password, path=opened.path, confirm=True, use_env=False)
    _rewrite(opened, opened.sections, new)
    logger.info("changed the passphrase of keyring %s", opened.path)
    return opened.path
