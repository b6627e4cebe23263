"""The set-wise parts of ``store.store_batch``: the newest rows per endpoint, the INSERT and the hourly merge.

PostgreSQL: a batch's readings go in through ``COPY`` into a session temporary table, then one
statement inserts them and merges the hours of those it inserted (no 24 x 100 bound parameters to
send and plan, one round trip); the newest rows of every endpoint come from one ``LATERAL``
query sent through the driver. SQLite (in-process, no round trips): correlated sub-selects, a
multi-row INSERT and ``rollup.add``. The rows stored and what a duplicate
does are the same on both (``tests/modules/consumption_monitor/test_store_bulk.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Connection,
    Engine,
    Float,
    Integer,
    String,
    any_,
    bindparam,
    select,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from nxforge.sdk import UTCDateTime

from . import rollup
from .tables import endpoint, meter_event, reading

PARTITIONS_FRESH_S = 300.0
"""How long a month found in place counts as there (the collector never drops one; a retention
detach concerns months long past)."""

_ensured: dict[tuple[str, str], float] = {}


class Last(NamedTuple):  # tuples: a thousand are made per batch, and a frozen dataclass costs three times as much
    """An endpoint's newest reading of any outcome: its time and running totals."""

    read_at: datetime
    cum_good: int
    cum_failed: int
    cum_events: int
    cum_estimated_kwh: float


class Good(NamedTuple):
    """One of an endpoint's two newest usable readings (what ``store._state_from`` needs)."""

    read_at: datetime
    raw_kwh: float | None
    corrected_kwh: float
    offset_kwh: float | None
    power_w: float | None
    counter_reset_at: datetime | None


def _months(first: datetime, last: datetime) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def ensure_partitions_cached(conn: Connection, first: datetime, last: datetime) -> None:
    """``store.ensure_partitions``, skipped for months this process found already there a moment ago.

    A month is remembered only when the call created nothing (so it was there before: a partition
    this transaction makes is not remembered, as a rollback would take it away again).
    """
    if conn.dialect.name != "postgresql":
        return
    site = conn.engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    months = _months(first, last)
    if all(_ensured.get((site, month), 0.0) > now for month in months):
        return
    created = conn.execute(text("SELECT cm_reading_ensure_partitions(:a, :b)"), {"a": first, "b": last}).scalar()
    if not created:
        for month in months:
            _ensured[(site, month)] = now + PARTITIONS_FRESH_S


class EndpointRules(NamedTuple):
    """The columns of an endpoint row that ``store._rules`` reads."""

    id: str
    rollover_kwh: float | None
    circuit_max_kw: float | None
    default_max_kw: float | None
    resettable: bool


# Sent through the driver, not built with SQLAlchemy: for a thousand endpoints, making the construct
# and processing the result rows cost more than the query itself. One row per endpoint (its newest
# reading, then its two newest usable ones, then whether a swap or correction was recorded after
# its newest usable reading), in binary (no text to parse per timestamp and number).
#
# Each look-up walks the month partitions newest first, and the months ahead exist empty (made in
# advance): bounded below the month after the batch, those are pruned instead of probed for every
# endpoint three times. Rows at or past that bound would then go unseen, so the same statement asks
# once whether any exists (a scan of those months alone, empty in the collector's case); when one
# does, the look-up runs again without the bound.
_GOOD_COLUMNS = "read_at, raw_kwh, corrected_kwh, offset_kwh, power_w, counter_reset_at"
_LATEST_SQL = f"""
SELECT e.id, e.rollover_kwh, e.circuit_max_kw, e.default_max_kw, e.resettable,
       l.read_at, l.cum_good, l.cum_failed, l.cum_events, l.cum_estimated_kwh,
       g1.read_at, g1.raw_kwh, g1.corrected_kwh, g1.offset_kwh, g1.power_w, g1.counter_reset_at,
       g2.read_at, g2.raw_kwh, g2.corrected_kwh, g2.offset_kwh, g2.power_w, g2.counter_reset_at,
       EXISTS (SELECT 1 FROM cm_meter_event AS ev
               WHERE ev.endpoint_id = e.id AND ev.at > coalesce(g1.read_at, '-infinity')) AS has_events,
       (SELECT EXISTS (SELECT 1 FROM cm_reading WHERE read_at >= %(bound)s)) AS beyond
FROM cm_endpoint AS e
LEFT JOIN LATERAL (SELECT read_at, cum_good, cum_failed, cum_events, cum_estimated_kwh FROM cm_reading
                   WHERE endpoint_id = e.id AND read_at < %(bound)s ORDER BY read_at DESC LIMIT 1) AS l ON true
LEFT JOIN LATERAL (SELECT {_GOOD_COLUMNS} FROM cm_reading
                   WHERE endpoint_id = e.id AND corrected_kwh IS NOT NULL AND read_at < %(bound)s
                   ORDER BY read_at DESC LIMIT 1) AS g1 ON true
LEFT JOIN LATERAL (SELECT {_GOOD_COLUMNS} FROM cm_reading
                   WHERE endpoint_id = e.id AND corrected_kwh IS NOT NULL AND read_at < g1.read_at
                   ORDER BY read_at DESC LIMIT 1) AS g2 ON true
WHERE e.id = ANY(%(ids)s)
"""
UNBOUNDED = datetime.max.replace(tzinfo=UTC)


