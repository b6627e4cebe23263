"""The alert state machine: hysteresis, minimum duration, one alert for a wobbling value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nxforge_modules.temperature_monitor.config import Rule
from nxforge_modules.temperature_monitor.thresholds import SensorState, evaluate

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RULE = Rule(high_warning=27.0, high_critical=32.0, low_warning=15.0, low_critical=None, hysteresis=1.0,
            min_duration_s=120.0)


def run(values: list[float], rule: Rule = RULE, step_s: float = 30.0) -> tuple[SensorState, list[str]]:
    state, seen = SensorState(), []
    for index, value in enumerate(values):
        state, transition = evaluate(state, value, T0 + timedelta(seconds=step_s * index), rule)
        if transition is not None:
            seen.append(f"{transition.kind}:{transition.level}:{transition.direction}")
    return state, seen


def test_a_value_wobbling_at_the_limit_raises_one_alert() -> None:
    wobble = [27.2, 26.8, 27.4, 26.5, 27.1, 26.9, 27.3, 26.6] * 6
    state, seen = run(wobble)
    assert seen == ["raised:warning:high"]
    assert state.level == "warning"


def test_a_short_spike_does_not_alert() -> None:
    _, seen = run([22.0, 33.0, 33.0, 22.0, 22.0])
    assert seen == []


def test_hysteresis_clears_only_well_below_the_limit() -> None:
    _, seen = run([28.0] * 6 + [26.5, 26.2, 25.9, 25.0])
    assert seen == ["raised:warning:high", "recovered:ok:None"]


def test_escalation_and_deescalation() -> None:
    _, seen = run([28.0] * 5 + [33.0] * 5 + [30.0, 20.0])
    assert seen == ["raised:warning:high", "escalated:critical:high", "deescalated:warning:high", "recovered:ok:None"]


def test_low_side() -> None:
    _, seen = run([14.0] * 6 + [16.5])
    assert seen == ["raised:warning:low", "recovered:ok:None"]


def test_no_minimum_duration_alerts_at_once() -> None:
    rule = Rule(27.0, None, None, None, 0.5, 0.0)
    _, seen = run([28.0, 26.7, 26.4], rule)
    assert seen == ["raised:warning:high", "recovered:ok:None"]
