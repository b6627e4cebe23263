"""``nxforge.sdk``, the one surface modules import: every member documented in one line, every hook too."""

from __future__ import annotations

import typing

import nxforge.sdk as sdk
from nxforge.module_system.manifest import Manifest


def test_every_exported_name_has_a_one_line_doc() -> None:
    undocumented = [name for name in sdk.__all__ if name != "MEMBERS" and not sdk.MEMBERS.get(name, "").strip()]
    assert undocumented == [], f"add a line to nxforge.sdk.MEMBERS for: {', '.join(undocumented)}"
    multi_line = [name for name, doc in sdk.MEMBERS.items() if "\n" in doc]
    assert multi_line == [], f"MEMBERS entries are one line each: {multi_line}"


def test_every_documented_member_is_exported_and_exists() -> None:
    assert sorted(set(sdk.MEMBERS) - set(sdk.__all__)) == []
    assert [name for name in sdk.__all__ if not hasattr(sdk, name)] == []


def test_every_hook_is_documented_and_accepted_by_the_manifest() -> None:
    accepted = set(typing.get_args(typing.get_args(Manifest.model_fields["hooks"].annotation)[0]))
    assert accepted == set(sdk.HOOKS), "Manifest.hooks and HOOKS (nxforge/module_system/contract.py) must agree"
    assert [name for name, doc in sdk.HOOKS.items() if not doc.strip()] == []
