"""Endpoints (ops, admin): every endpoint with its status; one endpoint's editor (a form and its
YAML), validated before saving with each problem shown on its line; Test and Suggest on the
edited, unsaved config; enable/disable; meter swap and correction.

Saving writes the endpoint's YAML file through ruamel.yaml's round trip (comments kept), through
the module's ``save_endpoints_file`` (which validates again and writes atomically), audits who
changed which fields (never a secret's value), then mirrors the YAML into the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st
from ruamel.yaml.comments import CommentedMap
from sqlalchemy.exc import SQLAlchemyError

from nxforge.sdk import ConfigError, ModuleContext, Suggestion, describe_preset, load_preset, load_yaml

from ..collect import sync_now
from ..config import Endpoint, save_endpoints_file, validate_text
from ..pages import _endpoint_tools as tools
from ..pages._endpoint_yaml import (
    FIELDS,
    DraftError,
    YamlDocument,
    apply_form,
    changed_fields,
    excerpt,
    form_problems,
    form_values,
    get_path,
    parse_snippet,
    preset_defaults,
    text_digest,
    to_plain,
)
from ..pages._shared import cached_live, database_key, minute_now, settings_of

log = logging.getLogger(__name__)

EDIT_ROLES = ("ops", "admin")
MODES = ["Form", "YAML"]
SELECTED = "ep-selected"
NOT_SYNCED = "not synced"
NOT_IN_YAML = "not in YAML"


# --- the list ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YamlEntry:
    """Where an endpoint is defined."""

    endpoint_id: str
    name: str
    client: str
    location: str
    enabled: bool
    path: Path
    line: int | None


@dataclass
class YamlScan:
    """Every endpoint found in the module's YAML files, and the files that could not be read."""

    entries: dict[str, YamlEntry] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)


@st.cache_data(ttl=600, show_spinner=False, max_entries=200)
def _scan_file(path: str, mtime_ns: int) -> tuple[list[YamlEntry], str | None]:
    """The endpoints of one file (cached until the file changes); an unparsable file gives its error."""
    try:
        loaded = load_yaml(Path(path))
    except ConfigError as exc:
        return [], str(exc)
    items = loaded.data.get("endpoints") if isinstance(loaded.data, dict) else None
    found = []
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            found.append(YamlEntry(
                item["id"], str(item.get("name") or ""), str(item.get("client") or ""),
                str(item.get("location") or ""), item.get("enabled", True) is not False, Path(path),
                loaded.line_of(("endpoints", index, "id")),
            ))  # fmt: skip
    return found, None


def scan_yaml(folder: Path) -> YamlScan:
    """Where each endpoint is defined (the first definition wins; ``nxforge config check`` reports duplicates)."""
    scan = YamlScan()
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        found, error = _scan_file(str(path), path.stat().st_mtime_ns)
        if error:
            scan.unreadable.append(error)
        for entry in found:
            scan.entries.setdefault(entry.endpoint_id, entry)
    return scan


def endpoint_rows(ctx: ModuleContext, scan: YamlScan) -> list[dict[str, Any]]:
    """One row per endpoint of the YAML or the database: what the list shows."""
    settings = settings_of(ctx)
    live = cached_live(ctx.db, database_key(ctx.db), minute_now(ctx), settings.max_stale_s)
    status = {row["endpoint_id"]: row for row in live.iter_rows(named=True)} if not live.is_empty() else {}
    rows = []
    for endpoint_id in sorted(set(scan.entries) | set(status)):
        entry, db = scan.entries.get(endpoint_id), status.get(endpoint_id)
        last = db["last_success_at"] if db else None
        error = " ".join(str(x) for x in (db["last_error_class"], db["last_error"]) if x) if db else ""
        rows.append({
            "endpoint": endpoint_id,
            "name": entry.name if entry else db["name"] if db else "",
            "client": entry.client if entry else db["client"] if db else "",
            "location": entry.location if entry else db["location"] if db else "",
            "status": (db["status"] if db else NOT_SYNCED) if entry else NOT_IN_YAML,
            "enabled": entry.enabled if entry else bool(db and db["enabled"]),
            "last good read": last.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M") if last else "",
            "error": error,
            "defined at": f"{entry.path.name}:{entry.line}" if entry else "",
        })  # fmt: skip
    return rows


