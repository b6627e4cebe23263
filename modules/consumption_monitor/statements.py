"""Month close: freeze one statement per client, serve a closed month from it, reopen as a new version.

A closed month's statements (lines, totals, number, SHA-256 digest) are read back from
``cm_statement``/``cm_statement_line``, which refuse UPDATE and DELETE. Energy that changes later
(a correction, a swap, a late or imported reading, an opening reading) reaches the client as an
adjustment line on the next open statement: ``adjustments.py`` recomputes the closed month and
compares it with the frozen lines. Reopening (admin, audited by
the caller) logs a ``reopen`` row; the next close writes version 2 beside version 1.
A close refuses a source whose endpoint YAML has problems: its lines are unpriced, and a frozen
0.00 would never change.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from nxforge.sdk import NxForgeError

from .line_contract import LINE_COLUMNS, LINE_SCHEMA, LineSource, empty_lines, is_energy, normalized
from .periods import Period, month_period
from .statement_tables import month_close, statement, statement_line

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "ST"
ADMIN = "admin"


class StatementError(NxForgeError):
    """A close or reopen that cannot be done as asked."""


class CloseRefused(StatementError):
    """Closing would freeze lines whose estimated share is over the threshold."""

    def __init__(self, message: str, hint: str, over: list[tuple[str, str, float]]) -> None:
        super().__init__(message, hint)
        self.over = over


@dataclass(frozen=True)
class MonthState:
    """Where a month stands: running, open (over, not closed), closed (version n), or reopened."""

    month: str
    state: str
    version: int | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None

    @property
    def closed(self) -> bool:
        """Served from its statements."""
        return self.state == "closed"

    @property
    def label(self) -> str:
        """What the Reports page shows."""
        if self.state == "closed":
            return f"closed v{self.version}"
        if self.state == "reopened":
            return f"reopened (v{self.version} kept)"
        return "running (to date)" if self.state == "running" else "open"


@dataclass(frozen=True)
class Statement:
    """One client's statement for one month: frozen (closed) or a draft computed at one instant."""

    number: str
    month: str
    version: int
    client: str
    client_name: str
    currency: str
    period_start: datetime
    period_end: datetime
    timezone: str
    total_amount: Decimal
    total_kwh: Decimal
    estimated_share: float | None
    digest: str
    closed_at: datetime | None
    closed_by: str | None
    lines: pl.DataFrame

    @property
    def draft(self) -> bool:
        """Not closed: figures may still change."""
        return self.closed_at is None


def statement_number(month: str, client: str, version: int, prefix: str = DEFAULT_PREFIX) -> str:
    """Stable: the same month, client and version always give the same number (``ST-202610-ACME``)."""
    base = f"{prefix}-{month.replace('-', '')}-{client.upper()}"
    return base if version == 1 else f"{base}-V{version}"


def _state_from_log(month: str, rows: list[Any], running: bool) -> MonthState:
    if not rows:
        return MonthState(month, "running" if running else "open")
    last = rows[-1]
    if last.action == "close":
        return MonthState(month, "closed", last.version, last.at, last.who)
    return MonthState(month, "running" if running else "reopened", last.version)


def month_states(engine: Engine, months: Iterable[str], tz: ZoneInfo, now: datetime) -> dict[str, MonthState]:
    """The state of each month, from one query over the close log."""
    wanted = list(months)
    with engine.connect() as conn:
        rows = conn.execute(select(month_close).where(month_close.c.month.in_(wanted))
                            .order_by(month_close.c.id)).fetchall()
    states = {}
    for month in wanted:
        running = month_period(month, tz, now).to_date
        states[month] = _state_from_log(month, [row for row in rows if row.month == month], running)
    return states


def month_state(engine: Engine, month: str, tz: ZoneInfo, now: datetime) -> MonthState:
    """The state of one month."""
    return month_states(engine, [month], tz, now)[month]


def closed_months(conn: Connection) -> dict[str, MonthState]:
    """Every month whose last close-log row is a close."""
    rows = conn.execute(select(month_close).order_by(month_close.c.id)).fetchall()
    last: dict[str, Any] = {}
    for row in rows:
        last[row.month] = row
    return {month: MonthState(month, "closed", row.version, row.at, row.who)
            for month, row in last.items() if row.action == "close"}


