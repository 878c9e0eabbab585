"""`mano keyring …`."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Manage the encrypted keyring of server credentials.")


@app.command("list")
def list_sections(ctx: typer.Context) -> None:
    """List sections."""
