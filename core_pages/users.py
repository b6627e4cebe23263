"""Users (admin): who can sign in and with which role; add, change role, reset password. Every change is audited."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from nxforge.app import queries
from nxforge.app.cached import clear_queries, query
from nxforge.app.context import CorePageContext
from nxforge.app.flash import flash
from nxforge.app.formatting import local_time, plain
from nxforge.audit import record_audit
from nxforge.auth.passwords import PasswordError
from nxforge.auth.users import UserError
from nxforge.module_system.clients import undeclared_client
from nxforge.roles import ROLE_DESCRIPTIONS, ROLES


def _apply(
    ctx: CorePageContext, change: Callable[[], object], action: str, target: str, done: str, **detail: str
) -> None:
    """Run one user change; audit it and rerun on success, show why on refusal.

    A client binding that names no declared client is written (the client may be declared next) with
    a warning, as ``nxforge users`` gives one: that user would see nothing until then.
    """
    try:
        change()
    except (UserError, PasswordError, ValueError) as exc:
        st.error(f"Not done: {plain(str(exc))}")
        return
    record_audit(ctx.platform.engine, ctx.actor, action, target, detail or None)
    clear_queries()
    flash("success", plain(done))
    warning = undeclared_client(ctx.platform.env, detail["client"]) if detail.get("client") else None
    if warning:
        flash("warning", plain(warning))
    st.rerun()


def _add_form(ctx: CorePageContext) -> None:
    with st.form("nx-user-add", clear_on_submit=True):
        st.markdown("**Add a user**")
        left, right = st.columns(2)
        username = left.text_input("Username", key="nx-add-username")
        name = right.text_input("Display name", key="nx-add-name")
        email = left.text_input("E-mail (for single sign-on)", key="nx-add-email")
        role = right.selectbox("Role", ROLES, key="nx-add-role", format_func=_role_label)
        password = left.text_input("Password", type="password", key="nx-add-password")
        repeat = right.text_input("Repeat password", type="password", key="nx-add-repeat")
        client = left.text_input("Client (role client only: the one client it sees)", key="nx-add-client")
        submitted = st.form_submit_button("Add user", type="primary")
    if submitted:
        if password != repeat:
            st.error("Not done: the two passwords differ.")
            return
        username = username.strip().lower()
        _apply(
            ctx,
            lambda: ctx.users.add(username, password, role, name=name.strip(), email=email.strip() or None,
                                  client=client.strip() or None),
            "user.add",
            username,
            f"User {username} added as {role}.",
            role=role,
            **({"client": client.strip()} if client.strip() else {}),
        )


def _role_form(ctx: CorePageContext, usernames: list[str]) -> None:
    with st.form("nx-user-role"):
        st.markdown("**Change a role**")
        username = st.selectbox("User", usernames, key="nx-role-user")
        role = st.selectbox("New role", ROLES, key="nx-role-role", format_func=_role_label)
        client = st.text_input("Client (role client only)", key="nx-role-client")
        submitted = st.form_submit_button("Change role")
    if submitted and username:
        _apply(
            ctx,
            lambda: ctx.users.set_role(username, role, client=client.strip() or None),
            "user.role",
            username,
            f"{username} is now {role}.",
            role=role,
            **({"client": client.strip()} if client.strip() else {}),
        )


def _password_form(ctx: CorePageContext, usernames: list[str]) -> None:
    with st.form("nx-user-password", clear_on_submit=True):
        st.markdown("**Reset a password**")
        username = st.selectbox("User", usernames, key="nx-pw-user")
        password = st.text_input("New password", type="password", key="nx-pw-password")
        repeat = st.text_input("Repeat new password", type="password", key="nx-pw-repeat")
        submitted = st.form_submit_button("Reset password")
    if submitted and username:
        if password != repeat:
            st.error("Not done: the two passwords differ.")
            return
        _apply(
            ctx,
            lambda: ctx.users.set_password(username, password),
            "user.passwd",
            username,
            f"Password of {username} reset.",
        )


def _role_label(role: str) -> str:
    return f"{role} — {ROLE_DESCRIPTIONS.get(role, '')}"  # type: ignore[call-overload]


def render(ctx: CorePageContext, role: str) -> None:
    """The user list, the three forms, and the latest user changes from the audit log."""
    st.title("Users")
    st.caption(f"Stored in {plain(ctx.users.path)} with bcrypt hashes; the command line equivalent is `nxforge users`.")
    users = ctx.users.users()
    st.dataframe(
        [{"Username": u.username, "Name": u.name, "Role": u.role, "Client": u.client or "", "E-mail": u.email or ""}
         for u in users],
        hide_index=True,
    )
    usernames = [u.username for u in users]
    _add_form(ctx)
    left, right = st.columns(2)
    with left:
        _role_form(ctx, usernames)
    with right:
        _password_form(ctx, usernames)
    st.subheader("Recent changes")
    changes = query(queries.audit_entries, ctx.platform.engine, action_prefix="user.", limit=50)
    tz = ctx.platform.timezone
    st.dataframe(
        [
            {
                "At": local_time(r["at"], tz),
                "By": r["actor"],
                "Action": r["action"],
                "User": r["target"],
                "Detail": r["detail"] or "",
            }
            for r in changes.iter_rows(named=True)
        ],
        hide_index=True,
    )
