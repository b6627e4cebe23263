"""Builds the module of docs/writing-a-module.md from its code blocks, enables it and runs it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml
from sqlalchemy import text

from nxforge.collector.runner import Collector
from nxforge.environment import Environment
from nxforge.module_admin.lifecycle import enable_module, list_modules
from nxforge.module_system.loading import resolve_handler
from nxforge.platform import Platform

DOC = Path(__file__).resolve().parents[2] / "docs" / "writing-a-module.md"
BLOCK = re.compile(r"<!-- file: (?P<path>[\w/.]+) -->\n```\w+\n(?P<body>.*?)```", re.DOTALL)


def build_from_doc(modules_dir: Path) -> list[str]:
    written = []
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        target = modules_dir / match["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(match["body"], encoding="utf-8")
        written.append(match["path"])
    return written


def test_the_walkthrough_module_works(nx_env: Environment) -> None:
    written = build_from_doc(nx_env.modules_dir)
    assert {"door_counter/manifest.yaml", "door_counter/collect.py", "door_counter/queries.py",
            "door_counter/pages/doors.py"} <= set(written)
    nx_env.core_config_path.write_text(yaml.safe_dump({"timezone": "UTC"}))
    platform = Platform(nx_env)
    try:
        assert enable_module(platform, "door-counter", "doc-test") == ["001_tables"]
        runs = Collector(platform, module="door-counter").run_due()
        assert [(r.job, r.status, r.summary) for r in runs] == [("count", "ok", {"rack": "A1", "openings": 3})]
        with platform.engine.connect() as conn:
            assert conn.execute(text("SELECT openings FROM dc_openings")).scalar_one() == 3
        assert {m.name: m.status for m in list_modules(platform)}["door-counter"] == "enabled"
        info = platform.module("door-counter")
        assert info.manifest is not None
        assert callable(resolve_handler(nx_env.modules_dir, info.manifest.pages[0].handler))
        queries = resolve_handler(nx_env.modules_dir, "door_counter.queries:latest_counts")
        assert queries(platform.engine)["openings"].to_list() == [3]
    finally:
        platform.close()
        for name in [m for m in sys.modules if m.startswith("nxforge_modules.door_counter")]:
            sys.modules.pop(name)
