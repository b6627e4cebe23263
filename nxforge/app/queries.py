"""The numbers the core pages show: plain functions of an engine returning Polars frames.

Pages never write SQL; these functions are what the tests call directly, on SQLite and PostgreSQL.
Times come back as UTC-aware datetimes; pages convert them to the site's time zone for display.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine, Select, func, select

from nxforge.db.schema import audit_log, events, executions

if TYPE_CHECKING:
    from nxforge.platform import Platform

UTC_TIME = pl.Datetime("us", "UTC")
FAILED_STATUSES = ("failed", "timeout", "abandoned")

EXECUTION_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "module": pl.String,
    "job": pl.String,
    "trigger": pl.String,
    "status": pl.String,
    "attempt": pl.Int64,
    "started_at": UTC_TIME,
    "finished_at": UTC_TIME,
    "duration_s": pl.Float64,
    "summary": pl.String,
    "error": pl.String,
    "host": pl.String,
}
EVENT_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "at": UTC_TIME,
    "module": pl.String,
    "kind": pl.String,
    "severity": pl.String,
    "message": pl.String,
    "data": pl.String,
}
AUDIT_SCHEMA: dict[str, Any] = {
    "at": UTC_TIME,
    "actor": pl.String,
    "action": pl.String,
    "target": pl.String,
    "detail": pl.String,
}


def _json_text(value: Any) -> str | None:
    """JSON columns as text: Polars has no good column type for free-form objects."""
    if value is None or value == {}:
        return None
    return json.dumps(value, sort_keys=True, default=str)


def _execution_rows(engine: Engine, query: Select[Any]) -> pl.DataFrame:
    rows = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            duration = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
            rows.append(
                (
                    row.id, row.module, row.job, row.trigger, row.status, row.attempt, row.started_at,
                    row.finished_at, duration, _json_text(row.summary), row.error, row.host,
                )
            )  # fmt: skip
    return pl.DataFrame(rows, schema=EXECUTION_SCHEMA, orient="row")


def _execution_columns() -> list[Any]:
    c = executions.c
    return [
        c.id,
        c.module,
        c.job,
        c.trigger,
        c.status,
        c.attempt,
        c.started_at,
        c.finished_at,
        c.summary,
        c.error,
        c.host,
    ]


def last_runs(engine: Engine) -> pl.DataFrame:
    """The latest execution of each (module, job), newest first: the collector's heartbeat."""
    latest = select(func.max(executions.c.id).label("id")).group_by(executions.c.module, executions.c.job).subquery()
    query = (
        select(*_execution_columns())
        .join(latest, latest.c.id == executions.c.id)
        .order_by(executions.c.started_at.desc())
    )
    return _execution_rows(engine, query)


def recent_failures(engine: Engine, since: datetime, limit: int = 20) -> pl.DataFrame:
    """Executions that failed, timed out or were abandoned since ``since``, newest first."""
    query = (
        select(*_execution_columns())
        .where(executions.c.status.in_(FAILED_STATUSES), executions.c.started_at >= since)
        .order_by(executions.c.started_at.desc(), executions.c.id.desc())
        .limit(limit)
    )
    return _execution_rows(engine, query)


