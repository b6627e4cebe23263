"""The app end to end in AppTest: login, per-role navigation, every core page with real data, errors."""

from __future__ import annotations

import io
import zipfile

import pytest
import yaml
from sqlalchemy import select

from nxforge.app.formatting import plain
from nxforge.db.schema import audit_log
from nxforge.platform import Platform
from tests.app.conftest import PASSWORDS, Site, copy_app_fixture_module, open_page, texts
from tests.conftest import FIXTURES

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def page_title(at: object) -> str:
    return at.title[0].value if at.title else ""  # type: ignore[attr-defined]


def assert_clean(at: object) -> None:
    """No uncaught exception and no traceback anywhere on the page."""
    assert not at.exception, [e.value for e in at.exception]  # type: ignore[attr-defined]
    assert "Traceback" not in texts(at.error) + texts(at.markdown)  # type: ignore[attr-defined]


def audit_actions(site: Site) -> list[tuple[str, str, str]]:
    platform = Platform(site.env)
    try:
        with platform.engine.connect() as conn:
            columns = (audit_log.c.actor, audit_log.c.action, audit_log.c.target)
            rows = conn.execute(select(*columns).order_by(audit_log.c.id))
            return [tuple(row) for row in rows]  # type: ignore[misc]
    finally:
        platform.close()


def button(at: object, label: str) -> object:
    return next(b for b in at.button if b.label == label)  # type: ignore[attr-defined]


# --- login -------------------------------------------------------------------------------------


def test_logged_out_sees_only_the_login_page_even_by_url(site: Site) -> None:
    at = open_page(site.app(None).run(), "users")
    assert_clean(at)
    assert [b.label for b in at.button] == ["Sign in"]
    assert page_title(at) == "Test site"


def test_login_with_wrong_then_right_password(site: Site) -> None:
    at = site.app(None).run()
    at.text_input(key="nx_login_username").input("ops")
    at.text_input(key="nx_login_password").input("wrong password")
    button(at, "Sign in").click().run()  # type: ignore[attr-defined]
    assert "Wrong username or password" in texts(at.error)
    at.text_input(key="nx_login_password").input(PASSWORDS["ops"])
    button(at, "Sign in").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert page_title(at) == "Overview"
    assert "Test Ops" in texts(at.sidebar.markdown)


def test_sign_out_returns_to_login(site: Site) -> None:
    at = site.app("viewer").run()
    at.sidebar.button(key="nx_logout").click().run()
    assert [b.label for b in at.button] == ["Sign in"]


def test_removed_user_is_logged_out_at_next_click(site: Site) -> None:
    at = site.app("ghost").run()
    assert [b.label for b in at.button] == ["Sign in"]


# --- per-role routing --------------------------------------------------------------------------

ROUTES = {
    "viewer": {"overview", "hello-module-greetings"},
    "finance": {"overview"},
    "ops": {"overview", "executions", "events", "audit"},
    "admin": {"overview", "executions", "events", "audit", "modules", "users", "hello-module-greetings"},
}
TITLES = {"executions": "Executions", "events": "Events", "audit": "Audit", "modules": "Modules", "users": "Users"}


@pytest.mark.parametrize("role", list(ROUTES))
def test_each_role_reaches_its_pages_and_no_others(site: Site, role: str) -> None:
    at = site.app(role).run()
    for url_path, title in TITLES.items():
        open_page(at, url_path)
        assert_clean(at)
        expected = title if url_path in ROUTES[role] else "Overview"  # unknown URL -> the default page
        assert page_title(at) == expected, (role, url_path)
    open_page(at, "hello-module-greetings")
    greeting = "Hello world" in texts(at.markdown)
    assert greeting == ("hello-module-greetings" in ROUTES[role])


def test_viewer_cannot_reach_users_or_modules(site: Site) -> None:
    at = site.app("viewer").run()
    for url_path in ("users", "modules"):
        open_page(at, url_path)
        assert page_title(at) == "Overview"
        assert not [b for b in at.button if b.label in ("Add user", "Enable", "Disable")]


# --- core pages with data ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_overview_shows_modules_last_runs_and_failures(site: Site, role: str) -> None:
    at = site.app(role).run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Enabled modules": "1", "Jobs that have run": "2", "Failed runs, last 7 days": "1"}
    modules = at.dataframe[0].value
    assert set(modules["Name"]) == {"hello-module", "needs-hello"}
    last_runs = at.dataframe[1].value
    assert set(last_runs["Job"]) == {"greet", "slow"}
    failures = at.dataframe[2].value
    assert list(failures["Error"]) == ["TimeoutError: stopped after 1s"]


