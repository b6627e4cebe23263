"""Process-wide resources for the app: one Platform (engine, modules) and one user store per environment.

``st.cache_resource`` keeps them across reruns and sessions; the cache key is the environment, so
tests that point ``NXFORGE_*`` elsewhere get their own platform. A change made outside the app
(``nxforge modules enable`` in a terminal, a module folder copied in) is picked up on the next
rerun by comparing file modification times.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import OperationalError

from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.environment import Environment
from nxforge.platform import Platform

log = logging.getLogger(__name__)

_signatures: dict[int, tuple[object, ...]] = {}
_signatures_lock = threading.Lock()


def _close_platform(platform: Platform) -> None:
    log.info("closing the app's platform (cache released)")
    platform.close()


@st.cache_resource(show_spinner=False, on_release=_close_platform)
def _platform_for(config_dir: str, data_dir: str, modules_dir: str, database_url: str | None) -> Platform:
    env = Environment(Path(config_dir), Path(data_dir), Path(modules_dir), database_url)
    log.info("app platform: config %s, data %s, modules %s", config_dir, data_dir, modules_dir)
    platform = Platform(env)
    _migrate(platform)
    return platform


def _migrate(platform: Platform) -> None:
    """A fresh database (or a module enabled in nxforge.yaml by hand) is migrated before a page uses it."""
    try:
        platform.migrate_enabled()
    except OperationalError as exc:
        log.error("database unreachable (%s): pages will say so", exc.orig)


@st.cache_resource(show_spinner=False)
def _store_for(users_path: str) -> UserStore:
    return UserStore(Path(users_path))


def _disk_signature(env: Environment) -> tuple[object, ...]:
    """What must change on disk for the module list or the enabled set to change."""
    parts: list[object] = []
    for path in [env.core_config_path, env.modules_dir]:
        parts.append(path.stat().st_mtime_ns if path.exists() else None)
    if env.modules_dir.is_dir():
        for manifest in sorted(env.modules_dir.glob("*/manifest.yaml")):
            parts.append((manifest.parent.name, manifest.stat().st_mtime_ns))
    return tuple(parts)


def get_platform() -> Platform:
    """The platform of the current environment, reloaded when its config or modules changed on disk."""
    env = Environment.from_environ()
    platform = _platform_for(str(env.config_dir), str(env.data_dir), str(env.modules_dir), env.database_url_override)
    signature = _disk_signature(platform.env)
    with _signatures_lock:
        previous = _signatures.get(id(platform))
        if previous is not None and previous != signature:
            log.info("config or modules changed on disk: reloading")
            platform.reload()
            _migrate(platform)
        _signatures[id(platform)] = signature
    return platform


def get_user_store(platform: Platform) -> UserStore:
    """The store of ``config/users.yaml`` for this platform's environment."""
    return _store_for(str(platform.env.config_dir / USERS_FILE))
