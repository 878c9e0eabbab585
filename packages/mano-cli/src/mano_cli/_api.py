"""Opening an API client for the credentials of this invocation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mano_cli._context import Settings, load_credentials

if TYPE_CHECKING:
    from mano_api import BeiweClient
    from mano_auth import Credentials

__all__ = ["open_client"]


@contextmanager
def open_client(s: Settings, credentials: Credentials | None = None) -> Iterator[BeiweClient]:
    """A :class:`mano_api.BeiweClient` for ``credentials`` (default: the global options')."""
    creds = credentials if credentials is not None else load_credentials(s)
    from mano_api import BeiweClient

    options: dict[str, Any] = {"retries": s.retries}
    if s.timeout is not None:
        options["timeout"] = (min(10.0, s.timeout), s.timeout)
    if s.deadline is not None:
        options["download_deadline"] = s.deadline
    with BeiweClient(creds, **options) as client:
        yield client
