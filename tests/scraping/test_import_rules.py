"""The scraping engine's imports: no circle inside the package, nothing of nxforge above the kernel.

Counts every import statement, also those inside functions (a lazy import hides a circle, it
does not remove it), as grimp and import-linter do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nxforge.scraping

PACKAGE = Path(nxforge.scraping.__file__).parent
KERNEL = {"nxforge.errors", "nxforge.secrets", "nxforge.log_redaction", "nxforge.lean_imports", "nxforge.durations",
          "nxforge.metrics",
          "nxforge.config.loader", "nxforge.config.errors"}


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(sibling modules, nxforge modules outside the package) that ``path`` imports."""
    siblings: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            siblings.update([node.module.split(".")[0]] if node.module else [a.name for a in node.names])
        elif isinstance(node, ast.ImportFrom) and node.level == 2:
            outside.add(f"nxforge.{node.module}" if node.module else "nxforge")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nxforge"):
            siblings.update(m.split(".")[2] for m in [node.module or ""] if m.startswith("nxforge.scraping."))
            outside.update(m for m in [node.module or ""] if not m.startswith("nxforge.scraping"))
        elif isinstance(node, ast.Import):
            outside.update(a.name for a in node.names if a.name.startswith("nxforge")
                           and not a.name.startswith("nxforge.scraping"))
    return siblings, outside


def graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob("*.py")}
    return {name: imports_of(path)[0] & modules.keys() - {name} for name, path in modules.items()}


def test_no_import_circle_inside_the_package() -> None:
    edges = graph()
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(edges[module]):
            if target in path:
                circles.append([*path[path.index(target):], target])
            elif target not in done:
                visit(target, [*path, target])
        done.add(module)

    done: set[str] = set()
    for module in sorted(edges):
        visit(module, [module])
    assert not circles, "import circles: " + "; ".join(" -> ".join(c) for c in circles)


def test_only_kernel_modules_from_outside() -> None:
    found = {(path.name, module) for path in PACKAGE.glob("*.py") for module in imports_of(path)[1]}
    assert {(name, module) for name, module in found if module not in KERNEL} == set()
