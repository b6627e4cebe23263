"""The notification tables come from their own SQL migrations, applied by the platform like a module's."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, select

from nxforge.db.schema import module_migrations
from nxforge.notifications import MIGRATIONS_NAME
from nxforge.notifications.tables import metadata
from nxforge.platform import ensure_schema


def _shape(engine: Engine) -> dict[str, tuple[list[tuple[str, bool]], set[str]]]:
    inspector = inspect(engine)
    return {
        table: (
            [(column["name"], column["nullable"]) for column in inspector.get_columns(table)],
            {index["name"] for index in inspector.get_indexes(table) if index["name"]},
        )
        for table in metadata.tables
    }


def test_migrations_create_what_the_table_objects_describe(engine: Engine) -> None:
    ensure_schema(engine)
    shape = _shape(engine)
    for name, table in metadata.tables.items():
        columns, indexes = shape[name]
        assert columns == [(column.name, bool(column.nullable)) for column in table.columns]
        assert indexes == {index.name for index in table.indexes}
    with engine.connect() as conn:
        recorded = conn.execute(select(module_migrations.c.name).where(module_migrations.c.module == MIGRATIONS_NAME))
        assert [row.name for row in recorded] == ["001_tables"]


def test_a_database_made_before_the_migrations_keeps_its_tables(engine: Engine) -> None:
    metadata.create_all(engine)  # how earlier versions made them
    before = _shape(engine)
    ensure_schema(engine)
    ensure_schema(engine)
    assert _shape(engine) == before