def _decimal(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def frozen_lines(conn: Connection, statement_ids: list[int]) -> pl.DataFrame:
    """The stored lines of these statements, as the frame they were frozen from."""
    if not statement_ids:
        return empty_lines()
    rows = conn.execute(select(statement_line).where(statement_line.c.statement_id.in_(statement_ids))
                        .order_by(statement_line.c.statement_id, statement_line.c.line_no)).mappings().fetchall()
    records = [{name: (_decimal(row[name]) if name in ("quantity", "unit_price", "amount", "overhead_factor")
                       else row[name]) for name in LINE_COLUMNS} for row in rows]
    return pl.DataFrame(records, schema=LINE_SCHEMA, orient="row") if records else empty_lines()


def frozen_statements(engine: Engine, month: str, version: int, client: str | None = None) -> list[Statement]:
    """The statements of a closed month's version, read back exactly as frozen."""
    with engine.connect() as conn:
        query = select(statement).where(statement.c.month == month, statement.c.version == version)
        if client is not None:
            query = query.where(statement.c.client == client)
        heads = conn.execute(query.order_by(statement.c.client)).fetchall()
        lines = frozen_lines(conn, [head.id for head in heads])
    per_client = {key[0]: part for key, part in lines.partition_by("client", as_dict=True,
                                                                   maintain_order=True).items()}
    return [
        Statement(head.number, head.month, head.version, head.client, head.client_name, head.currency,
                  head.period_start, head.period_end, head.timezone, Decimal(head.total_amount),
                  Decimal(head.total_kwh), head.estimated_share, head.digest, head.closed_at, head.closed_by,
                  per_client[head.client] if head.client in per_client else empty_lines())  # in line order
        for head in heads
    ]


def _totals(lines: pl.DataFrame) -> tuple[Decimal, Decimal, float | None]:
    amount = sum((value for value in lines["amount"].to_list() if value is not None), Decimal("0.00"))
    energy = lines.filter(is_energy(pl.col("term")) & pl.col("quantity").is_not_null())
    kwh = sum(energy["quantity"].to_list(), Decimal("0.000"))
    estimated = energy["estimated_kwh"].fill_null(0.0).sum()
    share = round(min(max(float(estimated) / float(kwh), 0.0), 1.0), 4) if kwh > 0 else None
    return Decimal(amount).quantize(Decimal("0.01")), Decimal(kwh).quantize(Decimal("0.001")), share


def draft_statements(lines: pl.DataFrame, period: Period, tz: ZoneInfo, version: int,
                     prefix: str = DEFAULT_PREFIX) -> list[Statement]:
    """One statement per client from live lines (not stored: a draft until the month is closed)."""
    from .line_contract import digest_of

    lines = normalized(lines)
    month = f"{period.month[0]:04d}-{period.month[1]:02d}" if period.month else period.label
    found = []
    for (client,), own in lines.partition_by("client", as_dict=True, maintain_order=True).items():
        amount, kwh, share = _totals(own)
        currencies = list(dict.fromkeys(c for c in own["currency"].to_list() if c))
        if len(currencies) > 1:  # one total in one currency: never add EUR and USD
            raise StatementError(
                f"{client}'s statement for {month} has lines in {' and '.join(currencies)}: one total cannot add them",
                f"give {client} one currency (its tariffs and the closed months adjusted here must agree)")
        found.append(Statement(
            statement_number(month, client, version, prefix), month, version, client,
            own["client_name"][0] or client, currencies[0] if currencies else "", period.start, period.end,
            str(tz), amount, kwh, share, digest_of(own, ordered=True), None, None, own,
        ))  # fmt: skip
    return found


def served_statements(engine: Engine, month: str, tz: ZoneInfo, at: datetime, source: LineSource, *,
                      client: str | None = None, prefix: str = DEFAULT_PREFIX) -> tuple[MonthState, list[Statement]]:
    """A month's statements: frozen when closed, else computed once at ``at`` with pending adjustments."""
    from .adjustments import adjustment_lines

    state = month_state(engine, month, tz, at)
    if state.closed and state.version is not None:
        return state, frozen_statements(engine, month, state.version, client)
    period = month_period(month, tz, at)
    live = pl.concat([normalized(source(month, at, client)),
                      adjustment_lines(engine, month, tz, at, source, client=client)])
    return state, draft_statements(live, period, tz, (state.version or 0) + 1, prefix)


def lines_of(statements: list[Statement]) -> pl.DataFrame:
    """Every line of these statements, with the statement number in front."""
    frames = [item.lines.with_columns(pl.lit(item.number).alias("statement")) for item in statements]
    if not frames:
        return empty_lines().with_columns(pl.lit(None, pl.String).alias("statement")).select(
            "statement", *LINE_COLUMNS)
    return pl.concat(frames).select("statement", *LINE_COLUMNS)


def _over_threshold(statements: list[Statement], threshold: float) -> list[tuple[str, str, float]]:
    found = []
    for item in statements:
        energy = item.lines.filter(is_energy(pl.col("term")) & (pl.col("estimated_share") > threshold))
        found += [(row["client"], row["endpoint_id"], float(row["estimated_share"]))
                  for row in energy.iter_rows(named=True)]
    return found


def _refuse_unpriced(month: str, config_problem: str | None) -> None:
    """A closed month never changes: refuse to freeze lines priced from a broken endpoint YAML (no client prices)."""
    if config_problem:
        raise StatementError(f"{month} cannot be closed: the endpoint YAML has problems, so no client price is "
                             f"known:\n{config_problem}",
                             "fix the YAML (nxforge config check lists every problem), then close the month")


def close_month(engine: Engine, month: str, tz: ZoneInfo, at: datetime, source: LineSource, *, who: str,
                max_estimated_share: float, confirm_estimates: bool = False,
                prefix: str = DEFAULT_PREFIX) -> list[Statement]:
    """Freeze one statement per client for a month that is over; refuse a month still running or closed."""
    period = month_period(month, tz, at)
    month = f"{period.month[0]:04d}-{period.month[1]:02d}" if period.month else month
    if period.to_date:
        raise StatementError(f"{month} is still running", f"close it after {period.start:%Y-%m} ends (site time)")
    state, statements = served_statements(engine, month, tz, at, source, prefix=prefix)
    if state.closed:
        raise StatementError(f"{month} is already closed (version {state.version})",
                             "an admin can reopen it to make a new version")
    _refuse_unpriced(month, getattr(source, "config_problem", None))
    over = _over_threshold(statements, max_estimated_share)
    if over and not confirm_estimates:
        listed = ", ".join(f"{endpoint or client} {share:.1%}" for client, endpoint, share in over[:10])
        raise CloseRefused(f"{len(over)} line(s) of {month} are estimated over {max_estimated_share:.0%}: {listed}",
                           "check those meters, or confirm the estimates (--confirm-estimates)", over)
    version = statements[0].version if statements else (state.version or 0) + 1
    try:
        with engine.begin() as conn:
            conn.execute(insert(month_close).values(month=month, version=version, action="close", at=at, who=who,
                                                    reason="", confirmed_estimates=bool(over)))
            _store(conn, statements, at, who)
    except IntegrityError as exc:  # UNIQUE (month, version, action): a second close at the same moment
        raise StatementError(f"{month} was closed by someone else a moment ago", "reload to see it") from exc
    log.info("closed %s: %d statement(s) by %s", month, len(statements), who)
    return [_closed(item, at, who) for item in statements]


def _closed(item: Statement, at: datetime, who: str) -> Statement:
    return Statement(**{**item.__dict__, "closed_at": at, "closed_by": who})


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _store(conn: Connection, statements: list[Statement], at: datetime, who: str) -> None:
    """Every statement in one multi-row INSERT, then every line in another."""
    if not statements:
        return
    heads = [{
        "number": item.number, "month": item.month, "version": item.version, "client": item.client,
        "client_name": item.client_name, "currency": item.currency, "period_start": item.period_start,
        "period_end": item.period_end, "timezone": item.timezone, "total_amount": str(item.total_amount),
        "total_kwh": str(item.total_kwh), "estimated_share": item.estimated_share, "line_count": item.lines.height,
        "digest": item.digest, "closed_at": at, "closed_by": who,
    } for item in statements]  # fmt: skip
    returned = conn.execute(insert(statement).returning(statement.c.number, statement.c.id), heads)
    ids: dict[str, int] = {number: key for number, key in returned}
    rows = [{**{name: (_text(value) if name in ("quantity", "unit_price", "amount", "overhead_factor") else value)
                for name, value in row.items()}, "statement_id": ids[item.number], "line_no": number}
            for item in statements for number, row in enumerate(item.lines.iter_rows(named=True), start=1)]
    if rows:
        conn.execute(insert(statement_line), rows)


def _adjustments_billed_for(engine: Engine, month: str) -> list[str]:
    """Numbers of closed statements holding adjustment lines to any version of ``month``'s statements."""
    with engine.connect() as conn:
        numbers = list(conn.execute(select(statement.c.number).where(statement.c.month == month)).scalars())
        if not numbers:
            return []
        query = (select(statement.c.number).distinct()
                 .join(statement_line, statement_line.c.statement_id == statement.c.id)
                 .where(statement_line.c.adjusts.in_(numbers)).order_by(statement.c.number))
        return list(conn.execute(query).scalars())


def reopen_month(engine: Engine, month: str, tz: ZoneInfo, at: datetime, *, who: str, role: str,
                 reason: str) -> int:
    """Admin only: the month is computed live again; its next close makes a new version. Returns the kept one."""
    if role != ADMIN:
        raise StatementError("only an admin can reopen a closed month", "ask an admin")
    if not reason.strip():
        raise StatementError("say why the month is reopened", "the reason is kept with the reopen record")
    state = month_state(engine, month, tz, at)
    if not state.closed or state.version is None:
        raise StatementError(f"{month} is not closed", "there is nothing to reopen")
    billed = _adjustments_billed_for(engine, month)
    if billed:
        raise StatementError(
            f"{month} cannot be reopened: later closed statements ({', '.join(billed)}) already bill adjustments "
            "to it, which a new version would count a second time",
            "record a correction instead: its difference becomes an adjustment on the next open month")
    with engine.begin() as conn:
        conn.execute(insert(month_close).values(month=month, version=state.version, action="reopen", at=at,
                                                who=who, reason=reason, confirmed_estimates=False))
    log.info("reopened %s (version %d kept) by %s: %s", month, state.version, who, reason)
    return state.version
