"""PostgreSQL sessions run in UTC whatever the server's or the database's default zone, unless the URL sets one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from nxforge.db import create_db_engine
from tests.conftest import _drop_postgres_database, _fresh_postgres_database


@pytest.fixture
def paris_database(postgres_admin_url: str) -> Iterator[str]:
    """A database whose default zone is Europe/Paris, as a server set up in France has."""
    url, name = _fresh_postgres_database(postgres_admin_url)
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE \"{name}\" SET timezone = 'Europe/Paris'"))
    admin.dispose()
    yield url
    _drop_postgres_database(postgres_admin_url, name)


def test_a_session_is_in_utc_and_hands_back_utc_times(paris_database: str) -> None:
    engine = create_db_engine(paris_database)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW timezone")).scalar_one() == "UTC"
            # A calendar cast follows the session's zone: 23:30 UTC on 31 March is 1 April in Paris.
            at = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
            assert conn.execute(text("SELECT CAST(:at AS timestamptz)::date"), {"at": at}).scalar_one().day == 31
            back = conn.execute(text("SELECT CAST(:at AS timestamptz)"), {"at": at}).scalar_one()
        assert back == at and back.tzinfo is UTC
        with engine.connect() as conn:  # the same pooled connection again, after the pool's rollback
            assert conn.execute(text("SHOW timezone")).scalar_one() == "UTC"
    finally:
        engine.dispose()


def _shown(url: Any, *settings: str) -> list[str]:
    """What ``SHOW`` says of ``settings`` in a session of create_db_engine for ``url`` (a URL object)."""
    engine = create_db_engine(url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            return [conn.execute(text(f"SHOW {name}")).scalar_one() for name in settings]
    finally:
        engine.dispose()


def test_options_without_a_zone_keep_the_session_in_utc(paris_database: str) -> None:
    url = make_url(paris_database).update_query_dict({"options": "-c statement_timeout=60000"})
    assert _shown(url, "timezone", "statement_timeout") == ["UTC", "1min"]


def test_a_zone_in_the_url_options_is_kept(paris_database: str) -> None:
    url = make_url(paris_database).update_query_dict({"options": "-c TimeZone=Asia/Tokyo"})
    assert _shown(url, "timezone") == ["Asia/Tokyo"]


def test_without_it_the_database_default_would_apply(paris_database: str) -> None:
    """The check above can fail: a plain SQLAlchemy engine on the same database gets Paris."""
    engine = create_engine(make_url(paris_database).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW timezone")).scalar_one() == "Europe/Paris"
    finally:
        engine.dispose()
