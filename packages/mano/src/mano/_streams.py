"""Data stream names from both documents, translated to the server's names."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from mano._errors import UnknownDataStream
from mano_api import DataStream as _ServerStream

__all__ = ["translate_streams"]

#: Names the documents list that the server does not know, with what they mean.
#: mano 0.6.0's README backfill example uses ``accel`` (the phone's upload name).
_RENAMED = {"accel": "accelerometer"}
#: Names the documents list that have no replacement, with why.
_REFUSED = {
    "image_survey": (
        "'image_survey' is not a Beiwe data stream (0.6.0's README lists it, the server answers "
        "404): there is no replacement, remove it"
    ),
}
_SERVER = frozenset(s.value for s in _ServerStream)


def _one(item: object, what: str) -> str:
    if isinstance(item, Enum):
        item = item.value
    if not isinstance(item, str):
        raise UnknownDataStream(
            f"{what} must hold stream names (strings), not {type(item).__name__} {item!r}"
        )
    name = item.strip()
    if name in _SERVER:
        return name
    if name in _RENAMED:
        return _RENAMED[name]
    if name in _REFUSED:
        raise UnknownDataStream(f"{what}: {_REFUSED[name]}")
    lowered = name.lower().replace("-", "_")
    if lowered in _SERVER:
        return lowered
    raise UnknownDataStream(
        f"{what}: unknown data stream {item!r}; use one of: {', '.join(sorted(_SERVER))} "
        "(or a mano.constants.DataStream member)"
    )


def translate_streams(streams: Iterable[object] | str | None, what: str) -> list[str] | None:
    """Server stream names for a ``data_streams`` or ``lock`` argument (``None`` when empty).

    Raises:
        UnknownDataStream: a name no document lists; the message names the replacement.
    """
    if streams is None:
        return None
    items: list[object] = [streams] if isinstance(streams, str) else list(streams)
    out: list[str] = []
    for item in items:
        name = _one(item, what)
        if name not in out:
            out.append(name)
    return out or None
