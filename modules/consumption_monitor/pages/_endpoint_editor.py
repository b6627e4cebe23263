"""One endpoint's editor: its status, enable/disable, Duplicate and Delete, the form or its YAML,
the YAML Save will write, then Validate, Save, Test and Suggest on the edited, unsaved config.

What the editor holds between reruns is in ``_endpoint_state.py``; saving in ``_endpoint_save.py``;
Test, Suggest and the meter event forms in ``_endpoint_tools.py``; Duplicate opens the create panel
of ``_endpoint_create.py``; Delete (which retires) is ``_endpoint_retire.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from nxforge.sdk import ModuleContext, describe_preset, load_preset, plain

from . import _endpoint_tools as tools
from ._endpoint_create import open_creator
from ._endpoint_engines import get_path
from ._endpoint_form import fill_form, preset_defaults, render_form, widget_key
from ._endpoint_retire import confirm_delete, request_delete
from ._endpoint_save import config_label, save, toggle, validated
from ._endpoint_state import (
    VIEWS,
    Draft,
    EditorState,
    build_draft,
    reset_editor,
    start_editor,
    switch_view,
    use_suggestion,
)
from ._endpoint_yaml import DraftError, YamlDocument, parse_snippet, to_plain
from ._shared import settings_of


def _current_state(endpoint_id: str, document: YamlDocument) -> EditorState:
    """The editor's state, started from the file; restarted when the file changed and nothing was edited here."""
    state = start_editor(endpoint_id, document)
    base_item = parse_snippet(state.base, endpoint_id)
    fill_form(endpoint_id, base_item)
    if state.digest == document.digest:
        return state
    untouched = build_draft(endpoint_id, document, state)
    if untouched.item is not None and to_plain(untouched.item) == to_plain(base_item):
        reset_editor(endpoint_id)  # nothing edited here: simply show the file as it is now
        state = start_editor(endpoint_id, document)
        fill_form(endpoint_id, parse_snippet(state.base, endpoint_id))
    else:
        st.warning(f"{config_label(document)} changed on disk since you started editing; Save will refuse. "
                   "Copy your changes and press **Discard changes** to reload the file.")
    return state


def _header(ctx: ModuleContext, endpoint_id: str, document: YamlDocument, line: int | None, row: dict[str, Any],
            changes: dict[str, Any]) -> None:
    """Name, status, where it is defined, then enable/disable, Duplicate and Delete (only when nothing is unsaved)."""
    head, switch, copy, delete = st.columns([4, 1, 1, 1])
    colour = {"ok": "green", "stale": "orange", "failing": "red"}.get(row["status"], "gray")
    head.markdown(f"### {plain(row['name'] or endpoint_id)} :{colour}-badge[{row['status']}]")
    error = f" · last error: {plain(row['error'])}" if row["error"] else ""
    head.caption(f"`{endpoint_id}` · defined at {config_label(document)}:{line} · last good read "
                 f"{row['last good read'] or 'never'}{error}")
    enabled = get_path(document.item(endpoint_id), ("enabled",)) is not False
    unsaved = "Save or discard your edits first"
    with switch:
        flip = st.button("Disable reading" if enabled else "Enable reading", key=widget_key(endpoint_id, "toggle"),
                         icon=":material/pause:" if enabled else ":material/play_arrow:", disabled=bool(changes),
                         help=unsaved if changes else "Writes `enabled:` to the file now")
    copy.button("Duplicate", key=widget_key(endpoint_id, "duplicate"), icon=":material/content_copy:",
                on_click=open_creator, args=(endpoint_id, document.snippet(endpoint_id), document.path.name),
                help="A new endpoint prefilled from this one, with a new id")
    delete.button("Delete", key=widget_key(endpoint_id, "delete"), icon=":material/delete:", disabled=bool(changes),
                  on_click=request_delete, args=(endpoint_id,),
                  help=unsaved if changes else "Retires it: no longer read, gone from Live; its readings stay")
    if flip:
        toggle(ctx, endpoint_id, document, not enabled)
    confirm_delete(ctx, endpoint_id, document, str(row["name"] or endpoint_id))


