"""Adding and removing whole endpoints in an endpoint file's text, the rest of the file kept as it was.

Adding appends the mapping to ``endpoints:`` through ruamel's round trip, which the editor already
trusts to write a file back unchanged. Removing cuts the endpoint's own lines out of the text:
ruamel attaches the comment above an endpoint to the end of the one before it, so deleting through
ruamel would lose the comment of the endpoint that follows; the cut is checked by parsing it again
and falls back to ruamel when it would not give the same data. Also here: the checks a new
endpoint's id and file name must pass, and which form field a validation problem belongs to.
Plain functions without Streamlit, which the tests call.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from nxforge.sdk import ConfigProblem

from ._endpoint_form import FIELDS
from ._endpoint_yaml import DraftError, YamlDocument, _dump, _yaml, to_plain

SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
FILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EMPTY_LIST = re.compile(r"^endpoints:\s*(\[\s*\])?(?P<note>\s+#.*)?\s*$")
NEW_FILE_HEADER = "# Endpoints created from the Endpoints page; edit here or in the app.\n"


# --- adding -----------------------------------------------------------------------------------------


def fresh_item(item: Any) -> Any:
    """A copy of an endpoint's mapping without its comments (a duplicate should not repeat the original's notes)."""
    if isinstance(item, dict):
        copy = CommentedMap()
        for key, value in item.items():
            copy[key] = fresh_item(value)
        return copy
    if isinstance(item, list):
        return CommentedSeq(fresh_item(value) for value in item)
    return item


def new_item(endpoint_id: str, base: Any = None) -> CommentedMap:
    """The mapping a new endpoint starts from: ``id`` first, then the base's keys (a duplicate's), if any."""
    item = CommentedMap()
    item["id"] = endpoint_id
    for key, value in (fresh_item(base) or {}).items():
        if key not in ("id", "client_history"):  # a new endpoint bills its current client from its first reading
            item[key] = value
    return item


def new_file_text(item: CommentedMap) -> str:
    """The text of a new endpoint file holding ``item``."""
    data = CommentedMap()
    data["endpoints"] = CommentedSeq([item])
    return NEW_FILE_HEADER + _dump(_yaml(), data)


def _dumped_under_endpoints(document: YamlDocument, item: CommentedMap) -> list[str]:
    """``item``'s lines as the file's indentation writes them in a top-level ``endpoints:`` list."""
    wrapper = CommentedMap()
    wrapper["endpoints"] = CommentedSeq([item])
    return _dump(_yaml(document.indent), wrapper).splitlines(keepends=True)[1:]


def _appended(document: YamlDocument, item: CommentedMap) -> str | None:
    """The text with ``item``'s lines inserted after the last endpoint's; None when the list is not in block style."""
    if not isinstance(document.data, CommentedMap):
        return None
    items = document.data.get("endpoints")
    lines = document.text.splitlines(keepends=True)
    if "endpoints" in document.data and not items:  # `endpoints:` or `endpoints: []`: the list starts below
        line, _ = document.data.lc.key("endpoints")
        empty = EMPTY_LIST.match(lines[line])
        if empty is None:
            return None
        head = f"endpoints:{empty.group('note') or ''}\n"
        return "".join([*lines[:line], head, *_dumped_under_endpoints(document, item), *lines[line + 1 :]])
    if not isinstance(items, CommentedSeq) or not items or items.fa.flow_style():
        return None
    span = _span(document, len(items) - 1)
    if span is None:
        return None
    end = span[1]
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    return "".join(lines[:end] + _dumped_under_endpoints(document, item) + lines[end:])


def with_new_item(document: YamlDocument, item: CommentedMap) -> str:
    """The file's text with ``item`` appended to ``endpoints:`` (created when absent); nothing else changes."""
    expected = to_plain(document.data) if isinstance(document.data, dict) else {}
    expected.setdefault("endpoints", [])
    if isinstance(expected["endpoints"], list):
        expected["endpoints"] = [*expected["endpoints"], to_plain(item)]
    inserted = _appended(document, item)
    if inserted is not None and _parses_to(inserted, expected):
        return inserted
    yaml = _yaml(document.indent)
    copy = yaml.load(document.text)
    if copy is None:  # only comments, or empty: keep them and start the list below
        prefix = document.text if not document.text or document.text.endswith("\n") else document.text + "\n"
        return prefix + "endpoints:\n" + "".join(_dumped_under_endpoints(document, item))
    if not isinstance(copy, CommentedMap):
        raise DraftError(f"{document.path.name} is not a mapping with `endpoints:`; choose another file.")
    items = copy.get("endpoints")
    if items is None:
        items = copy["endpoints"] = CommentedSeq()
    if not isinstance(items, CommentedSeq):
        raise DraftError(f"{document.path.name}: `endpoints:` is not a list; fix the file by hand first.")
    items.fa.set_block_style()
    items.append(item)
    return _dump(yaml, copy)


