"""Fixtures: a simulator with one device per style, a frozen clock and known counters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from nxforge.simulator import STYLES, DeviceSpec, SimClock, Simulator

START = datetime(2025, 1, 1, tzinfo=UTC)
POWER_KW = 2.3
INITIAL_KWH = 12543.5
ROLLOVER_KWH = 999999.9


def dev_id(style: str) -> str:
    return f"{style}-1"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(start=START, frozen=True)


@pytest.fixture
def sim(clock: SimClock) -> Iterator[Simulator]:
    specs = [
        DeviceSpec(dev_id(s), s, power_kw=POWER_KW, initial_kwh=INITIAL_KWH, rollover_kwh=ROLLOVER_KWH) for s in STYLES
    ]
    with Simulator(specs, clock=clock) as simulator:
        yield simulator


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(verify=False, timeout=10) as c:
        yield c
