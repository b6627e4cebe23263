"""The app's frame, run on every rerun: page config, login, the role's navigation, then the page.

``streamlit_app.py`` only calls :func:`main` with the core pages' folder beside it; everything a
rerun does is here, in order.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from nxforge.app.boundary import code_span, fenced
from nxforge.app.context import CorePageContext
from nxforge.app.flash import show_flashes
from nxforge.app.formatting import plain
from nxforge.app.navigation import build_pages, every_url_path, plan_navigation, render_entry
from nxforge.app.resources import get_platform, get_user_store
from nxforge.app.session import current_user, logout, render_login
from nxforge.auth.users import User, UserStore
from nxforge.config.errors import ConfigError
from nxforge.log_redaction import install_log_redaction
from nxforge.platform import Platform
from nxforge.secrets import MissingSecretError

log = logging.getLogger(__name__)


def _configure_logging() -> None:
    """Send NxForge's log lines (page tracebacks included) to the app's standard error, once."""
    logger = logging.getLogger("nxforge")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("NXFORGE_LOG_LEVEL", "INFO"))
    install_log_redaction()  # Streamlit's handlers and ours: no secret in any line


def _startup_error(title: str, detail: str, what_to_do: str) -> None:
    """The app's one message when it cannot run: ``detail`` quotes files and the database, so it is shown as code."""
    st.title("NxForge cannot start")
    st.error(f"**{title}**\n\n{fenced(detail)}\n\nWhat to do: {what_to_do}")


def _open_platform() -> Platform | None:
    """The cached platform, or None after showing why it cannot be opened."""
    try:
        return get_platform()
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        _startup_error(
            "The configuration is invalid.",
            str(exc),
            "fix the file and line named above; `nxforge config check` lists every problem.",
        )
    except MissingSecretError as exc:
        log.error("%s", exc)
        _startup_error(
            "A secret is missing.", str(exc), "set it in the environment or in config/secrets.yaml, then reload."
        )
    except SQLAlchemyError as exc:
        log.error("database unreachable: %s", exc)
        _startup_error(
            "The database cannot be reached.",
            str(getattr(exc, "orig", None) or exc),
            "check NXFORGE_DATABASE_URL (or database.url in nxforge.yaml) and that the server is up.",
        )
    return None


def _sidebar(user: User, platform: Platform) -> None:
    with st.sidebar:
        st.caption(plain(platform.core.site_name))
        st.markdown(f"**{plain(user.label)}** · {plain(user.role)}")
        if st.button("Sign out", key="nx_logout", icon=":material/logout:"):
            logout()
            st.rerun()


def _run_login(store: UserStore, platform: Platform) -> None:
    def login() -> None:
        render_login(store, platform.core.site_name)

    # Every page URL shows the login form, and after signing in the same URL opens the page itself
    # (or the default page when the role may not see it): a bookmark or a reload keeps its place.
    pages = [st.Page(login, title="Sign in", url_path="login", default=True)]
    pages += [st.Page(login, title="Sign in", url_path=url_path) for url_path in every_url_path(platform)]
    st.navigation(pages, position="hidden").run()


def main(pages_dir: Path) -> None:
    """One rerun of the app; ``pages_dir`` is the top-level ``core_pages/`` holding the core pages."""
    st.set_page_config(page_title="NxForge", page_icon="⚡", layout="wide")
    _configure_logging()
    platform = _open_platform()
    if platform is None:
        return
    store = get_user_store(platform)
    try:
        user = current_user(store)
    except ConfigError as exc:
        _startup_error("users.yaml is invalid.", str(exc), "fix the file (or recreate users with `nxforge users add`).")
        return
    if user is None:
        _run_login(store, platform)
        return
    plan = plan_navigation(platform, user.role)
    core_context = CorePageContext(platform, store, user)
    pages = build_pages(plan, lambda entry: render_entry(entry, platform, user.role, core_context, pages_dir))
    _sidebar(user, platform)
    current = st.navigation(pages, expanded=True)
    for problem in plan.problems:
        st.error(f"Navigation problem: {code_span(problem)}. Until it is fixed this page is left out of the menu.")
    show_flashes()
    current.run()

