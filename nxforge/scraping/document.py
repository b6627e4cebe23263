"""A fetched page (HTML, XML or JSON) and the selector languages that read it without a browser.

CSS goes through selectolax's lexbor parser, JSONPath through jsonpath-ng, XPath through lxml
(HTML with lxml.html; XML with a parser that resolves no entities and fetches nothing, its
namespaces dropped so that ``//energy`` finds ``<energy>`` in a document with ``xmlns=...``, as a
newcomer expects). A CSS selector that matches nothing in the page looks inside its declarative
shadow roots (``<template shadowrootmode="open">``), as the browser engine looks inside open
shadow roots, and the evidence of a browser page writes them in that form.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml import html as lxml_html
from selectolax.lexbor import LexborHTMLParser, LexborNode, SelectolaxError

from .config import ValueSpec, selector_kind
from .errors import ConfigFailure

log = logging.getLogger(__name__)

_NOT_FOUND = object()
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SHADOW_TEMPLATE = re.compile(r"^<template\b[^>]*>(.*)</template>$", re.DOTALL)
SHADOW_TEMPLATE_CSS = 'template[shadowrootmode="open"]'


@dataclass
class Document:
    """One response body, parsed lazily as HTML or JSON."""

    url: str
    text: str
    content_type: str = ""
    _tree: LexborHTMLParser | None = field(default=None, repr=False)
    _json: Any = field(default=_NOT_FOUND, repr=False)
    _shadow_roots: list[LexborHTMLParser] | None = field(default=None, repr=False)
    _lxml_root: Any = field(default=None, repr=False)

    @property
    def is_json(self) -> bool:
        """True when the body is JSON (by content type, or by its first character)."""
        if "json" in self.content_type:
            return True
        return self.text.lstrip()[:1] in ("{", "[")

    @property
    def is_xml(self) -> bool:
        """True for an XML document (by content type, or an XML declaration on a page that is not HTML)."""
        kind = self.content_type.lower()
        if "html" in kind:
            return False
        if "xml" in kind:
            return True
        return self.text.lstrip().startswith("<?xml") and "<html" not in self.text[:2000].lower()

    @property
    def tree(self) -> LexborHTMLParser:
        """The parsed HTML tree."""
        if self._tree is None:
            self._tree = LexborHTMLParser(self.text)
        return self._tree

    @property
    def shadow_roots(self) -> list[LexborHTMLParser]:
        """Each declarative open shadow root of the page (nested ones too), parsed on its own."""
        if self._shadow_roots is None:
            self._shadow_roots = shadow_roots_of(self.tree)
        return self._shadow_roots

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
        found, content, _ = self.find_with_unit(spec)
        return found, content

    def find_with_unit(self, spec: ValueSpec) -> tuple[bool, object, str | None]:
        """(found, text-or-JSON-value, the text ``unit_from`` points at) for one value's selector."""
        kind = selector_kind(spec.selector)
        if kind == "jsonpath":
            found, value = find_json(self.json(), spec.selector)
            return found, value, None
        if kind == "xpath":
            return self._find_xpath(spec)
        node = self._css_first(spec.selector)
        if node is None:
            return False, None, None
        return True, node_text(node, spec.attribute), lexbor_unit_text(node, spec.unit_from)

    def _css_first(self, selector: str) -> LexborNode | None:
        """The first match in the page, else in its shadow roots (in document order)."""
        try:
            node = self.tree.css_first(selector)
            if node is None and "<template" in self.text:
                for root in self.shadow_roots:
                    node = root.css_first(selector)
                    if node is not None:
                        break
        except (SelectolaxError, ValueError) as exc:
            raise ConfigFailure(f"`{selector}` is not a valid CSS selector: {exc}") from exc
        return node

    @property
    def lxml_root(self) -> Any:
        """The page as an lxml tree: XML without namespaces, or HTML (shadow templates as plain children)."""
        if self._lxml_root is None:
            self._lxml_root = parse_xml(self.text) if self.is_xml else lxml_html.fromstring(
                _XML_DECLARATION.sub("", self.text) or "<html></html>")
        return self._lxml_root

    def _find_xpath(self, spec: ValueSpec) -> tuple[bool, object, str | None]:
        expression = spec.selector.removeprefix("xpath=")
        try:
            found = self.lxml_root.xpath(expression)
        except etree.XPathError as exc:
            raise ConfigFailure(f"`{expression}` is not a valid XPath expression: {exc}",
                                hint="e.g. //td[@id='energy'] or //energy/text()") from exc
        except (etree.ParserError, ValueError) as exc:
            raise ConfigFailure(f"{self.url} could not be parsed for XPath: {exc}") from exc
        if isinstance(found, bool):
            raise ConfigFailure(f"XPath `{expression}` is a test (true/false), not a place on the page",
                                hint="point it at an element, e.g. //energy")
        if isinstance(found, float | str):
            return True, found if isinstance(found, str) else repr(found), None
        if not found:
            return False, None, None
        first = found[0]
        if not isinstance(first, etree._Element):
            return True, str(first), None
        if spec.attribute:
            return True, first.get(spec.attribute) or "", lxml_unit_text(first, spec.unit_from)
        return True, "".join(first.itertext()), lxml_unit_text(first, spec.unit_from)

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
        """True when the CSS selector matches at least one element (shadow roots included)."""
        try:
            return self._css_first(selector) is not None
        except ConfigFailure:
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


def lexbor_unit_text(node: LexborNode, unit_from: str | None) -> str | None:
    """The text ``unit_from`` names beside an HTML element: ``@name`` an attribute, ``next`` the text after it."""
    if unit_from is None:
        return None
    if unit_from.startswith("@"):
        return node.attributes.get(unit_from[1:])
    sibling = node.next
    while sibling is not None:
        text = sibling.text(deep=True).strip()
        if text:
            return text
        sibling = sibling.next
    return None


def lxml_unit_text(element: Any, unit_from: str | None) -> str | None:
    """``lexbor_unit_text`` for an lxml element (XML documents, XPath on HTML)."""
    if unit_from is None:
        return None
    if unit_from.startswith("@"):
        value = element.get(unit_from[1:])
        return str(value) if value is not None else None
    if element.tail and element.tail.strip():
        return str(element.tail).strip()
    sibling = element.getnext()
    while sibling is not None:
        text = "".join(sibling.itertext()).strip() + " " + (sibling.tail or "").strip()
        if text.strip():
            return text.strip()
        sibling = sibling.getnext()
    return None


def shadow_roots_of(tree: LexborHTMLParser) -> list[LexborHTMLParser]:
    """Declarative open shadow roots of a parsed page, each parsed on its own, nested ones after their host's."""
    roots: list[LexborHTMLParser] = []
    for template in tree.css(SHADOW_TEMPLATE_CSS):
        match = _SHADOW_TEMPLATE.match(template.html or "")
        if match is None:
            continue
        inner = LexborHTMLParser(match.group(1))
        roots.append(inner)
        roots.extend(shadow_roots_of(inner))
    return roots


def parse_xml(text: str) -> Any:
    """An XML document with its namespaces dropped; entities stay unresolved and nothing is fetched."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    root = etree.fromstring(_XML_DECLARATION.sub("", text).strip().encode("utf-8"), parser)
    if root is None:
        raise ValueError("no XML element in the document")
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = etree.QName(element).localname
    etree.cleanup_namespaces(root)
    return root


def find_json(data: Any, path: str) -> tuple[bool, object]:
    """First JSONPath match in ``data``."""
    from jsonpath_ng.ext import parse

    matches = parse(path).find(data)
    if not matches:
        return False, None
    return True, matches[0].value
