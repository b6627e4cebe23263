"""The Endpoints page's document model, without Streamlit: an endpoint file loaded for editing with
ruamel.yaml's round trip (comments, quotes, flow maps and indentation kept), one endpoint parsed
from the YAML editor, what changed between two versions, and excerpts with secrets masked.

Validation and writing stay the module's (``validate_text``, ``save_endpoints_file``); this file
only produces the candidate text they check. The form's fields live in ``_endpoint_form.py``.
Everything here is a plain function the tests call.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from nxforge.sdk import ConfigError, NxForgeError, is_reference, load_yaml

from ..config import SECRET_FIELDS

# (mapping, sequence, offset): the first that reproduces a file byte for byte is used to write it.
INDENT_CANDIDATES = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (2, 4, 0), (4, 2, 0), (4, 6, 4))
# Paths whose values never go into the audit log: secrets and what may carry one.
SENSITIVE_KEYS = frozenset({*SECRET_FIELDS, "token_body", "extra_fields", "steps"})
_SECRET_IN_LINE = re.compile(
    r"(?P<key>\b(?:" + "|".join(SECRET_FIELDS) + r")\s*:\s*)(?P<value>\"[^\"]*\"|'[^']*'|\$\{[^}]*\}|[^,}\s#]+)"
)


class DraftError(NxForgeError, ValueError):
    """The edited YAML cannot be used: it does not parse, or it is not this endpoint."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


# --- round trip -------------------------------------------------------------------------------------


def _yaml(indent: tuple[int, int, int] = (2, 4, 2)) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long URL or comment
    mapping, sequence, offset = indent
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    return yaml


def _dump(yaml: YAML, data: Any) -> str:
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@dataclass
class YamlDocument:
    """One endpoint file loaded for editing, with the indentation that writes it back unchanged."""

    path: Path
    text: str
    data: Any
    indent: tuple[int, int, int]

    @classmethod
    def load(cls, path: Path, text: str | None = None) -> YamlDocument:
        """Parse ``path`` (or ``text``); raises DraftError when it is not YAML."""
        source = _checked(path, path.read_bytes() if text is None else text)
        chosen = INDENT_CANDIDATES[0]
        for candidate in INDENT_CANDIDATES:
            try:
                yaml = _yaml(candidate)
                if _dump(yaml, yaml.load(source)) == source:
                    chosen = candidate
                    break
            except YAMLError as exc:
                error = _draft_error(f"{path.name} is not valid YAML", exc)
                raise DraftError(f"{error} (line {error.line})" if error.line else str(error), error.line) from exc
        return cls(path, source, _yaml(chosen).load(source), chosen)

    @property
    def digest(self) -> str:
        """A fingerprint of the text as loaded, to notice an edit made meanwhile by someone else."""
        return text_digest(self.text)

    def endpoints(self) -> list[Any]:
        """The ``endpoints:`` list (empty when absent or malformed)."""
        items = self.data.get("endpoints") if isinstance(self.data, dict) else None
        return list(items) if isinstance(items, list) else []

    def index_of(self, endpoint_id: str) -> int | None:
        """Where the endpoint sits in ``endpoints:``."""
        for index, item in enumerate(self.endpoints()):
            if isinstance(item, dict) and item.get("id") == endpoint_id:
                return index
        return None

    def item(self, endpoint_id: str) -> CommentedMap:
        """The endpoint's mapping (live: editing it edits the document)."""
        index = self.index_of(endpoint_id)
        if index is None:
            raise KeyError(endpoint_id)
        item = self.data["endpoints"][index]
        assert isinstance(item, CommentedMap)
        return item

    @staticmethod
    def dump_item(item: Any) -> str:
        """One mapping as YAML text (what the YAML view shows and edits)."""
        return _dump(_yaml(), item)

    def snippet(self, endpoint_id: str) -> str:
        """The endpoint alone as YAML, comments included: what the YAML view shows."""
        return _dump(_yaml(self.indent), self.item(endpoint_id))

    def with_item(self, endpoint_id: str, item: CommentedMap) -> str:
        """The whole file's text with the endpoint replaced by ``item`` (this document is not changed)."""
        copy = _yaml(self.indent).load(self.text)
        index = self.index_of(endpoint_id)
        if index is None:
            raise KeyError(endpoint_id)
        copy["endpoints"][index] = item
        return _dump(_yaml(self.indent), copy)


