"""The `mano` command: Beiwe data access for people and for cron."""

import logging

from mano_cli.__about__ import __version__
from mano_cli.main import app, main

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__", "app", "main"]
