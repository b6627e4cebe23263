"""The corrected counter C(t) of every endpoint at one instant, from index look-ups only.

For each endpoint: the two last usable readings before t, the two first at or after t, and
the last reading of any outcome before t (for its running totals). Index probes on
``(endpoint_id, read_at)`` only, whatever the reading interval. PostgreSQL: one ``LATERAL``
probe per side returns the two nearest readings with their columns; when they are usable they
are the bracketing readings (a filtered probe runs only for endpoints where a failed read is in
the way): two probes per endpoint. SQLite (no LATERAL): five correlated ``LIMIT 1`` sub-selects
returning ids, then one fetch of those rows. Then Polars evaluates C(t):
exact, interpolated between the bracketing readings, extrapolated, held, or none.

No energy is invented: past the last usable reading C is held at it, and extrapolated (from the
slope of the last two) only when that reading lies within ``max_extrapolation_s`` of t, and then
only over that distance. Before the first usable reading C is held too (a new endpoint is billed
from its first reading), except for an endpoint that was already being read and failing: then the
first good reading is extrapolated back under the same rule. A reading stored with engine
``opening`` (ops recorded the counter when the meter was installed) is an ordinary reading for
the arithmetic and is named as such (``origin``).

A correction recorded by ops is a step at its time, not a slope: C(t) holds it only for t after it
(``corrections_near``, one small query), so the energy of [t0, t1) holds the corrections dated in it.
A reading exactly at t carries the resets it folded to t: their counts and estimates go with C(t).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl
from sqlalchemy import Connection, ScalarSelect, select

from .tables import endpoint, meter_event, reading

SLOTS = ("b1", "b2", "a1", "a2", "latest")
LOOKUP_SCHEMA = {"endpoint_id": pl.String, **{f"{s}_{k}": pl.Float64 for s in ("b1", "b2", "a1", "a2") for k in "tc"},
                 "cum_good": pl.Int64, "cum_failed": pl.Int64, "cum_events": pl.Int64,
                 "cum_estimated_kwh": pl.Float64, "b1_e": pl.String, "a1_e": pl.String,
                 "a1_events": pl.Int64, "a1_estimated_kwh": pl.Float64}
ID_CHUNK = 5000


def _slot(slot: str, t: datetime) -> ScalarSelect[int]:
    r = reading.alias(f"r_{slot}")
    query = select(r.c.id).where(r.c.endpoint_id == endpoint.c.id)
    if slot != "latest":
        query = query.where(r.c.corrected_kwh.is_not(None))
    if slot.startswith("a"):
        query = query.where(r.c.read_at >= t).order_by(r.c.read_at.asc())
    else:
        query = query.where(r.c.read_at < t).order_by(r.c.read_at.desc())
    offset = 1 if slot.endswith("2") else 0
    return query.limit(1).offset(offset).scalar_subquery().correlate(endpoint)


ReadingRow = tuple[float, float | None, int, int, int, float, str | None]


def _reading_rows(conn: Connection, ids: list[int]) -> dict[int, ReadingRow]:
    rows: dict[int, ReadingRow] = {}
    for index in range(0, len(ids), ID_CHUNK):
        chunk = ids[index:index + ID_CHUNK]
        query = select(reading.c.id, reading.c.read_at, reading.c.corrected_kwh, reading.c.cum_good,
                       reading.c.cum_failed, reading.c.cum_events, reading.c.cum_estimated_kwh, reading.c.engine
                       ).where(reading.c.id.in_(chunk))
        for row in conn.execute(query):
            rows[row.id] = (row.read_at.timestamp(), row.corrected_kwh, row.cum_good, row.cum_failed,
                            row.cum_events, row.cum_estimated_kwh, row.engine)
    return rows


def _lookup_by_ids(conn: Connection, t: datetime, endpoint_ids: Sequence[str] | None) -> pl.DataFrame:
    """Five correlated probes per endpoint returning reading ids, then one fetch of those rows (SQLite)."""
    query = select(endpoint.c.id.label("endpoint_id"), *(_slot(slot, t).label(slot) for slot in SLOTS))
    if endpoint_ids is not None:
        query = query.where(endpoint.c.id.in_(list(endpoint_ids)))
    found = list(conn.execute(query))
    ids = sorted({getattr(row, slot) for row in found for slot in SLOTS if getattr(row, slot) is not None})
    details = _reading_rows(conn, ids)
    columns: dict[str, list[object]] = {"endpoint_id": [row.endpoint_id for row in found]}
    for slot in ("b1", "b2", "a1", "a2"):
        picked = [details.get(getattr(row, slot)) for row in found]
        columns[f"{slot}_t"] = [p[0] if p else None for p in picked]
        columns[f"{slot}_c"] = [p[1] if p else None for p in picked]
    for slot in ("b1", "a1"):
        columns[f"{slot}_e"] = [p[6] if (p := details.get(getattr(row, slot))) else None for row in found]
    columns["a1_events"] = [p[4] if (p := details.get(row.a1)) else None for row in found]
    columns["a1_estimated_kwh"] = [p[5] if (p := details.get(row.a1)) else None for row in found]
    anys = [details.get(row.latest) for row in found]
    for position, name in ((2, "cum_good"), (3, "cum_failed"), (4, "cum_events")):
        columns[name] = [p[position] if p else 0 for p in anys]
    columns["cum_estimated_kwh"] = [p[5] if p else 0.0 for p in anys]
    return pl.DataFrame(columns, schema=LOOKUP_SCHEMA)


# PostgreSQL: one LATERAL probe per side returns the two nearest readings of any outcome, folded
# into one row per endpoint in SQL (no second fetch by id, no pivot in Python). When those are
# usable (the common case) they are the bracketing readings; only endpoints with a failed or
# implausible reading among them ("blocked") get a second, filtered probe on the partial index
# ``cm_reading_good``, whose usable readings may lie further out.
_SIDE_SQL = """
    SELECT max(x.t) FILTER (WHERE x.n = 1 AND x.c IS NOT NULL) AS t1, max(x.c) FILTER (WHERE x.n = 1) AS c1,
           max(x.t) FILTER (WHERE x.n = 2 AND x.c IS NOT NULL) AS t2, max(x.c) FILTER (WHERE x.n = 2) AS c2,
           max(x.cum_good) FILTER (WHERE x.n = 1) AS cum_good, max(x.cum_failed) FILTER (WHERE x.n = 1) AS cum_failed,
           max(x.cum_events) FILTER (WHERE x.n = 1) AS cum_events,
           max(x.cum_estimated_kwh) FILTER (WHERE x.n = 1) AS cum_estimated_kwh,
           max(x.engine) FILTER (WHERE x.n = 1 AND x.c IS NOT NULL) AS e1,
           count(*) = 2 AND bool_or(x.c IS NULL) AS blocked
    FROM (SELECT row_number() OVER (ORDER BY r.read_at {direction}) AS n,
                 extract(epoch FROM r.read_at)::float8 AS t, r.corrected_kwh AS c,
                 r.cum_good, r.cum_failed, r.cum_events, r.cum_estimated_kwh, r.engine
          FROM cm_reading r
          WHERE r.endpoint_id = e.id AND r.read_at {op} q.at {usable}
          ORDER BY r.read_at {direction} LIMIT 2) x"""
_LATERAL_SQL = """
SELECT e.id, b.t1, b.c1, b.t2, b.c2, a.t1, a.c1, a.t2, a.c2,
       coalesce(b.cum_good, 0), coalesce(b.cum_failed, 0), coalesce(b.cum_events, 0),
       coalesce(b.cum_estimated_kwh, 0), b.e1, a.e1, a.cum_events, a.cum_estimated_kwh, q.i,
       b.blocked OR a.blocked
