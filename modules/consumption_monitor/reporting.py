"""Statements for a module context: settings, the live line source, and every output as bytes.

The CLI and the Reports page both call ``statement_output``, with statements served once for
one instant, so a download equals the file ``nxforge billing`` writes for the same month.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from nxforge.sdk import ConfigError, ModuleContext

from .accounting import AccountingCodes, accounting_csv
from .config import load_endpoints
from .dispute import dispute_pack
from .exports import for_export
from .line_contract import LineSource
from .settings import MonitorSettings
from .statement_pdf import statements_pdf
from .statement_xlsx import statements_xlsx
from .statements import MonthState, Statement, StatementError, lines_of, served_statements

log = logging.getLogger(__name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OUTPUTS = {  # format -> (file suffix, MIME type)
    "pdf": ("pdf", "application/pdf"),
    "xlsx": ("xlsx", XLSX_MIME),
    "accounting": ("csv", "text/csv"),
    "lines": ("csv", "text/csv"),
    "dispute": ("zip", "application/zip"),
}


@dataclass(frozen=True)
class StatementSettings:
    """The module settings statements use (manifest ``settings:``)."""

    max_estimated_share: float = 0.2
    prefix: str = "ST"
    issuer: str = "NxForge"
    codes: AccountingCodes = field(default_factory=AccountingCodes)

    @classmethod
    def from_context(cls, ctx: ModuleContext) -> StatementSettings:
        """Read ``ctx.settings``; absent keys take the defaults."""
        raw: dict[str, Any] = ctx.settings
        return cls(
            max_estimated_share=float(raw.get("close_max_estimated_share", 0.2)),
            prefix=str(raw.get("statement_prefix") or "ST"),
            issuer=str(raw.get("statement_issuer") or "NxForge"),
            codes=AccountingCodes(account_code=str(raw.get("accounting_account_code") or "200"),
                                  tax_type=str(raw.get("accounting_tax_type") or "OUTPUT"),
                                  payment_days=int(raw.get("payment_terms_days") or 14)),
        )


def declared_clients(ctx: ModuleContext) -> tuple[dict[str, Any], str | None]:
    """Declared clients and their tariffs, and what is wrong with the endpoint YAML (None when nothing)."""
    try:
        return dict(load_endpoints(ctx.config_dir).clients), None
    except ConfigError as exc:
        return {}, str(exc)


def clients_of(ctx: ModuleContext) -> dict[str, Any]:
    """Declared clients and their tariffs; none (and a logged warning) while the YAML has problems."""
    clients, problem = declared_clients(ctx)
    if problem is not None:
        log.warning("endpoint YAML has problems; statements without client prices:\n%s", problem)
    return clients


@dataclass(frozen=True)
class PricedSource:
    """A line source that also carries the endpoint YAML's problems, so a close can refuse to freeze unpriced lines.

    Served statements of an open month still show (their lines unpriced, with a logged warning);
    ``statements.close_month`` reads ``config_problem`` and refuses.
    """

    lines: LineSource
    config_problem: str | None = None

    def __call__(self, month: str, at: datetime, client: str | None) -> pl.DataFrame:
        """The month's live statement lines."""
        return self.lines(month, at, client)


def source_for(ctx: ModuleContext, clients: dict[str, Any] | None = None) -> PricedSource:
    """Live statement lines from the billing query function, with this site's clients and settings."""
    from . import billing, billing_settings

    tz = MonitorSettings.from_context(ctx).timezone
    problem = None
    if clients is None:
        clients, problem = declared_clients(ctx)
        if problem is not None:
            log.warning("endpoint YAML has problems; statements without client prices:\n%s", problem)
    declared = clients
    config = billing_settings.BillingSettings.from_context(ctx)

    def source(month: str, at: datetime, client: str | None) -> pl.DataFrame:
        return billing.statement_lines(ctx.db, month, tz, at, clients=declared, settings=config, client=client)

    return PricedSource(source, problem)


def month_statements(ctx: ModuleContext, month: str, at: datetime, client: str | None = None
                     ) -> tuple[MonthState, list[Statement]]:
    """The month's statements as served at ``at`` (frozen when closed)."""
    settings = MonitorSettings.from_context(ctx)
    return served_statements(ctx.db, month, settings.timezone, at, source_for(ctx), client=client,
                             prefix=StatementSettings.from_context(ctx).prefix)


def file_name(month: str, fmt: str, statements: list[Statement], client: str | None) -> str:
    """``ST-202610-ACME.pdf`` for one statement, ``statements-2026-10.xlsx`` for several."""
    suffix = OUTPUTS[fmt][0]
    kind = {"accounting": "-accounting", "lines": "-lines", "dispute": "-dispute"}.get(fmt, "")
    if client is not None and len(statements) == 1:
        return f"{statements[0].number}{kind}.{suffix}"
    return f"statements-{month}{kind}.{suffix}"


def render(ctx: ModuleContext, statements: list[Statement], fmt: str, at: datetime) -> bytes:
    """The bytes of one output format for these statements (already served: nothing is recomputed)."""
    settings = StatementSettings.from_context(ctx)
    tz = MonitorSettings.from_context(ctx).timezone
    if fmt == "pdf":
        return statements_pdf(statements, site_name=settings.issuer, tz=tz)
    if fmt == "xlsx":
        return statements_xlsx(statements, tz)
    if fmt == "accounting":
        return accounting_csv(statements, settings.codes, at, tz)
    if fmt == "lines":
        return for_export(lines_of(statements), tz).write_csv().encode("utf-8")
    if fmt == "dispute":
        if len(statements) != 1:
            raise StatementError("a dispute pack is for one client", "name the client (--client NAME)")
        return dispute_pack(ctx.db, statements[0], site_name=settings.issuer, tz=tz)
    raise StatementError(f"unknown statement format {fmt!r}", f"use one of {', '.join(OUTPUTS)}")


def statement_output(ctx: ModuleContext, month: str, fmt: str, at: datetime, client: str | None = None
                     ) -> tuple[bytes, str, str]:
    """(bytes, file name, MIME type) of a month's statements in ``fmt``, served at ``at``."""
    _, statements = month_statements(ctx, month, at, client)
    if client is not None and not statements:
        raise StatementError(f"no statement for client {client!r} in {month}", "check the client's name")
    return render(ctx, statements, fmt, at), file_name(month, fmt, statements, client), OUTPUTS[fmt][1]
