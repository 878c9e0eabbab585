"""``mano.sync``: ``download``, ``save`` and ``backfill`` of mano 0.6.0 and the newest mano.

Both surfaces share these three names. Which one a call uses is read from its arguments:

* ``save(Keyring, archive, user_id, output_dir, ...)`` (0.6.0: the keyring first) and
  ``save(zf, participant_id, output_folder, ...)`` (newest: the ZipFile first). Both write the
  study folder (``output_dir/<pid>/<stream>/...``).
* ``backfill(Keyring, study_id, participant_id, folder, start_date, ...)``: 0.6.0 passes the
  study folder, the newest README passes the participant's own folder
  (``/path/to/{study_id}/{participant_id}/``). A folder named after the participant is taken as
  the participant's folder (its parent is the study folder), so it never gets a second
  ``<pid>/`` inside; any other folder is the study folder. A sixth positional argument that is a
  list is 0.6.0's ``data_streams`` (the newest mano has ``end_date`` there).

Everything is done by ``mano_sync``: files are written atomically, recorded in the study
folder's hidden manifest (``.mano-sync.sqlite``), and the next call transfers only what is new.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import mano_sync
from mano._deprecation import deprecated
from mano._errors import DownloadError, ParseError, SaveError, WriteError
from mano._keyring import to_credentials
from mano._streams import translate_streams
from mano_api import Archive
from mano_api import ManoAPIError as APIError
from mano_api._archive import validate_zip

__all__ = [
    "BACKFILL_START_DATE",
    "APIError",
    "DownloadError",
    "ParseError",
    "SaveError",
    "WriteError",
    "backfill",
    "download",
    "save",
]

#: mano 0.6.0's default ``start_date``; here ``None`` (the participant's first data) is used.
BACKFILL_START_DATE = "2015-9-01T00:00:00"

TimeArg = str | _dt.date | _dt.datetime | None


class _ArchiveZipFile(zipfile.ZipFile):
    """A standard ``zipfile.ZipFile`` over a downloaded archive's temporary file on disk.

    The archive was streamed to disk and validated (central directory, every CRC) by
    ``mano_api``: memory stays constant whatever its size. Closing the ZipFile (or dropping it)
    deletes the temporary file.
    """

    def __init__(self, archive: Archive) -> None:
        self.mano_archive = archive
        super().__init__(archive.path)

    def close(self) -> None:
        try:
            super().close()
        finally:
            archive = getattr(self, "mano_archive", None)
            if archive is not None:
                archive.close()


def _participants(
    participant_ids: str | Iterable[str] | None, user_ids: str | Iterable[str] | None
) -> list[str] | None:
    if participant_ids and user_ids:
        raise DownloadError("give participant_ids or user_ids (its 0.6.0 name), not both")
    value = participant_ids or user_ids
    if not value:
        return None
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(p) for p in value]


def download(
    Keyring: object,
    study_id: str,
    participant_ids: str | Iterable[str] | None = None,
    data_streams: Iterable[object] | str | None = None,
    time_start: TimeArg = None,
    time_end: TimeArg = None,
    registry: Mapping[str, str] | None = None,
    compressed: bool | int | None = None,
    progress: int = 0,
    user_ids: str | Iterable[str] | None = None,
) -> zipfile.ZipFile | None:
    """One get-data request, returned as a standard ``zipfile.ZipFile``.

    Args:
        Keyring: The keyring dict (``mano.keyring``/``mano.load_keyring``, or a dict).
        study_id: The study id.
        participant_ids: One id, a list of ids, or None for every participant
            (``user_ids`` is 0.6.0's keyword for it).
        data_streams: Stream names or ``mano.constants.DataStream`` members (None: all).
        time_start: First hour (UTC; ISO string, date or datetime).
        time_end: Last hour (UTC).
        registry: ``{storage path: base64 SHA-1}`` of files the server may skip.
        compressed: True: members are the server's ``.zst`` files (get-data v2). False or
            omitted: plain members (get-data v1), as 0.6.0 returned.
        progress: Ignored (0.6.0 drew a spinner on stdout). An integer in ``compressed``'s
            place (0.6.0's positional ``progress``) is taken as this.

    Returns:
        The ZipFile (members ``<pid>/<stream>/...`` plus ``registry``). Without ``compressed=``
        (a 0.6.0-style call), None when the server has no data for the request, as 0.6.0
        returned; with ``compressed=`` (newest style) always a ZipFile.
    """
    deprecated(
        "mano.sync.download",
        "mano_sync.download (a validated mano_api.Archive) or mano_sync.sync_study",
    )
    if isinstance(compressed, int) and not isinstance(compressed, bool):
        # 0.6.0's eighth positional argument was `progress` (bytes between spinner ticks)
        compressed = None
    del progress
    start, end = time_start or None, time_end or None
    archive = mano_sync.download(
        to_credentials(Keyring),
        study_id,
        _participants(participant_ids, user_ids),
        translate_streams(data_streams, "data_streams"),
        start,
        end,
        registry=dict(registry) if registry else None,
        version=2 if compressed else 1,
    )
    if compressed is None and archive.is_empty:
        archive.close()
        return None
    return _ArchiveZipFile(archive)


def _archive_of(zf: zipfile.ZipFile) -> tuple[Archive, bool]:
    """The validated archive behind ``zf``, and whether it was made here (to close it)."""
    archive = getattr(zf, "mano_archive", None)
    if isinstance(archive, Archive):
        return archive, False
    # A ZipFile the script opened itself: copy it to a temporary file and validate it.
    fd, name = tempfile.mkstemp(prefix=".mano-save-", suffix=".zip")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            source = zf.fp
            if source is None:
                raise SaveError("save() needs an open ZipFile; this one is closed")
            source.seek(0)
            shutil.copyfileobj(source, out, 1 << 20)
        members, registry, has_registry = validate_zip(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    version = 2 if members and all(m.name.endswith(".zst") for m in members) else 1
    made = Archive(
        path, version=version, members=members, registry=registry, has_registry=has_registry
    )
    return made, True


def _save(
    archive_zip: zipfile.ZipFile | None,
    participant_id: str,
    output_dir: str | os.PathLike[str],
    lock: Iterable[object] | None,
    passphrase: str | None,
) -> int:
    if archive_zip is None:
        return 0
    if not isinstance(archive_zip, zipfile.ZipFile):
        raise SaveError(
            f"save() needs the zipfile.ZipFile returned by mano.sync.download, not "
            f"{type(archive_zip).__name__}"
        )
    streams = translate_streams(lock, "lock")
    if streams and not passphrase:
        raise SaveError("locking data streams needs a passphrase (passphrase=...)")
    archive, owned = _archive_of(archive_zip)
    try:
        result = mano_sync.save(
            archive,
            Path(output_dir).expanduser(),
            participants=[participant_id],
            lock=streams,
            passphrase=passphrase,
            keep_compressed=archive.version == 2,
        )
    finally:
        if owned:
            archive.close()
    if result.failed:
        first = result.failed[0]
        raise SaveError(
            f"{len(result.failed)} member(s) not saved (first: {first.name}: {first.reason}); "
            f"{result.new + result.updated} file(s) were saved"
        )
    return result.new + result.updated


def save(*args: Any, **kwargs: Any) -> int:
    """Save a downloaded ZipFile into the study folder; returns the files written.

    Two call forms, told apart by the first argument:

    * 0.6.0: ``save(Keyring, archive, user_id, output_dir, lock=None, passphrase=None)``
    * newest: ``save(zf, participant_id, output_dir, lock=None, passphrase=None)``

    Members land at ``output_dir/<member name>`` (``<pid>/<stream>/...``), plain, or ``.zst``
    when the ZipFile came from ``download(..., compressed=True)``; streams in ``lock`` are
    stored encrypted as ``.zst.lock`` (0.6.0 wrote ``.lock``; both are read everywhere).
    Files whose content did not change are not rewritten. ``archive=None`` saves nothing (0).

    Raises:
        SaveError: lock without passphrase, not a ZipFile, or members of other participants.
    """
    first = args[0] if args else kwargs.get("Keyring", kwargs.get("archive"))
    legacy = "Keyring" in kwargs or (
        args and not isinstance(first, zipfile.ZipFile) and first is not None
    )
    if legacy:
        deprecated("mano.sync.save(Keyring, ...)", "mano_sync.save(archive, output_folder)")
        return _bind_legacy_save(*args, **kwargs)
    deprecated("mano.sync.save", "mano_sync.save(archive, output_folder)")
    return _bind_newest_save(*args, **kwargs)


def _bind_legacy_save(
    Keyring: object,
    archive: zipfile.ZipFile | None,
    user_id: str,
    output_dir: str | os.PathLike[str],
    lock: Iterable[object] | None = None,
    passphrase: str | None = None,
) -> int:
    del Keyring  # 0.6.0 took it and never used it
    return _save(archive, user_id, output_dir, lock, passphrase)


def _bind_newest_save(
    archive: zipfile.ZipFile | None,
    participant_id: str | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    lock: Iterable[object] | None = None,
    passphrase: str | None = None,
    user_id: str | None = None,
) -> int:
    if participant_id and user_id:
        raise SaveError("give participant_id or user_id (its old name), not both")
    pid = participant_id or user_id
    if not pid or output_dir is None:
        raise SaveError("save(zf, participant_id, output_dir) needs all three")
    return _save(archive, pid, output_dir, lock, passphrase)


def _study_folder(folder: str | os.PathLike[str], participant_id: str) -> Path:
    """The study folder for a backfill ``folder`` argument (see the module docstring)."""
    out = Path(folder).expanduser()
    if out.name == participant_id:
        return out.parent if str(out.parent) else Path(".")
    return out


def backfill(
    Keyring: object,
    study_id: str,
    participant_id: str | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    start_date: TimeArg = None,
    end_date: TimeArg | list[Any] = None,
    data_streams: Iterable[object] | None = None,
    lock: Iterable[object] | str | None = None,
    passphrase: str | None = None,
    compressed: bool = False,
    user_id: str | None = None,
) -> mano_sync.SyncSummary:
    """Bring one participant's data up to date in the study folder (both surfaces).

    Args:
        Keyring: The keyring dict.
        study_id: The study id.
        participant_id: The participant (``user_id`` is its 0.6.0 keyword).
        output_dir: The study folder (0.6.0), or the participant's own folder named after the
            participant (newest README).
        start_date: Ignore data before this (default: the participant's first data).
        end_date: Ignore data after this.
        data_streams: Streams (default: all).
        lock: Streams stored encrypted (``.zst.lock``); needs ``passphrase``.
        passphrase: The data passphrase for ``lock`` (``Keyring['SECRETS'][study]``).
        compressed: Keep the server's ``.zst`` files instead of plain ones.

    Returns:
        The ``mano_sync.SyncSummary`` (0.6.0 and the newest mano returned None).
    """
    deprecated("mano.sync.backfill", "mano_sync.backfill or mano_sync.sync_study")
    if isinstance(end_date, list | tuple):
        # 0.6.0's positional order after start_date: data_streams, lock, passphrase.
        legacy_passphrase = lock if isinstance(lock, str) else passphrase
        end_date, data_streams, lock, passphrase = None, end_date, data_streams, legacy_passphrase
    if participant_id and user_id:
        raise DownloadError("give participant_id or user_id (its old name), not both")
    pid = participant_id or user_id
    if not pid or output_dir is None:
        raise DownloadError(
            "backfill(Keyring, study_id, participant_id, output_dir) needs all four"
        )
    lock_streams = translate_streams(lock, "lock")
    if lock_streams and not passphrase:
        raise SaveError("locking data streams needs a passphrase (passphrase=...)")
    return mano_sync.backfill(
        to_credentials(Keyring),
        study_id,
        pid,
        _study_folder(output_dir, pid),
        start_date or None,
        end_date or None,
        translate_streams(data_streams, "data_streams"),
        lock_streams,
        passphrase,
        keep_compressed=bool(compressed),
    )
