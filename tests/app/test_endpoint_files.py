"""Adding and removing a whole endpoint in an endpoint file's text (``pages/_endpoint_files.py``):
everything else in the file stays byte for byte, comments included, whatever the layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from nxforge.module_system.loading import mount_modules
from nxforge.sdk import ConfigProblem
from tests.app.consumption_site import MODULES_DIR

mount_modules(MODULES_DIR)

from nxforge_modules.consumption_monitor.pages._endpoint_files import (  # noqa: E402
    field_of,
    id_problem,
    new_file_path,
    new_item,
    with_new_item,
    without_item,
)
from nxforge_modules.consumption_monitor.pages._endpoint_yaml import YamlDocument  # noqa: E402

SITE = """\
# header comment
clients: [{name: acme}, {name: globex}]
endpoints:
  - id: a
    name: A  # inline
    client: acme
    scrape: {preset: plain, url: "http://x/a"}
  # the note above b
  - id: b
    name: B
    client: acme
    scrape:
      preset: plain
      url: http://x/b
# the note after the list
"""


def document(tmp_path: Path, text: str) -> YamlDocument:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return YamlDocument.load(path)


def test_removing_cuts_only_the_endpoints_lines(tmp_path: Path) -> None:
    doc = document(tmp_path, SITE)
    lines = SITE.splitlines(keepends=True)
    assert without_item(doc, "a") == "".join(lines[:3] + lines[7:])  # the note above b stays
    assert without_item(doc, "b") == "".join(lines[:8] + lines[14:])  # and the note after the list
    with pytest.raises(KeyError):
        without_item(doc, "c")


def test_removing_with_the_dash_on_its_own_line_and_the_last_endpoint(tmp_path: Path) -> None:
    text = "endpoints:\n-\n  id: a\n  name: A\n- id: b\n  name: B\n"
    assert without_item(document(tmp_path, text), "a") == "endpoints:\n- id: b\n  name: B\n"
    only = "clients: []\nendpoints:\n  - id: a\n    name: A\n"
    assert without_item(document(tmp_path, only), "a") == "clients: []\nendpoints: []\n"


def test_removing_from_a_flow_list_falls_back_to_the_round_trip(tmp_path: Path) -> None:
    text = "endpoints: [{id: a, name: A}, {id: b, name: B}]  # two\n"
    cut = without_item(document(tmp_path, text), "a")
    assert cut.startswith("endpoints: [{id: b, name: B}]") and cut.endswith("# two\n")  # the comment keeps its column


def test_adding_appends_after_the_last_endpoint_and_keeps_the_rest(tmp_path: Path) -> None:
    doc = document(tmp_path, SITE)
    item = new_item("c", doc.item("a"))
    item["name"] = "C"
    text = with_new_item(doc, item)
    lines = SITE.splitlines(keepends=True)
    assert text == "".join(lines[:14]) + (
        '  - id: c\n    name: C\n    client: acme\n    scrape:\n      preset: plain\n      url: "http://x/a"\n'
    ) + lines[14]
    assert "# inline" not in text.split("- id: c")[1]  # the copy leaves the original's comments behind


def test_adding_to_an_empty_list_or_a_file_of_comments(tmp_path: Path) -> None:
    empty = "clients: [{name: acme}]\nendpoints: []  # none yet\n"
    assert with_new_item(document(tmp_path, empty), new_item("x")) == (
        "clients: [{name: acme}]\nendpoints:  # none yet\n  - id: x\n"
    )
    assert with_new_item(document(tmp_path, "# only a comment\n"), new_item("x")) == (
        "# only a comment\nendpoints:\n  - id: x\n"
    )


def test_the_id_and_file_name_checks(tmp_path: Path) -> None:
    taken = {"a": "site.yaml:4"}
    assert id_problem("a", taken, {}) == "id 'a' is already used at site.yaml:4: ids are unique across all files"
    assert "not a slug" in (id_problem("Rack A", taken, {}) or "")
    assert "readings are kept" in (id_problem("old", taken, {"old": "an endpoint retired on 2026-01-02"}) or "")
    assert id_problem("new-1", taken, {}) is None
    (tmp_path / "site.yaml").write_text("")
    assert (new_file_path(tmp_path, "site")[1] or "").startswith("site.yaml exists already")
    assert new_file_path(tmp_path, "../etc")[0] is None
    assert new_file_path(tmp_path, "room-4.yaml") == (tmp_path / "room-4.yaml", None)


def test_a_problem_belongs_to_the_form_field_of_its_path() -> None:
    def problem(field: str) -> ConfigProblem:
        return ConfigProblem(Path("site.yaml"), 9, field, "bad")

    assert field_of(problem("endpoints.2.client"), 2) == "client"
    assert field_of(problem("endpoints.2.scrape.values.total_kwh.selector"), 2) == "selector"
    assert field_of(problem("endpoints.2.scrape.auth.password"), 2) == "password"
    assert field_of(problem("endpoints.2.scrape.url"), 2) == "url"
    assert field_of(problem("endpoints.2.id"), 2) == "id"
    assert field_of(problem("endpoints.1.client"), 2) is None  # another endpoint's problem
    assert field_of(problem("endpoints.2.scrape.steps.0"), 2) is None
