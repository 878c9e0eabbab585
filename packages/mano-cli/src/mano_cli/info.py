"""`mano info …`: every other metadata endpoint, as JSON or CSV on stdout or in a file.

Large answers (summary statistics, histories, the participant table) are streamed by mano-api
straight into a file (``-o``) or a hidden temporary file that is then copied to stdout, so
memory stays bounded.
"""

from __future__ import annotations

import csv
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from mano_cli._api import open_client
from mano_cli._context import check_window, jsonable, parse_when, settings, split_values
from mano_cli._errors import EXIT_SERVER, CliError, LocalProblem
from mano_cli._output import dumps, new_temp, write_text

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Study and participant metadata: quantities, interventions, surveys, tables, histories.",
)


class Format(StrEnum):
    """Output formats of the metadata commands."""

    json = "json"
    csv = "csv"


class TableFormat(StrEnum):
    """The participant table formats the server offers."""

    csv = "csv"
    json = "json"
    json_table = "json_table"


STUDY_ARG = typer.Argument(..., metavar="STUDY", help="Study id, unique id prefix or exact name.")
PID_ARG = typer.Argument(..., metavar="PARTICIPANT", help="Participant id (8 characters).")
OUTPUT_OPT = typer.Option(
    None, "--output", "-o", metavar="FILE", help="Write to FILE (atomically) instead of stdout."
)
FORMAT_OPT = typer.Option(Format.json, "--format", "-f", help="Output format.")


