"""The module's Streamlit pages: each renders what a query function returns."""

from __future__ import annotations

from nxforge.sdk import ModuleContext

from ..config import SensorInfo, all_sensors, load_devices


def configured_sensors(ctx: ModuleContext) -> list[SensorInfo]:
    """The sensors of the module's YAML folder (broken files are skipped and logged)."""
    devices, _problems = load_devices(ctx.config_dir, ctx.settings)
    return all_sensors(devices)
