"""pytest plugin (entry point ``pytest11``): fixtures for a running Beiwe emulator.

- ``beiwe_emulator``: a started :class:`~mano_testing.Emulator` with a small study
  (3 participants x 2 days, seed 1, ``shuffle=True``), stopped after the test.
- ``beiwe_emulator_factory``: call it with :class:`~mano_testing.Emulator` keyword arguments
  to start as many emulators as a test needs; all are stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from mano_testing._emulator import Emulator

__all__ = ["SMALL_STUDY", "beiwe_emulator", "beiwe_emulator_factory"]

#: Keyword arguments of the ``beiwe_emulator`` fixture's study.
SMALL_STUDY: dict[str, Any] = {"participants": 3, "days": 2, "seed": 1}


@pytest.fixture
def beiwe_emulator_factory() -> Iterator[Callable[..., Emulator]]:
    """Start emulators with any :class:`Emulator` keyword arguments; stop them all after."""
    started: list[Emulator] = []

    def factory(**kwargs: Any) -> Emulator:
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    yield factory
    for emu in started:
        emu.stop()


@pytest.fixture
def beiwe_emulator(beiwe_emulator_factory: Callable[..., Emulator]) -> Emulator:
    """A running emulator with a small synthetic study (3 participants x 2 days)."""
    return beiwe_emulator_factory(**SMALL_STUDY)
