"""Calling a module's config hooks (``config-rules``, ``clients``): the same arguments for every one.

Both are asked about the module's config folder, with its settings as ``nxforge.yaml`` gives them,
and only for an enabled module (see HOOKS in ``contract.py``).
"""

from __future__ import annotations

from typing import Any

from nxforge.config.models import CoreConfig
from nxforge.environment import Environment
from nxforge.module_system.discovery import ModuleInfo
from nxforge.module_system.loading import resolve_handler

NOT_ASKED = object()
"""What ``call_config_hook`` returns when the module has no such hook, no config folder or is not enabled."""


def call_config_hook(env: Environment, core: CoreConfig | None, info: ModuleInfo, name: str) -> Any:
    """The answer of ``info``'s hook ``name`` about its config folder, or ``NOT_ASKED``; a hook's error propagates."""
    manifest = info.manifest
    hook = manifest.hooks.get(name) if manifest is not None else None  # type: ignore[call-overload]
    if manifest is None or hook is None or manifest.config is None or core is None:
        return NOT_ASKED
    if info.name not in core.modules.enabled:
        return NOT_ASKED
    settings = manifest.settings_with(core.modules.settings.get(info.name))
    return resolve_handler(env.modules_dir, hook)(config_dir=env.config_dir / manifest.config.folder,
                                                  settings=settings)