# --- session state of one endpoint's editor -------------------------------------------------------


def _key(endpoint_id: str, name: str) -> str:
    return f"ep-{endpoint_id}-{name}"


def _field_key(endpoint_id: str, field_key: str) -> str:
    return _key(endpoint_id, f"f-{field_key}")


def _reset_editor(endpoint_id: str) -> None:
    """Forget the endpoint's edits, test result and suggestions: the editor re-reads the file."""
    prefix = f"ep-{endpoint_id}-"
    for key in [k for k in st.session_state if str(k).startswith(prefix)]:
        del st.session_state[key]


def _start_editor(endpoint_id: str, document: YamlDocument) -> None:
    """First view of an endpoint (or after save/discard): its YAML is the base the form edits."""
    if _key(endpoint_id, "base") not in st.session_state:
        st.session_state[_key(endpoint_id, "base")] = document.snippet(endpoint_id)
        st.session_state[_key(endpoint_id, "digest")] = document.digest
        st.session_state[_key(endpoint_id, "mode")] = "Form"
        st.session_state[_key(endpoint_id, "current")] = "Form"


def _fill_form(endpoint_id: str, item: Any, overwrite: bool = False) -> None:
    for name, value in form_values(item).items():
        key = _field_key(endpoint_id, name)
        if overwrite or key not in st.session_state:
            st.session_state[key] = value


def _form_input(endpoint_id: str) -> dict[str, Any]:
    return {f.key: st.session_state.get(_field_key(endpoint_id, f.key)) for f in FIELDS}


def _form_draft(endpoint_id: str) -> CommentedMap:
    item = parse_snippet(st.session_state[_key(endpoint_id, "base")], endpoint_id)
    return apply_form(item, _form_input(endpoint_id))


def _to_form(endpoint_id: str) -> bool:
    """Carry the YAML editor's text into the form; False (with the reason kept) when it does not parse."""
    text = st.session_state.get(_key(endpoint_id, "yaml"), st.session_state[_key(endpoint_id, "base")])
    try:
        item = parse_snippet(text, endpoint_id)
    except DraftError as exc:
        st.session_state[_key(endpoint_id, "mode-error")] = str(exc)
        return False
    st.session_state[_key(endpoint_id, "base")] = text
    _fill_form(endpoint_id, item, overwrite=True)
    return True


def _switch_mode(endpoint_id: str) -> None:
    """Keep one draft across the two views: Form -> YAML writes the form into the text, YAML -> Form parses it."""
    mode_key, current_key = _key(endpoint_id, "mode"), _key(endpoint_id, "current")
    wanted, current = st.session_state.get(mode_key), st.session_state.get(current_key, "Form")
    st.session_state.pop(_key(endpoint_id, "mode-error"), None)
    if wanted not in MODES or wanted == current:
        st.session_state[mode_key] = current
        return
    if wanted == "YAML":
        if form_problems(_form_input(endpoint_id)):
            st.session_state[_key(endpoint_id, "mode-error")] = "Fix the form's errors first."
            st.session_state[mode_key] = current
            return
        item = _form_draft(endpoint_id)
        st.session_state[_key(endpoint_id, "yaml")] = YamlDocument.dump_item(item)
    elif not _to_form(endpoint_id):
        st.session_state[mode_key] = current
        return
    st.session_state[current_key] = wanted


def _use_suggestion(endpoint_id: str, suggestion: Suggestion) -> None:
    """Copy a suggestion's selector, regex and unit into the form (switching back from YAML if needed)."""
    if st.session_state.get(_key(endpoint_id, "current")) == "YAML":
        if not _to_form(endpoint_id):
            return
        st.session_state[_key(endpoint_id, "mode")] = st.session_state[_key(endpoint_id, "current")] = "Form"
    st.session_state[_field_key(endpoint_id, "selector")] = suggestion.selector
    st.session_state[_field_key(endpoint_id, "regex")] = suggestion.regex
    st.session_state[_field_key(endpoint_id, "unit")] = suggestion.unit
    st.session_state[_key(endpoint_id, "notice")] = (
        f"Copied selector `{suggestion.selector}` and its regex into the form: Test it, then Save."
    )


