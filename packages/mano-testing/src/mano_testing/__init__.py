"""A faithful Beiwe server emulator with synthetic studies, fault injection and a pytest plugin."""

import logging

from mano_testing.__about__ import __version__

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
