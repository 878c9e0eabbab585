"""`mano compress|decompress|lock|unlock|verify DIR`."""

from __future__ import annotations

import typer

__all__ = ["compress", "decompress", "lock", "unlock", "verify"]


def compress(ctx: typer.Context) -> None:
    """Compress."""


def decompress(ctx: typer.Context) -> None:
    """Decompress."""


def lock(ctx: typer.Context) -> None:
    """Lock."""


def unlock(ctx: typer.Context) -> None:
    """Unlock."""


def verify(ctx: typer.Context) -> None:
    """Verify."""
