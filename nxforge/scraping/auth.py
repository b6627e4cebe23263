"""Login helpers shared by the engines: tokens, HTML login forms, the logged-in check."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urljoin

import httpx

from .config import FormAuth, LoggedInCheck, TokenAuth
from .context import RunContext
from .document import Document, find_json
from .errors import ScrapeFailure
from .http_client import HttpClients
from .http_status import CREDENTIALS_HINT, raise_for_status

log = logging.getLogger(__name__)

CSS_START = ("#", ".", "[", "input", "*")


def logged_in(document: Document, auth: FormAuth) -> bool:
    """The configured check, or by default: the page has no password input."""
    return check_matches(document, auth.logged_in) if auth.logged_in else not document.has("input[type=password]")


def check_matches(document: Document, check: LoggedInCheck) -> bool:
    """True when the page satisfies a selector/text/url check (http engine side)."""
    if check.url_contains:
        return check.url_contains in document.url
    if check.selector:
        return document.has(check.selector)
    return check.text is not None and check.text in document.visible_text(limit=100_000)


def login_refused(ctx: RunContext, url: str, page_text: str) -> ScrapeFailure:
    """``auth_failed`` quoting what the device said (wrong password, session busy ...)."""
    said = ctx.secrets.redact(" ".join(page_text.split())[:200])
    return ScrapeFailure(
        "auth_failed",
        f"login to {ctx.secrets.redact(url)} did not succeed; the page says: {said or '(nothing)'}",
        hint="check the username and the password secret; 'currently logged in' means another session "
        "is open (log off, or wait for it to expire)",
    )


def form_fields(
    page: Document, auth: FormAuth, username: str, password: str, ctx: RunContext
) -> tuple[str, str, dict[str, str]]:
    """(method, absolute action, fields) of the login form on ``page``, filled in."""
    tree = page.tree
    user_name = pass_name = None
    for form in tree.css("form"):
        user_name, pass_name = _field_name(form, auth.username_field), _field_name(form, auth.password_field)
        if user_name and pass_name:
            break
    else:
        form = None
    if form is None or not user_name or not pass_name:
        raise ScrapeFailure(
            "auth_failed",
            f"no login form with fields `{auth.username_field}` and `{auth.password_field}` on "
            f"{ctx.secrets.redact(page.url)}",
            hint="check login_url and the field names (http engine: the inputs' name attributes)",
        )
    fields: dict[str, str] = {}
    for field in form.css("input, select, textarea"):
        name = field.attributes.get("name")
        kind = (field.attributes.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "reset", "file"):
            continue
        if kind in ("checkbox", "radio") and "checked" not in field.attributes:
            continue
        fields[name] = field.attributes.get("value") or ""
    submit = form.css_first(auth.submit) if auth.submit and auth.submit.startswith(CSS_START) else None
    submit = submit or form.css_first("input[type=submit][name], button[type=submit][name]")
    if submit is not None and submit.attributes.get("name"):
        fields[submit.attributes["name"] or ""] = submit.attributes.get("value") or ""
    fields[user_name] = username
    fields[pass_name] = password
    fields.update({k: ctx.secrets.resolve(v) for k, v in auth.extra_fields.items()})
    method = (form.attributes.get("method") or "GET").upper()
    action = urljoin(page.url, form.attributes.get("action") or page.url)
    return method, action, fields


def _field_name(form: Any, field: str) -> str | None:
    """A field given as a name (``login_username``) or as a CSS selector (``#login_username``)."""
    if field.startswith(CSS_START) or " " in field:
        node = form.css_first(field)
        return node.attributes.get("name") if node is not None else None
    node = form.css_first(f'[name="{field}"]')
    return field if node is not None else None


def token_body(auth: TokenAuth, ctx: RunContext) -> Any:
    """The token request body with ``{{username}}``/``{{password}}`` and ``${NAME}`` filled in."""
    username = ctx.secrets.resolve(auth.username) if auth.username else ""
    password = ctx.secrets.resolve_secret(auth.password) if auth.password else ""

    def fill(data: Any) -> Any:
        if isinstance(data, str):
            return ctx.secrets.resolve(data).replace("{{username}}", username).replace("{{password}}", password)
        if isinstance(data, dict):
            return {key: fill(value) for key, value in data.items()}
        if isinstance(data, list):
            return [fill(value) for value in data]
        return data

    return fill(auth.token_body)


async def fetch_token(clients: HttpClients, client: httpx.AsyncClient, ctx: RunContext) -> str:
    """POST the credentials to ``token_url`` and read the token with ``token_path``."""
    auth = ctx.config.auth
    assert isinstance(auth, TokenAuth)
    url = urljoin(ctx.config.url, ctx.secrets.resolve(auth.token_url))
    response, document = await clients.fetch(client, ctx, "POST", url, json=token_body(auth, ctx))
    if response.status_code >= 500:
        raise_for_status(response.status_code, ctx.secrets.redact(str(response.url)), None)
    if response.status_code >= 400:
        raise ScrapeFailure(
            "auth_failed",
            f"the token request to {ctx.secrets.redact(url)} was refused (HTTP {response.status_code}): "
            f"{ctx.secrets.redact(document.text[:200])}",
            hint=CREDENTIALS_HINT,
        )
    try:
        found, token = find_json(document.json(), auth.token_path)
    except ScrapeFailure:
        found, token = False, None
    if not found or not isinstance(token, str | int) or not str(token):
        raise ScrapeFailure(
            "auth_failed", f"no token at `{auth.token_path}` in the answer from {ctx.secrets.redact(url)}",
            hint="check token_path against the device's answer",
        )
    log.debug("token obtained for %s", ctx.key)
    return str(token)
