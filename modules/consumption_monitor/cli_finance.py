"""The finance commands behind ``nxforge billing close|reopen``, statement files, and ``nxforge readings import``.

``cli.py`` routes to these (one home for the module's commands); they print what was done and
return the exit status: 0 done, 1 refused or failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from nxforge.sdk import ModuleContext

from .periods import PeriodError
from .readings_import import ImportRejected, import_readings
from .reporting import StatementSettings, month_statements, render, source_for
from .settings import MonitorSettings
from .statements import CloseRefused, StatementError, close_month, reopen_month

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
STATEMENT_FORMATS = ("pdf", "statements", "accounting", "lines", "dispute")  # statements: the XLSX workbook


def statement_file(ctx: ModuleContext, month: str, fmt: str, client: str | None, by: str) -> bytes | None:
    """A month's statements in ``fmt`` (``csv``/``xlsx``/``table`` with ``--client``: that client's lines)."""
    at = ctx.clock()
    try:
        _, statements = month_statements(ctx, month, at, client)
        if client is not None and not statements:
            raise StatementError(f"no statement for client {client!r} in {month}", "check the client's name")
        kind = {"csv": "lines", "table": "lines", "statements": "xlsx"}.get(fmt, fmt)
        return render(ctx, statements, kind, at)
    except StatementError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def close(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge billing close --month YYYY-MM [--confirm-estimates] [--who NAME]``."""
    parser = argparse.ArgumentParser(prog="nxforge billing close",
                                     description="Freeze one statement per client for a month that is over.")
    parser.add_argument("--month", required=True, help="YYYY-MM in the billing time zone")
    parser.add_argument("--confirm-estimates", action="store_true",
                        help="close even where an endpoint's estimated share is over the threshold")
    parser.add_argument("--who", default=None, help="who closes it (default: your login name)")
    args = parser.parse_args(argv)
    settings = StatementSettings.from_context(ctx)
    tz = MonitorSettings.from_context(ctx).timezone
    who = args.who or getpass.getuser()
    try:
        closed = close_month(ctx.db, args.month, tz, ctx.clock(), source_for(ctx), who=who,
                             max_estimated_share=settings.max_estimated_share,
                             confirm_estimates=args.confirm_estimates, prefix=settings.prefix)
    except CloseRefused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except (StatementError, PeriodError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    ctx.audit("billing.close", args.month, {"by": who, "statements": [s.number for s in closed],
                                            "confirmed_estimates": args.confirm_estimates})
    print(f"closed {args.month}: {len(closed)} statement(s)")
    for item in closed:
        share = "-" if item.estimated_share is None else f"{item.estimated_share:.1%}"
        print(f"{item.number:28} {item.client:18} {item.total_kwh:>14,.3f} kWh {item.total_amount:>14,.2f} "
              f"{item.currency:3}  est. {share:>6}  sha256 {item.digest}")
    return EXIT_OK


def reopen(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge billing reopen --month YYYY-MM --why TEXT [--who NAME]`` (a terminal with the database is admin)."""
    parser = argparse.ArgumentParser(prog="nxforge billing reopen",
                                     description="Reopen a closed month; its next close makes a new version.")
    parser.add_argument("--month", required=True, help="YYYY-MM in the billing time zone")
    parser.add_argument("--why", required=True, help="reason, kept in the close log and the audit trail")
    parser.add_argument("--who", default=None, help="who reopens it (default: your login name)")
    args = parser.parse_args(argv)
    tz = MonitorSettings.from_context(ctx).timezone
    who = args.who or getpass.getuser()
    try:
        kept = reopen_month(ctx.db, args.month, tz, ctx.clock(), who=who, role="admin", reason=args.why)
    except (StatementError, PeriodError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    ctx.audit("billing.reopen", args.month, {"by": who, "why": args.why, "kept_version": kept})
    print(f"reopened {args.month}: version {kept} is kept; the next close makes version {kept + 1}")
    return EXIT_OK


def readings(ctx: ModuleContext, argv: list[str]) -> int:
    """``nxforge readings import FILE [--skip-bad]``: CSV or XLSX with endpoint, time (with offset), kWh."""
    parser = argparse.ArgumentParser(prog="nxforge readings", description="Readings kept elsewhere.")
    parser.add_argument("action", choices=["import"])
    parser.add_argument("file", type=Path, help="CSV or XLSX with columns endpoint, time, kwh")
    parser.add_argument("--skip-bad", action="store_true", help="store the good rows, list the bad ones")
    parser.add_argument("--who", default=None, help="who imports them (default: your login name)")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"error: no file {args.file}", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = import_readings(ctx.db, args.file, now=ctx.clock(), skip_bad=args.skip_bad,
                                 who=args.who or getpass.getuser())
    except ImportRejected as exc:
        print(f"error: {exc.message}\n({exc.hint})", file=sys.stderr)
        return EXIT_FAILED
    for problem in report.skipped:
        print(f"skipped {problem}", file=sys.stderr)
    ctx.audit("readings.import", args.file.name, {"stored": report.stored, "already": report.already,
                                                  "skipped": len(report.skipped)})
    print(f"{report.stored} reading(s) stored, {report.already} already there, {len(report.skipped)} bad row(s) "
          "skipped")
    return EXIT_OK
