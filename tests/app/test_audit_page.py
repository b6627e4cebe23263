"""The Audit page (ops, admin) and its query functions: who changed what and when, with the diff."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import Engine, insert

from nxforge.app.queries import audit_diff, audit_filter_options, list_audit
from nxforge.db.schema import audit_log
from nxforge.db.types import utcnow
from nxforge.platform import ensure_schema
from tests.app.conftest import Site, open_page, texts

MARKDOWN_TARGET = "**rack-1** <b>x</b> [link](http://example.invalid)"
ENDPOINT_CHANGE = {"file": "endpoints.yaml", "via": "form",
                   "changed": {"circuit_max_kw": {"from": 7.4, "to": 11.0},
                               "scrape.auth.password": "changed (value not recorded)",
                               "name": {"from": "PDU _A_", "to": "# PDU A"}}}


def _rows(engine: Engine) -> None:
    now = utcnow()
    rows = [
        (now - timedelta(days=40), "cli:root", "module.enable", "consumption-monitor", {"migrations": ["001"]}),
        (now - timedelta(hours=3), "ops", "endpoint.update", "pdu-a1", ENDPOINT_CHANGE),
        (now - timedelta(hours=2), "admin", "user.role", "finance", {"role": "admin"}),
        (now - timedelta(hours=1), "ops", "endpoint.update", MARKDOWN_TARGET, {"changed": {"enabled": {"from": True,
                                                                                                     "to": False}}}),
        (now - timedelta(minutes=5), "admin", "module.disable", "hello-module", None),
    ]
    with engine.begin() as conn:
        conn.execute(insert(audit_log), [dict(zip(("at", "actor", "action", "target", "detail"), row, strict=True))
                                         for row in rows])


@pytest.fixture
def audited(engine: Engine) -> Engine:
    ensure_schema(engine)
    _rows(engine)
    return engine


def test_list_audit_filters_newest_first(audited: Engine) -> None:
    every = list_audit(audited)
    assert every["action"].to_list() == ["module.disable", "endpoint.update", "user.role", "endpoint.update",
                                         "module.enable"]
    assert list_audit(audited, actor="ops")["target"].to_list() == [MARKDOWN_TARGET, "pdu-a1"]
    assert list_audit(audited, action="user.role")["target"].to_list() == ["finance"]
    assert list_audit(audited, target="PDU-A")["target"].to_list() == ["pdu-a1"]  # a part of it, any case
    assert list_audit(audited, target="%").is_empty()  # LIKE wildcards are plain characters
    assert list_audit(audited, start=utcnow() - timedelta(days=1)).height == 4
    assert list_audit(audited, end=utcnow() - timedelta(days=1))["action"].to_list() == ["module.enable"]
    assert list_audit(audited, limit=2).height == 2
    options = audit_filter_options(audited)
    assert options == {"actor": ["admin", "cli:root", "ops"],
                       "action": ["endpoint.update", "module.disable", "module.enable", "user.role"]}


def test_audit_diff_gives_before_and_after(audited: Engine) -> None:
    detail = list_audit(audited, target="pdu-a1")["detail"].item()
    diff = audit_diff(detail)
    assert diff.rows() == [
        ("circuit_max_kw", "7.4", "11.0"),
        ("name", "PDU _A_", "# PDU A"),
        ("scrape.auth.password", "", "changed (value not recorded)"),
        ("file", "", "endpoints.yaml"),
        ("via", "", "form"),
    ]
    assert audit_diff(json.dumps({"migrations": ["001", "002"]})).rows() == [("migrations", "", '["001", "002"]')]
    assert audit_diff(None).is_empty()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_audit_page_shows_who_what_when_and_the_diff_as_text(site: Site) -> None:
    platform = site.platform()
    try:
        _rows(platform.engine)
    finally:
        platform.close()
    at = open_page(site.app("ops").run(), "audit")
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Audit"
    table = at.dataframe[0].value
    assert list(table.columns) == ["At", "Who", "Action", "Target", "Changed"]
    targets = table["Target"].tolist()
    assert MARKDOWN_TARGET in targets and "pdu-a1" in targets
    assert "consumption-monitor" not in targets  # 40 days old: outside the default 30 days
    assert MARKDOWN_TARGET not in texts(at.markdown)  # never rendered as Markdown
    row = at.selectbox(key="audit-row")
    row.select_index(next(i for i, label in enumerate(row.options) if label.endswith("· pdu-a1"))).run()
    diff = at.dataframe[1].value
    assert list(diff.columns) == ["Field", "Before", "After"]
    assert diff.values.tolist()[:2] == [["circuit_max_kw", "7.4", "11.0"], ["name", "PDU _A_", "# PDU A"]]
    at.text_input(key="audit-target").input("rack").run()
    assert at.dataframe[0].value["Target"].tolist() == [MARKDOWN_TARGET]
    at.selectbox(key="audit-action").select("user.role").run()
    assert "No change matches" in texts(at.info)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_viewer_and_finance_cannot_open_audit(site: Site) -> None:
    for role in ("viewer", "finance"):
        at = open_page(site.app(role).run(), "audit")
        assert at.title[0].value == "Overview"
