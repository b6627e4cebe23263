"""Modules (admin): status of every module, enable/disable with the reasons when refused,
install from a ZIP, and each module's settings form generated from its manifest."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import streamlit as st

from nxforge.app.boundary import code_span, fenced
from nxforge.app.cached import clear_queries
from nxforge.app.context import CorePageContext
from nxforge.app.flash import flash
from nxforge.app.formatting import plain, status_badge
from nxforge.app.settings_form import setting_widget, settings_to_save, validate_settings
from nxforge.audit import record_audit
from nxforge.module_admin.install import install_zip
from nxforge.module_admin.lifecycle import LifecycleError, ModuleStatus, disable_module, enable_module, list_modules
from nxforge.module_system.discovery import ModuleInfo
from nxforge.module_system.enabled_file import set_module_settings
from nxforge.platform import UnknownModuleError
from nxforge.secrets import REFERENCE

log = logging.getLogger(__name__)


def _lifecycle_buttons(ctx: CorePageContext, status: ModuleStatus) -> None:
    name = status.name
    try:
        if status.status in ("disabled", "failed") and st.button("Enable", key=f"enable-{name}", type="primary"):
            applied = enable_module(ctx.platform, name, ctx.actor)
            clear_queries()
            flash("success", f"{plain(status.display_name)} enabled ({len(applied)} migration(s) applied).")
            st.rerun()
        if status.status == "enabled" and st.button("Disable", key=f"disable-{name}"):
            disable_module(ctx.platform, name, ctx.actor)
            clear_queries()
            flash(
                "success",
                f"{plain(status.display_name)} disabled: its pages and jobs are gone until it is enabled again.",
            )
            st.rerun()
    except (LifecycleError, UnknownModuleError) as exc:
        st.error(code_span(exc))  # quotes module names from manifests: shown as code


def _settings_form(ctx: CorePageContext, info: ModuleInfo) -> None:
    manifest = info.manifest
    assert manifest is not None
    current = ctx.platform.settings_for(info)
    form_key = f"settings-{info.name}"
    with st.form(form_key):
        values = {key: setting_widget(form_key, key, spec, current.get(key)) for key, spec in manifest.settings.items()}
        submitted = st.form_submit_button("Save settings")
    if not submitted:
        return
    problems = validate_settings(manifest.settings, values)
    if problems:
        lines = [f"- **{plain(manifest.settings[k].label)}**: {plain(p)}" for k, p in problems.items()]
        st.error("Not saved:\n" + "\n".join(lines))
        return
    saved = settings_to_save(manifest.settings, values)
    set_module_settings(ctx.platform.env.core_config_path, info.name, saved)
    ctx.platform.reload()
    record_audit(ctx.platform.engine, ctx.actor, "module.settings", info.name, {"keys": sorted(saved)})
    secrets = ctx.platform.env.secrets
    references = {name for value in saved.values() if isinstance(value, str) for name in REFERENCE.findall(value)}
    unset = sorted(name for name in references if not secrets.has(name))
    message = f"Settings of {plain(manifest.display_name)} saved."
    if unset:
        message += f" Not set yet: {plain(', '.join(unset))} (environment or config/secrets.yaml)."
    flash("success" if not unset else "warning", message)
    st.rerun()


def _module_card(ctx: CorePageContext, status: ModuleStatus, info: ModuleInfo | None) -> None:
    manifest = info.manifest if info else None
    with st.container(border=True):
        head, badge = st.columns([4, 1])
        head.markdown(f"**{plain(status.display_name)}** · `{status.name}` {plain(status.version)}")  # name: kebab-case
        badge.markdown(status_badge(status.status))
        if manifest:
            st.caption(plain(f"{manifest.description} — {manifest.author}, {manifest.license}"))
            details = [f"requires: {', '.join(status.requires) or 'nothing'}"]
            details.append(f"permissions: {', '.join(manifest.permissions) or 'none'}")
            details.append(f"pages: {len(manifest.pages)} · jobs: {len(manifest.jobs)}")
            st.caption(plain(" · ".join(details)))
        if status.error or (info and info.error):
            st.error(fenced(status.error or (info.error if info else "")))
        _lifecycle_buttons(ctx, status)
        if info and manifest and manifest.settings:
            with st.expander(f"Settings of {plain(status.display_name)}"):
                _settings_form(ctx, info)


def _install(ctx: CorePageContext) -> None:
    st.subheader("Install a module")
    st.caption(
        "A ZIP with one module folder at its top. It is checked fully before anything is written, and arrives disabled."
    )
    upload = st.file_uploader("Module ZIP", type=["zip"], key="nx_install_zip")
    if upload is None or not st.button("Install", key="nx_install"):
        return
    with tempfile.TemporaryDirectory(prefix="nxforge-upload-") as folder:
        path = Path(folder) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            info = install_zip(ctx.platform, path, ctx.actor)
        except LifecycleError as exc:
            st.error(f"Not installed: {code_span(exc)}")
            return
    assert info.manifest is not None
    permissions = ", ".join(info.manifest.permissions) or "none"
    flash(
        "success",
        f"{plain(info.manifest.display_name)} {plain(info.manifest.version)} installed (disabled). "
        f"It asks for: {plain(permissions)}.",
    )
    clear_queries()
    st.rerun()


def render(ctx: CorePageContext, role: str) -> None:
    """List modules with their actions and settings, then the installer."""
    st.title("Modules")
    st.caption("Enabling applies the module's migrations first; disabling hides its pages and stops its jobs.")
    infos = {info.name: info for info in ctx.platform.modules}
    statuses = list_modules(ctx.platform)
    if not statuses:
        st.info(f"No module installed in {plain(ctx.platform.env.modules_dir)}.")
    for status in statuses:
        _module_card(ctx, status, infos.get(status.name))
    _install(ctx)
