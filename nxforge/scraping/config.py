"""The scrape config: pydantic models that other configs embed (endpoint YAML, the Test form).

Every model forbids unknown keys so a typo is an error with its field path, not a silently
ignored setting. Secrets stay ``${NAME}`` references here; the engine resolves them at the
last moment.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .counter_semantics import CounterSemantics
from .presets import UnknownPresetError, apply_preset, load_preset
from .protocol_config import (
    ModbusOptions,
    RedfishSessionAuth,
    SnmpCommunityAuth,
    SnmpOptions,
    SnmpV3Auth,
    normalize_oid,
    parse_register,
    reset_time_column,
)

USERINFO = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*@")


def refuse_userinfo(url: str | None) -> str | None:
    """Refuse ``scheme://user:password@host``: a password there would be stored, logged and shown with the URL.

    The message never repeats the URL (it holds the password); a ``${REF}`` there would be sent unresolved.
    """
    if url is not None and USERINFO.match(url.strip()):
        raise ValueError(
            "credentials in the URL (user:password@) are refused: they would be stored and shown with the URL; "
            "remove them and write auth: {type: basic, username: ..., password: ${METER_PASSWORD}} "
            "(or digest, form, token) with the password as a ${REFERENCE}"
        )
    return url


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoggedInCheck(_Model):
    """How to tell the login worked: an element, a text, or the URL; exactly one of them."""

    selector: str | None = None
    text: str | None = None
    url_contains: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> LoggedInCheck:
        given = [n for n in ("selector", "text", "url_contains") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError("give exactly one of selector, text, url_contains")
        return self


class NoAuth(_Model):
    """The page needs no login."""

    type: Literal["none"] = "none"


class BasicAuth(_Model):
    """HTTP basic authentication."""

    type: Literal["basic"]
    username: str
    password: str


class DigestAuth(_Model):
    """HTTP digest authentication."""

    type: Literal["digest"]
    username: str
    password: str


class FormAuth(_Model):
    """A login form; the session is kept and reused until the logged-in check fails."""

    type: Literal["form"]
    username: str
    password: str
    login_url: str | None = Field(None, description="relative to url; absent: the page url shows the form")
    username_field: str = Field(description="CSS selector (browser) or field name (http)")
    password_field: str
    submit: str | None = Field(None, description="CSS selector of the button; absent: press Enter")
    logged_in: LoggedInCheck | None = Field(
        None, description="absent: logged in when the page has no password input"
    )
    login_failed: LoggedInCheck | None = Field(
        None, description="browser: how a failed login shows (e.g. a text), to fail fast instead of waiting"
    )
    logout_url: str | None = Field(
        None, description="relative to the page the login lands on; given: log off after every scrape"
    )
    keep_session: bool = Field(True, description="reuse the session cookies next time (off with logout_url)")
    extra_fields: dict[str, str] = Field(default_factory=dict, description="http: more form fields to send")

    _no_userinfo = field_validator("login_url", "logout_url")(refuse_userinfo)


class CookieAuth(_Model):
    """A fixed session cookie (for devices where a person pastes one)."""

    type: Literal["cookie"]
    cookie_name: str
    cookie_value: str


class TokenAuth(_Model):
    """POST credentials to a token URL, read the token with JSONPath, send it as a header."""

    type: Literal["token"]
    token_url: str = Field(description="relative to url")
    username: str | None = Field(None, description='fills "{{username}}" in token_body')
    password: str | None = Field(None, description='fills "{{password}}" in token_body')
    token_body: dict[str, Any] = Field(default_factory=dict)
    token_path: str = "$.token"
    header: str = "Authorization"
    prefix: str = "Bearer "

    _no_userinfo = field_validator("token_url")(refuse_userinfo)

    @field_validator("token_path")
    @classmethod
    def _jsonpath(cls, path: str) -> str:
        _compile_jsonpath(path)
        return path


Auth = Annotated[
    NoAuth | BasicAuth | DigestAuth | FormAuth | CookieAuth | TokenAuth | RedfishSessionAuth | SnmpCommunityAuth
    | SnmpV3Auth, Field(discriminator="type"),
]


class NavigateStep(_Model):
    """Load a page; a relative url resolves against the current page, like a link."""

    action: Literal["navigate"]
    url: str
    timeout_s: float | None = Field(None, gt=0)

    _no_userinfo = field_validator("url")(refuse_userinfo)


class ClickStep(_Model):
    """Click an element (a tab, a menu entry)."""

    action: Literal["click"]
    selector: str
    timeout_s: float | None = Field(None, gt=0)


class TypeStep(_Model):
    """Type text into a field; the text may hold ``${NAME}`` references."""

    action: Literal["type"]
    selector: str
    text: str
    timeout_s: float | None = Field(None, gt=0)


class WaitStep(_Model):
    """Wait a fixed time, until an element or a text appears, or until an element contains a text."""

    action: Literal["wait"]
    ms: int | None = Field(None, ge=0, le=60_000)
    selector: str | None = None
    text: str | None = Field(None, description="with selector: wait until that element contains this text")
    timeout_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> WaitStep:
        if self.ms is not None and (self.selector is not None or self.text is not None):
            raise ValueError("give ms alone, or selector and/or text")
        if self.ms is None and self.selector is None and self.text is None:
            raise ValueError("give one of ms, selector, text (selector with text: the element contains the text)")
        return self


class SelectStep(_Model):
    """Choose an option of a <select> by value or by label."""

    action: Literal["select"]
    selector: str
    value: str | None = None
    label: str | None = None
    timeout_s: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> SelectStep:
        if (self.value is None) == (self.label is None):
            raise ValueError("give exactly one of value, label")
        return self


class FrameStep(_Model):
    """Later steps and values read inside this iframe."""

    action: Literal["frame"]
    selector: str
    timeout_s: float | None = Field(None, gt=0)


Step = Annotated[
    NavigateStep | ClickStep | TypeStep | WaitStep | SelectStep | FrameStep, Field(discriminator="action")
]


class ValueSpec(_Model):
    """Where one named value is on the page and how to turn its text into a number."""

    selector: str = Field(description='"$..." JSONPath, "//..." or "xpath=..." XPath, else CSS')
    regex: str | None = Field(None, description="group 1 (or `number`) = the number, group 2 (or `unit`)")
    unit: str | None = Field(None, description="declared unit; the text's own unit converts to it")
    scale: float = Field(1.0, description="multiplies after unit conversion, e.g. 0.1 for tenths")
    decimal: Literal[".", ","] | None = Field(None, description="the decimal mark when text is ambiguous")
    attribute: str | None = Field(None, description="read this attribute instead of the text")
    unit_from: str | None = Field(
        None, description='where the page writes the unit when the value\'s text has none: "@unit" an attribute '
        'of the element, "next" the text right after it (the next cell or span)')
    min: float | None = None
    max: float | None = None
    counter: CounterSemantics | None = Field(None, description="the register's unit, width, wrap and markers")

    @field_validator("regex")
    @classmethod
    def _regex(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        if compiled.groups == 0:
            raise ValueError("the regex needs a group around the number, e.g. '([\\d.,]+)\\s*kWh'")
        return pattern

    @field_validator("unit_from")
    @classmethod
    def _unit_from(cls, where: str | None) -> str | None:
        if where is not None and where != "next" and not re.fullmatch(r"@[A-Za-z_:][\w:.-]*", where):
            raise ValueError('give "@name" (an attribute of the element, e.g. "@unit") or "next" (the text after it)')
        return where

    @field_validator("selector")
    @classmethod
    def _selector(cls, selector: str) -> str:
        if not selector.strip():
            raise ValueError("empty selector")
        if selector.startswith("$"):
            _compile_jsonpath(selector)
        return selector

    @property
    def kind(self) -> Literal["jsonpath", "xpath", "css"]:
        """Which selector language ``selector`` is written in."""
        return selector_kind(self.selector)


class ScrapeConfig(_Model):
    """Everything needed to read named values from one endpoint's web page or JSON API."""

    preset: str | None = None
    url: str
    engine: Literal["browser", "http", "snmp", "modbus"] = "browser"
    verify_tls: bool = True
    timeout_s: float = Field(15.0, gt=0, le=600, description="the whole scrape (one attempt)")
    retries: int = Field(2, ge=0, le=10, description="transient failures only")
    backoff_s: float = Field(0.5, ge=0, le=60, description="first retry delay; doubles each time")
    auth: Auth = Field(default_factory=NoAuth)
    steps: list[Step] = Field(default_factory=list)
    values: dict[str, ValueSpec] = Field(min_length=1)
    device: str | None = Field(
        None, description="endpoints naming one device share its lock and, with session_limit, one login "
        "per run; default: the login page (form auth) or scheme://host:port")
    session_limit: int | None = Field(
        None, ge=1, le=16, description="scrapes the device takes at once (1: a card that allows one session; "
        "its endpoints are read one after another on one login, logged off after the last)")
    snmp: SnmpOptions | None = Field(None, description="engine snmp: get or walk (see protocol_config)")
    modbus: ModbusOptions | None = Field(None, description="engine modbus: unit id, register decoding")

    @model_validator(mode="before")
    @classmethod
    def _expand_preset(cls, data: Any) -> Any:
        return apply_preset(data) if isinstance(data, dict) else data

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                load_preset(name)
            except UnknownPresetError as exc:
                raise ValueError(str(exc)) from exc
        return name

    @field_validator("url")
    @classmethod
    def _absolute(cls, url: str) -> str:
        refuse_userinfo(url)
        if not re.match(r"^(?:https?|snmp|modbus)://[^/\s]+", url):
            raise ValueError("must be an absolute http:// or https:// URL (snmp:// or modbus:// for those engines)")
        return url

    @field_validator("steps")
    @classmethod
    def _http_steps(cls, steps: list[Step], info: ValidationInfo) -> list[Step]:
        if info.data.get("engine") == "http":
            for index, step in enumerate(steps):
                if step.action != "navigate":
                    raise ValueError(
                        f"steps[{index}]: action `{step.action}` needs engine: browser "
                        "(the http engine can only navigate)"
                    )
        return steps

    @model_validator(mode="after")
    def _protocol(self) -> ScrapeConfig:
        problem = protocol_problems(self)
        if problem:
            raise ValueError(problem)
        return self