# --- removing ---------------------------------------------------------------------------------------


def _is_note(line: str) -> bool:
    """A blank or comment-only line: belongs to no endpoint for sure."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _span(document: YamlDocument, index: int) -> tuple[int, int] | None:
    """The lines [start, end) of endpoint ``index``, from its dash to its last line; None when not block style."""
    items = document.data["endpoints"]
    item = items[index]
    if items.fa.flow_style() or not isinstance(item, CommentedMap) or item.fa.flow_style():
        return None
    lines = document.text.splitlines(keepends=True)
    start = item.lc.line
    while start >= 0 and not lines[start].lstrip().startswith("-"):
        start -= 1  # the dash may sit alone on the line above the first key
    if start < 0:
        return None
    dash = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (_is_note(lines[end]) or len(lines[end]) - len(lines[end].lstrip()) > dash):
        end += 1
    while end > start + 1 and _is_note(lines[end - 1]):
        end -= 1  # notes after the endpoint's last line stay: they may introduce the next one
    return start, end


def _parses_to(text: str, expected: Any) -> bool:
    """Whether ``text`` reads back as ``expected`` (the check behind every cut and insertion)."""
    try:
        return bool(to_plain(_yaml().load(text)) == expected)
    except YAMLError:
        return False


def without_item(document: YamlDocument, endpoint_id: str) -> str:
    """The file's text without the endpoint; every other line (comments included) kept."""
    index = document.index_of(endpoint_id)
    if index is None:
        raise KeyError(endpoint_id)
    expected = to_plain(document.data)
    del expected["endpoints"][index]
    span = _span(document, index)
    if span is not None:
        lines = document.text.splitlines(keepends=True)
        cut = "".join(lines[: span[0]] + lines[span[1]:])
        if _parses_to(cut, expected):
            return cut
    copy = _yaml(document.indent).load(document.text)
    del copy["endpoints"][index]
    return _dump(_yaml(document.indent), copy)


# --- checks ----------------------------------------------------------------------------------------


def id_problem(endpoint_id: str, defined_at: dict[str, str], stored: dict[str, str]) -> str | None:
    """Why a new endpoint cannot take ``endpoint_id``: ``defined_at`` says where each YAML id is,
    ``stored`` what the database holds under ids no file defines (a retired endpoint's readings)."""
    if not endpoint_id:
        return "required: the stable key readings are stored under (e.g. room2-rack07-a)"
    if not SLUG.match(endpoint_id):
        return f"{endpoint_id!r} is not a slug: use lower-case letters, digits, '.', '_' or '-'"
    if endpoint_id in defined_at:
        return f"id {endpoint_id!r} is already used at {defined_at[endpoint_id]}: ids are unique across all files"
    if endpoint_id in stored:
        return (f"id {endpoint_id!r} belongs to {stored[endpoint_id]}, whose readings are kept under it: choose "
                "another id (to bring that endpoint back, put its YAML back into a file by hand)")
    return None


def new_file_path(folder: Path, name: str) -> tuple[Path | None, str | None]:
    """The path of a new endpoint file called ``name`` (``.yaml`` optional), or why it cannot be created."""
    stem = name.strip().removesuffix(".yaml")
    if not FILE_NAME.match(stem):
        return None, "a file name such as room-3 (lower-case letters, digits, '-' or '_'); .yaml is added"
    path = folder / f"{stem}.yaml"
    if path.exists():
        return None, f"{path.name} exists already: choose it in the list above, or another name"
    return path, None


def field_of(problem: ConfigProblem, index: int) -> str | None:
    """The create form's field a validation problem of endpoint ``index`` belongs to (None: the whole endpoint)."""
    prefix = f"endpoints.{index}."
    if not problem.field or not problem.field.startswith(prefix):
        return None
    parts = tuple(problem.field[len(prefix):].split("."))
    if parts[:1] == ("id",):
        return "id"
    for spec in sorted(FIELDS, key=lambda f: -len(f.path)):
        if parts[: len(spec.path)] == spec.path:
            return spec.key
    return None
