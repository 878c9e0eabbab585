"""Stage 2, fetch: get-data requests, their bytes counted, v2 -> v1 fallback, failures sorted.

One request is retried by the client (``mano_api``: connection errors, 5xx, truncated or
invalid zips); what arrives here is a validated archive on disk or a final error.
:func:`is_fatal` tells errors no other participant can get past from those that end one
participant's run.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mano_sync._errors import ManoSyncError, is_disk_full

if TYPE_CHECKING:
    from mano_api import Archive, BeiweClient

logger = logging.getLogger(__name__)

__all__ = ["Fetcher", "Stopped", "is_fatal", "open_client", "request_archive"]


def open_client(credentials: Any, client: BeiweClient | None) -> tuple[BeiweClient, bool]:
    if client is not None:
        return client, False
    from mano_api import BeiweClient

    return BeiweClient(credentials), True


class Stopped(ManoSyncError):
    """Internal: raised from the download progress hook to abandon a download at once."""


def is_fatal(exc: BaseException) -> bool:
    """Errors that no other participant or window can get past."""
    from mano_api import AccessDenied, ClientConfigurationError, StudyNotFound

    if is_disk_full(exc):  # every other file would fail the same way
        return True
    return isinstance(exc, AccessDenied | StudyNotFound | ClientConfigurationError)


def request_archive(
    client: BeiweClient,
    study_id: str,
    *,
    participants: Sequence[str] | None,
    streams: Sequence[str] | None,
    start: _dt.datetime | None,
    end: _dt.datetime | None,
    registry: Mapping[str, str] | None,
    version: int,
    tmp_dir: str | os.PathLike[str] | None,
    progress: Callable[[int], None] | None,
) -> tuple[Archive, int]:
    """One get-data request; falls back from v2 to v1 when the server has no v2 route."""
    from mano_api import EndpointNotFound

    try:
        archive = client.download(
            study_id,
            participants=list(participants) if participants else None,
            streams=list(streams) if streams else None,
            start=start,
            end=end,
            registry=dict(registry) if registry else None,
            version=version,
            tmp_dir=tmp_dir,
            progress=progress,
        )
        return archive, version
    except EndpointNotFound:
        if version != 2:
            raise
        logger.warning("the server has no /get-data/v2 route; falling back to /get-data/v1")
    return request_archive(
        client,
        study_id,
        participants=participants,
        streams=streams,
        start=start,
        end=end,
        registry=registry,
        version=1,
        tmp_dir=tmp_dir,
        progress=progress,
    )


class Fetcher:
    """Makes the get-data requests of one run, counting their bytes as they arrive.

    Args:
        client: The open client.
        study_id: The study.
        streams: Streams asked for (``None``: all).
        version: get-data version to start with (falls back to 1 once, for the whole run).
        tmp_dir: Where archives are written while they arrive (the study folder: same file
            system; a killed run's leftover is cleaned at the next start).
        stop: Set when the run is stopped; an arriving body is abandoned at once.
        on_bytes: Called with ``(owner, new_bytes)`` while bodies arrive.
    """

    def __init__(
        self,
        client: BeiweClient,
        study_id: str,
        *,
        streams: Sequence[str] | None,
        version: int,
        tmp_dir: Path,
        stop: threading.Event,
        on_bytes: Callable[[str | None, int], None],
    ) -> None:
        self.client = client
        self.study_id = study_id
        self.streams = streams
        self.version = version
        self.tmp_dir = tmp_dir
        self.stop = stop
        self.on_bytes = on_bytes

    def get(
        self,
        pids: list[str],
        start: _dt.datetime | None,
        end: _dt.datetime | None,
        registry: dict[str, str],
        *,
        owner: str | None,
        streams: Sequence[str] | None = None,
    ) -> Archive:
        """One get-data request, its bytes counted for ``owner`` (``None``: shared).

        ``streams`` narrows the run's streams for this request.
        """
        last = [0]

        def progress(n: int) -> None:
            if self.stop.is_set():
                raise Stopped("the sync was interrupted")
            delta, last[0] = n - last[0], n
            if delta > 0:
                self.on_bytes(owner, delta)

        archive, version = request_archive(
            self.client,
            self.study_id,
            participants=pids,
            streams=self.streams if streams is None else streams,
            start=start,
            end=end,
            registry=registry,
            version=self.version,
            tmp_dir=self.tmp_dir,
            progress=progress,
        )
        self.version = version
        # count what the progress callback did not see (e.g. retried attempts excluded)
        if archive.size > last[0]:
            self.on_bytes(owner, archive.size - last[0])
        return archive
