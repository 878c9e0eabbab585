"""Exceptions raised by mano_testing.

Tree::

    ManoTestingError                 root of everything this package raises
     ├── FaultSpecError (ValueError)  a faults string could not be parsed
     ├── InvalidOptionError (ValueError)
     │                                an Emulator option is out of range
     ├── EmulatorStateError (RuntimeError)
     │                                the emulator is used in the wrong state
     │                                (not started, already stopped, ...)
     └── UnknownFileError (KeyError)  a participant, stream or file the study does not have
"""

from __future__ import annotations

__all__ = [
    "EmulatorStateError",
    "FaultSpecError",
    "InvalidOptionError",
    "ManoTestingError",
    "UnknownFileError",
]


class ManoTestingError(Exception):
    """Root of every exception raised by mano_testing."""


class FaultSpecError(ManoTestingError, ValueError):
    """A faults string (``--faults`` / ``set_faults``) is malformed."""


class InvalidOptionError(ManoTestingError, ValueError):
    """An :class:`~mano_testing.Emulator` option is out of range."""


class EmulatorStateError(ManoTestingError, RuntimeError):
    """The emulator was used in a state that does not allow it (e.g. not started)."""


class UnknownFileError(ManoTestingError, KeyError):
    """A participant, stream or file that the synthetic study does not contain."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
