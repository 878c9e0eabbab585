"""A faithful Beiwe server emulator with synthetic studies, fault injection and a pytest plugin.

Quick start::

    from mano_testing import Emulator

    with Emulator(participants=3, days=2, seed=7) as emu:
        emu.url, emu.access_key, emu.secret_key, emu.study_id, emu.participants
        emu.files()          # what the server stores, with hashes and content
        emu.late_data()      # rewrite chunks as late uploads would
        emu.set_faults("5xx=1,reset=1")
"""

import logging

from mano_testing.__about__ import __version__
from mano_testing._emulator import Emulator, SyntheticFile
from mano_testing._errors import (
    EmulatorStateError,
    FaultSpecError,
    InvalidOptionError,
    ManoTestingError,
    UnknownFileError,
)
from mano_testing._faults import FAULT_KINDS, Faults
from mano_testing._server import RequestRecord
from mano_testing._surveys import Delivery as SurveyDelivery
from mano_testing._synth import ALL_DATA_STREAMS

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "ALL_DATA_STREAMS",
    "FAULT_KINDS",
    "EmulatorStateError",
    "Emulator",
    "FaultSpecError",
    "Faults",
    "InvalidOptionError",
    "ManoTestingError",
    "RequestRecord",
    "SurveyDelivery",
    "SyntheticFile",
    "UnknownFileError",
    "__version__",
]
