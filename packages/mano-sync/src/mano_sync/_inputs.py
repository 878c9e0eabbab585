"""Arguments of the public calls, checked and normalised (times, streams, lock key)."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from typing import Any

from mano_sync._errors import ManoSyncError, PassphraseRequired
from mano_sync._names import ALL_STREAMS

__all__ = ["STUDY_ID_RE", "TimeArg", "derive_lock_key", "streams_arg", "to_utc"]

STUDY_ID_RE = re.compile(r"^[A-Za-z0-9]{24}$")
TimeArg = str | _dt.date | _dt.datetime | None


def to_utc(value: TimeArg, *, what: str) -> _dt.datetime | None:
    """Accept a date, datetime or ISO-ish string (mano 0.6.0 style ``2015-9-01T00:00:00``)."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value.replace(tzinfo=_dt.UTC) if value.tzinfo is None else value.astimezone(_dt.UTC)
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.UTC)
    text = str(value).strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return _dt.datetime.strptime(text, fmt).replace(tzinfo=_dt.UTC)
        except ValueError:
            pass
    try:
        parsed = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ManoSyncError(
            f"cannot read {what} {value!r}; use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)"
        ) from None
    return parsed.replace(tzinfo=_dt.UTC) if parsed.tzinfo is None else parsed.astimezone(_dt.UTC)


def streams_arg(data_streams: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Validate a stream selection; ``None`` means all 19."""
    if data_streams is None:
        return None
    items = [data_streams] if isinstance(data_streams, str) else list(data_streams)
    out: list[str] = []
    for s in items:
        name = str(s).strip()
        if name not in ALL_STREAMS:
            raise ManoSyncError(
                f"unknown data stream {name!r}; choose from: {', '.join(ALL_STREAMS)}"
            )
        if name not in out:
            out.append(name)
    if not out or set(out) == set(ALL_STREAMS):
        return None
    return tuple(out)


def derive_lock_key(
    lock: Iterable[str] | None, passphrase: str | None
) -> tuple[frozenset[str], Any]:
    streams = frozenset(streams_arg(lock) or ALL_STREAMS) if lock else frozenset()
    if not streams:
        return streams, None
    if not passphrase:
        raise PassphraseRequired(
            "locking data streams needs a passphrase; pass passphrase= (or set it in the keyring)"
        )
    from mano_files import derive_key

    return streams, derive_key(passphrase)
