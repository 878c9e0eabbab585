"""A complete, typed, resilient client for the Beiwe Data Access API."""

import logging

from mano_api.__about__ import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
