"""The JavaScript the browser engine runs inside pages, read once from ``js/*.js`` (package data).

Kept as ``.js`` files so an editor highlights and checks them; each starts with a comment saying
what it returns. Playwright evaluates a file's text as an expression: a function is called with
the argument given, anything else is returned as it is.
"""

from __future__ import annotations

from importlib.resources import files


def _program(name: str) -> str:
    """The text of ``js/<name>.js``."""
    return files("nxforge.scraping").joinpath("js", f"{name}.js").read_text(encoding="utf-8")


PAGE_SOURCE = _program("page_source")  # (max) -> the page's HTML (open shadow roots inside) or XML, cut at max
READ_VALUE = _program("read_value")  # ([selector, kind, attribute, unit_from]) -> [text, unit text], or null
ELEMENT_VALUE = _program("element_value")  # (element, unit_from) -> [an input's value or the text, unit text]
FILL_INPUTS = _program("fill_inputs")  # (fields) -> true when every input was filled in one round trip
LOGIN_FORM_BACK = _program("login_form_back")  # (selector) -> the empty password field is shown again
CLEAR_SECRET_INPUTS = _program("clear_secret_inputs")  # (secrets) -> nothing; empties secret inputs
BODY_TEXT = _program("body_text")  # the page's visible text
