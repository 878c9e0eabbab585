"""Fast, incremental, crash-safe sync of Beiwe participants and studies.

Quick tour::

    from mano_sync import sync_study, backfill

    summary = sync_study(credentials, study_id, "data/my-study", workers=4)
    print(summary.new, summary.updated, summary.unchanged, summary.failed)

    backfill(keyring, study_id, "abcd1234", "data/my-study")   # mano 0.6.0 call order

The tree written is ``<out>/<pid>/<stream>/[<survey_id>/]<name>`` exactly as the server names
files; ``<out>/.mano-sync.sqlite`` (the manifest) and ``<out>/.mano-sync.lock`` are hidden.
"""

import importlib
import logging
import typing

from mano_sync.__about__ import __version__
from mano_sync._adopt import AdoptionReport, adopt_tree
from mano_sync._config import CONFIG_EXAMPLE, Job, JobsConfig, load_config, parse_config
from mano_sync._errors import (
    ConfigError,
    ManifestError,
    ManoSyncError,
    PassphraseRequired,
    SyncLocked,
    UnsafeMember,
)
from mano_sync._extract import extract
from mano_sync._jobs import (
    LOCK_PASSPHRASE_VAR,
    STUDY_FILE_NAME,
    JobResult,
    lock_passphrase,
    run_jobs,
    write_study_file,
)
from mano_sync._lock import LOCK_NAME, FolderLock
from mano_sync._manifest import MANIFEST_NAME, Manifest, ManifestFile, ParticipantState
from mano_sync._names import MemberName, parse_member
from mano_sync._shard import Shard, parse_shard
from mano_sync._shardstate import SHARDS_DIR, ShardLock, merge_shards
from mano_sync._side_inputs import SideInputs, save_side_inputs, side_input_names
from mano_sync._sync import (
    DEFAULT_RECHECK_DAYS,
    DEFAULT_REQUEST_BYTES,
    backfill,
    download,
    save,
    sync_study,
)
from mano_sync._types import (
    ParticipantSummary,
    SaveResult,
    SyncFailure,
    SyncProgress,
    SyncSummary,
)

if typing.TYPE_CHECKING:
    from mano_sync._compare import ServerComparison, StreamQuantity, compare_with_server

#: Loaded on first access (PEP 562): a sync does not pay for the report comparison.
_LAZY: dict[str, str] = {
    "ServerComparison": "_compare",
    "StreamQuantity": "_compare",
    "compare_with_server": "_compare",
}


def __getattr__(name: str) -> typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "CONFIG_EXAMPLE",
    "LOCK_PASSPHRASE_VAR",
    "STUDY_FILE_NAME",
    "ConfigError",
    "Job",
    "JobResult",
    "JobsConfig",
    "SHARDS_DIR",
    "Shard",
    "ShardLock",
    "merge_shards",
    "load_config",
    "lock_passphrase",
    "parse_config",
    "parse_shard",
    "run_jobs",
    "write_study_file",
    "DEFAULT_RECHECK_DAYS",
    "DEFAULT_REQUEST_BYTES",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "AdoptionReport",
    "FolderLock",
    "Manifest",
    "ManifestError",
    "ManifestFile",
    "ManoSyncError",
    "MemberName",
    "ParticipantState",
    "ParticipantSummary",
    "PassphraseRequired",
    "SaveResult",
    "ServerComparison",
    "SideInputs",
    "StreamQuantity",
    "SyncFailure",
    "SyncLocked",
    "SyncProgress",
    "SyncSummary",
    "UnsafeMember",
    "adopt_tree",
    "backfill",
    "compare_with_server",
    "download",
    "extract",
    "parse_member",
    "save",
    "save_side_inputs",
    "side_input_names",
    "sync_study",
]
