"""A varied, reproducible fleet of device specs for the demo, tests and benchmarks."""

from __future__ import annotations

import random

from nxforge.simulator.devices import STYLES, DeviceSpec

ROLLOVER_KWH = 999999.9


def make_fleet(n: int, seed: int = 0) -> list[DeviceSpec]:
    """``n`` devices cycling through every style, with seeded power (0.5–8 kW) and counters.

    About one device in ten starts a few thousand kWh below its rollover so that the demo
    shows a natural counter wrap within weeks of simulated time.
    """
    rng = random.Random(seed)
    specs = []
    for i in range(n):
        style = STYLES[i % len(STYLES)]
        power = round(rng.uniform(0.5, 8.0), 2)
        near_rollover = rng.random() < 0.1
        normal = round(rng.uniform(100.0, 900000.0), 1)
        close = round(ROLLOVER_KWH - rng.uniform(500.0, 5000.0), 1)
        specs.append(
            DeviceSpec(
                id=f"{style}-{i:03d}",
                style=style,
                power_kw=power,
                initial_kwh=close if near_rollover else normal,
                rollover_kwh=ROLLOVER_KWH,
            )
        )
    return specs
