"""Corrected counters: turn what a meter displays into a monotonic kWh counter. No database access here.

corrected = raw + offset. The offset changes when the meter's own counter breaks continuity:

* **rollover** (a drop while the previous value was within one interval's worth of energy of
  the configured maximum: at the circuit rating, else at the plausible power below; only when
  neither is known, above 99 % of the maximum): offset += rollover_kwh. Exact: nothing is estimated.
* **reset** (any other drop larger than ``drop_tolerance_kwh``): the meter restarted from 0 at
  an unknown moment since the previous reading. We carry prev_raw into the offset and, for the
  energy between the previous reading and the reset (which no meter recorded), add an estimate:
  the power just before (measured, or the slope of the last two good readings) times the elapsed
  time, minus what the meter counted since the reset (never negative). That estimate is kept on
  the reading (``estimated_kwh``) and reported by billing as its estimated share, so finance can
  see it; without it every reset would silently lose up to one poll interval of energy.
* **implausible** (a rise implying more than the plausible power x margin): stored, left out
  (corrected None, held for review), and the next reading is compared with the last *good* one.
  The plausible power is the circuit rating; without one, the larger of the default for the
  endpoint (``default_max_kw``, a module setting) and ten times the highest 15-minute power the
  endpoint showed in the last 30 days (``peak_kw``, looked up only when the default is exceeded).
  The larger, so a busy endpoint's own history lifts the default and an idle one's never lowers
  it (a rack idle for a month and then powered up is not held back). An unrecorded meter swap
  (a new meter starting at 20,000 kWh) implies thousands of kW and is held.
* **swap** and **correction** are recorded by ops (``cm_meter_event``) and applied with
  ``apply_swap`` / ``apply_correction`` at their time.
* A drop within ``drop_tolerance_kwh`` is display jitter: the corrected counter holds.
* **A drop that cannot be a reset** is held for review like an implausible rise: on a counter
  declared ``resettable: false`` (Redfish ``LifetimeReading``), or when the device says when its
  counter last restarted (``reset_at``, Redfish ``SensorResetTime``) and that time has not moved.
  Folding it as a reset would bill the new value on top of the old one; ops record a swap instead.
* **A reset the device announces** (its ``reset_at`` later than the last reading's) is a reset at
  that instant, whatever the values say: a counter reset and climbed past its old value within
  one interval is still caught, and the energy before the reset is estimated over the known
  stretch (last reading to ``reset_at``) only.
* **ceiling** (the raw value at or above the ceiling its counter declares, e.g. Vertiv/Geist's
  9,999,000 Wh): the counter has stopped and counts nothing until someone resets it on the
  device. Stored like an implausible reading (kept, corrected None, not billed); the time until
  the reset is a gap that billing's gap rule estimates and flags, and the reset itself is folded
  as any other. Without this, every hour at the ceiling would bill 0 kWh as if measured.

``CounterWalk.read`` is the one place these rules meet stored readings: the single write, the
batched write and the recomputation after a late change all go through it, so they cannot drift.

Where the counter wraps is **declared**, not guessed: ``declared_rollover_kwh`` reads the energy
value's counter semantics from the endpoint's scrape config (its preset's ``counter:`` block: unit,
width, wrap or ceiling), and sync stores it on the endpoint row as ``rollover_kwh``, which every
write path reads. A 32-bit Wh register wraps at exactly 4,294,967.296 kWh; a counter that stops
at a ceiling, or has no fixed width (Redfish ``EnergykWh.Reading``), never wraps, so a drop there
is a reset. The module's ``rollover_kwh`` setting is only the default for meters that declare
nothing (web pages), and an endpoint's own ``rollover_kwh`` overrides both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from nxforge.sdk import ScrapeConfig

from .readings import ENERGY_VALUE

Event = Literal["reset", "rollover", "swap", "implausible", "ceiling"]
PLAUSIBILITY_MARGIN = 1.2
HISTORY_FACTOR = 10.0  # without a rating: up to ten times the endpoint's own recent peak is plausible
PEAK_WINDOW = timedelta(minutes=15)
RESET_CLOCK_SLACK = timedelta(minutes=15)  # a device's clock may lag ours: a reset this much before a read is new
PEAK_HISTORY = timedelta(days=30)
RESOLUTION_SLACK_KWH = 0.2  # two display steps of 0.1 kWh: rounding never makes a read implausible


@dataclass(frozen=True)
class CounterRules:
    """Per-endpoint rules: where the counter wraps, what the circuit can carry."""

    rollover_kwh: float | None = None
    circuit_max_kw: float | None = None
    default_max_kw: float | None = None
    """Plausible power without a circuit rating (the module setting, synced onto the endpoint)."""
    peak_kw: float | None = None
    """The endpoint's highest 15-minute power in the last 30 days, when it was looked up."""
    resettable: bool = True
    """False when the counter is declared never reset (``counter: {resettable: false}``): a drop is held."""
    margin: float = PLAUSIBILITY_MARGIN
    drop_tolerance_kwh: float = 0.5
    rollover_guess_fraction: float = 0.99  # no rating, no default power: "near the max" = above 99 % of it

    def max_energy_kwh(self, hours: float) -> float | None:
        """The most energy the circuit can carry in ``hours`` (with margin), None when unrated."""
        if self.circuit_max_kw is None:
            return None
        return self.circuit_max_kw * self.margin * max(hours, 0.0) + RESOLUTION_SLACK_KWH

    def plausible_kw(self) -> float | None:
        """The most power a rise may imply: the rating, else max(default, 10 x recent peak); None = any."""
        if self.circuit_max_kw is not None:
            return self.circuit_max_kw
        if self.default_max_kw is None:
            return None
        return max(self.default_max_kw, HISTORY_FACTOR * (self.peak_kw or 0.0))

    def plausible_energy_kwh(self, hours: float) -> float | None:
        """The most energy a rise over ``hours`` may show (with margin), None when anything goes."""
        power = self.plausible_kw()
        if power is None:
            return None
        return power * self.margin * max(hours, 0.0) + RESOLUTION_SLACK_KWH


