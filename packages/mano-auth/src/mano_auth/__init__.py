"""Keyrings and credentials for the Beiwe Data Access API (cryptease-compatible)."""

import logging

from mano_auth.__about__ import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
