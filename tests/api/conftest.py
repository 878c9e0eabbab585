"""Fixtures for mano-api tests: one emulator per module, clients with fast retries."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from mano_api import BeiweClient
from mano_testing import Emulator, RequestRecord


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(participants=3, days=2, seed=11, shuffle=True) as emulator:
        yield emulator


@pytest.fixture(autouse=False)
def fresh(emu: Emulator) -> Iterator[Emulator]:
    """The shared emulator with faults cleared and an empty request log."""
    emu.set_faults(None)
    emu.clear_hostile_members()
    settled_log(emu, 0, timeout=0.5)  # let records of the previous test land first
    emu.reset_log()
    yield emu
    emu.set_faults(None)
    emu.clear_hostile_members()


@pytest.fixture
def client(fresh: Emulator) -> Iterator[BeiweClient]:
    with BeiweClient(fresh.credentials, timeout=(5, 30), retries=4, backoff=0.01) as c:
        yield c


def client_for(emu: Emulator, who: str, **kw: object) -> BeiweClient:
    """A client authenticated as one of the emulator's researchers."""
    access, secret = emu.keys[who]
    kw.setdefault("backoff", 0.01)
    kw.setdefault("timeout", (5, 30))
    return BeiweClient(
        {"URL": emu.url, "ACCESS_KEY": access, "SECRET_KEY": secret},
        **kw,  # type: ignore[arg-type]
    )


def settled_log(emu: Emulator, at_least: int = 1, timeout: float = 3.0) -> list[RequestRecord]:
    """The emulator's request log once it holds ``at_least`` records and stops growing.

    The server records a request after the last byte is sent, so the client can see the
    response a moment before the record exists.
    """
    deadline = time.monotonic() + timeout
    log = emu.request_log
    while time.monotonic() < deadline:
        time.sleep(0.02)
        newer = emu.request_log
        if len(newer) >= at_least and len(newer) == len(log):
            return newer
        log = newer
    return emu.request_log
