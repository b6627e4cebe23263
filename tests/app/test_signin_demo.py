"""The demo users' published passwords sign in only under ``nxforge demo`` (NXFORGE_DEMO=1)."""

from __future__ import annotations

import subprocess

import pytest
from sqlalchemy import select

from nxforge.auth.users import USERS_FILE, UserStore
from nxforge.db.schema import events
from nxforge.demo import start_app
from tests.app.conftest import Site, texts
from tests.app.test_app_pages import button, page_title


def sign_in(site: Site, username: str, password: str) -> object:
    at = site.app(None).run()
    at.text_input(key="nx_login_username").input(username)
    at.text_input(key="nx_login_password").input(password)
    button(at, "Sign in").click().run()  # type: ignore[attr-defined]
    return at


def test_a_published_demo_password_is_refused_outside_the_demo(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NXFORGE_DEMO", raising=False)
    UserStore(site.env.config_dir / USERS_FILE, rounds=4).set_password("finance", "finance-demo-pass")
    at = sign_in(site, "finance", "finance-demo-pass")
    assert "demo's published password" in texts(at.error)  # type: ignore[attr-defined]
    assert "nxforge users passwd finance" in texts(at.error)  # type: ignore[attr-defined]
    assert [b.label for b in at.button] == ["Sign in"]  # type: ignore[attr-defined]
    platform = site.platform()
    try:
        with platform.engine.connect() as conn:
            kinds = conn.execute(select(events.c.kind, events.c.severity).where(events.c.module == "core")).all()
    finally:
        platform.close()
    assert ("auth.demo_password_refused", "warning") in [tuple(row) for row in kinds]


def test_the_demo_signs_them_in(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NXFORGE_DEMO", "1")
    UserStore(site.env.config_dir / USERS_FILE, rounds=4).set_password("finance", "finance-demo-pass")
    at = sign_in(site, "finance", "finance-demo-pass")
    assert not at.error  # type: ignore[attr-defined]
    assert page_title(at) == "Overview"


def test_nxforge_demo_starts_the_app_with_demo_mode_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """``nxforge demo`` hands NXFORGE_DEMO=1 to the app it starts (checked on the child's environment)."""
    seen: dict[str, str] = {}
    real_popen = subprocess.Popen

    def record(command: list[str], env: dict[str, str], start_new_session: bool) -> object:
        seen.update(env)
        return real_popen(["true"])

    monkeypatch.setattr(subprocess, "Popen", record)
    monkeypatch.delenv("NXFORGE_DEMO", raising=False)
    start_app(0).wait()  # type: ignore[attr-defined]
    assert seen["NXFORGE_DEMO"] == "1"
