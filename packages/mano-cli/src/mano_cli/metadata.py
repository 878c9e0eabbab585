"""`mano studies`, `mano participants STUDY`, `mano settings STUDY`."""

from __future__ import annotations

from pathlib import Path

import typer

from mano_cli._api import open_client
from mano_cli._context import settings
from mano_cli._output import dumps, table, write_text

__all__ = ["participants", "studies", "study_settings"]

JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of a table.")
OUTPUT_OPTION = typer.Option(
    None, "--output", "-o", metavar="FILE", help="Write to FILE instead of stdout."
)


def studies(
    ctx: typer.Context,
    json_output: bool = JSON_OPTION,
) -> None:
    """List the studies these credentials can access (id and name)."""
    s = settings(ctx)
    with open_client(s) as client:
        found = sorted(client.studies(), key=lambda st: (st.name.lower(), st.id))
    if json_output or s.json:
        write_text(dumps([{"id": st.id, "name": st.name} for st in found]), None)
        return
    if not found:
        s.err.print("no studies: these credentials have access to no study")
        return
    table(s, ["id", "name"], [(st.id, st.name) for st in found])


def participants(
    ctx: typer.Context,
    study: str = typer.Argument(
        ..., metavar="STUDY", help="Study id, unique id prefix or exact name."
    ),
    json_output: bool = JSON_OPTION,
) -> None:
    """List the participant ids of STUDY (one per line, or --json)."""
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        ids = sorted(client.participant_ids(found))
    if json_output or s.json:
        write_text(dumps(ids), None)
        return
    write_text("".join(f"{pid}\n" for pid in ids), None)
    if not ids:
        s.err.print(f"study {found.name} has no participants")


def study_settings(
    ctx: typer.Context,
    study: str = typer.Argument(
        ..., metavar="STUDY", help="Study id, unique id prefix or exact name."
    ),
    output: Path | None = OUTPUT_OPTION,
) -> None:
    """Print the study's settings export (device settings, surveys, interventions) as JSON."""
    s = settings(ctx)
    with open_client(s) as client:
        found = client.resolve_study(study)
        result = client.study_settings(found)
    write_text(dumps(result.raw), output)
