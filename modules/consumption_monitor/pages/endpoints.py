"""Endpoints (ops, admin): New endpoint, every endpoint with its status, the retired ones, then the
chosen endpoint's editor and its meter swap and correction forms.

This file is the page and its list; the editor is ``_endpoint_editor.py`` (a form and its YAML,
validated before saving with each problem shown on its line, Test and Suggest on the edited,
unsaved config, enable/disable, Duplicate, Delete), which keeps its state in ``_endpoint_state.py``,
saves through ``_endpoint_save.py`` and edits the file with ``_endpoint_yaml.py``'s round trip
(comments kept). Create and Duplicate are ``_endpoint_create.py``; Delete, which retires (readings
kept), is ``_endpoint_retire.py``; adding and removing a whole endpoint in a file's text is
``_endpoint_files.py``. ``?new`` in the URL opens the create panel (for other pages' empty states
to link to), ``?endpoint=ID`` preselects an endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from nxforge.sdk import ConfigError, ModuleContext, load_yaml, plain

from . import _endpoint_tools as tools
from ._endpoint_create import creator, open_creator, render_creator
from ._endpoint_editor import render_editor
from ._endpoint_retire import show_retired
from ._endpoint_state import ENDPOINT_BOX, SELECTED
from ._shared import cached_live, database_key, minute_now, settings_of

EDIT_ROLES = ("ops", "admin")
NEW_BUTTON = "ep-new-btn"
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


# --- the page --------------------------------------------------------------------------------------


def render(ctx: ModuleContext, role: str) -> None:
    """New endpoint, the list, then the chosen endpoint's editor, tools and meter event forms."""
    st.title("Endpoints")
    if role not in EDIT_ROLES:
        st.error("This page is for ops and admins: ask an admin for the ops role to edit endpoints.")
        return
    scan = scan_yaml(ctx.config_dir)
    for problem in scan.unreadable:
        st.error(f"A file cannot be read, so its endpoints are missing below:\n\n{plain(problem)}\n\n"
                 "What to do: fix it by hand (`nxforge config check`).")
    if st.query_params.get("new") is not None:  # a link from another page's empty state: open the create panel
        del st.query_params["new"]
        open_creator()
    creating = creator() is not None
    if not creating:
        st.button("New endpoint", key=NEW_BUTTON, icon=":material/add:", on_click=open_creator,
                  help="Add an endpoint with the same checks as the YAML; it is written to a file you choose")
    files = sorted(path.name for path in ctx.config_dir.glob("*.yaml")) if ctx.config_dir.is_dir() else []
    render_creator(ctx, {i: f"{e.path.name}:{e.line}" for i, e in scan.entries.items()}, files)
    tz = settings_of(ctx).timezone
    rows = endpoint_rows(ctx, scan)
    if not rows:
        if not creating:
            st.info("No endpoint yet: press **New endpoint** above to create one (or add one to a YAML file in "
                    f"`{ctx.config_dir}`, see docs/examples/consumption-monitor.yaml).")
        show_retired(ctx, tz)
        return
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    st.caption(f"{len(rows)} endpoint(s): " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
               + f" · YAML in `{ctx.config_dir}`")
    st.dataframe(rows, hide_index=True, height=min(38 + 35 * len(rows), 320),
                 column_config={"enabled": st.column_config.CheckboxColumn("enabled")})
    show_retired(ctx, tz)
    if creating:
        st.caption("Create or cancel the new endpoint above to edit the others.")
        return
    by_id = {row["endpoint"]: row for row in rows}
    ids = list(by_id)
    if st.session_state.get(SELECTED) not in by_id:  # first view: an editable endpoint, or the one in the URL
        asked = st.query_params.get("endpoint")
        editable = [endpoint_id for endpoint_id in ids if endpoint_id in scan.entries]
        st.session_state[SELECTED] = asked if asked in by_id else (editable or ids)[0]

    def label(endpoint_id: str) -> str:
        row = by_id[endpoint_id]
        return f"{endpoint_id} — {row['name']} ({row['status']})"

    def chosen() -> None:
        st.session_state[SELECTED] = st.session_state[ENDPOINT_BOX]

    st.session_state[ENDPOINT_BOX] = st.session_state[SELECTED]
    endpoint_id = st.selectbox("Endpoint", ids, key=ENDPOINT_BOX, format_func=label, on_change=chosen)
    assert isinstance(endpoint_id, str)
    row = by_id[endpoint_id]
    entry = scan.entries.get(endpoint_id)
    if entry is None:
        st.warning(f"{endpoint_id} is in the database but in no YAML file: the collector retires it on its next "
                   "run (its readings are kept). Add it back to a file to read it again.")
    else:
        render_editor(ctx, endpoint_id, entry.path, entry.line, row)
    st.divider()
    st.markdown("### Meter events")
    tools.meter_event_forms(ctx, endpoint_id, ctx.user or "unknown", tz, cached_live.clear)