FROM unnest(%(ts)s::timestamptz[]) WITH ORDINALITY AS q(at, i) CROSS JOIN cm_endpoint e
CROSS JOIN LATERAL ({before}) b CROSS JOIN LATERAL ({after}) a {where}"""


def _lateral_rows(conn: Connection, instants: Sequence[datetime], endpoint_ids: Sequence[str] | None,
                  usable_only: bool) -> pl.DataFrame:
    usable = "AND r.corrected_kwh IS NOT NULL" if usable_only else ""
    sql = _LATERAL_SQL.format(
        before=_SIDE_SQL.format(op="<", usable=usable, direction="DESC"),
        after=_SIDE_SQL.format(op=">=", usable=usable, direction="ASC"),
        where="WHERE e.id = ANY(%(ids)s)" if endpoint_ids is not None else "",
    )
    params: dict[str, object] = {"ts": list(instants)}
    if endpoint_ids is not None:
        params["ids"] = list(endpoint_ids)
    rows = conn.exec_driver_sql(sql, params).fetchall()
    # q.i numbers the instants: t is the instant asked for, exactly (joins on it downstream).
    stamps = pl.Series([when.timestamp() for when in instants], dtype=pl.Float64)
    frame = pl.DataFrame(rows, schema={**LOOKUP_SCHEMA, "i": pl.Int64, "blocked": pl.Boolean}, orient="row")
    return frame.with_columns(stamps.gather(frame["i"] - 1).alias("t")).drop("i")


def _lookup_lateral(conn: Connection, instants: Sequence[datetime], endpoint_ids: Sequence[str] | None
                    ) -> pl.DataFrame:
    """Two probes per endpoint and instant in the common case, a filtered pair where a failed read is in the way."""
    found = _lateral_rows(conn, instants, endpoint_ids, usable_only=False)
    blocked = found.filter(pl.col("blocked")).select("endpoint_id", "t")
    if not blocked.is_empty():
        slots = [f"{s}_{k}" for s in ("b1", "b2", "a1", "a2") for k in "tc"] + ["b1_e", "a1_e", "a1_events",
                                                                               "a1_estimated_kwh"]
        for (when,), group in blocked.group_by("t"):
            at = datetime.fromtimestamp(float(when), UTC)
            usable = _lateral_rows(conn, [at], group["endpoint_id"].to_list(), usable_only=True)
            found = found.update(usable.select("endpoint_id", "t", *slots), on=["endpoint_id", "t"],
                                 include_nulls=True)
    return found.drop("blocked")


def lookup_many(conn: Connection, instants: Sequence[datetime], endpoint_ids: Sequence[str] | None = None
                ) -> pl.DataFrame:
    """The raw look-ups at each instant (one query on PostgreSQL): per endpoint and ``t``, each slot and totals."""
    if not instants:
        return pl.DataFrame(schema={**LOOKUP_SCHEMA, "t": pl.Float64})
    if conn.dialect.name == "postgresql":
        return _lookup_lateral(conn, instants, endpoint_ids)
    return pl.concat([_lookup_by_ids(conn, t, endpoint_ids).with_columns(pl.lit(t.timestamp()).alias("t"))
                      for t in instants])


def lookup(conn: Connection, t: datetime, endpoint_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """The raw look-ups at ``t``: per endpoint, time and counter of each slot, and running totals."""
    return lookup_many(conn, [t], endpoint_ids)


def _slope(c1: str, t1: str, c2: str, t2: str) -> pl.Expr:
    return (pl.col(c1) - pl.col(c2)) / (pl.col(t1) - pl.col(t2))


CORRECTION_SCHEMA = {"endpoint_id": pl.String, "at": pl.Float64, "delta": pl.Float64}


def corrections_near(conn: Connection, raw: pl.DataFrame) -> pl.DataFrame:
    """The corrections recorded after the usable reading before some ``t`` and up to the one at or after it."""
    since = raw.select(pl.col("b1_t").min()).item() if raw.height else None
    if since is None:
        return pl.DataFrame(schema=CORRECTION_SCHEMA)
    upto = raw.select(pl.max_horizontal(pl.col("a1_t").max(), pl.col("t").max())).item()
    query = (select(meter_event.c.endpoint_id, meter_event.c.at, meter_event.c.delta_kwh)
             .where(meter_event.c.kind == "correction", meter_event.c.delta_kwh.is_not(None),
                    meter_event.c.at > datetime.fromtimestamp(float(since), UTC),
                    meter_event.c.at <= datetime.fromtimestamp(float(upto), UTC)))
    rows = [(row.endpoint_id, row.at.timestamp(), row.delta_kwh) for row in conn.execute(query)]
    return pl.DataFrame(rows, schema=CORRECTION_SCHEMA, orient="row")


def _with_steps(raw: pl.DataFrame, corrections: pl.DataFrame | None) -> pl.DataFrame:
    """Per row, corrections after the reading before t: ``d_span`` up to the reading at/after t, ``d_before`` before t.

    A correction is a step at its time, counted in C(t) for t after it: the energy of [t0, t1) holds the
    corrections dated in it. The readings after one hold it already, so it is taken out of them before
    interpolating and put back only where t is past it (a correction dated on a boundary is the next month's).
    """
    zero = raw.with_columns(pl.lit(0.0).alias("d_span"), pl.lit(0.0).alias("d_before"))
    if corrections is None or corrections.is_empty() or raw.is_empty():
        return zero
    at, delta = pl.col("at"), pl.col("delta")
    steps = (raw.select("endpoint_id", "t", "b1_t", "a1_t").join(corrections, on="endpoint_id", how="inner")
             .filter(pl.col("b1_t").is_not_null() & (at > pl.col("b1_t")))
             .group_by("endpoint_id", "t")
             .agg(delta.filter(pl.col("a1_t").is_not_null() & (at <= pl.col("a1_t"))).sum().alias("d_span"),
                  delta.filter(at < pl.col("t")).sum().alias("d_before")))
    return (raw.join(steps, on=["endpoint_id", "t"], how="left")
            .with_columns(pl.col("d_span").fill_null(0.0), pl.col("d_before").fill_null(0.0)))


def evaluate(raw: pl.DataFrame, max_extrapolation_s: float, corrections: pl.DataFrame | None = None) -> pl.DataFrame:
    """C(t) per endpoint with how it was obtained and how much of it is an estimate.

    ``corrections`` (``corrections_near``) are applied as steps at their time, not spread between readings.
    On a reading exactly at t, the resets it folded (and their estimates) count up to t, with its counter.
    """
    raw = _with_steps(raw, corrections)
    t = pl.col("t")
    exact = pl.col("a1_t") == t
    bracket = pl.col("b1_t").is_not_null() & pl.col("a1_t").is_not_null()
    forward = (pl.col("b1_t").is_not_null() & pl.col("b2_t").is_not_null()
               & (t - pl.col("b1_t") <= max_extrapolation_s))
    was_failing = pl.col("b1_t").is_null() & (pl.col("cum_failed") > 0)
    backward = (pl.col("a1_t").is_not_null() & pl.col("a2_t").is_not_null() & was_failing
                & (pl.col("a1_t") - t <= max_extrapolation_s))
    steps = pl.col("d_before")
    uncorrected_a1 = pl.col("a1_c") - pl.col("d_span")
    interpolated = pl.col("b1_c") + (uncorrected_a1 - pl.col("b1_c")) * (t - pl.col("b1_t")) / (
        pl.col("a1_t") - pl.col("b1_t")) + steps
    forward_c = (pl.col("b1_c") + _slope("b1_c", "b1_t", "b2_c", "b2_t").clip(lower_bound=0.0) * (t - pl.col("b1_t"))
                 + steps)
    backward_c = pl.col("a1_c") - _slope("a2_c", "a2_t", "a1_c", "a1_t").clip(lower_bound=0.0) * (pl.col("a1_t") - t)
    return raw.with_columns(
        pl.when(exact).then(uncorrected_a1 + steps)
        .when(bracket).then(interpolated)
        .when(forward).then(forward_c)
        .when(backward).then(backward_c)
        .when(pl.col("b1_t").is_not_null()).then(pl.col("b1_c") + steps)
        .when(pl.col("a1_t").is_not_null()).then(pl.col("a1_c"))
        .otherwise(None).alias("c"),
        pl.when(exact).then(pl.lit("exact"))
        .when(bracket).then(pl.lit("interpolated"))
        .when(forward | backward).then(pl.lit("extrapolated"))
        .when(pl.col("b1_t").is_not_null() | pl.col("a1_t").is_not_null()).then(pl.lit("held"))
        .otherwise(pl.lit("none")).alias("method"),
        pl.when(pl.when(exact).then(pl.col("a1_e")).when(pl.col("b1_t").is_not_null()).then(pl.col("b1_e"))
                .otherwise(pl.col("a1_e")) == "opening").then(pl.lit("opening")).otherwise(None).alias("origin"),
    ).with_columns(
        pl.when(pl.col("method") == "extrapolated")
        .then((pl.col("c") - steps - pl.coalesce(pl.col("b1_c"), pl.col("a1_c"))).abs())
        .otherwise(0.0).alias("estimated_kwh"),
        pl.when(exact).then(pl.col("a1_events")).otherwise(pl.col("cum_events")).alias("cum_events"),
        pl.when(exact).then(pl.col("a1_estimated_kwh")).otherwise(pl.col("cum_estimated_kwh"))
        .alias("cum_estimated_kwh"),
    ).drop("d_span", "d_before")


def counter_at_many(conn: Connection, instants: Sequence[datetime], max_extrapolation_s: float,
                    endpoint_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """C at each instant for every endpoint (or those given), in one round trip on PostgreSQL."""
    raw = lookup_many(conn, instants, endpoint_ids)
    return evaluate(raw, max_extrapolation_s, corrections_near(conn, raw))


def counter_at(conn: Connection, t: datetime, max_extrapolation_s: float,
               endpoint_ids: Sequence[str] | None = None) -> pl.DataFrame:
    """C(t) for every endpoint (or those given): endpoint_id, c, method, estimated_kwh, totals, b1_t, a1_t."""
    raw = lookup(conn, t, endpoint_ids)
    return evaluate(raw, max_extrapolation_s, corrections_near(conn, raw))