def protocol_problems(config: ScrapeConfig) -> str | None:
    """What makes a config unusable for its engine (URL scheme, auth, steps, selectors), or None."""
    scheme = config.url.split("://", 1)[0].lower()
    protocol = config.engine if config.engine in ("snmp", "modbus") else None
    if protocol is None:
        if scheme not in ("http", "https"):
            return f"url {config.url!r} is for engine {scheme}; set engine: {scheme} or use an http(s):// URL"
        if config.auth.type.startswith("snmp_"):
            return f"auth type {config.auth.type} needs engine: snmp"
        if config.auth.type == "redfish_session" and config.engine != "http":
            return "auth type redfish_session needs engine: http (Redfish is JSON over HTTPS)"
        if config.snmp is not None or config.modbus is not None:
            return "the snmp and modbus sections need engine: snmp or engine: modbus"
        return None
    if scheme != protocol:
        return f"engine {protocol} reads a {protocol}:// URL (e.g. {protocol}://10.0.0.5), not {config.url!r}"
    if config.steps:
        return f"engine {protocol} has no steps (it reads values directly)"
    other = "modbus" if protocol == "snmp" else "snmp"
    if getattr(config, other) is not None:
        return f"a `{other}:` section does not apply to engine {protocol}"
    if protocol == "snmp" and not config.auth.type.startswith("snmp_"):
        return "engine snmp needs auth type snmp_community (v1/v2c) or snmp_v3"
    if protocol == "modbus" and config.auth.type != "none":
        return "Modbus TCP has no authentication: remove auth"
    root = config.snmp.walk_root if config.snmp is not None and config.snmp.mode == "walk" else None
    for name, spec in config.values.items():
        reset_time = spec.counter.reset_time if spec.counter is not None else None
        try:
            if protocol == "snmp":
                oid = normalize_oid(spec.selector)
                if root is not None and not (oid + ".").startswith(normalize_oid(root) + "."):
                    return f"values.{name}.selector: OID {oid} is not under walk_root {root} (a walk reads its table)"
                reset_oid = normalize_oid(reset_time) if reset_time else None
                if reset_oid and root is not None:  # in the walked table, or in a column walked beside it
                    reset_time_column(normalize_oid(root), oid, reset_oid)
            else:
                parse_register(spec.selector)
        except ValueError as exc:
            return f"values.{name}: {exc}"
        if spec.regex or spec.attribute or spec.decimal or spec.unit_from:
            return f"values.{name}: regex, attribute, unit_from and decimal are for web pages, not engine {protocol}"
        if reset_time is not None and protocol == "modbus":
            return f"values.{name}: counter.reset_time is read from a document or an OID, not engine modbus"
    return None


def selector_kind(selector: str) -> Literal["jsonpath", "xpath", "css"]:
    """JSONPath for ``$...``, XPath for ``//...``, ``(//...)`` or ``xpath=...``, CSS otherwise."""
    if selector.startswith("$"):
        return "jsonpath"
    if selector.startswith(("//", "xpath=", "(//", "./")):
        return "xpath"
    return "css"


def _compile_jsonpath(path: str) -> Any:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext import parse

    try:
        return parse(path)
    except (JsonPathLexerError, JsonPathParserError, Exception) as exc:
        raise ValueError(f"not a valid JSONPath: {exc}") from exc
