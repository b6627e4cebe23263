"""Query results cached per database for a few seconds, so reruns and many viewers cost one query.

``query(fn, engine, **filters)`` runs any query function through one ``st.cache_data`` entry
keyed by the function, the database and the filters; admin actions call ``clear_queries()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine

QUERY_TTL_S = 15
Result = TypeVar("Result")


def database_key(engine: Engine) -> str:
    """The engine's URL without its password: the part of the cache key that says which database."""
    return engine.url.render_as_string(hide_password=True)


@st.cache_data(ttl=QUERY_TTL_S, show_spinner=False, max_entries=500)
def _cached(_fn: Callable[..., Any], _engine: Engine, fn_name: str, database: str, filters: tuple[Any, ...]) -> Any:
    return _fn(_engine, **dict(filters))


def query(fn: Callable[..., Result], engine: Engine, **filters: Any) -> Result:
    """``fn(engine, **filters)``, cached for ``QUERY_TTL_S`` seconds."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    return _cached(fn, engine, name, database_key(engine), tuple(sorted(filters.items())))


def clear_queries() -> None:
    """Forget cached results after a change the next page must show."""
    _cached.clear()
