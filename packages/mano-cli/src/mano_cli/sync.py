"""`mano sync` and `mano demo`."""

from __future__ import annotations

import typer

__all__ = ["demo", "sync"]


def sync(ctx: typer.Context) -> None:
    """Sync STUDY into a folder (placeholder until mano-sync lands)."""


def demo(ctx: typer.Context) -> None:
    """Sync a synthetic study from the built-in emulator (placeholder)."""