# --- the editor ------------------------------------------------------------------------------------


@dataclass
class Draft:
    """The endpoint as edited: its mapping (None when the YAML view does not parse) and what is wrong."""

    endpoint_id: str
    document: YamlDocument
    mode: str
    item: CommentedMap | None = None
    problem: DraftError | None = None
    field_problems: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The whole file as it would be saved."""
        assert self.item is not None
        return self.document.with_item(self.endpoint_id, self.item)

    def changes(self) -> dict[str, Any]:
        """Fields that differ from the file, for the audit log and the "unsaved" note."""
        if self.item is None:
            return {}
        return changed_fields(self.document.item(self.endpoint_id), self.item)


def _form(endpoint_id: str, placeholders: dict[str, str], problems: dict[str, str], default_poll: str) -> None:
    """The form's inputs; values live in session state under each field's key."""
    layout = [["name", "client"], ["location", "feed"], ["poll_interval", "circuit_max_kw"], ["enabled"],
              ["preset", "engine"], ["url"], ["auth_type", "username", "password"], ["selector", "regex", "unit"]]
    by_key = {f.key: f for f in FIELDS}
    for row in layout:
        columns = st.columns(len(row) if len(row) > 1 else 1)
        for column, name in zip(columns, row, strict=True):
            spec = by_key[name]
            key = _field_key(endpoint_id, name)
            with column:
                if spec.kind == "bool":
                    st.checkbox(spec.label, key=key, help=spec.help)
                elif spec.kind == "select":
                    options = list(spec.options)
                    if st.session_state.get(key) not in options:
                        options.append(str(st.session_state.get(key)))
                    fallback = placeholders.get(name)
                    empty = f"(from preset: {fallback})" if fallback and name != "preset" else "(none)"

                    def label(value: str, empty: str = empty) -> str:
                        return empty if value == "" else value

                    st.selectbox(spec.label, options, key=key, format_func=label, help=spec.help)
                else:
                    placeholder = placeholders.get(name)
                    if name == "poll_interval":
                        placeholder = f"module default: {default_poll}"
                    elif spec.kind == "secret":
                        placeholder = "${PDU_PASSWORD}"
                    st.text_input(spec.label, key=key, help=spec.help,
                                  placeholder=f"preset: {placeholder}" if placeholder and name not in
                                  ("poll_interval", "password") else placeholder)
                if name in problems:
                    st.error(problems[name])


def _yaml_editor(endpoint_id: str, document: YamlDocument) -> None:
    st.text_area("The endpoint's YAML", key=_key(endpoint_id, "yaml"), height=480,
                 help="One endpoint, as in the file. Comments are kept. `id` cannot change.")


def _build_draft(endpoint_id: str, document: YamlDocument, mode: str) -> Draft:
    draft = Draft(endpoint_id, document, mode)
    try:
        if mode == "YAML":
            draft.item = parse_snippet(st.session_state[_key(endpoint_id, "yaml")], endpoint_id)
        else:
            draft.field_problems = form_problems(_form_input(endpoint_id))
            if not draft.field_problems:
                draft.item = _form_draft(endpoint_id)
    except DraftError as exc:
        draft.problem = exc
    return draft


def _config_label(document: YamlDocument) -> str:
    return f"{document.path.parent.name}/{document.path.name}"


def _show_problems(draft: Draft, error: ConfigError | None = None) -> None:
    """Each problem with its file:line:field, and the lines it concerns (secrets masked)."""
    if draft.field_problems:
        st.error("Fix the form first: " + "; ".join(f"{FIELDS_LABEL[k]}: {v}" for k, v in draft.field_problems.items()))
        return
    if draft.problem is not None:
        text = st.session_state.get(_key(draft.endpoint_id, "yaml"), "")
        where = f"YAML editor line {draft.problem.line}: " if draft.problem.line else ""
        st.error(f"{where}{draft.problem}\n\nNothing was saved.")
        if draft.problem.line and text:
            st.code(excerpt(text, [draft.problem.line]), language=None)
        return
    if error is None:
        return
    label = _config_label(draft.document)
    lines = []
    for problem in error.problems:
        where = f"{label}:{problem.line}" if problem.line else label
        field_path = f" `{problem.field}`:" if problem.field else ""
        lines.append(f"- **{where}**:{field_path} {problem.message}")
    st.error("The endpoint is not valid; nothing was saved.\n\n" + "\n".join(lines)
             + "\n\nWhat to do: correct the line(s) shown below, then Validate or Save again.")
    marked = [p.line for p in error.problems if p.line]
    if marked and draft.item is not None:
        st.code(excerpt(draft.text, marked), language=None)


FIELDS_LABEL = {f.key: f.label for f in FIELDS}


def _validated(draft: Draft) -> Endpoint | None:
    """The edited endpoint as the module validates it, or None after showing why not."""
    if draft.item is None or draft.field_problems:
        _show_problems(draft)
        return None
    try:
        parsed, _ = validate_text(draft.document.path, draft.text)
    except ConfigError as exc:
        _show_problems(draft, exc)
        return None
    return next(e for e in parsed.endpoints if e.id == draft.endpoint_id)


def _after_change(ctx: ModuleContext) -> None:
    """Mirror the YAML into the database now (the collector would within a minute) and refresh the status."""
    try:
        sync_now(ctx)
    except ConfigError as exc:
        ctx.notice("warning", "Saved, but the endpoint files have other problems, so the database keeps the previous "
              f"settings until they are fixed (`nxforge config check`):\n\n{exc}")
    except SQLAlchemyError as exc:
        ctx.notice("warning", f"Saved; the database could not be updated now ({getattr(exc, 'orig', None) or exc}). "
              "The collector will pick the change up on its next run.")
    cached_live.clear()


def _write(ctx: ModuleContext, endpoint_id: str, document: YamlDocument, text: str, changes: dict[str, Any],
           via: str) -> bool:
    """Write ``text`` to the file (validated by the module), audit it, sync; False after showing why not."""
    expected = st.session_state.get(_key(endpoint_id, "digest"), document.digest)
    current = document.path.read_text(encoding="utf-8")
    if text_digest(current) != expected:
        st.error(f"{_config_label(document)} changed on disk since you opened this endpoint (someone else saved, "
                 "or the file was edited by hand). Nothing was saved.\n\nWhat to do: copy your changes, press "
                 "**Discard changes** to reload the file, and apply them again.")
        return False
    try:
        save_endpoints_file(document.path, text)
    except OSError as exc:
        st.error(f"Could not write {document.path}: {exc}\n\nWhat to do: the app needs write access to the "
                 "config folder; ask whoever runs it, or edit the file by hand.")
        return False
    written = text_digest(document.path.read_text(encoding="utf-8"))
    for key in [k for k in st.session_state if str(k).endswith("-digest")]:
        if st.session_state[key] == expected:  # other endpoints of this file open in this session stay saveable
            st.session_state[key] = written
    ctx.audit("endpoint.update", endpoint_id, {"file": _config_label(document), "via": via, "changed": changes})
    log.info("%s saved endpoint %s (%s): %s", ctx.user, endpoint_id, via, sorted(changes))
    _after_change(ctx)
    return True


def _save(ctx: ModuleContext, draft: Draft) -> None:
    if _validated(draft) is None:
        return
    changes = draft.changes()
    if not changes:
        st.info("Nothing changed: the file already says this.")
        return
    try:
        ok = _write(ctx, draft.endpoint_id, draft.document, draft.text, changes, draft.mode.lower())
    except ConfigError as exc:  # the module validates again while saving
        _show_problems(draft, exc)
        return
    if ok:
        _reset_editor(draft.endpoint_id)
        ctx.notice("success", f"Saved {draft.endpoint_id} to {_config_label(draft.document)}: "
              + ", ".join(sorted(changes)) + ".")
        st.rerun()


def _toggle(ctx: ModuleContext, endpoint_id: str, document: YamlDocument, enable: bool) -> None:
    item = parse_snippet(document.snippet(endpoint_id), endpoint_id)
    before = to_plain(item)
    apply_form(item, {"enabled": enable})
    text = document.with_item(endpoint_id, item)
    try:
        ok = _write(ctx, endpoint_id, document, text, changed_fields(before, item), "toggle")
    except ConfigError as exc:
        st.error(f"{_config_label(document)} has problems, so it cannot be saved until they are fixed "
                 f"(Validate shows them on their lines):\n\n{exc}")
        return
    if ok:
        _reset_editor(endpoint_id)
        what = "enabled: the collector reads it again" if enable else "disabled: the collector stops reading it"
        ctx.notice("success", f"{endpoint_id} {what}.")
        st.rerun()


def _editor(ctx: ModuleContext, endpoint_id: str, entry: YamlEntry, row: dict[str, Any]) -> None:
    try:
        document = YamlDocument.load(entry.path)
        document.item(endpoint_id)
    except (DraftError, KeyError) as exc:
        st.error(f"{entry.path.name} cannot be edited here right now: {exc}\n\nWhat to do: fix the file by hand "
                 "(`nxforge config check` names the line) and reload.")
        return
    _start_editor(endpoint_id, document)
    base_item = parse_snippet(st.session_state[_key(endpoint_id, "base")], endpoint_id)
    _fill_form(endpoint_id, base_item)
    if st.session_state[_key(endpoint_id, "digest")] != document.digest:
        untouched = _build_draft(endpoint_id, document, st.session_state.get(_key(endpoint_id, "current"), "Form"))
        if untouched.item is not None and to_plain(untouched.item) == to_plain(base_item):
            _reset_editor(endpoint_id)  # nothing edited here: simply show the file as it is now
            _start_editor(endpoint_id, document)
            base_item = parse_snippet(st.session_state[_key(endpoint_id, "base")], endpoint_id)
            _fill_form(endpoint_id, base_item)
        else:
            st.warning(f"{_config_label(document)} changed on disk since you started editing; Save will refuse. "
                       "Copy your changes and press **Discard changes** to reload the file.")
    settings = settings_of(ctx)

    head, toggle = st.columns([4, 1])
    colour = {"ok": "green", "stale": "orange", "failing": "red"}.get(row["status"], "gray")
    head.markdown(f"### {row['name'] or endpoint_id} :{colour}-badge[{row['status']}]")
    head.caption(f"`{endpoint_id}` · defined at {_config_label(document)}:{entry.line} · last good read "
                 f"{row['last good read'] or 'never'}" + (f" · last error: {row['error']}" if row["error"] else ""))
    enabled = get_path(document.item(endpoint_id), ("enabled",)) is not False

    mode = st.session_state.get(_key(endpoint_id, "current"), "Form")
    draft = _build_draft(endpoint_id, document, mode)
    changes = draft.changes()
    with toggle:
        flip = st.button("Disable reading" if enabled else "Enable reading", key=_key(endpoint_id, "toggle"),
                         icon=":material/pause:" if enabled else ":material/play_arrow:", disabled=bool(changes),
                         help="Save or discard your edits first" if changes else "Writes `enabled:` to the file now")
    if flip:
        _toggle(ctx, endpoint_id, document, not enabled)

    notice = st.session_state.pop(_key(endpoint_id, "notice"), None)
    if notice:
        st.info(notice)
    mode_error = st.session_state.pop(_key(endpoint_id, "mode-error"), None)
    if mode_error:
        st.error(f"Stayed on the {mode} view: {mode_error}")
    st.segmented_control("Edit as", MODES, key=_key(endpoint_id, "mode"), on_change=_switch_mode,
                         args=(endpoint_id,))
    left, right = st.columns([3, 2], gap="large")
    with left:
        if mode == "YAML":
            _yaml_editor(endpoint_id, document)
        else:
            default_poll = str(ctx.settings.get("default_poll_interval") or f"{settings.default_poll_s:g}s")
            _form(endpoint_id, preset_defaults(base_item), draft.field_problems, default_poll)
    with right:
        if mode == "Form" and draft.item is not None:
            st.caption("YAML of this endpoint, as Save will write it")
            st.code(YamlDocument.dump_item(draft.item), language="yaml")
        preset = get_path(draft.item, ("scrape", "preset")) if draft.item is not None else None
        if isinstance(preset, str) and preset:
            with st.expander(f"What the preset `{preset}` fills in"):
                try:
                    st.caption(describe_preset(preset))
                    st.code(YamlDocument.dump_item(load_preset(preset)), language="yaml")
                except ValueError as exc:
                    st.caption(str(exc))
    if changes:
        st.caption(":orange[Unsaved changes:] " + ", ".join(f"`{name}`" for name in changes))

    buttons = st.columns([1, 1, 1, 1, 2])
    validate = buttons[0].button("Validate", key=_key(endpoint_id, "validate"), icon=":material/rule:")
    save = buttons[1].button("Save", key=_key(endpoint_id, "save"), type="primary", icon=":material/save:")
    test = buttons[2].button("Test", key=_key(endpoint_id, "test-btn"), icon=":material/play_circle:",
                             help="Read the meter now with the edited (unsaved) settings")
    suggest = buttons[3].button("Suggest", key=_key(endpoint_id, "suggest-btn"), icon=":material/auto_fix_high:",
                                help="Find elements that look like an energy reading on the page")
    buttons[4].button("Discard changes", key=_key(endpoint_id, "discard"), on_click=_reset_editor,
                      args=(endpoint_id,), disabled=not changes and mode == "Form")
    if validate and _validated(draft) is not None:
        st.success("Valid: " + ("Save writes the changes listed above." if changes else "no change to save."))
    if save:
        _save(ctx, draft)
    if test or suggest:
        endpoint = _validated(draft)
        if endpoint is not None and test:
            tools.run_test(ctx, endpoint_id, endpoint.scrape)
        if endpoint is not None and suggest:
            tools.run_suggest(ctx, endpoint_id, endpoint.scrape)
    tools.show_test(endpoint_id, settings.timezone)
    tools.show_suggestions(endpoint_id, lambda suggestion: _use_suggestion(endpoint_id, suggestion))


# --- the page --------------------------------------------------------------------------------------


def render(ctx: ModuleContext, role: str) -> None:
    """The list, then the chosen endpoint's editor, tools and meter event forms."""
    st.title("Endpoints")
    if role not in EDIT_ROLES:
        st.error("This page is for ops and admins: ask an admin for the ops role to edit endpoints.")
        return
    scan = scan_yaml(ctx.config_dir)
    for problem in scan.unreadable:
        st.error(f"A file cannot be read, so its endpoints are missing below:\n\n{problem}\n\n"
                 "What to do: fix it by hand (`nxforge config check`).")
    rows = endpoint_rows(ctx, scan)
    if not rows:
        st.info(f"No endpoint yet. Add one to a YAML file in {ctx.config_dir} (see "
                "docs/examples/consumption-monitor.yaml), then reload.")
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    st.caption(f"{len(rows)} endpoint(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
               + f" · YAML in `{ctx.config_dir}`")
    st.dataframe(rows, hide_index=True, height=min(38 + 35 * len(rows), 320),
                 column_config={"enabled": st.column_config.CheckboxColumn("enabled")})
    by_id = {row["endpoint"]: row for row in rows}
    ids = list(by_id)
    if st.session_state.get(SELECTED) not in by_id:  # first view: an editable endpoint, or the one in the URL
        asked = st.query_params.get("endpoint")
        editable = [endpoint_id for endpoint_id in ids if endpoint_id in scan.entries]
        st.session_state[SELECTED] = asked if asked in by_id else (editable or ids)[0]

    def label(endpoint_id: str) -> str:
        row = by_id[endpoint_id]
        return f"{endpoint_id} — {row['name']} ({row['status']})"

    endpoint_id = st.selectbox("Endpoint", ids, key=SELECTED, format_func=label)
    assert isinstance(endpoint_id, str)
    row = by_id[endpoint_id]
    entry = scan.entries.get(endpoint_id)
    if entry is None:
        st.warning(f"{endpoint_id} is in the database but in no YAML file: the collector retires it on its next "
                   "run (its readings are kept). Add it back to a file to read it again.")
    else:
        _editor(ctx, endpoint_id, entry, row)
    st.divider()
    st.markdown("### Meter events")
    tools.meter_event_forms(ctx, endpoint_id, ctx.user or "unknown", settings_of(ctx).timezone, cached_live.clear)
