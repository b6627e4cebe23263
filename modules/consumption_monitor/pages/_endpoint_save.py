"""Validate and save an endpoint's draft: each problem on its file:line, the file written through the
module's ``save_endpoints_file`` (which validates again and writes atomically), the change audited
(never a secret's value), then the YAML mirrored into the database. ``write_file`` is the one way
the page writes an endpoint file: edits, enable/disable, create, duplicate and delete go through it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from nxforge.sdk import ConfigError, ModuleContext, plain

from ..collect import sync_now
from ..config import Endpoint, save_endpoints_file, validate_text
from ._endpoint_form import FIELDS, apply_form, widget_key
from ._endpoint_state import Draft, editors, reset_editor
from ._endpoint_yaml import YamlDocument, changed_fields, excerpt, parse_snippet, text_digest, to_plain
from ._shared import cached_live

log = logging.getLogger(__name__)

FIELDS_LABEL = {f.key: f.label for f in FIELDS}


def config_label(document: YamlDocument) -> str:
    """``<folder>/<file>``: how the page names an endpoint file."""
    return f"{document.path.parent.name}/{document.path.name}"


def show_problems(draft: Draft, error: ConfigError | None = None) -> None:
    """Each problem with its file:line:field, and the lines it concerns (secrets masked)."""
    if draft.field_problems:
        st.error("Fix the form first: " + "; ".join(f"{FIELDS_LABEL[k]}: {v}" for k, v in draft.field_problems.items()))
        return
    if draft.problem is not None:
        text = st.session_state.get(widget_key(draft.endpoint_id, "yaml"), "")
        where = f"YAML editor line {draft.problem.line}: " if draft.problem.line else ""
        st.error(f"{where}{plain(draft.problem)}\n\nNothing was saved.")
        if draft.problem.line and text:
            st.code(excerpt(text, [draft.problem.line]), language=None)
        return
    if error is None:
        return
    label = config_label(draft.document)
    lines = []
    for problem in error.problems:
        where = f"{label}:{problem.line}" if problem.line else label
        field_path = f" `{problem.field}`:" if problem.field else ""
        lines.append(f"- **{where}**:{field_path} {plain(problem.message)}")
    st.error("The endpoint is not valid; nothing was saved.\n\n" + "\n".join(lines)
             + "\n\nWhat to do: correct the line(s) shown below, then Validate or Save again.")
    marked = [p.line for p in error.problems if p.line]
    if marked and draft.item is not None:
        st.code(excerpt(draft.text, marked), language=None)


def validated(draft: Draft) -> Endpoint | None:
    """The edited endpoint as the module validates it, or None after showing why not."""
    if draft.item is None or draft.field_problems:
        show_problems(draft)
        return None
    try:
        parsed, _ = validate_text(draft.document.path, draft.text)
    except ConfigError as exc:
        show_problems(draft, exc)
        return None
    return next(e for e in parsed.endpoints if e.id == draft.endpoint_id)


def _after_change(ctx: ModuleContext) -> None:
    """Mirror the YAML into the database now (the collector would within a minute) and refresh the status."""
    try:
        sync_now(ctx)
    except ConfigError as exc:
        ctx.notice("warning", "Saved, but the endpoint files have other problems, so the database keeps the previous "
              f"settings until they are fixed (`nxforge config check`):\n\n{plain(exc)}")
    except SQLAlchemyError as exc:
        ctx.notice("warning", f"Saved; the database could not be updated now ({getattr(exc, 'orig', None) or exc}). "
              "The collector will pick the change up on its next run.")
    cached_live.clear()


def write_file(ctx: ModuleContext, path: Path, text: str, expected: str | None, action: str, endpoint_id: str,
               detail: dict[str, Any]) -> bool:
    """Write ``text`` to ``path`` (validated by the module), audit ``action``, sync; False after showing why not.

    ``expected`` is the file's fingerprint when editing started (None: a new file, which must not exist yet).
    Raises ConfigError when the module refuses the text.
    """
    label = f"{path.parent.name}/{path.name}"
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if (None if current is None else text_digest(current)) != expected:
        st.error(f"{label} changed on disk since you opened it (someone else saved, or the file was edited by "
                 "hand). Nothing was saved.\n\nWhat to do: copy your changes, press **Discard changes** or "
                 "**Cancel** to reload the file, and apply them again.")
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # the module's folder, on a site's first endpoint
        save_endpoints_file(path, text)
    except OSError as exc:
        st.error(f"Could not write {path}: {plain(exc)}\n\nWhat to do: the app needs write access to the "
                 "config folder; ask whoever runs it, or edit the file by hand.")
        return False
    written = text_digest(path.read_text(encoding="utf-8"))
    for other in editors().values():
        if expected is not None and other.digest == expected:  # other endpoints of this file stay saveable
            other.digest = written
    ctx.audit(action, endpoint_id, {"file": label, **detail})
    log.info("%s: %s %s in %s: %s", ctx.user, action, endpoint_id, label, sorted(detail.get("changed", {})))
    _after_change(ctx)
    return True


def _write(ctx: ModuleContext, endpoint_id: str, document: YamlDocument, text: str, changes: dict[str, Any],
           via: str) -> bool:
    """Write an edit of the endpoint to its file (see :func:`write_file`)."""
    state = editors().get(endpoint_id)
    expected = state.digest if state is not None else document.digest
    return write_file(ctx, document.path, text, expected, "endpoint.update", endpoint_id,
                      {"via": via, "changed": changes})


def save(ctx: ModuleContext, draft: Draft) -> None:
    """Validate and write the draft; on success reset the editor and rerun with a notice."""
    if validated(draft) is None:
        return
    changes = draft.changes()
    if not changes:
        st.info("Nothing changed: the file already says this.")
        return
    try:
        ok = _write(ctx, draft.endpoint_id, draft.document, draft.text, changes, draft.view.lower())
    except ConfigError as exc:  # the module validates again while saving
        show_problems(draft, exc)
        return
    if ok:
        reset_editor(draft.endpoint_id)
        ctx.notice("success", f"Saved {draft.endpoint_id} to {config_label(draft.document)}: "
              + ", ".join(sorted(changes)) + ".")
        st.rerun()


def toggle(ctx: ModuleContext, endpoint_id: str, document: YamlDocument, enable: bool) -> None:
    """Write ``enabled:`` to the file now (the editor holds no unsaved edit when this is offered)."""
    item = parse_snippet(document.snippet(endpoint_id), endpoint_id)
    before = to_plain(item)
    apply_form(item, {"enabled": enable})
    text = document.with_item(endpoint_id, item)
    try:
        ok = _write(ctx, endpoint_id, document, text, changed_fields(before, item), "toggle")
    except ConfigError as exc:
        st.error(f"{config_label(document)} has problems, so it cannot be saved until they are fixed "
                 f"(Validate shows them on their lines):\n\n{plain(exc)}")
        return
    if ok:
        reset_editor(endpoint_id)
        what = "enabled: the collector reads it again" if enable else "disabled: the collector stops reading it"
        ctx.notice("success", f"{endpoint_id} {what}.")
        st.rerun()
