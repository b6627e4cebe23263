"""Statement lines against an independent reference, on SQLite and PostgreSQL.

The reference below is plain Python over the readings this test writes, from the rules as the
issue states them (corrected counter; C interpolated between readings; held past the last or
before the first reading, extrapolated only when the nearest reading is within max_extrapolation
and only over that distance; gaps longer than an hour are estimated; amounts = kWh rounded to
the Wh x overhead x rate, rounded half-up to the cent). It never calls the project's billing
code. Every comparison is printed as ``REF <case> expected=... got=...`` (run with -s).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from nxforge_modules.consumption_monitor.billing import statement_lines
from nxforge_modules.consumption_monitor.billing_settings import BillingSettings
from nxforge_modules.consumption_monitor.periods import resolve_period
from nxforge_modules.consumption_monitor.readings import RawReading
from nxforge_modules.consumption_monitor.store import store_batch
from nxforge_modules.consumption_monitor.tables import client_assignment
from nxforge_modules.consumption_monitor.terms import ClientTerms
from sqlalchemy import Engine, insert

from tests.modules.consumption_monitor.conftest import add_endpoint, utc

BERLIN = ZoneInfo("Europe/Berlin")
OCT_START, OCT_END = utc(2026, 9, 30, 22), utc(2026, 10, 31, 23)  # 745 hours: the clocks go back on 25 Oct
LATER = utc(2026, 12, 1)
DAY_S, HOUR, STEP = 86400.0, timedelta(hours=1), timedelta(hours=6)  # meters read every 6 h keep the test fast
GAP_S = 6.5 * 3600  # so a gap is a read missed: readings further apart than this
SETTINGS = replace(BillingSettings.defaults(), gap_after_s=GAP_S)
ROLLOVER = 999999.9


@dataclass
class Meter:
    """What a test meter showed: (time, displayed kWh, power kW) per successful read."""

    readings: list[tuple[datetime, float, float]]


def local(*parts: int) -> datetime:
    """A Berlin wall-clock time as an aware datetime."""
    return datetime(*parts, tzinfo=BERLIN)  # type: ignore[misc]


def meter(power_kw: Callable[[datetime], float], start: datetime, end: datetime, step: timedelta = STEP,
          initial: float = 1000.0, skip: Callable[[datetime], bool] = lambda at: False,
          display: Callable[[float], float] = lambda energy: energy) -> Meter:
    """Readings of a meter whose power is constant over each step (so its counter is exact at readings)."""
    readings, energy, at = [], initial, start.astimezone(UTC)  # steps in real time, not wall-clock time
    while at < end:
        if not skip(at):
            readings.append((at, round(display(energy), 3), power_kw(at)))
        energy += power_kw(at) * step.total_seconds() / 3600
        at += step
    return Meter(readings)


def store(engine: Engine, meters: dict[str, Meter]) -> None:
    """Write the readings through the module's store: one batch per instant, as the collector does."""
    by_time: dict[datetime, list[RawReading]] = defaultdict(list)
    for endpoint_id, source in meters.items():
        for at, shown, power in source.readings:
            by_time[at].append(RawReading(endpoint_id, at, True, raw_kwh=shown, power_w=power * 1000))
    with engine.begin() as conn:
        for at in sorted(by_time):
            store_batch(conn, by_time[at])


# ---- the reference --------------------------------------------------------------------------------

def ref_corrected(source: Meter, rollover: float = ROLLOVER) -> list[tuple[float, float]]:
    """The corrected counter: a drop near the maximum is a rollover; another drop is a reset whose
    lost energy is the power before times the time elapsed, less what the meter counted since."""
    series: list[tuple[float, float]] = []
    offset, previous = 0.0, None
    for at, shown, power in source.readings:
        if previous is not None and shown < previous[1] - 0.5:
            if previous[1] >= rollover * 0.99:
                offset += rollover
            else:
                lost = max(0.0, previous[2] * (at - previous[0]).total_seconds() / 3600 - shown)
                offset += previous[1] + lost
        series.append((at.timestamp(), shown + offset))
        previous = (at, shown, power)
    return series


def ref_counter(series: list[tuple[float, float]], t: float, max_ext: float = DAY_S) -> tuple[float | None, str]:
    """C(t) and how it was obtained."""
    before = [point for point in series if point[0] < t]
    after = [point for point in series if point[0] >= t]
    if after and after[0][0] == t:
        return after[0][1], "reading"
    if before and after:
        (x0, c0), (x1, c1) = before[-1], after[0]
        return c0 + (c1 - c0) * (t - x0) / (x1 - x0), "interpolated"
    if before:
        (x0, c0) = before[-1]
        if len(before) >= 2 and t - x0 <= max_ext:
            slope = max(0.0, (c0 - before[-2][1]) / (x0 - before[-2][0]))
            return c0 + slope * (t - x0), "extrapolated"
        return c0, "held"
    if after:
        return after[0][1], "held"
    return None, "no data"


