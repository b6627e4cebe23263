"""A fetched page (HTML or JSON) and the selector languages that read it without a browser.

CSS goes through selectolax's lexbor parser, JSONPath through jsonpath-ng, XPath through lxml
only when lxml is installed (it is not a dependency: the browser engine reads XPath natively).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from .config import ValueSpec, selector_kind
from .errors import ConfigFailure

log = logging.getLogger(__name__)

_NOT_FOUND = object()


@dataclass
class Document:
    """One response body, parsed lazily as HTML or JSON."""

    url: str
    text: str
    content_type: str = ""
    _tree: LexborHTMLParser | None = field(default=None, repr=False)
    _json: Any = field(default=_NOT_FOUND, repr=False)

    @property
    def is_json(self) -> bool:
        """True when the body is JSON (by content type, or by its first character)."""
        if "json" in self.content_type:
            return True
        return self.text.lstrip()[:1] in ("{", "[")

    @property
    def tree(self) -> LexborHTMLParser:
        """The parsed HTML tree."""
        if self._tree is None:
            self._tree = LexborHTMLParser(self.text)
        return self._tree

    def json(self) -> Any:
        """The parsed JSON body; a clear error when the body is not JSON."""
        if self._json is _NOT_FOUND:
            try:
                self._json = json.loads(self.text)
            except ValueError as exc:
                raise ConfigFailure(
                    f"a JSONPath selector needs a JSON response, but {self.url} answered "
                    f"{self.content_type or 'text'} that is not JSON ({exc})",
                    hint="navigate to the JSON URL the page's script calls, or use a CSS selector",
                ) from exc
        return self._json

    def find(self, spec: ValueSpec) -> tuple[bool, object]:
        """(found, text-or-JSON-value) for one value's selector."""
        kind = selector_kind(spec.selector)
        if kind == "jsonpath":
            return find_json(self.json(), spec.selector)
        if kind == "xpath":
            return self._find_xpath(spec)
        try:
            node = self.tree.css_first(spec.selector)
        except (SelectolaxError, ValueError) as exc:
            raise ConfigFailure(f"`{spec.selector}` is not a valid CSS selector: {exc}") from exc
        if node is None:
            return False, None
        return True, node_text(node, spec.attribute)

    def _find_xpath(self, spec: ValueSpec) -> tuple[bool, object]:
        try:
            import lxml.html
        except ImportError as exc:
            raise ConfigFailure(
                f"XPath selector `{spec.selector}` needs lxml with the http engine, and lxml is not installed",
                hint="use a CSS selector, use engine: browser, or install lxml",
            ) from exc
        expression = spec.selector.removeprefix("xpath=")
        found = lxml.html.fromstring(self.text).xpath(expression)
        if not found:
            return False, None
        first = found[0]
        if isinstance(first, str):
            return True, first
        if spec.attribute:
            return True, first.get(spec.attribute) or ""
        return True, first.text_content()

    def visible_text(self, limit: int = 300) -> str:
        """The start of the page's text, for messages (scripts and styles removed)."""
        if self.is_json:
            return self.text[:limit]
        body = self.tree.body
        if body is None:
            return ""
        clone = LexborHTMLParser(body.html or "")
        for node in clone.css("script, style, noscript, template"):
            node.decompose()
        return " ".join((clone.body.text(deep=True) if clone.body else "").split())[:limit]

    def has(self, selector: str) -> bool:
        """True when the CSS selector matches at least one element."""
        try:
            return self.tree.css_first(selector) is not None
        except (SelectolaxError, ValueError):
            return False


def node_text(node: LexborNode, attribute: str | None = None) -> str:
    """An element's text like the browser's textContent; form fields give their value."""
    if attribute:
        return node.attributes.get(attribute) or ""
    if node.tag in ("input", "textarea", "select"):
        if node.tag == "input":
            return node.attributes.get("value") or ""
        if node.tag == "select":
            chosen = node.css_first("option[selected]") or node.css_first("option")
            return chosen.text(deep=True) if chosen else ""
    return node.text(deep=True)


def find_json(data: Any, path: str) -> tuple[bool, object]:
    """First JSONPath match in ``data``."""
    from jsonpath_ng.ext import parse

    matches = parse(path).find(data)
    if not matches:
        return False, None
    return True, matches[0].value