def _views(ctx: ModuleContext, endpoint_id: str, state: EditorState, draft: Draft) -> None:
    """The form or the YAML view on the left; what Save will write and what the preset fills in on the right."""
    left, right = st.columns([3, 2], gap="large")
    with left:
        if state.view == "YAML":
            st.text_area("The endpoint's YAML", key=widget_key(endpoint_id, "yaml"), height=480,
                         help="One endpoint, as in the file. Comments are kept. `id` cannot change.")
        else:
            settings = settings_of(ctx)
            default_poll = str(ctx.settings.get("default_poll_interval") or f"{settings.default_poll_s:g}s")
            base_item = parse_snippet(state.base, endpoint_id)
            render_form(endpoint_id, preset_defaults(base_item), draft.field_problems, default_poll,
                        draft.item if draft.item is not None else base_item)
    with right:
        if state.view == "Form" and draft.item is not None:
            st.caption("YAML of this endpoint, as Save will write it")
            st.code(YamlDocument.dump_item(draft.item), language="yaml")
        preset = get_path(draft.item, ("scrape", "preset")) if draft.item is not None else None
        if isinstance(preset, str) and preset:
            with st.expander(f"What the preset {plain(preset)} fills in"):
                try:
                    st.caption(describe_preset(preset))
                    st.code(YamlDocument.dump_item(load_preset(preset)), language="yaml")
                except ValueError as exc:
                    st.caption(plain(exc))


def _actions(ctx: ModuleContext, endpoint_id: str, state: EditorState, draft: Draft, changes: dict[str, Any]) -> None:
    """Validate, Save, Test, Suggest and Discard, then the last Test result and suggestions."""
    buttons = st.columns([1, 1, 1, 1, 2])
    check = buttons[0].button("Validate", key=widget_key(endpoint_id, "validate"), icon=":material/rule:")
    store = buttons[1].button("Save", key=widget_key(endpoint_id, "save"), type="primary", icon=":material/save:")
    test = buttons[2].button("Test", key=widget_key(endpoint_id, "test-btn"), icon=":material/play_circle:",
                             help="Read the meter now with the edited (unsaved) settings")
    suggest = buttons[3].button("Suggest", key=widget_key(endpoint_id, "suggest-btn"),
                                icon=":material/auto_fix_high:",
                                help="Find elements that look like an energy reading on the page")
    buttons[4].button("Discard changes", key=widget_key(endpoint_id, "discard"), on_click=reset_editor,
                      args=(endpoint_id,), disabled=not changes and state.view == "Form")
    if check and validated(draft) is not None:
        st.success("Valid: " + ("Save writes the changes listed above." if changes else "no change to save."))
    if store:
        save(ctx, draft)
    if test or suggest:
        endpoint = validated(draft)
        if endpoint is not None and test:
            state.test = tools.run_test(ctx, endpoint_id, endpoint.scrape)
        if endpoint is not None and suggest:
            state.suggestions = tools.run_suggest(ctx, endpoint_id, endpoint.scrape)
    if state.test is not None:
        tools.show_test(state.test, settings_of(ctx).timezone)
    if state.suggestions is not None:
        tools.show_suggestions(endpoint_id, state.suggestions, lambda chosen: use_suggestion(endpoint_id, chosen))


def render_editor(ctx: ModuleContext, endpoint_id: str, path: Path, line: int | None, row: dict[str, Any]) -> None:
    """The editor of the endpoint defined in ``path`` at ``line``; ``row`` is its line in the list."""
    try:
        document = YamlDocument.load(path)
        document.item(endpoint_id)
    except (DraftError, KeyError) as exc:
        st.error(f"{path.name} cannot be edited here right now: {plain(exc)}\n\nWhat to do: fix the file by hand "
                 "(`nxforge config check` names the line) and reload.")
        return
    state = _current_state(endpoint_id, document)
    view = state.view
    draft = build_draft(endpoint_id, document, state)
    changes = draft.changes()
    _header(ctx, endpoint_id, document, line, row, changes)
    if state.notice:
        st.info(state.notice)
        state.notice = None
    if state.view_error:
        st.error(f"Stayed on the {view} view: {plain(state.view_error)}")
        state.view_error = None
    st.segmented_control("Edit as", VIEWS, key=widget_key(endpoint_id, "mode"), on_change=switch_view,
                         args=(endpoint_id,))
    _views(ctx, endpoint_id, state, draft)
    if changes:
        st.caption(":orange[Unsaved changes:] " + ", ".join(f"`{name}`" for name in changes))
    _actions(ctx, endpoint_id, state, draft, changes)
