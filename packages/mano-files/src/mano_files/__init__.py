"""Compress, decompress, lock, unlock, hash, verify and report on Beiwe data trees.

Errors and the layout helpers load with the package; everything else loads on first use
(``from mano_files import write_data_file`` imports only what that function needs), so
programs that write a few files do not pay for the tree, report and encryption code.
"""

import importlib
import logging
import typing

from mano_files.__about__ import __version__
from mano_files._errors import (
    CorruptFile,
    CorruptZstd,
    CryptoUnavailable,
    DiskFull,
    InflationLimit,
    InvalidDataPath,
    InvalidOption,
    KeyRequired,
    LocalIOError,
    ManifestError,
    ManoFilesError,
    PassphraseMismatch,
    PermissionDenied,
    ReadBackMismatch,
    SourceChanged,
    TargetExists,
    UnsupportedEncryption,
    WrongPassphrase,
)
from mano_files._paths import (
    AUDIO_STREAMS,
    FORM_SUFFIXES,
    FORMS,
    STREAMS,
    SURVEY_STREAMS,
    DataPath,
    Form,
    form_of,
    parse_data_path,
)

if typing.TYPE_CHECKING:
    from mano_files._atomic import TMP_SUFFIX, atomic_writer, remove_stale_temp_files
    from mano_files._coverage import (
        CoverageReport,
        CoverageRow,
        ParticipantCoverage,
        StreamCoverage,
        coverage,
    )
    from mano_files._crypto import LockKey, derive_key
    from mano_files._datafile import (
        DEFAULT_LEVEL,
        InflationLimits,
        StoredFile,
        read_data_file,
        set_inflation_limits,
        sha1_b64_file,
        write_data_file,
    )
    from mano_files._hashcache import CACHE_NAME, HashCache
    from mano_files._legacy import compress_to_zst_files, decompress_zst_files, set_threads
    from mano_files._passcheck import CHECK_NAME, check_lock_passphrase
    from mano_files._replace import Snapshot, content_hash, retire_source
    from mano_files._settle import Conflict, FormCopy
    from mano_files._survey_report import (
        MissedSurvey,
        QuestionStat,
        SurveyInstance,
        SurveyReport,
        SurveyStats,
        find_side_inputs,
        survey_report,
    )
    from mano_files._tree import (
        FileFailure,
        ProgressEvent,
        TreeSummary,
        VerifyReport,
        compress_tree,
        decompress_tree,
        hash_tree,
        iter_data_files,
        load_manifest,
        lock_tree,
        unlock_tree,
        verify_tree,
    )
    from mano_files._writer import WriterProcess

#: Public name -> the submodule defining it, imported by :func:`__getattr__` on first access.
_LAZY: dict[str, str] = {
    name: module
    for module, names in {
        "_atomic": "TMP_SUFFIX atomic_writer remove_stale_temp_files",
        "_coverage": "CoverageReport CoverageRow ParticipantCoverage StreamCoverage coverage",
        "_survey_report": "MissedSurvey QuestionStat SurveyInstance SurveyReport SurveyStats "
        "find_side_inputs survey_report",
        "_crypto": "LockKey derive_key",
        "_datafile": (
            "DEFAULT_LEVEL InflationLimits StoredFile read_data_file set_inflation_limits "
            "sha1_b64_file write_data_file"
        ),
        "_hashcache": "CACHE_NAME HashCache",
        "_legacy": "compress_to_zst_files decompress_zst_files set_threads",
        "_writer": "WriterProcess",
        "_passcheck": "CHECK_NAME check_lock_passphrase",
        "_replace": "Snapshot content_hash retire_source",
        "_settle": "Conflict FormCopy",
        "_tree": (
            "FileFailure ProgressEvent TreeSummary VerifyReport compress_tree decompress_tree "
            "hash_tree iter_data_files load_manifest lock_tree unlock_tree verify_tree"
        ),
    }.items()
    for name in names.split()
}


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    # layout
    "AUDIO_STREAMS",
    "FORMS",
    "FORM_SUFFIXES",
    "STREAMS",
    "SURVEY_STREAMS",
    "DataPath",
    "Form",
    "form_of",
    "parse_data_path",
    # single files
    "DEFAULT_LEVEL",
    "InflationLimits",
    "LockKey",
    "StoredFile",
    "TMP_SUFFIX",
    "atomic_writer",
    "derive_key",
    "read_data_file",
    "remove_stale_temp_files",
    "set_inflation_limits",
    "sha1_b64_file",
    "write_data_file",
    "WriterProcess",
    # trees
    "CACHE_NAME",
    "CHECK_NAME",
    "Conflict",
    "FileFailure",
    "FormCopy",
    "HashCache",
    "ProgressEvent",
    "TreeSummary",
    "VerifyReport",
    "compress_tree",
    "decompress_tree",
    "hash_tree",
    "iter_data_files",
    "load_manifest",
    "lock_tree",
    "unlock_tree",
    "verify_tree",
    # the deletion rule, the passphrase check
    "Snapshot",
    "check_lock_passphrase",
    "content_hash",
    "retire_source",
    # mano compatibility
    "compress_to_zst_files",
    "decompress_zst_files",
    "set_threads",
    # errors
    "CorruptFile",
    "CorruptZstd",
    "CryptoUnavailable",
    "DiskFull",
    "InflationLimit",
    "InvalidDataPath",
    "InvalidOption",
    "KeyRequired",
    "LocalIOError",
    "ManifestError",
    "ManoFilesError",
    "PassphraseMismatch",
    "PermissionDenied",
    "ReadBackMismatch",
    "SourceChanged",
    "TargetExists",
    "UnsupportedEncryption",
    "WrongPassphrase",
    # coverage
    "CoverageReport",
    "CoverageRow",
    "ParticipantCoverage",
    "StreamCoverage",
    "coverage",
    # surveys
    "MissedSurvey",
    "QuestionStat",
    "SurveyInstance",
    "SurveyReport",
    "SurveyStats",
    "find_side_inputs",
    "survey_report",
]
