"""Login and logout inside the Streamlit app; the logged-in user lives in session state.

The session keeps only the username; the role is looked up again in ``users.yaml`` on every
rerun, so a role change or a removed user takes effect at the next click, not the next login.
"""

from __future__ import annotations

import importlib.util
import logging
import time

import streamlit as st

from nxforge.auth.users import User, UserStore

log = logging.getLogger(__name__)

SESSION_USER = "nx_username"
SESSION_VIA = "nx_login_via"
SESSION_FAILURES = "nx_login_failures"
SLOW_DOWN_AFTER = 3


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section and authlib is installed (st.login needs it)."""
    if not st.secrets.load_if_toml_exists():
        return False
    auth = st.secrets.get("auth")
    return bool(auth) and importlib.util.find_spec("authlib") is not None


def _oidc_user(store: UserStore) -> User | None:
    """The users.yaml entry matching the OIDC identity, when logged in through st.login."""
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    user = store.by_email(email) if email else None
    if user is None:
        log.warning("OIDC identity %r has no entry in users.yaml", email)
    return user


def current_user(store: UserStore) -> User | None:
    """The logged-in user, re-read from ``users.yaml``; None when nobody is (or no longer) logged in."""
    username = st.session_state.get(SESSION_USER)
    if username:
        user = store.get(str(username))
        if user is None:
            log.info("session of %r ended: the user is gone from users.yaml or disabled", username)
            st.session_state.pop(SESSION_USER, None)
        return user
    if oidc_configured():
        user = _oidc_user(store)
        if user is not None:
            st.session_state[SESSION_USER] = user.username
            st.session_state[SESSION_VIA] = "oidc"
        return user
    return None


def logout() -> None:
    """Forget the session's user (and end the OIDC session when that is how they came in)."""
    via = st.session_state.pop(SESSION_VIA, None)
    st.session_state.pop(SESSION_USER, None)
    if via == "oidc":
        st.logout()


def render_login(store: UserStore, site_name: str) -> None:
    """The login page: a password form, and a single-sign-on button when OIDC is configured."""
    st.title(site_name)
    st.caption("Sign in to see live consumption, history and billing.")
    if oidc_configured():
        if st.user.is_logged_in and _oidc_user(store) is None:
            st.error(f"{st.user.get('email')} is not a NxForge user yet: ask an admin to add you (with your e-mail).")
        if st.button("Sign in with single sign-on", type="primary", key="nx_oidc_login"):
            st.login()
        st.divider()
    if not store.users():
        st.warning(f"No users yet. Create the first admin with: nxforge users add NAME --role admin ({store.path})")
    with st.form("nx_login", clear_on_submit=False):
        username = st.text_input("Username", key="nx_login_username", autocomplete="username")
        password = st.text_input("Password", type="password", key="nx_login_password", autocomplete="current-password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        failures = int(st.session_state.get(SESSION_FAILURES, 0))
        if failures >= SLOW_DOWN_AFTER:
            time.sleep(min(failures - SLOW_DOWN_AFTER + 1, 5))  # slows down guessing from one session
        user = store.authenticate(username, password)
        if user is None:
            st.session_state[SESSION_FAILURES] = failures + 1
            st.error("Wrong username or password.")
            return
        st.session_state[SESSION_FAILURES] = 0
        st.session_state[SESSION_USER] = user.username
        st.session_state[SESSION_VIA] = "password"
        log.info("%s logged in (%s)", user.username, user.role)
        st.rerun()
