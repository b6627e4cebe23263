"""Delete on the Endpoints page, which retires: the endpoint leaves its YAML file, and the sync that
follows sets ``retired_at`` on its row (``sync.py``), as when ops delete it by hand.

Why no ``retired:`` key in the YAML: a retired endpoint is one the YAML no longer lists. The
collector stops reading it, Live leaves it out, its readings stay under its id and the months it
was active bill as before (``segments.py`` keeps endpoints retired after a period starts). Putting
the same id back into a file brings it back with its history, which is why a new endpoint may not
take a retired one's id. The audit row keeps what was deleted (secrets only as "changed").

The small queries below serve only this page: which ids the database holds, and how many readings
the retired ones (or the one being deleted) keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import streamlit as st
from sqlalchemy import Engine, func, select

from nxforge.sdk import ConfigError, ModuleContext, plain

from ..tables import endpoint, reading
from ._endpoint_files import without_item
from ._endpoint_form import widget_key
from ._endpoint_save import config_label, write_file
from ._endpoint_state import SELECTED, editors, reset_editor
from ._endpoint_yaml import YamlDocument, changed_fields, parse_snippet

DELETING = "ep-deleting"
"""The session-state key of the endpoint whose deletion waits for confirmation."""


@dataclass(frozen=True)
class StoredEndpoint:
    """An endpoint row as the database holds it: its name and when it was retired (None: active)."""

    name: str
    retired_at: datetime | None


def stored_endpoints(engine: Engine) -> dict[str, StoredEndpoint]:
    """Every endpoint row, retired ones included (one small table: no readings are touched)."""
    with engine.connect() as conn:
        rows = conn.execute(select(endpoint.c.id, endpoint.c.name, endpoint.c.retired_at))
        return {row.id: StoredEndpoint(row.name, row.retired_at) for row in rows}


def readings_kept(engine: Engine, endpoint_ids: list[str]) -> dict[str, int]:
    """How many readings each of ``endpoint_ids`` has (counted by the readings' endpoint index, only for those)."""
    if not endpoint_ids:
        return {}
    query = (select(reading.c.endpoint_id, func.count().label("readings"))
             .where(reading.c.endpoint_id.in_(endpoint_ids)).group_by(reading.c.endpoint_id))
    with engine.connect() as conn:
        counted = {row.endpoint_id: int(row.readings) for row in conn.execute(query)}
    return {endpoint_id: counted.get(endpoint_id, 0) for endpoint_id in endpoint_ids}


def retired_rows(engine: Engine, tz: ZoneInfo) -> list[dict[str, Any]]:
    """The retired endpoints, most recently retired first, with the readings each keeps, for the page's table."""
    retired = sorted(((i, s) for i, s in stored_endpoints(engine).items() if s.retired_at is not None),
                     key=lambda pair: pair[1].retired_at or datetime.min, reverse=True)
    counts = readings_kept(engine, [endpoint_id for endpoint_id, _ in retired])
    return [{"endpoint": endpoint_id, "name": row.name,
             "retired": row.retired_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if row.retired_at else "",
             "readings kept": counts[endpoint_id]} for endpoint_id, row in retired]


def show_retired(ctx: ModuleContext, tz: ZoneInfo) -> None:
    """The retired endpoints in an expander (nothing when there are none)."""
    rows = retired_rows(ctx.db, tz)
    if not rows:
        return
    with st.expander(f"Retired endpoints ({len(rows)})"):
        st.caption(f"Deleted from the YAML: not read, not on Live. Their readings are kept and the months they "
                   f"were active bill as before. Times in {tz.key}. To bring one back, put its YAML back into a "
                   "file with the same id (the Audit page shows what was deleted).")
        st.dataframe(rows, hide_index=True)


def request_delete(endpoint_id: str) -> None:
    """Ask for confirmation before deleting (the Delete button's callback)."""
    st.session_state[DELETING] = endpoint_id


def cancel_delete() -> None:
    """Forget the pending deletion."""
    st.session_state.pop(DELETING, None)


def confirm_delete(ctx: ModuleContext, endpoint_id: str, document: YamlDocument, name: str) -> None:
    """The confirmation box under the header when Delete was pressed for this endpoint."""
    if st.session_state.get(DELETING) != endpoint_id:
        return
    readings = readings_kept(ctx.db, [endpoint_id])[endpoint_id]
    with st.container(border=True):
        st.warning(f"Delete **{endpoint_id}** ({plain(name)}) from {config_label(document)}? The collector stops "
                   f"reading it and it leaves Live. Its {readings:,} reading(s) stay, and the months it was "
                   "active bill as before. The deleted YAML is kept in the audit trail.")
        yes, no, _ = st.columns([1, 1, 3])
        sure = yes.button("Delete and retire", key=widget_key(endpoint_id, "delete-confirm"), type="primary",
                          icon=":material/delete:")
        no.button("Keep it", key=widget_key(endpoint_id, "delete-cancel"), on_click=cancel_delete)
    if sure:
        retire(ctx, endpoint_id, document)


def retire(ctx: ModuleContext, endpoint_id: str, document: YamlDocument) -> None:
    """Remove the endpoint from its file, audit it with what was removed, sync (which retires it), then rerun."""
    item = parse_snippet(document.snippet(endpoint_id), endpoint_id)
    text = without_item(document, endpoint_id)
    state = editors().get(endpoint_id)
    expected = state.digest if state is not None else document.digest
    try:
        ok = write_file(ctx, document.path, text, expected, "endpoint.delete", endpoint_id,
                        {"via": "page", "retired": True, "changed": changed_fields(item, None)})
    except ConfigError as exc:
        st.error(f"{config_label(document)} has other problems, so it cannot be saved until they are fixed "
                 f"(`nxforge config check` names the lines):\n\n{plain(exc)}")
        return
    if not ok:
        return
    cancel_delete()
    reset_editor(endpoint_id)
    st.session_state.pop(SELECTED, None)
    kept = stored_endpoints(ctx.db).get(endpoint_id)
    if kept is not None and kept.retired_at is not None:
        readings = readings_kept(ctx.db, [endpoint_id])[endpoint_id]
        ctx.notice("success", f"Deleted {endpoint_id} from {config_label(document)} and retired it: the collector "
                   f"no longer reads it and it left Live. Its {readings:,} reading(s) are kept; past months "
                   "bill as before.")
    else:
        ctx.notice("success", f"Deleted {endpoint_id} from {config_label(document)}. The collector retires it on "
                   "its next complete read of the endpoint files (its readings are kept).")
    st.rerun()
