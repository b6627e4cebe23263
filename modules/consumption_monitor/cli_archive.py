"""``nxforge archive [--month YYYY-MM ...] [--force] [--prune]``: closed months of readings to Parquet."""

from __future__ import annotations

import argparse
import sys

from nxforge.sdk import ModuleContext

from .archive import ArchiveError, archive_dir, archive_months, archived_months
from .periods import PeriodError
from .settings import MonitorSettings

EXIT_OK, EXIT_FAILED = 0, 1


def archive(ctx: ModuleContext, argv: list[str]) -> int:
    """Archive every closed month (or the ones named), verify each file, optionally prune per the setting."""
    parser = argparse.ArgumentParser(
        prog="nxforge archive",
        description="Write each closed month of readings to Parquet under the module's storage "
        "(archive/readings/month=YYYY-MM), verified by row count and SHA-256. A month already archived "
        "as it is in the database is skipped. Readings stay in the database unless the setting "
        "archive_keep_months is above 0 (then archived months older than that are removed).")
    parser.add_argument("--month", action="append", help="only this month (YYYY-MM, repeatable)")
    parser.add_argument("--force", action="store_true", help="write the month again even if unchanged")
    parser.add_argument("--list", action="store_true", help="list the archived months and exit")
    args = parser.parse_args(argv)
    root = archive_dir(ctx.storage)
    if args.list:
        for item in archived_months(root).values():
            print(f"{item.month}  {item.rows:>12,} readings  sha256 {item.sha256}")
        return EXIT_OK
    tz = MonitorSettings.from_context(ctx).timezone
    keep = int(ctx.settings.get("archive_keep_months") or 0)
    try:
        report = archive_months(ctx.db, root, tz, ctx.clock(), args.month, keep_months=keep, force=args.force)
    except (ArchiveError, PeriodError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    for item in report.written:
        print(f"archived {item.month}: {item.rows:,} readings, sha256 {item.sha256}")
    if report.unchanged:
        print(f"unchanged: {', '.join(report.unchanged)}")
    for month, rows in report.pruned.items():
        print(f"removed {month} from the database: {rows:,} readings (kept in Parquet)")
    if report.written or report.pruned:
        ctx.audit("readings.archive", root.name, {"written": [i.month for i in report.written],
                                                  "pruned": report.pruned})
    print(f"archive: {root}", file=sys.stderr)
    return EXIT_OK
