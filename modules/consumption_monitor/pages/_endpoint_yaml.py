"""The Endpoints page's YAML work, without Streamlit: find an endpoint in its file, edit it with
ruamel.yaml's round trip (comments, quotes, flow maps and indentation kept), describe what changed.

Validation and writing stay the module's (``validate_text``, ``save_endpoints_file``); this file
only produces the candidate text they check. Everything here is a plain function the tests call.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from nxforge.sdk import ConfigError, UnknownPresetError, is_reference, list_presets, load_preset, load_yaml

from ..config import SECRET_FIELDS
from ..readings import ENERGY_VALUE

Kind = Literal["text", "select", "number", "bool", "secret"]
# (mapping, sequence, offset): the first that reproduces a file byte for byte is used to write it.
INDENT_CANDIDATES = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 4, 0), (2, 4, 0), (4, 2, 0), (4, 6, 4))
# Paths whose values never go into the audit log: secrets and what may carry one.
SENSITIVE_KEYS = frozenset({*SECRET_FIELDS, "token_body", "extra_fields", "steps"})
_SECRET_IN_LINE = re.compile(
    r"(?P<key>\b(?:" + "|".join(SECRET_FIELDS) + r")\s*:\s*)(?P<value>\"[^\"]*\"|'[^']*'|\$\{[^}]*\}|[^,}\s#]+)"
)


class DraftError(ValueError):
    """The edited YAML cannot be used: it does not parse, or it is not this endpoint."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class FormField:
    """One input of the endpoint form and where its value lives in the endpoint's YAML."""

    key: str
    path: tuple[str, ...]
    label: str
    kind: Kind = "text"
    required: bool = False
    options: tuple[str, ...] = ()
    default: Any = None
    """The value an absent key means (``enabled`` is true unless it says otherwise)."""
    help: str | None = None


VALUE_PATH = ("scrape", "values", ENERGY_VALUE)
AUTH_TYPES = ("none", "basic", "digest", "form", "cookie", "token")

FIELDS: tuple[FormField, ...] = (
    FormField("name", ("name",), "Name", required=True),
    FormField("client", ("client",), "Client", required=True,
              help="The client billed from now on; with client_history, also change its last entry (YAML view)."),
    FormField("location", ("location",), "Location"),
    FormField("feed", ("feed",), "Feed", "select", options=("", "A", "B")),
    FormField("poll_interval", ("poll_interval",), "Poll interval", help="15m, 1h, 30s; empty = module default"),
    FormField("circuit_max_kw", ("circuit_max_kw",), "Circuit rating (kW)", "number",
              help="A jump implying more power than this is flagged and left out of billing; empty = no check"),
    FormField("enabled", ("enabled",), "Enabled (read by the collector)", "bool", default=True),
    FormField("preset", ("scrape", "preset"), "Vendor preset", "select", options=("", *list_presets())),
    FormField("url", ("scrape", "url"), "URL", required=True),
    FormField("engine", ("scrape", "engine"), "Engine", "select", options=("", "http", "browser"),
              help="http: plain pages and JSON (fast); browser: pages that need JavaScript, tabs or frames"),
    FormField("auth_type", ("scrape", "auth", "type"), "Login type", "select", options=("", *AUTH_TYPES)),
    FormField("username", ("scrape", "auth", "username"), "Login username"),
    FormField("password", ("scrape", "auth", "password"), "Password reference", "secret",
              help="A ${NAME} reference only; the password itself goes in the environment or config/secrets.yaml."),
    FormField("selector", (*VALUE_PATH, "selector"), f"{ENERGY_VALUE}: selector",
              help='CSS, "//..." XPath or "$..." JSONPath of the energy counter'),
    FormField("regex", (*VALUE_PATH, "regex"), f"{ENERGY_VALUE}: regex", help="group 1 = the number; empty = none"),
    FormField("unit", (*VALUE_PATH, "unit"), f"{ENERGY_VALUE}: unit", help="kWh, Wh or MWh; converted to kWh"),
)
FIELDS_BY_KEY = {field.key: field for field in FIELDS}


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


def _checked(path: Path, text: str | bytes) -> str:
    """The text once the core's safe loader accepts it (ruamel alone expands alias bombs, lets a second key win)."""
    try:
        load_yaml(path, text)
    except ConfigError as exc:
        first = exc.problems[0]
        field = f"{first.field}: " if first.field else ""
        raise DraftError(f"{path.name}: {field}{first.message}", first.line) from None
    return text.decode("utf-8-sig") if isinstance(text, bytes) else text