def month_after(at: datetime) -> datetime:
    """The first instant of the UTC month after ``at``'s (a partition boundary)."""
    at = at.astimezone(UTC)
    return datetime(at.year + at.month // 12, at.month % 12 + 1, 1, tzinfo=UTC)


def _utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None


def _correlated_query() -> Any:
    """SQLite (no LATERAL): three correlated sub-selects per endpoint naming the rows to fetch."""

    def pick(usable: bool, offset: int) -> Any:
        r = reading.alias()
        query = select(r.c.id).where(r.c.endpoint_id == endpoint.c.id)
        if usable:
            query = query.where(r.c.corrected_kwh.is_not(None))
        return query.order_by(r.c.read_at.desc()).limit(1).offset(offset).scalar_subquery().correlate(endpoint)

    events = select(meter_event.c.id).where(meter_event.c.endpoint_id == endpoint.c.id).exists()  # any: a superset
    return (select(endpoint.c.id, endpoint.c.rollover_kwh, endpoint.c.circuit_max_kw, endpoint.c.default_max_kw,
                   endpoint.c.resettable, pick(False, 0).label("last"), pick(True, 0).label("good1"),
                   pick(True, 1).label("good2"), events.correlate(endpoint).label("has_events"))
            .where(endpoint.c.id.in_(bindparam("ids", expanding=True))))


_CORRELATED_QUERY = _correlated_query()


class Latest(NamedTuple):
    """What ``store.store_batch`` needs to know of the endpoints of a batch before correcting their readings."""

    info: dict[str, Any]
    """Each endpoint's row (its counter rules)."""
    last: dict[str, Any]
    """Each endpoint's newest reading of any outcome (absent: none yet)."""
    good: dict[str, list[Any]]
    """Each endpoint's two newest usable readings, newest first."""
    with_events: set[str]
    """Endpoints with a swap or correction recorded after their newest usable reading (PostgreSQL), or ever
    (SQLite): only theirs are fetched. Usually none, which saves a query per batch."""


def latest(conn: Connection, endpoint_ids: list[str], newest: datetime) -> Latest:
    """Per endpoint: its row, its last reading of any outcome, its last two usable ones, and whether events wait.

    ``newest``: the batch's latest reading time (PostgreSQL looks in the months up to it first).
    """
    if conn.dialect.name != "postgresql":
        return _latest_correlated(conn, endpoint_ids)
    info: dict[str, Any] = {}
    lasts: dict[str, Any] = {}
    goods: dict[str, list[Any]] = {}
    with_events: set[str] = set()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        rows: Sequence[Any] = []
        for bound in (month_after(newest), UNBOUNDED):
            cursor.execute(_LATEST_SQL, {"ids": endpoint_ids, "bound": bound},  # type: ignore[call-arg]
                           binary=True)  # psycopg takes binary=
            rows = cursor.fetchall()
            if not rows or not rows[0][23]:
                break
    finally:
        cursor.close()
    for row in rows:
        endpoint_id, l_at, g1_at, g2_at = row[0], row[5], row[10], row[16]
        info[endpoint_id] = EndpointRules(*row[:5])
        if l_at is not None:
            lasts[endpoint_id] = Last(l_at.astimezone(UTC), *row[6:10])
        found = goods[endpoint_id] = []  # newest first
        if g1_at is not None:
            found.append(Good(g1_at.astimezone(UTC), row[11], row[12], row[13], row[14], _utc(row[15])))
        if g2_at is not None:
            found.append(Good(g2_at.astimezone(UTC), row[17], row[18], row[19], row[20], _utc(row[21])))
        if row[22]:
            with_events.add(endpoint_id)
    return Latest(info, lasts, goods, with_events)


_LAST_COLUMNS = (reading.c.id, reading.c.read_at, reading.c.raw_kwh, reading.c.corrected_kwh, reading.c.offset_kwh,
                 reading.c.power_w, reading.c.cum_good, reading.c.cum_failed, reading.c.cum_events,
                 reading.c.cum_estimated_kwh, reading.c.counter_reset_at)
_ROWS_BY_ID = select(*_LAST_COLUMNS).where(reading.c.id.in_(bindparam("ids", expanding=True)))


def _latest_correlated(conn: Connection, endpoint_ids: list[str]) -> Latest:
    """SQLite (no LATERAL): three correlated sub-selects per endpoint, then the rows they name."""
    heads = conn.execute(_CORRELATED_QUERY, {"ids": endpoint_ids}).fetchall()
    wanted = sorted({i for row in heads for i in (row.last, row.good1, row.good2) if i is not None})
    rows = {row.id: row for row in conn.execute(_ROWS_BY_ID, {"ids": wanted})} if wanted else {}
    info = {row.id: row for row in heads}
    last = {row.id: rows[row.last] for row in heads if row.last is not None}
    good = {row.id: [rows[i] for i in (row.good1, row.good2) if i is not None] for row in heads}
    return Latest(info, last, good, {row.id for row in heads if row.has_events})


# ----- writing --------------------------------------------------------------------------------
_READING_TEMP = "cm_reading_incoming"
_GOOD = "FILTER (WHERE corrected_kwh IS NOT NULL)"
_EARLIER = "excluded.first_at < coalesce(old.first_at, 'infinity')"  # a NULL on either side keeps the old value
_LATER = "excluded.last_at > coalesce(old.last_at, '-infinity')"
_STORE_SQL = """
WITH ins AS (
    INSERT INTO cm_reading ({columns}) SELECT {columns} FROM {temp}
    ON CONFLICT (reading_key, read_at) DO NOTHING
    RETURNING reading_key, endpoint_id, read_at, corrected_kwh, power_w
), hours AS (
    INSERT INTO cm_reading_hourly AS old
        (endpoint_id, hour, first_at, last_at, first_kwh, last_kwh, good, failed, power_sum_w, power_n, power_max_w)
    SELECT endpoint_id, date_trunc('hour', read_at, 'UTC'), min(read_at) {good}, max(read_at) {good},
           (array_agg(corrected_kwh ORDER BY read_at) {good})[1],
           (array_agg(corrected_kwh ORDER BY read_at DESC) {good})[1],
           count(*) {good}, count(*) FILTER (WHERE corrected_kwh IS NULL),
           coalesce(sum(power_w) {good}, 0), count(power_w) {good}, max(power_w) {good}
    FROM ins GROUP BY 1, 2
    ON CONFLICT (endpoint_id, hour) DO UPDATE SET
        first_at = CASE WHEN {earlier} THEN excluded.first_at ELSE old.first_at END,
        first_kwh = CASE WHEN {earlier} THEN excluded.first_kwh ELSE old.first_kwh END,
        last_at = CASE WHEN {later} THEN excluded.last_at ELSE old.last_at END,
        last_kwh = CASE WHEN {later} THEN excluded.last_kwh ELSE old.last_kwh END,
        good = old.good + excluded.good, failed = old.failed + excluded.failed,
        power_sum_w = old.power_sum_w + excluded.power_sum_w, power_n = old.power_n + excluded.power_n,
        power_max_w = CASE WHEN old.power_max_w IS NULL OR excluded.power_max_w > old.power_max_w
                           THEN excluded.power_max_w ELSE old.power_max_w END
)
SELECT reading_key FROM {temp} EXCEPT ALL SELECT reading_key FROM ins
"""


def _copy_type(column: Any) -> str:
    """The PostgreSQL type a binary COPY sends for a reading column."""
    if isinstance(column.type, Boolean):
        return "bool"
    if isinstance(column.type, Integer):
        return "int8" if isinstance(column.type, BigInteger) else "int4"
    if isinstance(column.type, Float):
        return "float8"
    return "timestamptz" if isinstance(column.type, UTCDateTime) else "text"


_COPY_TYPES = {column.name: _copy_type(column) for column in reading.columns}


def insert_readings(conn: Connection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert the rows, skipping any whose reading key is stored already, and fold the inserted ones
    into their hours (``rollup``); return the keys skipped (none, in the collector's usual case).

    PostgreSQL: one ``COPY`` into a session temporary table, then one statement that inserts and
    merges the hours of what it inserted (the rollup rule of ``rollup.Bucket``, in SQL), and sends
    back only the keys it skipped.
    """
    if not rows:
        return set()
    if conn.dialect.name != "postgresql":
        statement = (sqlite.insert(reading).on_conflict_do_nothing(index_elements=["reading_key"])
                     .returning(reading.c.reading_key))
        inserted = set(conn.execute(statement, rows).scalars())
        rollup.add(conn, [(row["endpoint_id"], row["read_at"], row["corrected_kwh"], row["power_w"])
                          for row in rows if row["reading_key"] in inserted])
        return {row["reading_key"] for row in rows} - inserted
    columns = list(rows[0])
    names = ", ".join(columns)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # Temporary tables live as long as the session, and vanish with a rolled-back creation: IF NOT EXISTS.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_READING_TEMP} AS SELECT {names} "
                       f"FROM cm_reading WITH NO DATA; TRUNCATE {_READING_TEMP}")
        with cursor.copy(f"COPY {_READING_TEMP} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types([_COPY_TYPES[column] for column in columns])  # binary: nothing to format or parse
            for row in rows:
                copy.write_row([row[column] for column in columns])
        cursor.execute(_STORE_SQL.format(columns=names, temp=_READING_TEMP, good=_GOOD, earlier=_EARLIER,
                                          later=_LATER))
        return {key for (key,) in cursor.fetchall()}
    finally:
        cursor.close()


def _recent_query(count: int) -> Any:
    r = reading.alias("r")
    recent = (select(r.c.read_at, r.c.success, r.c.event, r.c.error_class, r.c.error_message, r.c.raw_kwh)
              .where(r.c.endpoint_id == endpoint.c.id).order_by(r.c.read_at.desc()).limit(count).lateral("recent"))
    return (select(endpoint.c.id, recent.c.read_at, recent.c.success, recent.c.event, recent.c.error_class,
                   recent.c.error_message, recent.c.raw_kwh)
            .select_from(endpoint.join(recent, true()))
            .where(endpoint.c.id == any_(bindparam("ids", type_=postgresql.ARRAY(String)))))


class Recent(NamedTuple):
    """One of an endpoint's newest readings, as the alerts read them."""

    read_at: datetime
    success: bool
    event: str | None
    error_class: str | None
    error_message: str | None
    raw_kwh: float | None


def recent_readings(engine: Engine, endpoint_ids: Sequence[str], count: int) -> dict[str, list[Recent]]:
    """Each endpoint's newest ``count`` readings, newest first, on one connection (one query on PostgreSQL)."""
    found: dict[str, list[Recent]] = {endpoint_id: [] for endpoint_id in endpoint_ids}
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            for index in range(0, len(endpoint_ids), 1000):
                for row in conn.execute(_recent_query(count), {"ids": list(endpoint_ids[index:index + 1000])}):
                    found[row[0]].append(Recent(*row[1:]))
            for rows in found.values():
                rows.sort(key=lambda row: row.read_at, reverse=True)
            return found
        query = (select(reading.c.read_at, reading.c.success, reading.c.event, reading.c.error_class,
                        reading.c.error_message, reading.c.raw_kwh)
                 .where(reading.c.endpoint_id == bindparam("endpoint_id"))
                 .order_by(reading.c.read_at.desc()).limit(count))
        for endpoint_id in endpoint_ids:  # SQLite: an index look-up each, no round trip to save
            found[endpoint_id] = [Recent(*row) for row in conn.execute(query, {"endpoint_id": endpoint_id})]
    return found