@contextmanager
def _target(output: Path | None) -> Iterator[Path]:
    """A path to write to: OUTPUT itself, or a hidden temp file copied to stdout afterwards."""
    if output is not None and str(output) != "-":
        folder = output.parent
        if not folder.is_dir():
            raise LocalProblem(f"cannot write {output}: folder {folder} does not exist")
        if output.is_dir():
            raise LocalProblem(f"cannot write {output}: it is a folder; name a file")
        yield output
        return
    fd, name = tempfile.mkstemp(prefix=".mano-info.", suffix=".mano-tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        size = tmp.stat().st_size
        with tmp.open("rb") as handle:
            out = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
            if out is None:  # pragma: no cover - text-only stdout
                sys.stdout.write(handle.read().decode("utf-8"))
            else:
                sys.stdout.flush()
                shutil.copyfileobj(handle, out)
                if size:
                    handle.seek(size - 1)
                    if handle.read(1) != b"\n":
                        out.write(b"\n")  # a terminal prompt must not follow JSON on its line
                out.flush()
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv_rows(rows: Iterable[Any], path: Path, columns: list[str] | None = None) -> int:
    """Stream rows (dicts or dataclasses) into a CSV file atomically; returns the row count."""
    fd, tmp_name = new_temp(path)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer: csv.DictWriter[str] | None = None
            for row in rows:
                data = jsonable(row)
                if writer is None:
                    writer = csv.DictWriter(
                        handle,
                        fieldnames=columns or list(data),
                        lineterminator="\n",
                        extrasaction="ignore",
                    )
                    writer.writeheader()
                writer.writerow({k: _cell(v) for k, v in data.items()})
                count += 1
            if writer is None and columns:
                handle.write(",".join(columns) + "\n")
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count


def _cell(value: Any) -> Any:
    import json

    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def _study_and(ctx: typer.Context, study: str, action: Callable[[Any, Any], None]) -> None:
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        action(client, found)


@app.command("quantities")
def quantities(
    ctx: typer.Context,
    study: str = STUDY_ARG,
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Bytes of data per participant and stream (get-participant-data-quantities)."""
    s = settings(ctx)
    with open_client(s) as client:
        result = client.data_quantities(client.resolve_study(study))
    data: dict[str, dict[str, int]] = {
        pid: {str(getattr(k, "value", k)): int(v) for k, v in sorted(streams.items())}
        for pid, streams in sorted(result.items())
    }
    if fmt == Format.csv:
        names = sorted({name for streams in data.values() for name in streams})
        with _target(output) as path:
            _write_csv_rows(
                ({"participant_id": pid, **streams} for pid, streams in data.items()),
                path,
                ["participant_id", *names],
            )
    else:
        write_text(dumps(data), output)


@app.command("interventions")
def interventions(
    ctx: typer.Context, study: str = STUDY_ARG, output: Path | None = OUTPUT_OPT
) -> None:
    """Intervention dates per participant and survey (get-interventions), as JSON."""
    s = settings(ctx)
    with open_client(s) as client:
        result = client.interventions(client.resolve_study(study))
    write_text(dumps(result), output)


@app.command("survey-history")
def survey_history(
    ctx: typer.Context, study: str = STUDY_ARG, output: Path | None = OUTPUT_OPT
) -> None:
    """Every archived version of every survey (get-survey-history), the server's JSON."""

    def run(client: Any, found: Any) -> None:
        with _target(output) as path:
            client.survey_history_to_file(found, path)

    _study_and(ctx, study, run)


@app.command("participant-table")
def participant_table(
    ctx: typer.Context,
    study: str = STUDY_ARG,
    fmt: Annotated[
        TableFormat, typer.Option("--format", "-f", help="The server's table format.")
    ] = TableFormat.csv,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """The participant table of the study website (get-participant-table-data), as the server sends it."""

    def run(client: Any, found: Any) -> None:
        with _target(output) as path:
            client.participant_table_to_file(found, path, data_format=fmt.value)

    _study_and(ctx, study, run)


@app.command("summary-statistics")
def summary_statistics(
    ctx: typer.Context,
    study: str = STUDY_ARG,
    start: str | None = typer.Option(
        None, "--start", metavar="YYYY-MM-DD", help="First day (inclusive)."
    ),
    end: str | None = typer.Option(
        None, "--end", metavar="YYYY-MM-DD", help="Last day (inclusive)."
    ),
    participant: Annotated[
        list[str] | None,
        typer.Option(
            "--participant", "-p", metavar="PID", help="Only these participants (repeatable)."
        ),
    ] = None,
    fields: Annotated[
        list[str] | None,
        typer.Option(
            "--field", metavar="NAME", help="Only these fields (repeatable or comma-separated)."
        ),
    ] = None,
    limit: int | None = typer.Option(
        None, "--limit", min=1, metavar="N", help="At most this many rows."
    ),
    ordered_by: str | None = typer.Option(
        None, "--order-by", metavar="FIELD", help="Sort by this field (server default: date)."
    ),
    descending: bool | None = typer.Option(
        None, "--descending/--ascending", help="Sort direction."
    ),
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Forest summary statistics per participant-day (get-summary-statistics), with filters."""
    start_at = parse_when(start, "--start")
    end_at = parse_when(end, "--end")
    check_window(start_at, end_at)
    wanted = split_values(fields)
    options: dict[str, Any] = {
        "start_date": start_at.date() if start_at else None,
        "end_date": end_at.date() if end_at else None,
        "participant_ids": split_values(participant),
        "fields": wanted,
        "limit": limit,
        "ordered_by": ordered_by,
        "order_direction": None
        if descending is None
        else ("descending" if descending else "ascending"),
    }

    def run(client: Any, found: Any) -> None:
        with _target(output) as path:
            if fmt == Format.csv:
                _write_csv_rows(client.summary_statistics(found, **options), path, wanted)
            else:
                client.summary_statistics_to_file(found, path, **options)

    _study_and(ctx, study, run)


_HISTORY = {
    "upload": ("upload_history", ["timestamp", "file_name", "file_size"]),
    "heartbeat": ("heartbeat_history", ["timestamp"]),
    "version": ("version_history", None),
    "device-status": ("device_status_history", None),
}


def _history(
    ctx: typer.Context, kind: str, participant: str, fmt: Format, output: Path | None
) -> None:
    s = settings(ctx)
    method, columns = _HISTORY[kind]
    with open_client(s) as client, _target(output) as path:
        if fmt == Format.csv:
            _write_csv_rows(getattr(client, method)(participant), path, columns)
        else:
            client.history_to_file(cast(Any, kind), participant, path)


@app.command("upload-history")
def upload_history(
    ctx: typer.Context,
    participant: str = PID_ARG,
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Every file the participant's phone uploaded (get-participant-upload-history)."""
    _history(ctx, "upload", participant, fmt, output)


@app.command("heartbeat-history")
def heartbeat_history(
    ctx: typer.Context,
    participant: str = PID_ARG,
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """App heartbeats of the participant (get-participant-heartbeat-history)."""
    _history(ctx, "heartbeat", participant, fmt, output)


@app.command("version-history")
def version_history(
    ctx: typer.Context,
    participant: str = PID_ARG,
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """App and OS versions of the participant over time (get-participant-version-history)."""
    _history(ctx, "version", participant, fmt, output)


@app.command("device-status")
def device_status(
    ctx: typer.Context,
    participant: str = PID_ARG,
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Device status reports (get-participant-device-status-history)."""
    _history(ctx, "device-status", participant, fmt, output)


@app.command("notification-history")
def notification_history(
    ctx: typer.Context,
    participant: str = PID_ARG,
    study_tz: bool = typer.Option(
        False, "--study-tz", help="Times in the study's time zone instead of UTC."
    ),
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Survey push notifications sent to the participant (get-participant-notification-history)."""
    s = settings(ctx)
    with open_client(s) as client:
        result = client.notification_history(participant, utc=not study_tz)
    if fmt == Format.csv:
        with _target(output) as path:
            _write_csv_rows(
                (record for records in result.values() for record in records),
                path,
                [
                    "survey_id",
                    "timestamp",
                    "type",
                    "scheduled_time",
                    "confirmed_received",
                    "uuid",
                    "resend",
                    "push_rejected",
                ],
            )
    else:
        write_text(dumps(result), output)


@app.command("file-hashes")
def file_hashes(
    ctx: typer.Context, participant: str = PID_ARG, output: Path | None = OUTPUT_OPT
) -> None:
    """SHA-1 (base64) of every file of the participant, where the server supports it."""
    s = settings(ctx)
    with open_client(s) as client:
        result = client.file_hashes(participant)
    if result is None:
        raise CliError(
            "the server cannot list file hashes for this participant (a known server bug, "
            "see docs/beiwe-server.md#file-hashes); `mano sync` works without them",
            exit_code=EXIT_SERVER,
        )
    write_text(dumps(dict(sorted(result.items()))), output)
