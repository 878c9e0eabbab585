"""Rows of the results table and their JSON / Markdown rendering."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from benchlib.measure import Sample, best, median
from benchlib.specs import spec

Status = Literal["measured", "not measured", "error"]

MB = 1_000_000
MiB = 1024 * 1024


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what ran, on how much data, and how long it took.

    Attributes:
        label: Short name shown in the table (``mano compress_tree``, ``zstd -r``).
        command: What exactly ran (a command line or a Python call), for the JSON.
        samples: Every timed run.
        bytes: Bytes of work per run used for MB/s (stated per row: usually plain bytes).
        files: Files handled per run.
    """

    label: str
    command: str
    samples: Sequence[Sample]
    bytes: int | None = None
    files: int | None = None

    @property
    def seconds(self) -> float:
        """Best (minimum) wall time."""
        return best(self.samples)

    @property
    def rss_bytes(self) -> int | None:
        """Largest peak RSS over the runs, when measured."""
        values = [s.rss_bytes for s in self.samples if s.rss_bytes is not None]
        return max(values) if values else None

    @property
    def mb_per_s(self) -> float | None:
        """Throughput of the best run in MB/s (10^6 bytes), when bytes are known."""
        if self.bytes is None or self.seconds <= 0:
            return None
        return self.bytes / MB / self.seconds

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "label": self.label,
            "command": self.command,
            "best_seconds": round(self.seconds, 6),
            "median_seconds": round(median(self.samples), 6),
            "runs_seconds": [round(s.seconds, 6) for s in self.samples],
            "bytes": self.bytes,
            "files": self.files,
            "mb_per_s": None if self.mb_per_s is None else round(self.mb_per_s, 3),
            "peak_rss_bytes": self.rss_bytes,
            "info": [dict(s.info) for s in self.samples if s.info],
        }

    def cell(self) -> str:
        """Markdown cell: label, best time, data size, throughput, RSS."""
        parts = [f"{self.label}: {fmt_seconds(self.seconds)}"]
        if self.files is not None:
            parts.append(f"{self.files:,} files")
        if self.bytes is not None:
            parts.append(fmt_bytes(self.bytes))
        if self.mb_per_s is not None:
            parts.append(f"{self.mb_per_s:,.0f} MB/s")
        if self.rss_bytes is not None:
            parts.append(f"RSS {self.rss_bytes / MiB:,.0f} MiB")
        return " · ".join(parts)


@dataclass(frozen=True)
class Row:
    """One line of the table.

    Attributes:
        id: Stable key (``compress``, ``sync_vs_curl``, ...).
        title: What is compared.
        goal: The goal (``≥ 1.2× zstd -r``).
        source: Where the goal is written down (a link inside the repository).
        status: ``measured``, ``not measured`` (a reason in ``note``), or ``error``.
        mano: mano's side.
        reference: The reference side, measured in the same run.
        ratio: The figure the goal is about (see ``ratio_meaning``).
        ratio_meaning: How ``ratio`` is computed, in words.
        value: For absolute goals (RSS, seconds), the figure checked, with its unit in
            ``value_unit``.
        met: Whether the goal is met; ``None`` when not measured.
        note: Reason for "not measured"/"error", or a remark on fairness.
    """

    id: str
    title: str
    goal: str
    source: str
    status: Status = "measured"
    mano: Side | None = None
    reference: Side | None = None
    ratio: float | None = None
    ratio_meaning: str = ""
    value: float | None = None
    value_unit: str = ""
    met: bool | None = None
    note: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id,
            "title": self.title,
            "goal": self.goal,
            "source": self.source,
            "status": self.status,
            "met": self.met,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "ratio_meaning": self.ratio_meaning,
            "value": None if self.value is None else round(self.value, 4),
            "value_unit": self.value_unit,
            "mano": None if self.mano is None else self.mano.to_json(),
            "reference": None if self.reference is None else self.reference.to_json(),
            "note": self.note,
            "extra": dict(self.extra),
        }


def not_measured(row_id: str, reason: str, *, error: bool = False) -> Row:
    """A row that could not be measured, saying why (never a made-up number)."""
    return Row(**spec(row_id), status="error" if error else "not measured", note=reason)


def fmt_seconds(seconds: float) -> str:
    """Human time: ms below one second."""
    if seconds < 1:
        return f"{seconds * 1000:,.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"
    return f"{seconds:,.2f} s"


def fmt_bytes(n: int) -> str:
    """Human size in MB / kB (decimal units, like the MB/s figures)."""
    if n >= 10 * MB:
        return f"{n / MB:,.0f} MB"
    if n >= MB:
        return f"{n / MB:,.1f} MB"
    return f"{n / 1000:,.1f} kB"


def fmt_ratio(row: Row) -> str:
    """The ratio cell: the ratio and what it means, then the absolute figure if any."""
    parts = []
    if row.ratio is not None:
        # three decimals below 10, so a figure just under its goal never rounds up to it
        digits = 3 if row.ratio < 10 else 1
        meaning = f" ({row.ratio_meaning})" if row.ratio_meaning else ""
        parts.append(f"**{row.ratio:.{digits}f}×**{meaning}")
    if row.value is not None:
        parts.append(f"**{row.value:,.1f} {row.value_unit}**".strip())
    return " · ".join(parts) if parts else "—"


def fmt_met(row: Row) -> str:
    """The met cell."""
    if row.status == "not measured":
        return f"not measured: {row.note}"
    if row.status == "error":
        return f"error: {row.note}"
    if row.met is None:
        return "info"
    return "✅ met" if row.met else "❌ not met"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(rows: Sequence[Row], machine: Mapping[str, Any], mode: str) -> str:
    """The Markdown table with a header naming the machine and mode."""
    lines = [
        f"mano benchmarks · mode `{mode}` · {machine.get('date', '')}",
        "",
        f"Machine: {machine_line(machine)}",
        "",
    ]
    if mode.startswith("smoke"):
        lines += [
            "Smoke mode: tiny inputs that prove the harness works; the figures mean nothing.",
            "",
        ]
    lines += [
        "| # | benchmark | mano | reference (same run) | ratio | goal | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, row in enumerate(rows, 1):
        mano = row.mano.cell() if row.mano else "—"
        ref = row.reference.cell() if row.reference else "—"
        ratio = fmt_ratio(row)
        lines.append(
            "| "
            + " | ".join(
                _escape(c) for c in (str(i), row.title, mano, ref, ratio, row.goal, fmt_met(row))
            )
            + " |"
        )
    notes = [(i, r.note) for i, r in enumerate(rows, 1) if r.note and r.status == "measured"]
    if notes:
        lines += ["", "Notes:"]
        lines += [f"- {i}: {note}" for i, note in notes]
    lines.append("")
    return "\n".join(lines)


def machine_line(machine: Mapping[str, Any]) -> str:
    """One-line machine description for the table header."""
    versions = machine.get("versions", {})
    tools = ", ".join(
        f"{k} {v}" for k, v in versions.items() if v and k in {"zstd", "openssl", "curl"}
    )
    return (
        f"{machine.get('cpu_model', '?')}, {machine.get('cpus_usable', '?')} cores usable, "
        f"{machine.get('ram_gb', '?')} GB RAM, Python {machine.get('python', '?')}, "
        f"{machine.get('os', '?')}; {tools}; load average at start "
        f"{machine.get('loadavg_start', '?')}"
    )
