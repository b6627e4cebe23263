"""Sign-in and sign-out inside the Streamlit app: a signed, expiring cookie is the only credential.

A Streamlit session id is no credential: the browser sends it to reconnect, it appears in upload
URLs, and whoever presents it is handed that session's state. So session state grants nothing
here. Every rerun reads the ``nxforge_session`` cookie that came with *this* connection's
websocket request (``st.context.cookies``), checks its signature, expiry, revocation and password
fingerprint (``nxforge/auth/tokens.py``) and looks the user up again in ``users.yaml``, so a role
change or a removed user takes effect at the next click. A reload or a new tab sends the cookie
again; signing out revokes the token in the database, for every tab and process.

A resumed session whose state was made under another token (or none) starts empty, so a taken-over
session id carries no drafts either. Signing in checks the throttle first (``nxforge/auth/
throttle.py``: per user name and address, in the database), then the password; on success the page
sets the cookie (and the media cookies the proxy checks, ``nxforge/auth/proxy_cookies.py``) with a
small script and reloads, so the next websocket carries it. AppTest has no browser and no cookies: there, and only
there (its runtime is a stand-in that no client can reach), the user named in session state is
signed in; that is how the page tests sign in.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from collections.abc import Callable
from datetime import timedelta

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit import runtime
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nxforge.app.formatting import plain
from nxforge.app.resources import get_platform
from nxforge.auth.passwords import demo_mode, is_published_demo_password
from nxforge.auth.proxy_cookies import MEDIA_COOKIE, MEDIA_EXPIRES_COOKIE, media_cookies
from nxforge.auth.throttle import SignInThrottle
from nxforge.auth.tokens import COOKIE_NAME, DEFAULT_LIFETIME, SessionToken, SessionTokens, load_secret_key
from nxforge.auth.users import User, UserStore
from nxforge.durations import parse_duration
from nxforge.platform import Platform

log = logging.getLogger(__name__)

SESSION_USER = "nx_username"  # the user verified on this rerun (under AppTest: the signed-in user)
SESSION_VIA = "nx_login_via"
SESSION_TOKEN = "nx_session_token"  # the verified token of this rerun, revoked by sign-out
SESSION_OWNER = "nx_session_owner"  # the token id this session's state was made under
LIFETIME_ENV = "NXFORGE_SESSION_LIFETIME"  # how long a sign-in lasts, e.g. 12h (the default) or 30m
FORWARDED_ADDRESS_HEADER = "X-Real-Ip"  # set by the shipped nginx config (deploy/nginx)


def _under_app_test() -> bool:
    """True only in AppTest, whose runtime is a stand-in (no server, no browser, no cookies)."""
    return runtime.exists() and type(runtime.get_instance()) is not Runtime


def session_lifetime() -> timedelta:
    """How long a sign-in lasts: ``NXFORGE_SESSION_LIFETIME`` or 12 hours."""
    value = os.environ.get(LIFETIME_ENV, "").strip()
    return timedelta(seconds=parse_duration(value)) if value else DEFAULT_LIFETIME


def _tokens(platform: Platform) -> SessionTokens:
    return SessionTokens(load_secret_key(platform.env.data_dir), platform.engine, session_lifetime())


def _credential(store: UserStore, username: str) -> str | None:
    """What a token is bound to: the password hash, and whether this is the demo (its tokens end with it)."""
    record = store.load().users.get(username)
    password_hash = record.password_hash if record else None
    return f"{password_hash or ''}|demo" if demo_mode() else password_hash


def client_address() -> str:
    """The client's address: the TCP peer, or the proxy's X-Real-IP when the peer is this machine."""
    if _under_app_test():
        return "local"  # AppTest's stand-in runtime has no connection to take an address from
    address = st.context.ip_address  # None when the peer is 127.0.0.1 or ::1
    if address:
        return address
    forwarded = st.context.headers.get(FORWARDED_ADDRESS_HEADER)
    return forwarded.strip() if forwarded else "local"


def _cookie_script(cookies: dict[str, str], max_age_s: int, reload: bool) -> str:
    """A script that sets (or, with max age 0, clears) ``cookies`` for the whole site, then reloads if asked."""
    lines = [
        json.dumps(f"{name}={value}; Path=/; Max-Age={max_age_s}; SameSite=Strict") for name, value in cookies.items()
    ]
    sets = " ".join(f"document.cookie = {line} + secure;" for line in lines)
    then = "window.location.reload();" if reload else ""
    return (
        '<script>(() => { const secure = window.location.protocol === "https:" ? "; Secure" : "";'
        f" {sets} {then} }})();</script>"
    )


SIGNED_OUT_COOKIES = dict.fromkeys((COOKIE_NAME, MEDIA_COOKIE, MEDIA_EXPIRES_COOKIE), "")


def oidc_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section and authlib is installed (st.login needs it)."""
    if not st.secrets.load_if_toml_exists():
        return False
    auth = st.secrets.get("auth")
    return bool(auth) and importlib.util.find_spec("authlib") is not None