def declared_rollover_kwh(scrape: ScrapeConfig, default_kwh: float | None) -> float | None:
    """Where the energy counter wraps, in kWh, as its config declares; ``default_kwh`` when it declares nothing.

    None (never wraps) for a declared counter with a ceiling or without a fixed width: a drop
    there can only be a reset, never a rollover guessed from the module-wide default.
    """
    spec = scrape.values.get(ENERGY_VALUE)
    if spec is None or spec.counter is None:
        return default_kwh
    return spec.counter.info(spec.unit or "kWh", spec.scale).wraps_at


def declared_resettable(scrape: ScrapeConfig) -> bool:
    """False only when the energy counter is declared never reset (``counter: {resettable: false}``)."""
    spec = scrape.values.get(ENERGY_VALUE)
    return spec is None or spec.counter is None or spec.counter.resettable


@dataclass(frozen=True)
class CounterState:
    """The last good reading (or a swap/correction after it): what the next one is compared with."""

    read_at: datetime
    raw_kwh: float
    corrected_kwh: float
    offset_kwh: float
    rate_kw: float | None = None
    """Power just before, for estimating energy lost in a reset: measured, else the last slope."""
    reset_at: datetime | None = None
    """When the device said (at that reading) its counter last restarted from 0; None when it does not say."""


@dataclass(frozen=True)
class Corrected:
    """What to store with a new reading."""

    corrected_kwh: float | None
    offset_kwh: float
    event: Event | None = None
    estimated_kwh: float = 0.0

    @property
    def usable(self) -> bool:
        """True when the reading counts for billing."""
        return self.corrected_kwh is not None


