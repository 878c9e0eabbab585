"""Fast, incremental, crash-safe sync of Beiwe participants and studies."""

import logging

from mano_sync.__about__ import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
