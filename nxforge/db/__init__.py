"""Database access: one SQLAlchemy engine per process, SQLite by default, PostgreSQL in production."""

from nxforge.db.engine import create_db_engine, dialect_name
from nxforge.db.schema import audit_log, events, executions, metadata, module_migrations, modules_table

__all__ = [
    "audit_log",
    "create_db_engine",
    "dialect_name",
    "events",
    "executions",
    "metadata",
    "module_migrations",
    "modules_table",
]
