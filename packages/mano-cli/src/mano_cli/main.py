"""The `mano` command."""

from __future__ import annotations

import typer

from mano_cli.__about__ import __version__

app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mano-cli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show versions and exit."
    ),
) -> None:
    """Get Beiwe data off the server and keep it safe and complete on your disks."""


@app.command()
def demo(folder: str = typer.Argument("mano-demo")) -> None:
    """Sync a synthetic study from the built-in emulator into FOLDER."""
    typer.echo(f"mano demo: will sync a synthetic study into {folder} (coming with mano-cli)")


def main() -> None:
    """Console-script entry point."""
    app()
