"""Fast, incremental, crash-safe sync of Beiwe participants and studies.

Quick tour::

    from mano_sync import sync_study, backfill

    summary = sync_study(credentials, study_id, "data/my-study", workers=4)
    print(summary.new, summary.updated, summary.unchanged, summary.failed)

    backfill(keyring, study_id, "abcd1234", "data/my-study")   # mano 0.6.0 call order

The tree written is ``<out>/<pid>/<stream>/[<survey_id>/]<name>`` exactly as the server names
files; ``<out>/.mano-sync.sqlite`` (the manifest) and ``<out>/.mano-sync.lock`` are hidden.
"""

import logging

from mano_sync.__about__ import __version__
from mano_sync._adopt import AdoptionReport, adopt_tree
from mano_sync._compare import ServerComparison, StreamQuantity, compare_with_server
from mano_sync._errors import (
    ManifestError,
    ManoSyncError,
    PassphraseRequired,
    SyncLocked,
    UnsafeMember,
)
from mano_sync._lock import LOCK_NAME, FolderLock
from mano_sync._manifest import MANIFEST_NAME, Manifest, ManifestFile, ParticipantState
from mano_sync._names import MemberName, parse_member
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

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
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
    "parse_member",
    "save",
    "sync_study",
]
