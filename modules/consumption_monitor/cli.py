"""``nxforge billing [close|reopen] | readings import | meter-swap | correction | endpoints``: each
``fn(ctx, argv) -> exit status``."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from nxforge.sdk import ConfigError, ModuleContext

from . import exports
from .billing import billing_by_client, billing_by_endpoint
from .billing_settings import BillingSettings
from .cli_finance import STATEMENT_FORMATS, close, reopen, statement_file
from .cli_finance import readings as readings  # `nxforge readings import`: every command is reached through cli.py
from .config import load_endpoints
from .corrections import UnknownEndpointError, record_correction, record_swap
from .periods import PeriodError
from .queries import live_status
from .reporting import clients_of, month_statements
from .settings import MonitorSettings
from .statements import MonthState, Statement, lines_of, month_state
from .sync import sync_endpoints

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone: add Z or an offset such as +02:00")
    return value


def billing_table_bytes(ctx: ModuleContext, month: str, by: str, fmt: str, at: datetime | None = None) -> bytes:
    """The billing table as the CLI writes it, at ``at`` (default now): the app's downloads are the same bytes."""
    return billing_or_statement_table(ctx, month, by, fmt, at)


def billing(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge billing --month YYYY-MM [--by endpoint|client] [--format csv|xlsx|table|pdf|statements|accounting|
    lines|dispute] [--client NAME] [-o FILE]``, ``nxforge billing close|reopen --month ...``."""
    if argv and argv[0] == "close":
        return close(ctx, argv[1:])
    if argv and argv[0] == "reopen":
        return reopen(ctx, argv[1:])
    parser = argparse.ArgumentParser(
        prog="nxforge billing", description="The monthly billing table, or the month's statements "
        "(pdf, xlsx, accounting, lines, dispute; a closed month is always served from its statements). "
        "Also: nxforge billing close --month M, nxforge billing reopen --month M --why TEXT.")
    parser.add_argument("--month", required=True, help="YYYY-MM in the billing time zone")
    parser.add_argument("--by", choices=["endpoint", "client"], default="endpoint")
    parser.add_argument("--format", choices=["csv", "xlsx", "table", *STATEMENT_FORMATS], default=None,
                        help="default: table on a terminal, else from the -o suffix (.pdf, .zip too)")
    parser.add_argument("--client", help="statements of this client only (a dispute pack needs one)")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    suffixes = {".csv": "csv", ".xlsx": "xlsx", ".pdf": "pdf", ".zip": "dispute"}
    fmt = args.format or (suffixes.get(args.output.suffix, "table") if args.output else "table")
    if fmt in ("xlsx", "statements", "pdf", "dispute") and args.output is None:
        print(f"error: {fmt} needs -o FILE", file=sys.stderr)
        return EXIT_USAGE
    try:
        content = (statement_file(ctx, args.month, fmt, args.client, args.by) if fmt in STATEMENT_FORMATS
                   or args.client else billing_table_bytes(ctx, args.month, args.by, fmt))
        if content is None:
            return EXIT_FAILED
    except PeriodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.output:
        args.output.write_bytes(content)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(content.decode("utf-8"))
    return EXIT_OK


def billing_frame(ctx: ModuleContext, month: str, by: str, at: datetime,
                  served: tuple[MonthState, list[Statement]] | None = None) -> pl.DataFrame:
    """The table ``nxforge billing`` prints: a closed month from its statements (its lines by endpoint,
    the statements by client), an open one computed at ``at``. ``served``: statements already served at ``at``."""
    settings = MonitorSettings.from_context(ctx)
    state = served[0] if served else month_state(ctx.db, month, settings.timezone, at)
    if state.closed:
        statements = served[1] if served else month_statements(ctx, month, at)[1]
        return lines_of(statements) if by == "endpoint" else exports.statement_totals(statements)
    config = BillingSettings.from_context(ctx)  # the statement's settings (gaps, peak interval), as source_for
    if by == "endpoint":
        return billing_by_endpoint(ctx.db, month, settings.timezone, at, clients=clients_of(ctx), settings=config)
    table = billing_by_client(ctx.db, month, settings.timezone, at, clients=clients_of(ctx), settings=config)
    return with_statement_totals(table, served[1] if served else month_statements(ctx, month, at)[1])


def with_statement_totals(table: pl.DataFrame, statements: list[Statement]) -> pl.DataFrame:
    """An open month's by-client table beside its draft statements: ``adjustments`` (lines correcting earlier
    closed months, billed on this statement) and ``statement_total`` (amount + adjustments, what the PDF says)."""
    if table.is_empty():
        return table
    money = pl.Decimal(38, 2)
    drafts = pl.DataFrame(
        [{"client": item.client, "statement_total": item.total_amount,
          "adjustments": sum(item.lines.filter(pl.col("term") == "adjustment")["amount"].drop_nulls().to_list(),
                             Decimal("0.00"))} for item in statements],
        schema={"client": pl.String, "statement_total": money, "adjustments": money})
    return table.join(drafts, on="client", how="full", coalesce=True).select(
        *table.columns, "adjustments", "statement_total").sort("client")


def frame_bytes(ctx: ModuleContext, frame: pl.DataFrame, fmt: str, sheet: str) -> bytes:
    """A billing table as CSV, XLSX or terminal text: the CLI's file and the page's download alike."""
    tz = MonitorSettings.from_context(ctx).timezone
    if fmt == "csv":
        return exports.to_csv(frame, tz)
    if fmt == "xlsx":
        return exports.to_xlsx(frame, tz, sheet=sheet)
    return (exports.to_text(frame, tz) + "\n").encode("utf-8")


def billing_or_statement_table(ctx: ModuleContext, month: str, by: str, fmt: str, at: datetime | None = None) -> bytes:
    """``billing_frame`` at ``at`` (default now) as bytes."""
    return frame_bytes(ctx, billing_frame(ctx, month, by, at or ctx.clock()), fmt, f"{month} by {by}")


def _event_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("endpoint", help="endpoint id")
    parser.add_argument("--at", required=True, type=_aware, help="when, ISO 8601 with zone (e.g. 2026-04-01T10:00Z)")
    parser.add_argument("--why", required=True, help="reason, kept with the record")
    parser.add_argument("--who", default=None, help="who did it (default: your login name)")
    return parser


def meter_swap(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge meter-swap ENDPOINT --at ISO --old-final KWH --new-initial KWH --why TEXT [--who NAME]``."""
    parser = _event_parser("nxforge meter-swap", "Record a meter replacement; later readings are recomputed.")
    parser.add_argument("--old-final", required=True, type=float, help="the old meter's last kWh")
    parser.add_argument("--new-initial", required=True, type=float, help="the new meter's first kWh")
    args = parser.parse_args(argv)
    try:
        recorded = record_swap(ctx.db, args.endpoint, at=args.at, old_final_kwh=args.old_final,
                               new_initial_kwh=args.new_initial, who=args.who or getpass.getuser(), why=args.why,
                               recorded_at=ctx.clock())
    except (UnknownEndpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"swap recorded for {args.endpoint}; {recorded.recomputed} reading(s) recomputed")
    return EXIT_OK