def test_executions_filter_and_details(site: Site) -> None:
    at = open_page(site.app("ops").run(), "executions")
    assert_clean(at)
    assert set(at.dataframe[0].value["Job"]) == {"greet", "slow"}
    assert "TimeoutError: stopped after 1s" in texts(at.error)
    assert any('"greetings": 1' in j.value or "greetings" in j.value for j in at.json)
    at.multiselect(key="exec-status").select("timeout").run()
    assert list(at.dataframe[0].value["Job"]) == ["slow"]
    at.selectbox(key="exec-job").select("greet").run()
    assert "No run matches" in texts(at.info)


def test_events_filter_by_severity(site: Site) -> None:
    at = open_page(site.app("admin").run(), "events")
    assert_clean(at)
    kinds = set(at.dataframe[0].value["Kind"])
    assert {"greeting.sent", "greeting.failed", "module.enabled"} <= kinds
    at.multiselect(key="event-severity").select("error").run()
    table = at.dataframe[0].value
    assert list(table["Kind"]) == ["greeting.failed"]
    assert '"attempts": 3' in table["Data"][0]


# --- modules -----------------------------------------------------------------------------------


def test_disabling_a_module_removes_its_pages(site: Site) -> None:
    at = open_page(site.app("admin").run(), "modules")
    assert_clean(at)
    at.button(key="disable-hello-module").click().run()
    assert_clean(at)
    assert "Hello Module disabled" in texts(at.success)
    open_page(at, "hello-module-greetings")
    assert page_title(at) == "Overview"  # the URL is gone, not just the menu entry
    assert "Hello world" not in texts(at.markdown)
    assert ("app:admin", "module.disable", "hello-module") in audit_actions(site)


def test_enable_refused_shows_the_dependency_reason(site: Site) -> None:
    at = open_page(site.app("admin").run(), "modules")
    at.button(key="disable-hello-module").click().run()
    open_page(at, "modules")
    at.button(key="enable-needs-hello").click().run()
    assert_clean(at)
    assert "cannot enable needs-hello" in texts(at.error)
    assert "hello-module" in texts(at.error)


def test_settings_form_accepts_only_references_for_secrets(site: Site) -> None:
    at = open_page(site.app("admin").run(), "modules")
    at.text_input(key="settings-hello-module-token").input("plain-secret-value")
    at.text_input(key="settings-hello-module-name").input("Ada")
    button(at, "Save settings").click().run()  # type: ignore[attr-defined]
    assert "a secret takes a reference" in texts(at.error)
    assert "plain-secret-value" not in site.env.core_config_path.read_text()
    at.text_input(key="settings-hello-module-token").input("${HELLO_TOKEN}")
    button(at, "Save settings").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    saved = yaml.safe_load(site.env.core_config_path.read_text())["modules"]["settings"]["hello-module"]
    assert saved == {"name": "Ada", "token": "${HELLO_TOKEN}"}
    assert site.env.core_config_path.read_text().startswith("# test site")
    assert ("app:admin", "module.settings", "hello-module") in audit_actions(site)
    open_page(at, "hello-module-greetings")
    assert "Hello Ada (admin)" in texts(at.markdown)


def _zip_of(folder_name: str) -> bytes:
    buffer = io.BytesIO()
    source = FIXTURES / "modules" / folder_name
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, f"{folder_name}/{path.relative_to(source)}")
    return buffer.getvalue()


def test_install_zip_from_the_page(site: Site) -> None:
    (site.env.modules_dir / "needs_hello").rename(site.env.modules_dir.parent / "needs_hello_away")
    at = open_page(site.app("admin").run(), "modules")
    at.file_uploader(key="nx_install_zip").upload("needs_hello.zip", _zip_of("needs_hello"), "application/zip")
    at.run()
    at.button(key="nx_install").click().run()
    assert_clean(at)
    assert f"Needs Hello {plain('0.1.0')} installed (disabled)" in texts(at.success)  # manifest text escaped
    assert (site.env.modules_dir / "needs_hello" / "manifest.yaml").exists()
    assert ("app:admin", "module.install", "needs-hello") in audit_actions(site)
    at.file_uploader(key="nx_install_zip").upload("junk.zip", b"not a zip", "application/zip")
    at.run()
    at.button(key="nx_install").click().run()
    assert "Not installed" in texts(at.error)