def list_executions(
    engine: Engine,
    *,
    module: str | None = None,
    job: str | None = None,
    statuses: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> pl.DataFrame:
    """Executions matching the filters (``end`` exclusive), newest first, without their captured logs."""
    query = select(*_execution_columns())
    if module:
        query = query.where(executions.c.module == module)
    if job:
        query = query.where(executions.c.job == job)
    if statuses:
        query = query.where(executions.c.status.in_(list(statuses)))
    if start is not None:
        query = query.where(executions.c.started_at >= start)
    if end is not None:
        query = query.where(executions.c.started_at < end)
    query = query.order_by(executions.c.started_at.desc(), executions.c.id.desc()).limit(limit)
    return _execution_rows(engine, query)


def execution_log(engine: Engine, execution_id: int) -> str:
    """The log lines captured while one execution ran (empty when none)."""
    with engine.connect() as conn:
        value = conn.execute(select(executions.c.log).where(executions.c.id == execution_id)).scalar_one_or_none()
    return value or ""


def execution_filter_options(engine: Engine) -> dict[str, list[str]]:
    """The modules, jobs and statuses that occur, for the filter widgets."""
    options: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for column in (executions.c.module, executions.c.job, executions.c.status):
            options[column.name] = sorted(v for v in conn.execute(select(column).distinct()).scalars() if v)
    return options


def list_events(
    engine: Engine,
    *,
    module: str | None = None,
    kind: str | None = None,
    severities: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> pl.DataFrame:
    """Events matching the filters (``end`` exclusive), newest first."""
    c = events.c
    query = select(c.id, c.at, c.module, c.kind, c.severity, c.message, c.data)
    if module:
        query = query.where(c.module == module)
    if kind:
        query = query.where(c.kind == kind)
    if severities:
        query = query.where(c.severity.in_(list(severities)))
    if start is not None:
        query = query.where(c.at >= start)
    if end is not None:
        query = query.where(c.at < end)
    query = query.order_by(c.at.desc(), c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [(r.id, r.at, r.module, r.kind, r.severity, r.message, _json_text(r.data)) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema=EVENT_SCHEMA, orient="row")


def _distinct_values(engine: Engine, *columns: Any) -> dict[str, list[str]]:
    """Each column's distinct non-empty values, sorted, keyed by the column's name (for filter widgets)."""
    with engine.connect() as conn:
        return {column.name: sorted(v for v in conn.execute(select(column).distinct()).scalars() if v)
                for column in columns}


def event_filter_options(engine: Engine) -> dict[str, list[str]]:
    """The modules and kinds that occur, for the filter widgets."""
    return _distinct_values(engine, events.c.module, events.c.kind)


def audit_entries(engine: Engine, *, action_prefix: str = "", limit: int = 100) -> pl.DataFrame:
    """The latest audit rows, optionally only actions starting with ``action_prefix`` (``user.``)."""
    c = audit_log.c
    query = select(c.at, c.actor, c.action, c.target, c.detail)
    if action_prefix:
        query = query.where(c.action.startswith(action_prefix))
    query = query.order_by(c.at.desc(), c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [(r.at, r.actor, r.action, r.target, _json_text(r.detail)) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema=AUDIT_SCHEMA, orient="row")


AUDIT_LOG_SCHEMA: dict[str, Any] = {"id": pl.Int64, **AUDIT_SCHEMA}
DIFF_SCHEMA: dict[str, Any] = {"field": pl.String, "before": pl.String, "after": pl.String}


def list_audit(
    engine: Engine,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str = "",
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 500,
) -> pl.DataFrame:
    """Audit rows matching the filters (``target``: a part of it, any case; ``end`` exclusive), newest first."""
    c = audit_log.c
    query = select(c.id, c.at, c.actor, c.action, c.target, c.detail)
    if actor:
        query = query.where(c.actor == actor)
    if action:
        query = query.where(c.action == action)
    if target.strip():
        query = query.where(func.lower(c.target).contains(target.strip().lower(), autoescape=True))
    if start is not None:
        query = query.where(c.at >= start)
    if end is not None:
        query = query.where(c.at < end)
    query = query.order_by(c.at.desc(), c.id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = [(r.id, r.at, r.actor, r.action, r.target, _json_text(r.detail)) for r in conn.execute(query)]
    return pl.DataFrame(rows, schema=AUDIT_LOG_SCHEMA, orient="row")


def audit_filter_options(engine: Engine) -> dict[str, list[str]]:
    """The actors and actions that occur, for the filter widgets."""
    return _distinct_values(engine, audit_log.c.actor, audit_log.c.action)


def _cell(value: Any) -> str:
    """One value of a detail as plain text (lists and objects as JSON)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def audit_diff(detail: str | None) -> pl.DataFrame:
    """An audit row's detail as field, before, after: ``changed: {path: {from, to}}`` entries give both
    sides (a secret says only that it changed); every other key is a field with its value after."""
    data = json.loads(detail) if detail else {}
    if not isinstance(data, dict):
        data = {"detail": data}
    rows: list[tuple[str, str, str]] = []
    changed = data.pop("changed", None)
    if isinstance(changed, dict):
        for path, change in changed.items():
            if isinstance(change, dict) and set(change) <= {"from", "to"}:
                rows.append((str(path), _cell(change.get("from")), _cell(change.get("to"))))
            else:
                rows.append((str(path), "", _cell(change)))
    elif changed is not None:
        data["changed"] = changed
    rows.extend((str(key), "", _cell(value)) for key, value in sorted(data.items()))
    return pl.DataFrame(rows, schema=DIFF_SCHEMA, orient="row")


MODULE_SCHEMA: dict[str, Any] = {
    "name": pl.String,
    "display_name": pl.String,
    "version": pl.String,
    "status": pl.String,
    "pages": pl.Int64,
    "jobs": pl.Int64,
    "requires": pl.String,
    "error": pl.String,
}


def module_overview(platform: Platform) -> pl.DataFrame:
    """Every module on disk with its status (enabled, disabled, broken, failed) and what it brings."""
    from nxforge.module_admin.lifecycle import list_modules

    manifests = {info.name: info.manifest for info in platform.modules if info.manifest is not None}
    rows = []
    for status in list_modules(platform):
        manifest = manifests.get(status.name)
        rows.append(
            (
                status.name, status.display_name, status.version, status.status,
                len(manifest.pages) if manifest else 0, len(manifest.jobs) if manifest else 0,
                ", ".join(status.requires), status.error,
            )
        )  # fmt: skip
    return pl.DataFrame(rows, schema=MODULE_SCHEMA, orient="row")