def correction(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge correction ENDPOINT --at ISO --delta KWH --why TEXT [--who NAME]``."""
    parser = _event_parser("nxforge correction", "Add (or remove) kWh from a time on; later readings are recomputed.")
    parser.add_argument("--delta", required=True, type=float, help="kWh to add (negative to remove)")
    args = parser.parse_args(argv)
    try:
        recorded = record_correction(ctx.db, args.endpoint, at=args.at, delta_kwh=args.delta,
                                     who=args.who or getpass.getuser(), why=args.why, recorded_at=ctx.clock())
    except (UnknownEndpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"correction recorded for {args.endpoint}; {recorded.recomputed} reading(s) recomputed")
    return EXIT_OK


def endpoints(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge endpoints [--status] [--sync]``: list endpoints from the YAML, or their live status."""
    parser = argparse.ArgumentParser(prog="nxforge endpoints", description="Endpoints and their status.")
    parser.add_argument("--status", action="store_true", help="last reading, errors, next due (from the database)")
    parser.add_argument("--sync", action="store_true", help="mirror the YAML into the database first")
    args = parser.parse_args(argv)
    settings = MonitorSettings.from_context(ctx)
    try:
        loaded = load_endpoints(ctx.config_dir)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.sync:
        report = sync_endpoints(ctx.db, loaded, now=ctx.clock(), tz=settings.timezone,
                                default_poll_s=settings.default_poll_s, default_rollover_kwh=settings.rollover_kwh,
                                default_max_kw=settings.default_max_kw)
        print(f"synced: {len(report.added)} added, {len(report.updated)} updated, {len(report.retired)} retired")
    if not args.status:
        print(f"{'ID':28} {'CLIENT':18} {'FEED':4} {'POLL':>6} {'ENGINE':7} SOURCE")
        for item in loaded.endpoints:
            path, line = loaded.source[item.id]
            poll = item.poll_interval_s(settings.default_poll_s)
            state = "" if item.enabled else " (disabled)"
            print(f"{item.id:28} {item.client:18} {item.feed or '':4} {poll:>5.0f}s {item.scrape.engine:7} "
                  f"{path.name}:{line}{state}")
        return EXIT_OK
    table = live_status(ctx.db, ctx.clock(), settings.max_stale_s)
    print(f"{'ID':28} {'STATUS':9} {'LAST OK (site time)':20} {'KWH':>12}  ERROR")
    for row in table.iter_rows(named=True):
        last = row["last_success_at"].astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M") \
            if row["last_success_at"] else "-"
        kwh = f"{row['corrected_kwh']:.1f}" if row["corrected_kwh"] is not None else "-"
        error = f"{row['last_error_class']}: {row['last_error']}"[:90] if row["last_error_class"] else ""
        print(f"{row['endpoint_id']:28} {row['status']:9} {last:20} {kwh:>12}  {error}")
    return EXIT_OK
