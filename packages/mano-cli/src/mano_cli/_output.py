"""Writing results: JSON, CSV or a Rich table to stdout, or atomically to a file."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mano_cli._context import Settings, jsonable
from mano_cli._errors import LocalProblem

__all__ = ["dumps", "human_bytes", "new_temp", "rows_to_csv", "table", "write_text"]


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


def new_temp(target: Path) -> tuple[int, str]:
    """Open a new hidden temp file beside ``target`` (``.<name>.<random>.mano-tmp``).

    Unlike ``tempfile.mkstemp`` (always 0600) the file gets ``0666 & ~umask``: data and report
    files are meant for the lab's group when its umask says so. Secrets never go through here.
    """
    folder = target.parent if str(target.parent) else Path(".")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{target.name}.{os.urandom(4).hex()}.mano-tmp"
        try:
            return os.open(tmp, flags, 0o666), str(tmp)
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temp file name beside {target}")  # pragma: no cover


def write_text(text: str, output: Path | None) -> None:
    """Write to stdout, or atomically to OUTPUT (temp file beside it, then rename)."""
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return

    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise LocalProblem(f"cannot write {output}: folder {folder} does not exist")
    try:
        fd, tmp = new_temp(output)
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
    """Print a table to stdout.

    On a terminal: a Rich table fitted to its width. Otherwise (files, pipes, cron mail): plain
    columns as wide as their data, never wrapped, so every row stays one line. ``--plain``:
    tab-separated values (tabs and newlines inside cells become spaces), header line first.
    """
    if s.plain:
        lines = ["\t".join(columns)]
        for row in rows:
            lines.append("\t".join("" if v is None else " ".join(str(v).split()) for v in row))
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return
    if not s.out.is_terminal:
        cells = [list(columns)] + [["" if v is None else str(v) for v in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        lines = [] if title is None else [title]
        lines += [
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
        ]
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
        return
    from rich.table import Table

    t = Table(title=title, show_edge=False, box=None, pad_edge=False, header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    s.out.print(t)
