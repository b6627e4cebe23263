"""Numbered SQL migrations per module, applied in order, one transaction each, tracked by checksum."""

from nxforge.migrations.runner import (
    Migration,
    MigrationError,
    applied_migrations,
    discover_migrations,
    migrate_module,
    rollback_module,
)
from nxforge.migrations.splitter import split_sql

__all__ = [
    "Migration",
    "MigrationError",
    "applied_migrations",
    "discover_migrations",
    "migrate_module",
    "rollback_module",
    "split_sql",
]
