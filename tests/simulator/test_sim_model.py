"""Energy model, history events, clock and fleet, in-process (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nxforge.simulator import STYLES, DeviceSpec, SimClock, Simulator, make_fleet

from .conftest import INITIAL_KWH, POWER_KW, ROLLOVER_KWH, START

MONTH = timedelta(days=30)


def _sim(clock: SimClock, **kw: object) -> Simulator:
    spec = DeviceSpec("m1", "plain", power_kw=POWER_KW, initial_kwh=INITIAL_KWH, rollover_kwh=ROLLOVER_KWH)
    for key, value in kw.items():
        setattr(spec, key, value)
    return Simulator([spec], clock=clock)  # not started: truth needs no listener


def test_frozen_clock_does_not_move() -> None:
    clock = SimClock(start=START, frozen=True)
    assert clock.now() == START
    clock.advance(timedelta(hours=1))
    assert clock.now() == START + timedelta(hours=1)
    clock.set(datetime(2025, 3, 1, tzinfo=UTC))
    assert clock.now() == datetime(2025, 3, 1, tzinfo=UTC)
    assert clock.now().tzinfo is not None


def test_running_clock_runs_and_can_freeze() -> None:
    clock = SimClock(start=START)
    assert not clock.frozen
    first = clock.now()
    assert clock.now() >= first
    clock.freeze()
    frozen_at = clock.now()
    assert clock.now() == frozen_at
    clock.unfreeze()
    assert clock.now() >= frozen_at


def test_default_clock_starts_at_real_now() -> None:
    assert abs((SimClock().now() - datetime.now(UTC)).total_seconds()) < 5


def test_naive_datetime_rejected() -> None:
    with pytest.raises(ValueError):
        SimClock(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError):
        SimClock().set(datetime(2025, 1, 1))


def test_month_of_energy_is_power_times_720(clock: SimClock) -> None:
    sim = _sim(clock)
    assert sim.true_energy_kwh("m1") == 0.0
    assert sim.displayed_kwh("m1") == pytest.approx(INITIAL_KWH)
    clock.advance(MONTH)
    assert sim.true_energy_kwh("m1") == pytest.approx(POWER_KW * 720)
    assert sim.displayed_kwh("m1") == pytest.approx(INITIAL_KWH + POWER_KW * 720)
    # reading the past is allowed and consistent
    assert sim.true_energy_kwh("m1", START + timedelta(hours=10)) == pytest.approx(POWER_KW * 10)


def test_reset_keeps_truth_and_restarts_counter(clock: SimClock) -> None:
    sim = _sim(clock)
    dev = sim.device("m1")
    clock.advance(timedelta(hours=10))
    dev.set_fault("reset")
    assert sim.displayed_kwh("m1") == pytest.approx(0.0)
    clock.advance(timedelta(hours=5))
    assert sim.displayed_kwh("m1") == pytest.approx(POWER_KW * 5)
    assert sim.true_energy_kwh("m1") == pytest.approx(POWER_KW * 15)
    (event,) = dev.events
    assert event.kind == "reset"
    assert event.before == pytest.approx(INITIAL_KWH + POWER_KW * 10)
    assert event.after == 0.0
    # before the event the history still shows the old counter
    assert sim.displayed_kwh("m1", START + timedelta(hours=1)) == pytest.approx(INITIAL_KWH + POWER_KW)
    dev.clear_faults()
    assert len(dev.events) == 1  # events are history, not transient faults


def test_swap_starts_new_meter_at_initial(clock: SimClock) -> None:
    sim = _sim(clock)
    clock.advance(timedelta(hours=4))
    sim.device("m1").set_fault("swap", initial=500.0)
    clock.advance(timedelta(hours=2))
    assert sim.displayed_kwh("m1") == pytest.approx(500.0 + POWER_KW * 2)
    assert sim.true_energy_kwh("m1") == pytest.approx(POWER_KW * 6)
    assert sim.device("m1").events[0].params == {"initial": 500.0}


def test_rollover_event_wraps_the_display(clock: SimClock) -> None:
    sim = _sim(clock)
    sim.device("m1").set_fault("rollover", in_s=3600)
    assert sim.displayed_kwh("m1") == pytest.approx(ROLLOVER_KWH - POWER_KW)
    clock.advance(timedelta(hours=3))
    assert sim.displayed_kwh("m1") == pytest.approx(POWER_KW * 2)
    assert sim.true_energy_kwh("m1") == pytest.approx(POWER_KW * 3)


def test_natural_rollover_from_initial_counter(clock: SimClock) -> None:
    sim = _sim(clock, initial_kwh=ROLLOVER_KWH - 10.0)
    clock.advance(timedelta(hours=10))
    # 23 kWh later: 13 kWh past the wrap
    assert sim.displayed_kwh("m1") == pytest.approx(POWER_KW * 10 - 10.0)
    assert sim.true_energy_kwh("m1") == pytest.approx(POWER_KW * 10)


def test_rollover_needs_a_rollover_value(clock: SimClock) -> None:
    sim = _sim(clock, rollover_kwh=None)
    with pytest.raises(ValueError, match="rollover"):
        sim.device("m1").set_fault("rollover")


def test_stale_and_display_faults_do_not_change_the_register(clock: SimClock) -> None:
    sim = _sim(clock)
    dev = sim.device("m1")
    dev.set_fault("stale")
    clock.advance(timedelta(hours=1))
    assert sim.shown_kwh("m1") == pytest.approx(INITIAL_KWH)
    assert sim.displayed_kwh("m1") == pytest.approx(INITIAL_KWH + POWER_KW)
    dev.set_fault("garbled")
    assert sim.shown_kwh("m1") is None
    dev.clear_faults()
    assert sim.shown_kwh("m1") == pytest.approx(INITIAL_KWH + POWER_KW)


def test_unknown_fault_and_parameter_rejected(clock: SimClock) -> None:
    dev = _sim(clock).device("m1")
    with pytest.raises(ValueError, match="unknown fault"):
        dev.set_fault("meltdown")
    with pytest.raises(ValueError, match="parameter"):
        dev.set_fault("slow", seconds=3)
    with pytest.raises(ValueError):
        dev.set_fault("flaky", p=2)


def test_spec_validation() -> None:
    with pytest.raises(ValueError):
        DeviceSpec("bad id/with slash", "plain")
    with pytest.raises(ValueError):
        DeviceSpec("x", "no-such-style")
    with pytest.raises(ValueError):
        DeviceSpec("x", "plain", power_kw=-1)
    with pytest.raises(ValueError):
        Simulator([DeviceSpec("x", "plain"), DeviceSpec("x", "geist")])


def test_make_fleet_cycles_styles_and_is_reproducible() -> None:
    fleet = make_fleet(20, seed=3)
    assert [s.style for s in fleet[: len(STYLES)]] == list(STYLES)
    assert len({s.id for s in fleet}) == 20
    assert all(0.5 <= s.power_kw <= 8.0 for s in fleet)
    assert all(0 <= s.initial_kwh < (s.rollover_kwh or 0) for s in fleet)
    assert make_fleet(20, seed=3) == fleet
    assert make_fleet(20, seed=4) != fleet


def test_sentry_secondary_inlet_has_its_own_counter(clock: SimClock) -> None:
    sim = Simulator([DeviceSpec("s", "sentry", power_kw=2.0, initial_kwh=100.0, inlets=3)], clock=clock)
    dev = sim.device("s")
    clock.advance(timedelta(hours=10))
    assert dev.inlet_kwh("AA") == pytest.approx(120.0)
    assert dev.inlet_kwh("AB") == pytest.approx(50.0 + 1000.0 + 10.0)
    assert dev.inlet_kwh("AC") == pytest.approx(50.0 + 2000.0 + 10.0)
    with pytest.raises(KeyError):
        dev.inlet_kwh("AD")
