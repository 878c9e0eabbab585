"""Where the installed ``cryptography`` keeps AES-CFB8.

cryptease (and so every ``.lock`` file and ``~/.nrg-keyring.enc``) uses AES-256 in CFB8 mode.
``cryptography`` moved ``CFB8`` to ``cryptography.hazmat.decrepit.ciphers.modes`` (43.0) and
deprecated the old ``cryptography.hazmat.primitives.ciphers.modes.CFB8``, announcing its removal.
cryptease 0.2.0 still calls the old name, which warns on every file it touches. mano-auth reads
and writes the format itself (see ``_cryptfile``) with the class resolved here: the new location
when present, else the old one with its deprecation warning silenced. If a future release drops
both, :func:`resolve_cfb8` raises :class:`~mano_auth.CipherUnavailable` and a test fails.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from typing import Any

from mano_auth._errors import CipherUnavailable

__all__ = ["CFB8_LOCATIONS", "resolve_cfb8"]

#: Modules searched for ``CFB8``, preferred first.
CFB8_LOCATIONS: tuple[str, ...] = (
    "cryptography.hazmat.decrepit.ciphers.modes",
    "cryptography.hazmat.primitives.ciphers.modes",
)


@functools.cache
def resolve_cfb8() -> Any:
    """Return the ``CFB8`` mode class of the installed ``cryptography``.

    Returns:
        The class, to be called with a 16-byte IV.

    Raises:
        CipherUnavailable: No known module provides it.
    """
    return _resolve(CFB8_LOCATIONS)


def _resolve(locations: tuple[str, ...]) -> Any:
    for name in locations:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        with warnings.catch_warnings():
            # Only the old location warns, and only when the attribute is read.
            warnings.simplefilter("ignore")
            mode = getattr(module, "CFB8", None)
        if mode is not None:
            return mode
    raise CipherUnavailable(
        "the installed 'cryptography' provides AES-CFB8 (the cryptease cipher) in none of "
        f"{', '.join(locations)}; install a cryptography release that still has "
        "hazmat.decrepit.ciphers.modes.CFB8"
    )
