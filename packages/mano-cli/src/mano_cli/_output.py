"""Writing results: JSON, CSV or a Rich table to stdout, or atomically to a file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mano_cli._context import Settings, jsonable
from mano_cli._errors import LocalProblem

__all__ = ["dumps", "human_bytes", "rows_to_csv", "table", "write_text"]


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def dumps(value: Any) -> str:
    """Pretty, stable JSON (with a trailing newline)."""
    import json

    return json.dumps(jsonable(value), indent=2, ensure_ascii=False) + "\n"


def rows_to_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows as CSV text (columns: given, else the union in first-seen order)."""
    import csv
    import io

    materialised = [jsonable(r) for r in rows]
    if columns is None:
        seen: dict[str, None] = {}
        for row in materialised:
            for key in row:
                seen.setdefault(key, None)
        columns = list(seen)
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), lineterminator="\n", extrasaction="ignore"
    )
    writer.writeheader()
    for row in materialised:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def write_text(text: str, output: Path | None) -> None:
    """Write to stdout, or atomically to OUTPUT (temp file beside it, then rename)."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    import tempfile

    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise LocalProblem(f"cannot write {output}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".mano-tmp", dir=folder)
    except OSError as exc:
        raise LocalProblem(f"cannot write {output}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table(
    s: Settings,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
) -> None:
    """Print a table to stdout (plain text when stdout is not a terminal or NO_COLOR is set)."""
    from rich.table import Table

    t = Table(title=title, show_edge=False, box=None, pad_edge=False, header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    s.out.print(t)
