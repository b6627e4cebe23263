"""Corrected counters, table-driven: normal growth, jitter, reset, rollover, implausible, swap, correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nxforge_modules.consumption_monitor.counters import (
    CounterRules,
    CounterState,
    advance,
    apply_correction,
    apply_swap,
    correct,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
RULES = CounterRules(rollover_kwh=999999.9, circuit_max_kw=10.0)


def state(raw: float, corrected: float | None = None, offset: float = 0.0, rate: float | None = None) -> CounterState:
    return CounterState(T0, raw, corrected if corrected is not None else raw + offset, offset, rate)


@pytest.mark.parametrize(
    ("case", "prev", "raw", "rules", "corrected", "offset", "event", "estimated"),
    [
        ("first reading", None, 100.0, RULES, 100.0, 0.0, None, 0.0),
        ("normal growth", state(100.0), 105.0, RULES, 105.0, 0.0, None, 0.0),
        ("growth keeps offset", state(5.0, offset=1000.0), 7.5, RULES, 1007.5, 1000.0, None, 0.0),
        ("unchanged (stale display)", state(100.0), 100.0, RULES, 100.0, 0.0, None, 0.0),
        ("jitter drop holds", state(100.0), 99.9, RULES, 100.0, 0.0, None, 0.0),
        ("reset, no rate known", state(500.0), 3.0, RULES, 503.0, 500.0, "reset", 0.0),
        ("reset, gap estimated from rate", state(500.0, rate=5.0), 3.0, RULES, 505.0, 502.0, "reset", 2.0),
        ("reset, meter counted more than rate", state(500.0, rate=1.0), 3.0, RULES, 503.0, 500.0, "reset", 0.0),
        ("rollover near max", state(999995.0), 2.0, RULES, 999999.9 + 2.0, 999999.9, "rollover", 0.0),
        ("drop far from max is a reset", state(500000.0), 2.0, RULES, 500002.0, 500000.0, "reset", 0.0),
        ("rollover without rating (>99 %)", state(999000.0), 2.0, CounterRules(rollover_kwh=999999.9),
         999999.9 + 2.0, 999999.9, "rollover", 0.0),
        ("no rollover configured: reset", state(999995.0), 2.0, CounterRules(circuit_max_kw=10.0),
         999997.0, 999995.0, "reset", 0.0),
        ("jump beyond circuit", state(100.0), 200.0, RULES, None, 0.0, "implausible", 0.0),
        ("jump within margin", state(100.0), 111.9, RULES, 111.9, 0.0, None, 0.0),
        ("unrated circuit: any rise is fine", state(100.0), 5000.0, CounterRules(), 5000.0, 0.0, None, 0.0),
        ("negative sentinel", state(100.0), -1.0, RULES, None, 0.0, "implausible", 0.0),
    ],
)
def test_correct(case: str, prev: CounterState | None, raw: float, rules: CounterRules,
                 corrected: float | None, offset: float, event: str | None, estimated: float) -> None:
    result = correct(prev, raw, T0 + HOUR, rules)
    assert result.corrected_kwh == (pytest.approx(corrected) if corrected is not None else None), case
    assert result.offset_kwh == pytest.approx(offset), case
    assert result.event == event, case
    assert result.estimated_kwh == pytest.approx(estimated), case


def test_implausible_reading_leaves_state_on_last_good() -> None:
    prev = state(100.0)
    bad = correct(prev, 900.0, T0 + HOUR, RULES)
    assert advance(prev, 900.0, T0 + HOUR, bad) is prev
    # Two hours after the good one, 115 kWh is plausible (10 kW x 1.2 x 2 h = 24 kWh).
    assert correct(prev, 115.0, T0 + 2 * HOUR, RULES).corrected_kwh == pytest.approx(115.0)


def test_advance_learns_the_rate() -> None:
    first = advance(None, 100.0, T0, correct(None, 100.0, T0, RULES))
    second = advance(first, 104.0, T0 + 2 * HOUR, correct(first, 104.0, T0 + 2 * HOUR, RULES), before=first)
    assert second is not None and second.rate_kw == pytest.approx(2.0)  # the slope from the reading before
    measured = advance(second, 106.0, T0 + 3 * HOUR, correct(second, 106.0, T0 + 3 * HOUR, RULES), power_w=1500.0,
                       before=second)
    assert measured is not None and measured.rate_kw == pytest.approx(1.5)


def test_swap_continues_from_old_final() -> None:
    prev = state(1000.0, offset=50.0)  # corrected 1050
    swapped = apply_swap(prev, T0 + HOUR, old_final_kwh=1004.0, new_initial_kwh=10.0)
    assert swapped.corrected_kwh == pytest.approx(1054.0)
    assert correct(swapped, 12.0, T0 + 2 * HOUR, RULES).corrected_kwh == pytest.approx(1056.0)


def test_correction_shifts_later_values() -> None:
    prev = state(1000.0)
    shifted = apply_correction(prev, T0 + HOUR, 25.0)
    assert shifted is not None and shifted.corrected_kwh == pytest.approx(1025.0)
    assert correct(shifted, 1001.0, T0 + 2 * HOUR, RULES).corrected_kwh == pytest.approx(1026.0)
    assert apply_correction(None, T0, 5.0) is None
