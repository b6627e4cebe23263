"""Create and Duplicate on the Endpoints page: the editor's form for an endpoint that does not exist
yet, with its id and the file it goes to, validated as the YAML is before anything is written.

A new endpoint is checked in three steps: the form's own checks (numbers, secrets as references,
required fields), the id (a slug, unique across every file, not a retired endpoint's) and the file,
then the file's whole text as it would be saved, through the module's ``validate_text`` (the same
pydantic model, and the client must be declared). Each problem shows under its field with the
file:line it would have. Writing, audit and sync go through ``_endpoint_save.write_file``.

Test reading reads the meter with the new endpoint's settings, checked the same way, before anything is
written: an SNMP or Modbus endpoint can be tried on the live meter as a web page can.

Duplicate fills the form from an existing endpoint (its YAML without comments or client history;
secrets stay ``${NAME}`` references: the form only ever holds the reference text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import streamlit as st
from ruamel.yaml.comments import CommentedMap

from nxforge.sdk import ConfigError, ModuleContext, ScrapeResult, plain

from ..config import Endpoint, validate_text
from . import _endpoint_tools as tools
from ._endpoint_files import field_of, id_problem, new_file_path, new_file_text, new_item, with_new_item
from ._endpoint_form import (
    FIELDS,
    apply_form,
    fill_form,
    forget_form,
    form_input,
    form_problems,
    preset_defaults,
    render_form,
    widget_key,
)
from ._endpoint_retire import stored_endpoints
from ._endpoint_save import write_file
from ._endpoint_state import SELECTED
from ._endpoint_yaml import DraftError, YamlDocument, changed_fields, parse_snippet
from ._shared import settings_of

NEW = "+new"
"""The editor key of the endpoint being created (not a slug, so no real endpoint's keys collide with it)."""
CREATOR = "ep-creator"
NEW_FILE = "(a new file)"
SELECTS = frozenset(spec.key for spec in FIELDS if spec.kind == "select")
ID_KEY, FILE_KEY, NEW_FILE_KEY = widget_key(NEW, "id"), widget_key(NEW, "file"), widget_key(NEW, "new-file")


@dataclass
class CreatorState:
    """The create panel between reruns (the inputs' values are under their widget keys)."""

    source: str | None
    """The endpoint duplicated, None for a blank one."""
    base: str
    """The YAML of the endpoint the form starts from (a duplicate's, without its id), empty for a blank one."""
    submitted: bool = False
    """Create was pressed: validate and write on this rerun."""
    test_requested: bool = False
    """Test reading was pressed: validate and read the meter on this rerun, writing nothing."""
    test: ScrapeResult | None = None
    """The last Test reading, shown until the panel closes."""
    problems: dict[str, str] = field(default_factory=dict)
    """The last attempt's problems, by form field key (``id`` and ``file`` included)."""
    general: list[str] = field(default_factory=list)
    """The last attempt's problems that belong to no field."""


def creator() -> CreatorState | None:
    """The open create panel, if any."""
    return cast(CreatorState | None, st.session_state.get(CREATOR))


def open_creator(source: str | None = None, snippet: str | None = None, file_name: str | None = None) -> None:
    """Open the panel, blank or prefilled from ``source``'s YAML ``snippet`` (a button's callback)."""
    close_creator()
    base = parse_snippet(snippet, source) if snippet and source else None
    st.session_state[CREATOR] = CreatorState(source, YamlDocument.dump_item(new_item(NEW, base)) if base else "")
    fill_form(NEW, base if base is not None else {}, overwrite=True)
    st.session_state[ID_KEY] = f"{source}-copy" if source else ""
    if file_name:
        st.session_state[FILE_KEY] = file_name


def close_creator() -> None:
    """Close the panel and forget its inputs."""
    st.session_state.pop(CREATOR, None)
    forget_form(NEW)
    for key in (ID_KEY, FILE_KEY, NEW_FILE_KEY):
        st.session_state.pop(key, None)


def _submit() -> None:
    state = creator()
    if state is not None:
        state.submitted = True


def _request_test() -> None:
    state = creator()
    if state is not None:
        state.test_requested = True


def draft_item(state: CreatorState, endpoint_id: str, values: dict[str, Any]) -> CommentedMap:
    """The new endpoint's mapping: the base (a duplicate's) with the id and the form's values written in."""
    base = parse_snippet(state.base, NEW) if state.base else None
    return apply_form(new_item(endpoint_id or NEW, base), values)


@dataclass
class Target:
    """Where the new endpoint goes: the file, and the file as it is now (None for a new file)."""

    path: Path
    document: YamlDocument | None


def _target(folder: Path, problems: dict[str, str]) -> Target | None:
    choice = st.session_state.get(FILE_KEY)
    if choice == NEW_FILE or not choice:
        path, problem = new_file_path(folder, str(st.session_state.get(NEW_FILE_KEY) or ""))
        if path is None:
            problems["file"] = problem or "a file name"
            return None
        return Target(path, None)
    path = folder / str(choice)
    try:
        return Target(path, YamlDocument.load(path))
    except (DraftError, OSError) as exc:
        problems["file"] = f"{path.name} cannot be edited here: {exc}; fix it by hand or choose another file"
        return None


def _validate(ctx: ModuleContext, state: CreatorState, defined_at: dict[str, str]
              ) -> tuple[Target, str, CommentedMap, Endpoint] | None:
    """The target, the file's new text, the new mapping and the endpoint as validated when everything is
    valid; else None with the problems in ``state``."""
    values = form_input(NEW)
    problems = form_problems(values)
    for spec in FIELDS:
        if spec.required and not str(values.get(spec.key) or "").strip():
            problems.setdefault(spec.key, "required")
    endpoint_id = str(st.session_state.get(ID_KEY) or "").strip()
    stored = {i: f"an endpoint retired on {s.retired_at:%Y-%m-%d}" if s.retired_at else "an endpoint in the database"
              for i, s in stored_endpoints(ctx.db).items() if i not in defined_at}
    if (problem := id_problem(endpoint_id, defined_at, stored)) is not None:
        problems["id"] = problem
    target = _target(ctx.config_dir, problems)
    state.problems, state.general = problems, []
    if problems or target is None:
        return None
    item = draft_item(state, endpoint_id, values)
    try:
        if target.document is None:
            text, index = new_file_text(item), 0
        else:
            text, index = with_new_item(target.document, item), len(target.document.endpoints())
    except DraftError as exc:
        problems["file"] = str(exc)
        return None
    try:
        parsed, _ = validate_text(target.path, text)
    except ConfigError as exc:
        for found in exc.problems:
            where = f"{target.path.parent.name}/{target.path.name}" + (f":{found.line}" if found.line else "")
            said = f"{where}: {found.field}: {found.message}" if found.field else f"{where}: {found.message}"
            key = field_of(found, index)
            if key is None:
                state.general.append(said)
            else:
                problems[key] = f"{problems[key]}; {said}" if key in problems else said
        return None
    return target, text, item, next(e for e in parsed.endpoints if e.id == str(item["id"]))


def _test(ctx: ModuleContext, state: CreatorState, defined_at: dict[str, str]) -> None:
    """Read the meter with the new endpoint's settings (validated as Create would), writing nothing."""
    checked = _validate(ctx, state, defined_at)
    state.test = tools.run_test(ctx, checked[3].id, checked[3].scrape) if checked is not None else None


def _create(ctx: ModuleContext, state: CreatorState, defined_at: dict[str, str]) -> None:
    """Validate, write, audit and sync; on success close the panel and show the new endpoint."""
    checked = _validate(ctx, state, defined_at)
    if checked is None:
        return
    target, text, item, _ = checked
    endpoint_id = str(item["id"])
    detail: dict[str, Any] = {"via": "form", "changed": changed_fields(None, item)}
    if state.source:
        detail["duplicate_of"] = state.source
    expected = target.document.digest if target.document is not None else None
    try:
        if not write_file(ctx, target.path, text, expected, "endpoint.create", endpoint_id, detail):
            return
    except ConfigError as exc:
        state.general = [str(problem) for problem in exc.problems]
        return
    close_creator()
    st.session_state[SELECTED] = endpoint_id
    ctx.notice("success", f"Created {endpoint_id} in {target.path.parent.name}/{target.path.name}: the collector "
               "reads it from its next run. Test it below.")
    st.rerun()


def _placeholders(state: CreatorState, item: CommentedMap) -> dict[str, str]:
    """What the chosen preset fills in, shown in the empty inputs. A select box's empty option keeps the
    label of the preset the panel opened with: Streamlit loses a select box's value when its labels change."""
    opened = preset_defaults(parse_snippet(state.base, NEW) if state.base else {})
    shown = {key: value for key, value in preset_defaults(item).items() if key not in SELECTS}
    return shown | {key: value for key, value in opened.items() if key in SELECTS}


def render_creator(ctx: ModuleContext, defined_at: dict[str, str], files: list[str]) -> None:
    """The create panel when open: id, file, the editor's form and the YAML it will append."""
    state = creator()
    if state is None:
        return
    if state.submitted:
        state.submitted = False
        _create(ctx, state, defined_at)
    if state.test_requested:
        state.test_requested = False
        _test(ctx, state, defined_at)
    with st.container(border=True):
        st.markdown(f"### Duplicate of {state.source}" if state.source else "### New endpoint")
        st.caption("The same checks as the YAML: nothing is written until the whole file is valid. Secrets are "
                   "${NAME} references, never the values." + (" The copy starts without the original's comments "
                   "and client history." if state.source else ""))
        where = st.columns(3)
        where[0].text_input("Endpoint id", key=ID_KEY, placeholder="room2-rack07-a",
                            help="The stable key readings are stored under: a slug, unique across all files")
        options = [*files, NEW_FILE]
        if st.session_state.get(FILE_KEY) not in options:
            st.session_state[FILE_KEY] = options[0]
        where[1].selectbox("Write to file", options, key=FILE_KEY, help=f"A *.yaml file in {ctx.config_dir}")
        if st.session_state.get(FILE_KEY) == NEW_FILE:
            where[2].text_input("New file name", key=NEW_FILE_KEY, placeholder="room-3")
        file_column = where[2] if st.session_state.get(FILE_KEY) == NEW_FILE else where[1]
        for key, column in (("id", where[0]), ("file", file_column)):
            if key in state.problems:
                column.error(plain(state.problems[key]))
        values = form_input(NEW)
        item = draft_item(state, str(st.session_state.get(ID_KEY) or "").strip(), values)
        left, right = st.columns([3, 2], gap="large")
        with left:
            settings = settings_of(ctx)
            default_poll = str(ctx.settings.get("default_poll_interval") or f"{settings.default_poll_s:g}s")
            shown = {k: plain(v) for k, v in state.problems.items() if k not in ("id", "file")}
            render_form(NEW, _placeholders(state, item), shown, default_poll, item)
        with right:
            st.caption("YAML that Create appends to the file")
            if not form_problems(values):
                st.code(YamlDocument.dump_item(item), language="yaml")
        for problem in state.general:
            st.error(plain(problem))
        buttons = st.columns([1, 1, 1, 2])
        buttons[0].button("Create endpoint", key=widget_key(NEW, "create"), type="primary", icon=":material/add:",
                          on_click=_submit)
        buttons[1].button("Test reading", key=widget_key(NEW, "test-btn"), icon=":material/play_circle:",
                          on_click=_request_test, help="Read the meter now with these settings; nothing is written")
        buttons[2].button("Cancel", key=widget_key(NEW, "cancel"), on_click=close_creator)
        if state.test is not None:
            tools.show_test(state.test, settings_of(ctx).timezone)