def parse_snippet(text: str, endpoint_id: str) -> CommentedMap:
    """The YAML editor's text as an endpoint mapping; raises DraftError saying what is wrong and where."""
    _checked(Path("YAML"), text)
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


# --- form <-> mapping ------------------------------------------------------------------------------


def get_path(data: Any, path: Iterable[str]) -> Any:
    """The value at ``path``, None when any part is missing."""
    current = data
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def _set_path(data: CommentedMap, path: tuple[str, ...], value: Any) -> None:
    current: Any = data
    for part in path[:-1]:
        child = current.get(part)
        if not isinstance(child, dict):
            child = CommentedMap()
            _insert(current, part, child)
        current = child
    _insert(current, path[-1], value)


def _insert(mapping: CommentedMap, key: str, value: Any) -> None:
    """Set ``key``; a new top-level key goes before ``scrape:`` so the file reads in the usual order."""
    if key in mapping or "scrape" not in mapping or key == "scrape":
        mapping[key] = value
    else:
        mapping.insert(list(mapping).index("scrape"), key, value)


def _delete_path(data: CommentedMap, path: tuple[str, ...]) -> None:
    parents: list[tuple[CommentedMap, str]] = []
    current: Any = data
    for part in path[:-1]:
        child = current.get(part)
        if not isinstance(child, dict):
            return
        parents.append((current, part))
        current = child
    current.pop(path[-1], None)
    for parent, part in reversed(parents):  # drop maps left empty (never scrape itself)
        if part != "scrape" and isinstance(parent.get(part), dict) and not parent[part]:
            parent.pop(part)


def form_values(item: Any) -> dict[str, Any]:
    """The form's initial values from an endpoint mapping."""
    values: dict[str, Any] = {}
    for field in FIELDS:
        raw = get_path(item, field.path)
        if field.kind == "bool":
            values[field.key] = field.default if raw is None else bool(raw)
        else:
            values[field.key] = "" if raw is None else str(raw)
    return values


def _normalised(field: FormField, value: Any) -> Any:
    if field.kind == "bool":
        return bool(value)
    text = str(value if value is not None else "").strip()
    if not text:
        return "" if field.required else None
    if field.kind == "number":
        number = float(text.replace(",", "."))
        return int(number) if number.is_integer() else number
    return text


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new or (isinstance(old, bool) and isinstance(new, bool) and old == new)
    if isinstance(old, int | float) and isinstance(new, int | float):
        return float(old) == float(new)
    if old is None or new is None:
        return old is None and new is None
    return str(old) == str(new)


def apply_form(item: CommentedMap, values: dict[str, Any]) -> CommentedMap:
    """``item`` with the form's values written in (in place); unchanged fields are left exactly as they were."""
    for field in FIELDS:
        if field.key not in values:
            continue
        new = _normalised(field, values[field.key])
        old = get_path(item, field.path)
        effective_old = field.default if old is None else old
        if _same(effective_old, new):
            continue
        if new is None or (field.default is not None and _same(new, field.default) and old is None):
            _delete_path(item, field.path)
            continue
        if isinstance(old, str) and type(old) is not str and isinstance(new, str):
            new = type(old)(new)  # keep the value's quoting style
        _set_path(item, field.path, new)
    return item


def form_problems(values: dict[str, Any]) -> dict[str, str]:
    """Problems the form catches before the YAML is even built, by field key."""
    problems: dict[str, str] = {}
    for field in FIELDS:
        if field.kind == "number" and str(values.get(field.key) or "").strip():
            try:
                float(str(values[field.key]).strip().replace(",", "."))
            except ValueError:
                problems[field.key] = f"{values[field.key]!r} is not a number"
    password = str(values.get("password") or "").strip()
    if password and not is_reference(password):
        problems["password"] = (
            "write a reference such as ${PDU_PASSWORD}, never the password itself; set the value in the "
            "environment or config/secrets.yaml"
        )
    return problems


def preset_defaults(item: Any) -> dict[str, str]:
    """What the endpoint's preset fills in for each form field it leaves empty (shown as placeholders)."""
    name = get_path(item, ("scrape", "preset"))
    if not isinstance(name, str) or not name:
        return {"engine": "browser"}
    try:
        preset = {"scrape": load_preset(name)}
    except UnknownPresetError:
        return {}
    shown = {"engine": str(get_path(preset, ("scrape", "engine")) or "browser")}
    for field in FIELDS:
        value = get_path(preset, field.path)
        if value is not None and field.key not in shown and field.kind in ("text", "select"):
            shown[field.key] = str(value)
    return shown


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
