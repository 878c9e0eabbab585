"""Compress, decompress, lock, unlock, hash, verify and report on Beiwe data trees."""

import logging

from mano_files.__about__ import __version__
from mano_files._coverage import (
    CoverageReport,
    CoverageRow,
    ParticipantCoverage,
    StreamCoverage,
    coverage,
)

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "CoverageReport",
    "CoverageRow",
    "ParticipantCoverage",
    "StreamCoverage",
    "coverage",
]