def _hours(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600.0


def correct(state: CounterState | None, raw_kwh: float, read_at: datetime, rules: CounterRules,
            reset_at: datetime | None = None) -> Corrected:
    """The corrected counter for a new raw value, given the state after the last good reading.

    ``reset_at``: when the device says the counter last restarted (None when it does not say).
    """
    if raw_kwh < 0:
        return Corrected(None, state.offset_kwh if state else 0.0, "implausible")
    if state is None:
        return Corrected(raw_kwh, 0.0)
    hours = _hours(state.read_at, read_at)
    limit = rules.max_energy_kwh(hours)
    # The device dates its resets. A later date is a reset only if it lies after the last reading (which
    # saw the date before it); one that moved yet lies before it, or moved back, was re-dated (a zone
    # corrected, a clock set): such a reading is judged by its value, as for a device that dates nothing.
    if (reset_at is not None and state.reset_at is not None and state.reset_at < reset_at
            and reset_at > state.read_at - RESET_CLOCK_SLACK):
        return _announced_reset(state, raw_kwh, read_at, rules, reset_at)
    announced = reset_at is not None and reset_at == state.reset_at  # the device says there was no reset since
    delta = raw_kwh - state.raw_kwh
    if delta >= -rules.drop_tolerance_kwh:
        plausible = rules.plausible_energy_kwh(hours)
        if plausible is not None and delta > plausible:
            return Corrected(None, state.offset_kwh, "implausible")
        return Corrected(max(raw_kwh + state.offset_kwh, state.corrected_kwh), state.offset_kwh)
    if rules.rollover_kwh and _looks_like_rollover(state.raw_kwh, raw_kwh, rules, hours):
        offset = state.offset_kwh + rules.rollover_kwh
        return Corrected(raw_kwh + offset, offset, "rollover")
    if not rules.resettable or announced:  # cannot be a reset, or the device says there was none
        return Corrected(None, state.offset_kwh, "implausible")
    estimated = 0.0
    if state.rate_kw is not None and state.rate_kw > 0:
        estimated = max(0.0, state.rate_kw * hours - raw_kwh)
        if limit is not None:
            estimated = min(estimated, limit)
    offset = state.offset_kwh + state.raw_kwh + estimated
    return Corrected(raw_kwh + offset, offset, "reset", estimated)


def _announced_reset(state: CounterState, raw_kwh: float, read_at: datetime, rules: CounterRules,
                     reset_at: datetime) -> Corrected:
    """A reset the device dates: what it counted since is real; before it, the last power over the known stretch."""
    plausible = rules.plausible_energy_kwh(_hours(max(min(reset_at, read_at), state.read_at), read_at))
    if plausible is not None and raw_kwh > plausible:
        return Corrected(None, state.offset_kwh, "implausible")
    lost_hours = _hours(state.read_at, min(max(reset_at, state.read_at), read_at))
    estimated = state.rate_kw * lost_hours if state.rate_kw is not None and state.rate_kw > 0 else 0.0
    limit = rules.max_energy_kwh(lost_hours)
    if limit is not None:
        estimated = min(estimated, limit)
    offset = state.offset_kwh + state.raw_kwh + estimated
    return Corrected(raw_kwh + offset, offset, "reset", estimated)


def _looks_like_rollover(prev_raw: float, raw_kwh: float, rules: CounterRules, hours: float) -> bool:
    """A wrap only if the energy it implies fits the interval: the rating, else the plausible power.

    The 99 % guess is left for an endpoint with no rating and no default power: otherwise a meter
    reset near its maximum would be folded as a wrap of thousands of kWh, billed as measured.
    """
    assert rules.rollover_kwh
    wrapped = rules.rollover_kwh - prev_raw + raw_kwh
    limit = rules.max_energy_kwh(hours)
    if limit is None:
        limit = rules.plausible_energy_kwh(hours)
    if limit is not None:
        return 0 <= wrapped <= limit
    return prev_raw >= rules.rollover_kwh * rules.rollover_guess_fraction


def rate_kw(power_w: float | None, read_at: datetime, corrected_kwh: float,
            before: tuple[datetime, float] | None) -> float | None:
    """Power just after a usable reading: measured, else the slope from the usable reading ``before`` it
    (its time and corrected kWh). Every path uses this one rule, from memory or from stored rows alike,
    so the rows stored do not depend on the order readings arrived in."""
    if power_w is not None and power_w >= 0:
        return power_w / 1000.0
    if before is not None:
        hours = _hours(before[0], read_at)
        if hours > 0:
            return (corrected_kwh - before[1]) / hours
    return None


def advance(state: CounterState | None, raw_kwh: float, read_at: datetime, result: Corrected,
            power_w: float | None = None, reset_at: datetime | None = None,
            before: CounterState | None = None) -> CounterState | None:
    """The state after storing a reading: unchanged when it was not usable.

    ``before`` is the last usable reading's own state (no swap or correction folded in), which the
    slope is taken from, as ``store._state_from`` does from the two newest stored rows.
    """
    if result.corrected_kwh is None:
        return state
    rate = rate_kw(power_w, read_at, result.corrected_kwh,
                   (before.read_at, before.corrected_kwh) if before is not None else None)
    return CounterState(read_at, raw_kwh, result.corrected_kwh, result.offset_kwh, rate, reset_at)


def apply_swap(state: CounterState | None, at: datetime, old_final_kwh: float, new_initial_kwh: float) -> CounterState:
    """A new meter from ``at``: the old one's final value continues as the new one's initial value."""
    offset = state.offset_kwh if state else 0.0
    corrected = old_final_kwh + offset
    if state is not None:
        corrected = max(corrected, state.corrected_kwh)
    return CounterState(at, new_initial_kwh, corrected, corrected - new_initial_kwh, state.rate_kw if state else None)


def apply_correction(state: CounterState | None, at: datetime, delta_kwh: float) -> CounterState | None:
    """A manual correction: every later corrected value moves by ``delta_kwh``."""
    if state is None:
        return None
    return replace(state, corrected_kwh=state.corrected_kwh + delta_kwh, offset_kwh=state.offset_kwh + delta_kwh)


class RecordedEvent(Protocol):
    """A swap or correction recorded by ops: a ``cm_meter_event`` row."""

    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def old_final_kwh(self) -> float | None: ...
    @property
    def new_initial_kwh(self) -> float | None: ...
    @property
    def delta_kwh(self) -> float | None: ...


def apply_event(state: CounterState | None, event: RecordedEvent) -> CounterState | None:
    """Fold one recorded swap or correction into the counter state."""
    if event.kind == "swap":
        assert event.old_final_kwh is not None and event.new_initial_kwh is not None
        return apply_swap(state, event.at, event.old_final_kwh, event.new_initial_kwh)
    assert event.delta_kwh is not None
    return apply_correction(state, event.at, event.delta_kwh)


@dataclass
class CounterWalk:
    """One endpoint's counter from its last usable reading on: what every write path corrects readings with.

    ``state`` is the state after the last usable reading; ``events`` the swaps and corrections
    recorded since (oldest first). ``read`` corrects the next reading in time order and, when it
    is usable, moves the walk past it.
    """

    state: CounterState | None
    rules: CounterRules
    events: list[RecordedEvent] = field(default_factory=list)
    peak_kw: Callable[[datetime], float | None] | None = None
    """Looks up the highest 15-minute power before an instant; asked only when the default is exceeded."""

    def record(self, event: RecordedEvent) -> None:
        """A recorded swap or correction that applies to the readings after it."""
        self.events.append(event)

    def read(self, raw_kwh: float | None, read_at: datetime, power_w: float | None = None,
             ceiling_kwh: float | None = None, reset_at: datetime | None = None) -> Corrected | None:
        """The corrected counter of the next reading (None for a failed read); the one correction rule.

        ``ceiling_kwh`` is where the reading's counter declares it stops: a value there is held.
        ``reset_at`` is when the device says the counter last restarted (Redfish ``SensorResetTime``).
        """
        if raw_kwh is None:
            return None
        before = self.state
        state, swapped = _folded(before, self.events)
        if ceiling_kwh is not None and raw_kwh >= ceiling_kwh:
            return Corrected(None, state.offset_kwh if state else 0.0, "ceiling")  # stopped: counts nothing
        result = correct(state, raw_kwh, read_at, self.rules, reset_at)
        doubtful = result.event == "implausible" or (result.event == "reset" and bool(self.rules.rollover_kwh))
        if (doubtful and raw_kwh >= 0 and self.peak_kw is not None
                and self.rules.circuit_max_kw is None and self.rules.default_max_kw is not None):
            peak = self.peak_kw(read_at)  # the endpoint's own history may make this rise (or this wrap) plausible
            if peak:
                result = correct(state, raw_kwh, read_at, replace(self.rules, peak_kw=peak), reset_at)
        if swapped and result.usable and result.event is None:
            result = replace(result, event="swap")
        if result.usable:
            self.state = advance(state, raw_kwh, read_at, result, power_w, reset_at, before)
            self.events = []
        return result


def _folded(state: CounterState | None, events: Sequence[RecordedEvent]) -> tuple[CounterState | None, bool]:
    swapped = False
    for event in events:
        state = apply_event(state, event)
        swapped = swapped or event.kind == "swap"
    return state, swapped


def peak_power_kw(readings: Sequence[tuple[datetime, float]]) -> float | None:
    """The highest average power over a window of at least 15 minutes between two usable readings.

    ``readings`` are (read_at, corrected kWh) in time order; with readings 15 minutes apart this is
    the 15-minute power, with denser ones each window spans the first reading 15 minutes on.
    """
    peak: float | None = None
    later = 0
    for at, kwh in readings:
        while later < len(readings) and readings[later][0] - at < PEAK_WINDOW:
            later += 1
        if later == len(readings):
            break
        end_at, end_kwh = readings[later]
        power = (end_kwh - kwh) / _hours(at, end_at)
        peak = power if peak is None else max(peak, power)
    return peak
