"""Alert history: every raise, escalation and recovery the module decided, newest first, in the site's zone."""

from __future__ import annotations

import streamlit as st

from nxforge.sdk import MISSING, ModuleContext, local_time, number, plain

from ..kinds import kind_label, shown_unit
from ..pages import configured_sensors
from ..pages._charts import show_table
from ..queries import alert_history


def render(ctx: ModuleContext, role: str) -> None:
    """The transitions table: sensor names, kinds and units from the config, levels coloured."""
    tz = ctx.timezone
    st.title("Temperature alerts")
    history = alert_history(ctx.db)
    if history.is_empty():
        st.success("No alert so far.")
        return
    by_id = {s.id: s for s in configured_sensors(ctx)}
    rows = []
    for row in history.iter_rows(named=True):
        sensor = by_id.get(row["sensor_id"])
        unit = shown_unit(sensor.kind, sensor.unit) if sensor else ""
        rows.append({
            "at": local_time(row["at"], tz, with_seconds=True), "sensor": sensor.name if sensor else row["sensor_id"],
            "kind": kind_label(sensor.kind) if sensor else MISSING, "transition": row["transition"],
            "level": row["level"], "direction": row["direction"] or MISSING,
            "value": number(row["value"], 1, unit), "threshold": number(row["threshold"], 1, unit),
            "message": row["message"], "sensor_id": row["sensor_id"],
        })  # fmt: skip
    st.caption(plain(f"{history.height} transition(s), newest first · times in {tz.key}"))
    show_table(rows, {"level": history["level"].to_list()}, {
        "at": f"When ({tz.key})", "sensor": "Sensor", "kind": "Kind", "transition": "Transition", "level": "Level",
        "direction": "Side", "value": "Value (°C, %RH)", "threshold": "Limit (°C, %RH)", "message": "Message",
        "sensor_id": "Sensor ID",
    })  # fmt: skip
