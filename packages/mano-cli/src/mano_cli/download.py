"""`mano download`: fetch data once into a folder (no manifest, no incremental state)."""

from __future__ import annotations

import typer

__all__ = ["download"]


def download(ctx: typer.Context) -> None:
    """Download data of STUDY into a folder (placeholder until mano-sync lands)."""
