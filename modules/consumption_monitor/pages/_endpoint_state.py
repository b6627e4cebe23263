"""What one endpoint's editor holds across reruns, and the draft built from it.

Each open editor is an :class:`EditorState` in ``st.session_state[EDITORS]``, by endpoint id; the
inputs' values stay under their own widget keys (``_endpoint_form.widget_key``), as Streamlit
wants. The form and the YAML view edit one draft: switching view carries it across.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import streamlit as st
from ruamel.yaml.comments import CommentedMap

from nxforge.sdk import ScrapeResult, Suggestion

from ._endpoint_form import apply_form, field_key, fill_form, forget_form, form_input, form_problems, widget_key
from ._endpoint_yaml import DraftError, YamlDocument, changed_fields, parse_snippet

SELECTED = "ep-chosen"
"""The session-state key of the endpoint chosen in the list: set by the user's choice (or a create), never by
Streamlit. The selectbox (key ``ENDPOINT_BOX``) is set from it on every run: when the list changes between
two runs (an endpoint synced, or one appears in the database), Streamlit may make the selectbox anew at
its first option, and an ops user's click on Save or Test then landed in another endpoint's editor."""
ENDPOINT_BOX = "ep-selected"
"""The endpoint selectbox's own key."""
EDITORS = "ep-editors"
"""The session-state key of the open editors."""
VIEWS = ["Form", "YAML"]


@dataclass
class EditorState:
    """One endpoint's editor between reruns (the inputs' values are under their widget keys)."""

    base: str
    """The endpoint's YAML the form edits: the file's, or the YAML view's text once carried into the form."""
    digest: str
    """The file's fingerprint when editing started: Save refuses when the file has changed since."""
    view: str = "Form"
    """The view shown, Form or YAML; the "Edit as" control asks for the other."""
    view_error: str | None = None
    """Why the last change of view was refused; shown once."""
    notice: str | None = None
    """A note for the next rerun (a suggestion copied into the form); shown once."""
    test: ScrapeResult | None = None
    """The last Test result, shown until the editor is reset."""
    suggestions: list[Suggestion] | None = None
    """The last Suggest answer, shown until the editor is reset."""


def editors() -> dict[str, EditorState]:
    """The editors open in this session, by endpoint id."""
    return cast(dict[str, EditorState], st.session_state.setdefault(EDITORS, {}))


def start_editor(endpoint_id: str, document: YamlDocument) -> EditorState:
    """The endpoint's editor; on first view (or after save or discard) the file's YAML is the base the form edits."""
    state = editors().get(endpoint_id)
    if state is None:
        state = editors()[endpoint_id] = EditorState(document.snippet(endpoint_id), document.digest)
        st.session_state[widget_key(endpoint_id, "mode")] = state.view
    return state


def reset_editor(endpoint_id: str) -> None:
    """Forget the endpoint's edits, test result and suggestions: the editor re-reads the file."""
    editors().pop(endpoint_id, None)
    forget_form(endpoint_id)
    for name in ("mode", "yaml"):
        st.session_state.pop(widget_key(endpoint_id, name), None)


def form_draft(endpoint_id: str, state: EditorState) -> CommentedMap:
    """The base YAML with the form's values written in."""
    return apply_form(parse_snippet(state.base, endpoint_id), form_input(endpoint_id))


def _to_form(endpoint_id: str, state: EditorState) -> bool:
    """Carry the YAML view's text into the form; False (with the reason kept) when it does not parse."""
    text = st.session_state.get(widget_key(endpoint_id, "yaml"), state.base)
    try:
        item = parse_snippet(text, endpoint_id)
    except DraftError as exc:
        state.view_error = str(exc)
        return False
    state.base = text
    fill_form(endpoint_id, item, overwrite=True)
    return True


def switch_view(endpoint_id: str) -> None:
    """Keep one draft across the two views: Form -> YAML writes the form into the text, YAML -> Form parses it."""
    state = editors()[endpoint_id]
    view_key = widget_key(endpoint_id, "mode")
    wanted, current = st.session_state.get(view_key), state.view
    state.view_error = None
    if wanted not in VIEWS or wanted == current:
        st.session_state[view_key] = current
        return
    if wanted == "YAML":
        if form_problems(form_input(endpoint_id)):
            state.view_error = "Fix the form's errors first."
            st.session_state[view_key] = current
            return
        st.session_state[widget_key(endpoint_id, "yaml")] = YamlDocument.dump_item(form_draft(endpoint_id, state))
    elif not _to_form(endpoint_id, state):
        st.session_state[view_key] = current
        return
    state.view = wanted


def use_suggestion(endpoint_id: str, suggestion: Suggestion) -> None:
    """Copy a suggestion's selector, regex and unit into the form (switching back from YAML if needed)."""
    state = editors()[endpoint_id]
    if state.view == "YAML":
        if not _to_form(endpoint_id, state):
            return
        st.session_state[widget_key(endpoint_id, "mode")] = state.view = "Form"
    st.session_state[field_key(endpoint_id, "selector")] = suggestion.selector
    st.session_state[field_key(endpoint_id, "regex")] = suggestion.regex
    st.session_state[field_key(endpoint_id, "unit")] = suggestion.unit
    state.notice = f"Copied selector `{suggestion.selector}` and its regex into the form: Test it, then Save."


@dataclass
class Draft:
    """The endpoint as edited: its mapping (None when the YAML view does not parse) and what is wrong."""

    endpoint_id: str
    document: YamlDocument
    view: str
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


def build_draft(endpoint_id: str, document: YamlDocument, state: EditorState) -> Draft:
    """The draft of the view shown: the YAML view's text, or the form's values over the base."""
    draft = Draft(endpoint_id, document, state.view)
    try:
        if state.view == "YAML":
            draft.item = parse_snippet(st.session_state[widget_key(endpoint_id, "yaml")], endpoint_id)
        else:
            draft.field_problems = form_problems(form_input(endpoint_id))
            if not draft.field_problems:
                draft.item = form_draft(endpoint_id, state)
    except DraftError as exc:
        draft.problem = exc
    return draft
