"""What the server's statistics say about each participant: bytes per day and in total.

They size the request windows (:mod:`mano_sync._plan`) and show days whose byte count changed
since the last run (late rewrites of hourly chunks). The server computes them from chunked data
only: late survey answers and audio change nothing here (the plan's unchunked sweep finds them).
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mano_sync._names import ALL_STREAMS

if TYPE_CHECKING:
    from mano_api import BeiweClient

logger = logging.getLogger(__name__)

__all__ = ["ParticipantInfo", "study_statistics"]


@dataclass
class ParticipantInfo:
    """What the server's statistics say about one participant."""

    total_bytes: int | None = None  # data quantities for the selected streams
    daily: dict[int, int] = field(default_factory=dict)  # UTC day start -> bytes
    stats_through: int | None = None  # last day the study's statistics cover


def study_statistics(
    client: BeiweClient,
    study_id: str,
    pids: list[str],
    streams: tuple[str, ...] | None,
    *,
    all_participants: bool = False,
) -> dict[str, ParticipantInfo]:
    """Per participant: bytes per day (summary statistics) and in total.

    Data quantities are the sums of the same daily rows (docs/beiwe-server.md#data-quantities), so they are asked for
    only when summary statistics fail or are empty. All-zero numbers usually mean the server
    never computed statistics, so then nobody is skipped and windows adapt instead.
    """
    infos = {p: ParticipantInfo() for p in pids}
    wanted = set(streams or ALL_STREAMS)
    fields = ["date", "participant_id", *(f"beiwe_{s}_bytes" for s in ALL_STREAMS)]
    any_data = False
    try:
        rows = client.summary_statistics(
            study_id, participant_ids=None if all_participants else pids, fields=fields
        )
        for row in rows:
            who = row.get("participant_id")
            day = row.get("date")
            if not isinstance(who, str) or who not in infos or not isinstance(day, str):
                continue
            total = 0
            for k, v in row.items():
                if (
                    k.startswith("beiwe_")
                    and k.endswith("_bytes")
                    and isinstance(v, int)
                    and k[len("beiwe_") : -len("_bytes")] in wanted
                ):
                    total += v
            d = _dt.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=_dt.UTC)
            infos[who].daily[int(d.timestamp())] = total
            any_data = any_data or total > 0
    except Exception as exc:
        logger.info("summary statistics unavailable (%s); trying data quantities", exc)
    if any_data:
        for info in infos.values():
            info.total_bytes = sum(info.daily.values())
    else:
        for info in infos.values():
            info.daily.clear()
        try:
            quantities = client.data_quantities(study_id)
        except Exception as exc:
            logger.info("data quantities unavailable (%s); planning adaptively", exc)
            quantities = {}
        for pid, per_stream in quantities.items():
            if pid in infos:
                total = sum(
                    int(v) for k, v in per_stream.items() if str(k).removesuffix("_bytes") in wanted
                )
                infos[pid].total_bytes = total
                any_data = any_data or total > 0
        if not any_data:
            for info in infos.values():
                info.total_bytes = None
    through = max((d for info in infos.values() for d in info.daily), default=None)
    for info in infos.values():
        info.stats_through = through
    _confirm_empty(client, study_id, infos)
    return infos


def _confirm_empty(client: BeiweClient, study_id: str, infos: dict[str, ParticipantInfo]) -> None:
    """Only skip a zero-byte participant when the server also never received an upload.

    Statistics are computed periodically, so a participant who enrolled today has data but no
    bytes yet. The participant table's "Last Upload" tells them apart (one request).
    """
    empty = [p for p, info in infos.items() if info.total_bytes == 0]
    if not empty:
        return
    try:
        records = client.participant_table_records(study_id)
        uploads = {str(r.get("Patient ID")): r.get("Last Upload") for r in records}
    except Exception as exc:
        logger.info("participant table unavailable (%s); not skipping anyone", exc)
        uploads = {}
    for pid in empty:
        if pid not in uploads or uploads[pid]:
            infos[pid].total_bytes = None  # unknown: sync them (registry keeps it cheap)
