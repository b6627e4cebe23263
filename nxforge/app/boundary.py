"""The error boundary every page runs in: users see what went wrong and what to do, never a traceback."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import streamlit as st

from nxforge.module_system.loading import HandlerError

log = logging.getLogger(__name__)


def run_guarded(page_label: str, render: Callable[[], None], module: str | None = None) -> bool:
    """Run ``render``; on an error show ``st.error`` with a hint and log the traceback. True when it succeeded.

    Streamlit's own control flow (``st.rerun``, ``st.stop``) derives from BaseException and passes through.
    """
    try:
        render()
        return True
    except HandlerError as exc:
        reference = uuid.uuid4().hex[:8]
        log.error("[%s] page %s cannot be loaded: %s", reference, page_label, exc)
        st.error(
            f"**{page_label}** cannot be loaded: {exc}\n\n"
            + _what_to_do(module, reference, "check the module's code and run `nxforge config check`")
        )
    except Exception as exc:  # a page's bug must not take the app down nor show a traceback
        reference = uuid.uuid4().hex[:8]
        log.exception("[%s] page %s failed", reference, page_label)
        st.error(
            f"**{page_label}** failed: {type(exc).__name__}: {exc}\n\n"
            + _what_to_do(module, reference, "reload the page; if it fails again, report it")
        )
    return False


def _what_to_do(module: str | None, reference: str, first_step: str) -> str:
    owner = f"the module **{module}**" if module else "NxForge"
    disable = f" An admin can disable {module} on the Modules page meanwhile." if module else ""
    return (
        f"What to do: {first_step}. The error comes from {owner};{disable} "
        f"The full traceback is in the app's log under reference `{reference}`."
    )