def ref_kwh(series: list[tuple[float, float]], start: datetime, end: datetime) -> float | None:
    c0, _ = ref_counter(series, start.timestamp())
    c1, _ = ref_counter(series, end.timestamp())
    return None if c0 is None or c1 is None else c1 - c0


def ref_gaps(series: list[tuple[float, float]], start: datetime, end: datetime, gap_s: float = GAP_S
             ) -> tuple[float, float]:
    """(hours covered by readings at most gap_s apart, kWh estimated across longer gaps) inside [start, end)."""
    t0, t1 = start.timestamp(), end.timestamp()
    covered = estimated = 0.0
    for (x0, c0), (x1, c1) in pairwise(series):
        inside = max(0.0, min(x1, t1) - max(x0, t0))
        if x1 - x0 <= gap_s:
            covered += inside
        else:
            estimated += (c1 - c0) * inside / (x1 - x0)
    return covered / 3600, estimated


def ref_amount(kwh: float, factor: float, rate: float) -> Decimal:
    quantity = Decimal(str(kwh)).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    return (quantity * Decimal(str(factor)) * Decimal(str(rate))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def quarter_hours(start: datetime, end: datetime) -> Iterable[datetime]:
    at = start.astimezone(UTC)  # real quarter hours: wall-clock steps would stretch one over the DST change
    while at < end:
        yield at
        at += timedelta(minutes=15)


# ---- helpers ----------------------------------------------------------------------------------------

def lines_of(engine: Engine, clients: dict[str, ClientTerms], month: str | tuple[datetime, datetime] = "2026-10",
             at: datetime = LATER) -> pl.DataFrame:
    period = resolve_period(month, BERLIN, at)
    return statement_lines(engine, period, BERLIN, at, clients=clients, settings=SETTINGS)


def line(lines: pl.DataFrame, endpoint_id: str, term: str = "energy", index: int = 0) -> dict[str, Any]:
    found = lines.filter((pl.col("endpoint_id") == endpoint_id) & (pl.col("term") == term))
    assert found.height > index, f"no {term} line {index} for {endpoint_id!r}:\n{lines}"
    return found.row(index, named=True)


def check(case: str, expected: float | Decimal | str | None, got: float | Decimal | str | None,
          tolerance: float = 0.002) -> None:
    print(f"REF {case} expected={expected} got={got}")
    if isinstance(expected, float) and got is not None:
        assert float(got) == pytest.approx(expected, abs=tolerance), case
    else:
        assert got == expected, case


ACME = {"acme": ClientTerms(name="acme", rate_per_kwh=0.2, overhead_factor=1.5)}


def two_kw(at: datetime) -> float:
    return 2.0


# ---- cases --------------------------------------------------------------------------------------------

def test_october_across_dst_reset_and_rollover(cm_engine: Engine) -> None:
    for endpoint_id in ("dst", "reset", "wrap"):
        add_endpoint(cm_engine, endpoint_id)
    steady = meter(two_kw, utc(2026, 9, 29), utc(2026, 11, 2))
    reset_at = utc(2026, 10, 12, 12, 30)  # the meter restarts from 0 between two hourly readings
    reset = meter(two_kw, utc(2026, 9, 29), utc(2026, 11, 2), display=lambda energy: energy)
    reset.readings = [(at, round(shown if at < reset_at else 2.0 * (at - reset_at).total_seconds() / 3600, 3), p)
                      for at, shown, p in reset.readings]
    wrap = meter(two_kw, utc(2026, 9, 29), utc(2026, 11, 2), initial=ROLLOVER - 800,
                 display=lambda energy: energy % ROLLOVER)
    store(cm_engine, {"dst": steady, "reset": reset, "wrap": wrap})
    lines = lines_of(cm_engine, ACME)
    for endpoint_id, source in (("dst", steady), ("reset", reset), ("wrap", wrap)):
        series = ref_corrected(source)
        expected = ref_kwh(series, OCT_START, OCT_END)
        got = line(lines, endpoint_id)
        check(f"{endpoint_id}: October kWh", expected, got["quantity"])
        check(f"{endpoint_id}: amount", ref_amount(expected or 0, 1.5, 0.2), got["amount"])
        check(f"{endpoint_id}: period hours", 745.0, got["period_hours"])
    check("dst: start counter", ref_counter(ref_corrected(steady), OCT_START.timestamp())[0],
          line(lines, "dst")["start_counter_kwh"])
    check("reset: resets folded", 1, line(lines, "reset")["resets"])
    check("wrap: resets folded", 1, line(lines, "wrap")["resets"])


def test_late_start_dead_meter_and_new_endpoint(cm_engine: Engine) -> None:
    for endpoint_id in ("late", "dead", "new"):
        add_endpoint(cm_engine, endpoint_id)
    late = meter(two_kw, local(2026, 10, 3, 10), utc(2026, 11, 2), initial=0.0)
    dead = meter(two_kw, utc(2026, 9, 29), local(2026, 10, 20, 12, 1))
    store(cm_engine, {"late": late, "dead": dead})
    lines = lines_of(cm_engine, ACME)
    for endpoint_id, source in (("late", late), ("dead", dead)):
        series = ref_corrected(source)
        got = line(lines, endpoint_id)
        check(f"{endpoint_id}: October kWh", ref_kwh(series, OCT_START, OCT_END), got["quantity"])
        check(f"{endpoint_id}: start method", ref_counter(series, OCT_START.timestamp())[1], got["start_method"])
        check(f"{endpoint_id}: end method", ref_counter(series, OCT_END.timestamp())[1], got["end_method"])
        covered, _ = ref_gaps(series, OCT_START, OCT_END)
        check(f"{endpoint_id}: covered hours", covered, got["covered_hours"])
    check("late: kWh (first reading 3 Oct 10:00, 2 kW)", 2.0 * (OCT_END - local(2026, 10, 3, 10)).total_seconds()
          / 3600, line(lines, "late")["quantity"])
    # An endpoint added on the 30th: four readings 20 s apart, the month billed 10 s after the last.
    first = local(2026, 10, 30, 15)
    new = meter(two_kw, first, first + timedelta(seconds=70), step=timedelta(seconds=20), initial=5000.0)
    store(cm_engine, {"new": new})
    now = first + timedelta(seconds=70)
    running = lines_of(cm_engine, ACME, at=now)
    expected = ref_kwh(ref_corrected(new), OCT_START, now)
    check("new on the 30th: kWh to date (not 76.6)", expected, line(running, "new")["quantity"], 0.0005)
    check("new on the 30th: status", "to date", line(running, "new")["status"])


def test_four_day_gap_and_no_data(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "gap")
    add_endpoint(cm_engine, "silent")
    hole = (local(2026, 10, 8), local(2026, 10, 12))
    source = meter(lambda at: 1.0 + (at.astimezone(BERLIN).hour >= 12), utc(2026, 9, 29), utc(2026, 11, 2),
                   skip=lambda at: hole[0] <= at < hole[1])
    store(cm_engine, {"gap": source})
    lines = lines_of(cm_engine, ACME)
    series = ref_corrected(source)
    covered, estimated = ref_gaps(series, OCT_START, OCT_END)
    got = line(lines, "gap")
    check("gap: October kWh", ref_kwh(series, OCT_START, OCT_END), got["quantity"])
    check("gap: covered hours", covered, got["covered_hours"])
    check("gap: estimated kWh", estimated, got["estimated_kwh"])
    check("gap: flagged (over 4 d > 1 d)", True, "flagged" in got["description"])
    silent = line(lines, "silent")
    check("silent: quantity", None, silent["quantity"])
    check("silent: amount", None, silent["amount"])
    check("silent: status", "no data", silent["status"])


def test_client_move_and_tariff_change_inside_the_month(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "moved")
    add_endpoint(cm_engine, "stays")
    moved_at = local(2026, 10, 10)
    with cm_engine.begin() as conn:
        conn.execute(insert(client_assignment).values(endpoint_id="moved", client="globex", valid_from=moved_at,
                                                      recorded_at=moved_at))
    hourly = meter(lambda at: 1.0 + (at.day % 3), utc(2026, 9, 29), utc(2026, 11, 2))
    store(cm_engine, {"moved": hourly, "stays": hourly})
    clients = {"acme": ClientTerms.model_validate({
        "name": "acme", "rate_per_kwh": 0.2, "overhead_factor": 1.5,
        "tariffs": [{"valid_from": "2026-10-20", "rate_per_kwh": 0.3}]}),
        "globex": ClientTerms(name="globex", rate_per_kwh=0.1, currency="USD")}
    lines = lines_of(cm_engine, clients)
    series = ref_corrected(hourly)
    changed = local(2026, 10, 20)
    for case, endpoint_id, index, start, end, factor, rate in (
            ("moved, acme 1-9 Oct", "moved", 0, OCT_START, moved_at, 1.5, 0.2),
            ("moved, globex 10-31 Oct", "moved", 1, moved_at, OCT_END, 1.0, 0.1),
            ("stays, acme tariff 1 (1-19 Oct)", "stays", 0, OCT_START, changed, 1.5, 0.2),
            ("stays, acme tariff 2 (20-31 Oct)", "stays", 1, changed, OCT_END, 1.5, 0.3)):
        expected = ref_kwh(series, start, end)
        assert expected is not None
        got = line(lines, endpoint_id, index=index)
        check(f"{case}: kWh", expected, got["quantity"])
        check(f"{case}: amount", ref_amount(expected, factor, rate), got["amount"])
        check(f"{case}: period start", start, got["period_start"])
    totals = lines.group_by("client").agg(pl.col("amount").sum())
    assert dict(totals.iter_rows())["acme"] == sum(lines.filter(pl.col("client") == "acme")["amount"].to_list())


def test_time_of_use_commitment_overage_and_peak(cm_engine: Engine) -> None:
    add_endpoint(cm_engine, "rack-a")
    add_endpoint(cm_engine, "rack-b")
    week = (local(2026, 10, 21), local(2026, 10, 28))  # across the clocks going back: 169 hours
    hours = (week[1].astimezone(UTC) - week[0].astimezone(UTC)).total_seconds() / 3600  # 169, not wall-clock 168
    spike = (local(2026, 10, 27, 10, 15), local(2026, 10, 27, 10, 30))

    def in_window(at: datetime) -> bool:
        wall = at.astimezone(BERLIN)
        return wall.weekday() < 5 and 8 <= wall.hour < 20

    def busy(at: datetime) -> float:
        return 9.0 if spike[0] <= at < spike[1] else 3.0 if in_window(at) else 1.0

    def hourly_but_the_spike(at: datetime) -> bool:  # read hourly, every 15 minutes around the spike
        return at.minute != 0 and not (spike[0] - HOUR <= at < spike[1] + HOUR)

    a = meter(busy, local(2026, 10, 20), local(2026, 10, 29), step=timedelta(minutes=15), skip=hourly_but_the_spike)
    b = meter(lambda at: 2.0, local(2026, 10, 20), local(2026, 10, 29), step=HOUR)
    store(cm_engine, {"rack-a": a, "rack-b": b})
    clients = {"acme": ClientTerms.model_validate({
        "name": "acme", "rate_per_kwh": 0.2, "overhead_factor": 1.2, "tariffs": [{
            "valid_from": "2026-10-01", "rate_per_kwh": 0.2, "committed_kw": 3.0, "overage_per_kwh": 0.05,
            "overage_per_peak_kw": 12.0, "fixed_fee_per_circuit": 40.0,
            "tou": [{"name": "day", "days": ["mon", "tue", "wed", "thu", "fri"], "hours": "08:00-20:00",
                     "rate_per_kwh": 0.3}]}]})}
    lines = lines_of(cm_engine, clients, week)
    sa, sb = ref_corrected(a), ref_corrected(b)
    quarters = list(quarter_hours(*week))
    total_a = ref_kwh(sa, *week) or 0.0
    day_a = sum(ref_kwh(sa, q, q + timedelta(minutes=15)) or 0.0 for q in quarters if in_window(q))
    check("tou: rack-a day window kWh", day_a, line(lines, "rack-a", "tou:day")["quantity"])
    check("tou: rack-a outside the window kWh", total_a - day_a, line(lines, "rack-a")["quantity"])
    check("tou: rack-a day amount", ref_amount(day_a, 1.2, 0.3), line(lines, "rack-a", "tou:day")["amount"])
    without_peak = {"acme": ClientTerms.model_validate(clients["acme"].model_dump() | {"tariffs": [
        clients["acme"].tariffs[0].model_copy(update={"overage_per_peak_kw": None}).model_dump()]})}
    hourly = lines_of(cm_engine, without_peak, week)  # whole-hour windows: read from the hourly rollup
    check("tou from the hourly rollup: rack-a day window kWh", day_a, line(hourly, "rack-a", "tou:day")["quantity"])
    total = total_a + (ref_kwh(sb, *week) or 0.0)
    check("overage: amount", ref_amount(total - 3.0 * hours, 1.0, 0.05), line(lines, "", "overage_kwh")["amount"])
    check(f"overage: kWh above 3 kW x {hours:g} h", max(0.0, total - 3.0 * hours),
          line(lines, "", "overage_kwh")["quantity"])
    slots = [(q, sum(ref_kwh(s, q, q + timedelta(minutes=15)) or 0.0 for s in (sa, sb)) * 4) for q in quarters]
    peak_at, peak_kw = max(slots, key=lambda slot: slot[1])
    peak_line = line(lines, "", "overage_peak_kw")
    check("peak: kW above the 3 kW commitment", peak_kw - 3.0, peak_line["quantity"])
    when = f"{peak_at.astimezone(BERLIN):%Y-%m-%d %H:%M}"
    check(f"peak: when, site time ({when} in the description)", True, when in peak_line["description"])
    check("peak: amount", (Decimal(str(round(peak_kw - 3.0, 3))) * 12).quantize(Decimal("0.01")),
          peak_line["amount"])
    check("fixed fee: two circuits", Decimal("80.00"),
          sum(lines.filter(pl.col("term") == "fixed_fee")["amount"].to_list()))