def _oidc_user(store: UserStore) -> User | None:
    """The users.yaml entry matching the OIDC identity (Streamlit's own signed cookie), after st.login."""
    if not st.user.is_logged_in:
        return None
    email = str(st.user.get("email") or "")
    user = store.by_email(email) if email else None
    if user is None:
        log.warning("OIDC identity %r has no entry in users.yaml", email)
    return user


def _cookie_sign_in(store: UserStore) -> tuple[User, SessionToken] | None:
    """The user and token whose valid cookie came with this connection's websocket request."""
    value = st.context.cookies.get(COOKIE_NAME)
    if not value:
        return None
    try:
        token = _tokens(get_platform()).verify(value, lambda name: _credential(store, name))
    except SQLAlchemyError as exc:
        log.error("cannot check the session cookie, the database is unreachable: %s", exc)
        return None  # fail closed: nobody is signed in while revocations cannot be read
    user = store.get(token.username) if token else None
    if token is not None and user is None:
        log.info("session of %r ended: the user is gone from users.yaml or disabled", token.username)
    return (user, token) if user is not None and token is not None else None


def _keep_state_to_its_owner(token: SessionToken | None) -> None:
    """Clear session state made under another sign-in (or none): presenting a session id takes over no drafts."""
    owner = token.token_id if token else None
    previous = st.session_state.get(SESSION_OWNER)
    if previous is not None and previous != owner:
        log.warning("a session made under another sign-in was resumed: its state is cleared")
        for key in list(st.session_state.keys()):
            del st.session_state[key]
    st.session_state[SESSION_OWNER] = owner
    st.session_state[SESSION_TOKEN] = token


def _fragment_rerun_allowed(store: UserStore) -> bool:
    """True when this connection's cookie is the one the session's state was made under."""
    signed_in = _cookie_sign_in(store)
    return signed_in is not None and signed_in[1].token_id == st.session_state.get(SESSION_OWNER)


def _guard_fragment_reruns(store: UserStore) -> None:
    """Make every stored fragment check the cookie before it runs again.

    A fragment rerun (``@st.fragment``, e.g. the Live page's ``run_every``) runs only the fragment,
    not this check in the app's frame; whoever presents the session id could ask for one. So the
    session's fragment storage hands out fragments that first check the cookie, and otherwise ask
    for a whole rerun (which shows the sign-in page).
    """
    context = get_script_run_ctx()
    storage = context.fragment_storage if context is not None else None
    if storage is None or getattr(storage, "_nxforge_guarded", False):
        return
    plain_lookup = storage.lookup

    def lookup(key: str) -> Callable[[], None]:
        fragment = plain_lookup(key)

        def checked() -> None:
            if _fragment_rerun_allowed(store):
                fragment()
                return
            log.warning("a fragment rerun without this session's sign-in was refused")
            st.rerun(scope="app")

        return checked

    storage.lookup = lookup  # type: ignore[method-assign]
    storage._nxforge_guarded = True  # type: ignore[attr-defined]


def current_user(store: UserStore) -> User | None:
    """The signed-in user of this rerun, re-read from ``users.yaml``; None when nobody is (or no longer) signed in."""
    if _under_app_test():
        username = st.session_state.get(SESSION_USER)
        user = store.get(str(username)) if username else None
        if username and user is None:
            st.session_state.pop(SESSION_USER, None)
        return user
    signed_in = _cookie_sign_in(store)
    _keep_state_to_its_owner(signed_in[1] if signed_in else None)
    _guard_fragment_reruns(store)
    user = signed_in[0] if signed_in else None
    if user is None and oidc_configured():
        user = _oidc_user(store)  # Streamlit checks its own signed OIDC cookie on every connection
        if user is not None:
            st.session_state[SESSION_VIA] = "oidc"
    if user is None:
        st.session_state.pop(SESSION_USER, None)
    else:
        st.session_state[SESSION_USER] = user.username
    return user


