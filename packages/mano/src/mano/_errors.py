"""Errors raised by the compatibility layer itself (the mano 0.6.0 names, kept catchable).

Errors from the server, the keyring or the files keep their own trees
(``mano_api.ManoAPIError``, ``mano_auth.ManoAuthError``, ``mano_sync.ManoSyncError``,
``mano_files.ManoFilesError``); ``mano.APIError`` and ``mano.KeyringError`` are those roots, so
``except mano.APIError`` written for 0.6.0 still catches server problems.

    ManoError
    ├── AmbiguousStudyIDError     expand_study_id: the prefix matches several studies
    ├── StudyIDError              studyid: no study has that name
    ├── StudyNameError            studyname: no study has that id
    ├── IntervalError             interval: not "<number><s|m|h|d>"
    ├── LoginError                login: the website login is gone (the API needs no password)
    ├── ScrapeError               kept for ``except`` clauses; nothing is scraped any more
    ├── StudySettingsError        kept for ``except`` clauses
    ├── UnknownDataStream         a stream name no document lists; names the replacement
    ├── DownloadError             bad download arguments (start after end, both id keywords)
    ├── SaveError                 save: no ZipFile, lock without passphrase, refused members
    ├── ParseError                kept for ``except`` clauses
    └── WriteError                kept for ``except`` clauses
"""

from __future__ import annotations

__all__ = [
    "AmbiguousStudyIDError",
    "DownloadError",
    "IntervalError",
    "LoginError",
    "ManoError",
    "ParseError",
    "SaveError",
    "ScrapeError",
    "StudyIDError",
    "StudyNameError",
    "StudySettingsError",
    "UnknownDataStream",
    "WriteError",
]


class ManoError(Exception):
    """Root of the errors the ``mano`` compatibility layer raises itself."""


class AmbiguousStudyIDError(ManoError, ValueError):
    """A study id prefix matches more than one study."""


class StudyIDError(ManoError, LookupError):
    """No accessible study has that name."""


class StudyNameError(ManoError, LookupError):
    """No accessible study has that id."""


class IntervalError(ManoError, ValueError):
    """An interval is not ``<number><s|m|h|d>``."""


class LoginError(ManoError):
    """The website login of mano 0.6.0 is not available."""


class ScrapeError(ManoError):
    """Kept so ``except mano.ScrapeError`` still compiles; never raised."""


class StudySettingsError(ManoError):
    """Kept so ``except mano.StudySettingsError`` still compiles; never raised."""


class UnknownDataStream(ManoError, ValueError):
    """A data stream name that is not a Beiwe stream; the message names the replacement."""


class DownloadError(ManoError, ValueError):
    """Download arguments that contradict each other."""


class SaveError(ManoError, ValueError):
    """save() cannot do what was asked (no archive, lock without passphrase, refused files)."""


class ParseError(ManoError, ValueError):
    """Kept so ``except mano.sync.ParseError`` still compiles."""


class WriteError(ManoError, OSError):
    """Kept so ``except mano.sync.WriteError`` still compiles."""