# --- errors ------------------------------------------------------------------------------------


def test_a_page_raising_shows_an_error_not_a_traceback(site: Site) -> None:
    copy_app_fixture_module(site.env, "raising_module")
    platform = site.platform()
    try:
        from nxforge.module_admin.lifecycle import enable_module

        enable_module(platform, "raising-module", "test")
    finally:
        platform.close()
    at = open_page(site.app("viewer").run(), "raising-module-boom")
    assert_clean(at)
    assert "before the failure" in texts(at.markdown)
    message = texts(at.error)
    assert f"{plain('Raising Module / Boom')}** failed: RuntimeError: meter table is empty" in message
    assert "What to do" in message and "reference" in message
    open_page(at, "raising-module-missing")
    assert_clean(at)
    assert "cannot be loaded" in texts(at.error) and "raising_module.nowhere" in texts(at.error)


def test_duplicate_url_path_names_the_module_and_keeps_the_app_up(site: Site) -> None:
    copy_app_fixture_module(site.env, "hello")
    platform = site.platform()
    try:
        from nxforge.module_admin.lifecycle import enable_module

        enable_module(platform, "hello", "test")
    finally:
        platform.close()
    at = open_page(site.app("admin").run(), "hello-module-greetings")
    assert_clean(at)
    assert "module 'hello': page 'module-greetings'" in texts(at.error)
    assert "Hello world" in texts(at.markdown)  # the first owner of the URL keeps it


# --- users -------------------------------------------------------------------------------------


def test_admin_adds_user_changes_role_and_resets_password(site: Site) -> None:
    at = open_page(site.app("admin").run(), "users")
    assert_clean(at)
    assert set(at.dataframe[0].value["Username"]) == set(PASSWORDS)
    at.text_input(key="nx-add-username").input("grace")
    at.text_input(key="nx-add-name").input("Grace H")
    at.selectbox(key="nx-add-role").select("finance")
    at.text_input(key="nx-add-password").input("grace-pass-1")
    at.text_input(key="nx-add-repeat").input("grace-pass-1")
    button(at, "Add user").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert "User grace added as finance" in texts(at.success)
    at.selectbox(key="nx-role-user").select("grace")
    at.selectbox(key="nx-role-role").select("ops")
    button(at, "Change role").click().run()  # type: ignore[attr-defined]
    at.selectbox(key="nx-pw-user").select("grace")
    at.text_input(key="nx-pw-password").input("grace-pass-2")
    at.text_input(key="nx-pw-repeat").input("grace-pass-2")
    button(at, "Reset password").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    store = site.app(None)  # a fresh store reads the file again
    del store
    from nxforge.auth.users import USERS_FILE, UserStore

    users = UserStore(site.env.config_dir / USERS_FILE)
    grace = users.authenticate("grace", "grace-pass-2")
    assert grace is not None and grace.role == "ops"
    actions = [a for a in audit_actions(site) if a[2] == "grace"]
    assert [a[1] for a in actions] == ["user.add", "user.role", "user.passwd"]
    assert {a[0] for a in actions} == {"app:admin"}
    assert "user.passwd" in set(at.dataframe[1].value["Action"])


def test_last_admin_cannot_be_demoted_and_role_changes_apply_at_once(site: Site) -> None:
    at = open_page(site.app("admin").run(), "users")
    at.selectbox(key="nx-role-user").select("admin")
    at.selectbox(key="nx-role-role").select("viewer")
    button(at, "Change role").click().run()  # type: ignore[attr-defined]
    assert "last admin" in texts(at.error)
    at.selectbox(key="nx-role-user").select("ops")
    at.selectbox(key="nx-role-role").select("viewer")
    button(at, "Change role").click().run()  # type: ignore[attr-defined]
    ops_session = open_page(site.app("ops").run(), "executions")
    assert page_title(ops_session) == "Overview"  # ops is a viewer now


@pytest.mark.parametrize(("username", "expected"), [("admin", "Users"), ("viewer", "Overview")])
def test_a_bookmarked_url_opens_after_signing_in_if_the_role_may(site: Site, username: str, expected: str) -> None:
    at = open_page(site.app(None).run(), "users")
    at.text_input(key="nx_login_username").input(username)
    at.text_input(key="nx_login_password").input(PASSWORDS[username])
    button(at, "Sign in").click().run()  # type: ignore[attr-defined]
    assert_clean(at)
    assert page_title(at) == expected
