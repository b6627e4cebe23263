"""Engines tuned per dialect: SQLite in WAL with foreign keys and a busy timeout, PostgreSQL via psycopg 3."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the collector write while the app reads; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # Let SQLAlchemy's BEGIN reach SQLite so DDL is transactional too (pysqlite would autocommit it):
    # a migration that fails half-way must leave nothing behind.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then writes
    # fails at once with "database is locked" when another connection wrote in between, and the
    # busy timeout cannot help there. Waiting for the lock at BEGIN can.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created, a bare postgresql:// uses psycopg 3."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("psycopg2", ""):
        parsed = parsed.set(drivername="postgresql+psycopg")
    engine = create_engine(parsed, pool_pre_ping=True, **kwargs)
    if parsed.get_backend_name() == "postgresql" and "timezone" not in str(parsed.query.get("options", "")).lower():
        event.listen(engine, "connect", _postgres_utc)
    return engine


def _postgres_utc(dbapi_connection: Any, _record: Any) -> None:
    # Sessions in UTC, whatever the server's default: times are stored and compared in UTC, and psycopg
    # hands back `timezone.utc` datetimes (under a zone such as Etc/UTC or Europe/Paris it converts every
    # timestamp it loads through zoneinfo; the write path loads thousands per batch). A SET, not a
    # startup `options` parameter, which PgBouncer and RDS Proxy refuse; committed, or the pool's
    # rollback on return would undo it. A URL whose `options` set a time zone is left alone.
    cursor = dbapi_connection.cursor()
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()


def dialect_name(engine: Engine) -> str:
    """``sqlite`` or ``postgresql``: the suffix migration files use for dialect-specific SQL."""
    return engine.dialect.name
