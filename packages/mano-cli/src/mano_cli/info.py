"""`mano info …`: every other metadata endpoint, as JSON or CSV on stdout or in a file."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from mano_cli._api import open_client
from mano_cli._context import check_window, jsonable, parse_when, settings, split_values
from mano_cli._output import dumps, rows_to_csv, write_text

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    help="Study and participant metadata: quantities, interventions, surveys, tables, histories.",
)


class Format(StrEnum):
    json = "json"
    csv = "csv"


class TableFormat(StrEnum):
    json = "json"
    json_table = "json_table"
    csv = "csv"


STUDY_ARG = typer.Argument(..., help="Study id, unique id prefix or exact name.")
PID_ARG = typer.Argument(..., metavar="PARTICIPANT", help="Participant id (8 characters).")
OUTPUT_OPT = typer.Option(None, "--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.")
FORMAT_OPT = typer.Option(Format.json, "--format", "-f", help="Output format.")


def _emit(rows: Any, fmt: Format, output: Path | None, columns: list[str] | None = None) -> None:
    if fmt == Format.csv:
        data = jsonable(rows)
        if isinstance(data, dict):
            raise typer.BadParameter("this endpoint returns an object; use --format json")
        write_text(rows_to_csv(data, columns), output)
    else:
        write_text(dumps(rows), output)


@app.command("quantities")
def quantities(
    ctx: typer.Context, study: str = STUDY_ARG, fmt: Format = FORMAT_OPT, output: Path | None = OUTPUT_OPT
) -> None:
    """Bytes of data per participant and stream (get-participant-data-quantities)."""
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        result = client.data_quantities(found)
    data: dict[str, dict[str, int]] = {
        pid: {str(getattr(k, "value", k)): int(v) for k, v in streams.items()}
        for pid, streams in sorted(result.items())
    }
    if fmt == Format.csv:
        stream_names = sorted({name for streams in data.values() for name in streams})
        rows = [{"participant_id": pid, **streams} for pid, streams in data.items()]
        write_text(rows_to_csv(rows, ["participant_id", *stream_names]), output)
    else:
        write_text(dumps(data), output)


@app.command("interventions")
def interventions(ctx: typer.Context, study: str = STUDY_ARG, output: Path | None = OUTPUT_OPT) -> None:
    """Intervention dates per participant and survey (get-interventions), as JSON."""
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        result = client.interventions(found)
    write_text(dumps(result), output)


@app.command("survey-history")
def survey_history(ctx: typer.Context, study: str = STUDY_ARG, output: Path | None = OUTPUT_OPT) -> None:
    """Every archived version of every survey (get-survey-history), as JSON."""
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        result = client.survey_history(found)
    write_text(dumps(result), output)


@app.command("participant-table")
def participant_table(
    ctx: typer.Context,
    study: str = STUDY_ARG,
    fmt: TableFormat = typer.Option(TableFormat.csv, "--format", "-f", help="Server format."),
    output: Path | None = OUTPUT_OPT,
) -> None:
    """The participant table of the study website (get-participant-table-data)."""
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        result = client.participant_table(found, data_format=fmt.value)
    if isinstance(result, str | bytes):
        text = result.decode("utf-8") if isinstance(result, bytes) else result
        write_text(text if text.endswith("\n") else text + "\n", output)
    else:
        write_text(dumps(result), output)


@app.command("summary-statistics")
def summary_statistics(
    ctx: typer.Context,
    study: str = STUDY_ARG,
    start: str | None = typer.Option(None, "--start", metavar="YYYY-MM-DD", help="First day (inclusive)."),
    end: str | None = typer.Option(None, "--end", metavar="YYYY-MM-DD", help="Last day (inclusive)."),
    participant: list[str] | None = typer.Option(None, "--participant", "-p", metavar="PID", help="Only these participants (repeatable)."),
    fields: list[str] | None = typer.Option(None, "--field", metavar="NAME", help="Only these fields (repeatable or comma-separated)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many rows."),
    fmt: Format = FORMAT_OPT,
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Forest summary statistics per participant-day (get-summary-statistics), with filters."""
    s = settings(ctx)
    start_at = parse_when(start, "--start")
    end_at = parse_when(end, "--end", end=True)
    check_window(start_at, end_at)
    wanted_fields = split_values(fields)
    with open_client(s) as client:
        found = client.resolve_study(study)
        rows = list(
            client.summary_statistics(
                found,
                start_date=start_at.date() if start_at else None,
                end_date=end_at.date() if end_at else None,
                participant_ids=split_values(participant),
                fields=wanted_fields,
                limit=limit,
            )
        )
    _emit(rows, fmt, output, wanted_fields)


def _history(
    ctx: typer.Context, method: str, participant: str, fmt: Format, output: Path | None, **kwargs: Any
) -> None:
    s = settings(ctx)
    with open_client(s) as client:
        result = getattr(client, method)(participant, **kwargs)
        rows = list(result) if isinstance(result, Iterable) and not isinstance(result, dict) else result
    _emit(rows, fmt, output)


@app.command("upload-history")
def upload_history(
    ctx: typer.Context, participant: str = PID_ARG, fmt: Format = FORMAT_OPT, output: Path | None = OUTPUT_OPT
) -> None:
    """Every file the participant's phone uploaded (get-participant-upload-history)."""
    _history(ctx, "upload_history", participant, fmt, output)


@app.command("heartbeat-history")
def heartbeat_history(
    ctx: typer.Context, participant: str = PID_ARG, fmt: Format = FORMAT_OPT, output: Path | None = OUTPUT_OPT
) -> None:
    """App heartbeats of the participant (get-participant-heartbeat-history)."""
    _history(ctx, "heartbeat_history", participant, fmt, output)


@app.command("version-history")
def version_history(
    ctx: typer.Context, participant: str = PID_ARG, fmt: Format = FORMAT_OPT, output: Path | None = OUTPUT_OPT
) -> None:
    """App and OS versions of the participant over time (get-participant-version-history)."""
    _history(ctx, "version_history", participant, fmt, output)


@app.command("device-status")
def device_status(
    ctx: typer.Context, participant: str = PID_ARG, fmt: Format = FORMAT_OPT, output: Path | None = OUTPUT_OPT
) -> None:
    """Device status reports (get-participant-device-status-history)."""
    _history(ctx, "device_status_history", participant, fmt, output)


@app.command("notification-history")
def notification_history(
    ctx: typer.Context,
    participant: str = PID_ARG,
    utc: bool = typer.Option(False, "--utc", help="Times in UTC instead of the study's time zone."),
    output: Path | None = OUTPUT_OPT,
) -> None:
    """Survey push notifications sent to the participant (get-participant-notification-history)."""
    _history(ctx, "notification_history", participant, Format.json, output, utc=utc)


@app.command("file-hashes")
def file_hashes(ctx: typer.Context, participant: str = PID_ARG, output: Path | None = OUTPUT_OPT) -> None:
    """SHA-1 of every file of the participant, when the server supports it (get-participant-file-hashes)."""
    s = settings(ctx)
    with open_client(s) as client:
        result = client.file_hashes(participant)
    if result is None:
        s.err.print("the server could not list file hashes for this participant (known server bug, SPEC 4.3)")
        raise typer.Exit(4)
    write_text(dumps(result), output)
