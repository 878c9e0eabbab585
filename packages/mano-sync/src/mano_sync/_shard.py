"""Shards: the K-th of N deterministic slices of a study's participants.

A participant belongs to shard ``1 + (SHA-1 of its id) mod N``: every node computes the same
slices without talking to the others, and a participant enrolled later does not move the
existing ones to other shards (so each shard keeps re-syncing the same people).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Shard", "parse_shard"]

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, order=True)
class Shard:
    """Slice ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(f"shard must be K/N with 1 <= K <= N, got {self}")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, participant: str) -> bool:
        """Whether ``participant`` belongs to this slice."""
        digest = hashlib.sha1(participant.encode("utf-8"), usedforsecurity=False).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1

    def select(self, participants: Iterable[str]) -> list[str]:
        """The participants of this slice, sorted."""
        return sorted(p for p in set(participants) if self.owns(p))


def parse_shard(text: str) -> Shard:
    """``"2/4"`` -> ``Shard(2, 4)``.

    Raises:
        ValueError: Not ``K/N`` with ``1 <= K <= N``.
    """
    found = _SPEC.match(text)
    if not found:
        raise ValueError(f"shard {text!r} is not K/N (e.g. 2/4: the second of four slices)")
    index, count = int(found.group(1)), int(found.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"shard {text!r}: K must be between 1 and N (e.g. 1/{max(count, 1)})")
    return Shard(index, count)
