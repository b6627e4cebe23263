"""``nxforge config check``: validate every YAML file at once and report every problem with file:line."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from nxforge.auth.users import USERS_FILE, UsersDocument
from nxforge.config.errors import ConfigError, ConfigProblem
from nxforge.config.loader import validate_file
from nxforge.config.models import CoreConfig
from nxforge.environment import Environment
from nxforge.module_system.discovery import MANIFEST_FILE, discover_modules
from nxforge.module_system.loading import HandlerError, resolve_handler
from nxforge.module_system.manifest import Manifest


def _problems_of(path: Path, model: type[BaseModel]) -> list[ConfigProblem]:
    try:
        validate_file(path, model)
    except ConfigError as exc:
        return exc.problems
    return []


def check_all(env: Environment) -> tuple[list[Path], list[ConfigProblem]]:
    """The files checked and every problem found in them."""
    checked: list[Path] = []
    problems: list[ConfigProblem] = []
    core: CoreConfig | None = None
    if env.core_config_path.exists():
        checked.append(env.core_config_path)
        found = _problems_of(env.core_config_path, CoreConfig)
        problems += found
        if not found:
            core = validate_file(env.core_config_path, CoreConfig)
    users_path = env.config_dir / USERS_FILE
    if users_path.exists():
        checked.append(users_path)
        problems += _problems_of(users_path, UsersDocument)
    enabled = set(core.modules.enabled) if core else set()
    modules = discover_modules(env.modules_dir)
    known = {info.name for info in modules}
    for name in sorted(enabled - known):
        message = f"module {name!r} is enabled but not installed"
        problems.append(ConfigProblem(env.core_config_path, None, "modules.enabled", message))
    for info in modules:
        manifest_path = info.folder / MANIFEST_FILE
        checked.append(manifest_path)
        if info.manifest is None:
            found = _problems_of(manifest_path, Manifest)
            problems += found or [ConfigProblem(manifest_path, None, "", info.error or "invalid manifest")]
            continue
        if info.manifest.config is None:
            continue
        folder = env.config_dir / info.manifest.config.folder
        try:
            model = resolve_handler(env.modules_dir, info.manifest.config.model)
        except HandlerError as exc:
            problems.append(ConfigProblem(manifest_path, None, "config.model", str(exc)))
            continue
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            checked.append(path)
            problems += _problems_of(path, model)
    return checked, problems

