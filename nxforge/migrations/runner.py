"""Apply a module's pending numbered SQL files in order, all in one transaction, each recorded with a checksum.

All or none: when one statement of one file fails, every file of that attempt is rolled back and
the module's schema stays as it was. Both dialects allow it: PostgreSQL's DDL is transactional,
and so is SQLite's under the explicit ``BEGIN IMMEDIATE`` the engine issues (CREATE TABLE, INDEX,
TRIGGER and ALTER TABLE roll back; ``tests/core/test_enable_atomic.py`` checks it on both).

File names: ``001_tables.sql`` for every dialect, ``001_tables.postgresql.sql`` or
``001_tables.sqlite.sql`` where they differ (the dialect file wins), ``001_tables.down.sql``
(or ``001_tables.postgresql.down.sql``) to undo it on uninstall. The migration's name is the
stem without dialect, so the record reads the same on every database.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, insert, select

from nxforge.db.schema import metadata, module_migrations
from nxforge.db.types import utcnow
from nxforge.errors import NxForgeError
from nxforge.migrations.splitter import split_sql

log = logging.getLogger(__name__)

FILE_NAME = re.compile(r"^(?P<name>\d{3,}_[A-Za-z0-9_]+?)(?:\.(?P<dialect>sqlite|postgresql))?(?P<down>\.down)?\.sql$")


class MigrationError(NxForgeError):
    """A migration could not be applied or no longer matches what was applied."""


@dataclass(frozen=True)
class Migration:
    """One migration as it applies to one dialect."""

    module: str
    name: str
    up: Path
    down: Path | None

    @property
    def checksum(self) -> str:
        """SHA-256 of the file applied, so an edit after the fact is caught."""
        return hashlib.sha256(self.up.read_bytes()).hexdigest()


def discover_migrations(module: str, folder: Path, dialect: str) -> list[Migration]:
    """The module's migrations for ``dialect``, in number order."""
    if not folder.is_dir():
        return []
    ups: dict[str, dict[str | None, Path]] = {}
    downs: dict[str, dict[str | None, Path]] = {}
    for path in sorted(folder.iterdir()):
        match = FILE_NAME.match(path.name)
        if not match:
            if path.suffix == ".sql":
                raise MigrationError(f"{path}: migration files are named NNN_name[.dialect][.down].sql")
            continue
        target = downs if match["down"] else ups
        target.setdefault(match["name"], {})[match["dialect"]] = path
    migrations = []
    for name in sorted(ups):
        up = ups[name].get(dialect) or ups[name].get(None)
        if up is None:
            continue  # only written for another dialect
        down_files = downs.get(name, {})
        migrations.append(Migration(module, name, up, down_files.get(dialect) or down_files.get(None)))
    return migrations


def ensure_core_schema(engine: Engine) -> None:
    """Create the core tables of ``nxforge.db.schema`` if they are missing (idempotent)."""
    metadata.create_all(engine, checkfirst=True)


def applied_migrations(engine: Engine, module: str) -> dict[str, str]:
    """Name -> checksum of what has been applied for ``module``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(module_migrations.c.name, module_migrations.c.checksum).where(
                module_migrations.c.module == module
            )
        )
        return {row.name: row.checksum for row in rows}


def _run_statements(conn: Connection, path: Path, rolled_back: str) -> None:
    statements = split_sql(path.read_text(encoding="utf-8"))
    for number, statement in enumerate(statements, start=1):
        try:
            conn.exec_driver_sql(statement)
        except Exception as exc:
            first_line = statement.splitlines()[0][:120]
            raise MigrationError(
                f"{path.name}: statement {number} of {len(statements)} failed ({first_line}): "
                f"{getattr(exc, 'orig', exc)}; {rolled_back}"
            ) from exc


def _record(conn: Connection, migration: Migration) -> None:
    conn.execute(
        insert(module_migrations).values(
            module=migration.module, name=migration.name, checksum=migration.checksum, applied_at=utcnow()
        )
    )


def _run_file(engine: Engine, path: Path, record: Migration | None, forget: Migration | None) -> None:
    with engine.begin() as conn:
        _run_statements(conn, path, "the whole file was rolled back")
        if record is not None:
            _record(conn, record)
        if forget is not None:
            conn.execute(
                delete(module_migrations).where(
                    module_migrations.c.module == forget.module, module_migrations.c.name == forget.name
                )
            )


def migrate_module(engine: Engine, module: str, folder: Path) -> list[str]:
    """Apply what is pending for ``module``, all or none; return the names applied. Edited applied files: an error."""
    ensure_core_schema(engine)
    migrations = discover_migrations(module, folder, engine.dialect.name)
    applied = applied_migrations(engine, module)
    for migration in migrations:
        if migration.name in applied and applied[migration.name] != migration.checksum:
            raise MigrationError(
                f"{migration.up}: was edited after it was applied to this database; "
                "add a new numbered migration instead of changing an applied one"
            )
    pending = [migration for migration in migrations if migration.name not in applied]
    if not pending:
        return []
    names = ", ".join(migration.name for migration in pending)
    with engine.begin() as conn:
        for migration in pending:
            log.info("applying migration %s/%s", module, migration.name)
            _run_statements(conn, migration.up, f"nothing of this attempt was applied ({names} rolled back)")
            _record(conn, migration)
    return [migration.name for migration in pending]


def rollback_module(engine: Engine, module: str, folder: Path) -> list[str]:
    """Run the down files of every applied migration, newest first; return the names undone."""
    ensure_core_schema(engine)
    applied = applied_migrations(engine, module)
    known = {m.name: m for m in discover_migrations(module, folder, engine.dialect.name)}
    undone = []
    for name in sorted(applied, reverse=True):
        migration = known.get(name)
        if migration is None or migration.down is None:
            log.warning("migration %s/%s has no down file; its tables are left in place", module, name)
            with engine.begin() as conn:
                conn.execute(
                    delete(module_migrations).where(
                        module_migrations.c.module == module, module_migrations.c.name == name
                    )
                )
            continue
        _run_file(engine, migration.down, record=None, forget=migration)
        undone.append(name)
    return undone