def logout() -> None:
    """Revoke this session's token (every tab holding it is signed out) and forget the user."""
    token: SessionToken | None = st.session_state.pop(SESSION_TOKEN, None)
    if token is not None:
        _tokens(get_platform()).revoke(token)
    via = st.session_state.pop(SESSION_VIA, None)
    st.session_state.pop(SESSION_USER, None)
    if via == "oidc":
        st.logout()


def _attempt(store: UserStore, platform: Platform, username: str, password: str) -> User | None:
    """One sign-in attempt through the throttle; shows why it was refused, returns the user when it was not."""
    address = client_address()
    throttle = SignInThrottle(platform.engine)
    wait = throttle.blocked_for(username, address)
    if wait is not None:
        seconds = max(1, round(wait.total_seconds()))
        log.warning("sign-in for %r from %s refused: throttled for %d s more", username, address, seconds)
        st.error(f"Too many failed sign-ins for this name or address: try again in {seconds} s.")
        return None
    user = store.authenticate(username, password)
    if user is None:
        failure = throttle.record_failure(username, address)
        log.warning(
            "failed sign-in for %r from %s (%d failures for the name, %d for the address%s)", username, address,
            failure.user_failures, failure.address_failures, ", locked" if failure.locked else "",
        )  # fmt: skip
        platform.events.emit(
            "core", "auth.locked" if failure.locked else "auth.sign_in_failed",
            f"failed sign-in for {username!r} from {address}" + (" (locked)" if failure.locked else ""), "warning",
            {"username": username[:200], "address": address, "user_failures": failure.user_failures,
             "address_failures": failure.address_failures},
        )  # fmt: skip
        st.error("Wrong username or password.")
        return None
    if is_published_demo_password(user.username, password) and not demo_mode():
        log.warning("sign-in for %r refused: the demo's published password outside `nxforge demo`", user.username)
        platform.events.emit(
            "core", "auth.demo_password_refused", f"{user.username!r} tried the demo's published password", "warning"
        )
        st.error(
            "This is the demo's published password: it only works under `nxforge demo`. "
            f"Ask an admin to set a real one: nxforge users passwd {user.username}"
        )
        return None
    throttle.record_success(user.username)
    return user


def _signed_in(store: UserStore, platform: Platform, user: User) -> None:
    """Hand the browser its cookie and reload (AppTest: remember the user and rerun)."""
    st.session_state[SESSION_VIA] = "password"
    log.info("%s signed in (%s) from %s", user.username, user.role, client_address())
    if _under_app_test():
        st.session_state[SESSION_USER] = user.username
        st.rerun()
    key = load_secret_key(platform.env.data_dir)
    tokens = SessionTokens(key, platform.engine, session_lifetime())
    value, token = tokens.issue(user.username, _credential(store, user.username))
    st.info("Signed in: opening NxForge…")
    cookies = {COOKIE_NAME: value, **media_cookies(key, token.expires_at)}  # the proxy serves media with the latter
    lifetime_s = int(tokens.lifetime.total_seconds())
    st.html(_cookie_script(cookies, lifetime_s, reload=True), unsafe_allow_javascript=True)
    log.debug("session token %s issued to %r until %s", token.token_id[:8], user.username, token.expires_at)


def render_login(store: UserStore, site_name: str) -> None:
    """The sign-in page: a password form, and a single-sign-on button when OIDC is configured."""
    platform = get_platform()
    st.title(plain(site_name))  # the site's name is config: text, not Markdown
    st.caption("Sign in to see live consumption, history and billing.")
    if not _under_app_test() and st.context.cookies.get(COOKIE_NAME):
        # Expired, revoked or forged: drop it so the next reload does not present it again.
        st.html(_cookie_script(SIGNED_OUT_COOKIES, 0, reload=False), unsafe_allow_javascript=True)
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
    if not submitted:
        return
    try:
        user = _attempt(store, platform, username, password)
    except SQLAlchemyError as exc:
        log.error("sign-in impossible, the database is unreachable: %s", exc)
        st.error("Signing in is not possible right now: the database cannot be reached.")
        return
    if user is not None:
        _signed_in(store, platform, user)
