"""Settings validation: secrets only as references, durations parse, required values present."""

from __future__ import annotations

from nxforge.app.settings_form import settings_to_save, validate_settings
from nxforge.module_system.manifest import SettingSpec

SPECS = {
    "name": SettingSpec(type="string", label="Name", default="world"),
    "token": SettingSpec(type="string", label="Token", secret=True, required=True),
    "every": SettingSpec(type="duration", label="Every", default="15m"),
    "mode": SettingSpec(type="select", label="Mode", default="a", options=["a", "b"]),
}


def test_secret_takes_only_a_reference() -> None:
    assert "reference" in validate_settings(SPECS, {"token": "hunter2"})["token"]
    assert "reference" in validate_settings(SPECS, {"token": "pre-${TOKEN}"})["token"]
    assert "token" not in validate_settings(SPECS, {"token": "${TOKEN}"})


def test_required_duration_and_select() -> None:
    problems = validate_settings(SPECS, {"token": "", "every": "soon", "mode": "c"})
    assert problems["token"] == "required"
    assert "not a duration" in problems["every"]
    assert "choose one of" in problems["mode"]
    assert validate_settings(SPECS, {"token": "${T}", "every": "2h", "mode": "b", "name": "x"}) == {}


def test_only_changed_and_required_values_are_saved() -> None:
    values = {"name": "world", "token": " ${T} ", "every": "1h", "mode": "a"}
    assert settings_to_save(SPECS, values) == {"token": "${T}", "every": "1h"}
