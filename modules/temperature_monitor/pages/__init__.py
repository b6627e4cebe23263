"""The module's Streamlit pages: each renders what a query function returns."""

from __future__ import annotations

from nxforge.sdk import ModuleContext

from ..config import SensorInfo, all_sensors, load_devices
from ..settings import TemperatureSettings


def configured_sensors(ctx: ModuleContext) -> list[SensorInfo]:
    """The sensors of the module's YAML folder (broken files are skipped and logged)."""
    devices, _problems = load_devices(ctx.config_dir, TemperatureSettings.from_context(ctx))
    return all_sensors(devices)