def text_digest(text: str) -> str:
    """sha256 of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _draft_error(prefix: str, exc: YAMLError) -> DraftError:
    line = None
    if isinstance(exc, MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or str(exc)
    else:
        problem = str(exc)
    return DraftError(f"{prefix}: {problem}", line)


def _checked(path: Path, text: str | bytes, label: str | None = None) -> str:
    """The text once the core's safe loader accepts it (ruamel alone expands alias bombs, lets a second key win).

    A refusal is a DraftError starting with ``label`` (the file's name unless given).
    """
    try:
        load_yaml(path, text)
    except ConfigError as exc:
        first = exc.problems[0]
        field = f"{first.field}: " if first.field else ""
        raise DraftError(f"{label or path.name}: {field}{first.message}", first.line) from None
    return text.decode("utf-8-sig") if isinstance(text, bytes) else text


def parse_snippet(text: str, endpoint_id: str) -> CommentedMap:
    """The YAML editor's text as an endpoint mapping; raises DraftError saying what is wrong and where."""
    _checked(Path("YAML"), text, label="The YAML does not parse")
    try:
        item = _yaml().load(text)
    except YAMLError as exc:
        raise _draft_error("The YAML does not parse", exc) from exc
    if not isinstance(item, CommentedMap):
        raise DraftError("The YAML must be one endpoint: a mapping starting with `id:`, `name:` ...", 1)
    if item.get("id") != endpoint_id:
        raise DraftError(
            f"`id` must stay {endpoint_id!r}: readings are stored under it. To rename an endpoint add a new one "
            "(and remove this one) in the file, then the old readings stay with the old id.",
            1,
        )
    return item


# --- what changed ----------------------------------------------------------------------------------


def to_plain(value: Any) -> Any:
    """ruamel's types as plain JSON-able Python (dates as ISO text)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | CommentedSeq):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            yield from _flatten(child, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


def changed_fields(before: Any, after: Any) -> dict[str, Any]:
    """``{field.path: {"from": old, "to": new}}`` for every leaf that differs; secrets only say "changed"."""
    old = dict(_flatten(to_plain(before)))
    new = dict(_flatten(to_plain(after)))
    changes: dict[str, Any] = {}
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        if SENSITIVE_KEYS & set(path.split(".")):
            changes[path] = "changed (value not recorded)"
        else:
            changes[path] = {"from": old.get(path), "to": new.get(path)}
    return changes


# --- showing text safely ---------------------------------------------------------------------------


def mask_secrets(line: str) -> str:
    """``line`` with any literal password or cookie value replaced by ``****`` (references stay)."""

    def hide(match: re.Match[str]) -> str:
        value = match.group("value").strip("'\"")
        return match.group(0) if is_reference(value) else f"{match.group('key')}****"

    return _SECRET_IN_LINE.sub(hide, line)


def excerpt(text: str, lines: Iterable[int], around: int = 2) -> str:
    """Numbered lines of ``text`` around each of ``lines`` (1-based), those lines marked with ``>``; secrets masked."""
    source = text.splitlines()
    marked = {line for line in lines if 1 <= line <= len(source)}
    shown: set[int] = set()
    for line in marked:
        shown.update(range(max(1, line - around), min(len(source), line + around) + 1))
    out: list[str] = []
    previous = 0
    width = len(str(max(shown, default=1)))
    for number in sorted(shown):
        if previous and number != previous + 1:
            out.append(" " * width + "   ...")
        flag = ">" if number in marked else " "
        out.append(f"{flag}{number:>{width}} | {mask_secrets(source[number - 1])}")
        previous = number
    return "\n".join(out)
