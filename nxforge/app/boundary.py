"""The error boundary every page runs in: users see what went wrong and what to do, never a traceback.

Also the two ways the core shows technical text (errors, problems, file:line messages) that may
carry config, device or manifest strings: as code, which Markdown never interprets, so the
message reads exactly as logged.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

import streamlit as st

from nxforge.app.formatting import plain
from nxforge.module_system.loading import HandlerError

log = logging.getLogger(__name__)

_BACKTICKS = re.compile(r"`+")


def _fence_length(text: str, shortest: int) -> int:
    """One more backtick than the longest run in ``text``: a fence the text cannot close."""
    return max([shortest, *(len(run) + 1 for run in _BACKTICKS.findall(text))])


def code_span(text: object) -> str:
    """``text`` as inline code for Markdown: shown as typed (one line), whatever backticks it holds."""
    shown = " ".join(("" if text is None else str(text)).splitlines())
    if not shown.strip():
        return ""
    ticks = "`" * _fence_length(shown, 1)
    padded = f" {shown} " if shown.startswith("`") or shown.endswith("`") else shown
    return f"{ticks}{padded}{ticks}"


def fenced(text: object) -> str:
    """``text`` as a fenced code block for Markdown: line breaks kept, nothing interpreted."""
    shown = "" if text is None else str(text)
    fence = "`" * _fence_length(shown, 3)
    return f"{fence}\n{shown}\n{fence}"


def run_guarded(page_label: str, render: Callable[[], None], module: str | None = None) -> bool:
    """Run ``render``; on an error show ``st.error`` with a hint and log the traceback. True when it succeeded.

    Streamlit's own control flow (``st.rerun``, ``st.stop``) derives from BaseException and passes through.
    The page label and module name come from a manifest and the message may quote a device: all
    are shown escaped.
    """
    try:
        render()
        return True
    except HandlerError as exc:
        reference = uuid.uuid4().hex[:8]
        log.error("[%s] page %s cannot be loaded: %s", reference, page_label, exc)
        st.error(
            f"**{plain(page_label)}** cannot be loaded: {code_span(exc)}\n\n"
            + _what_to_do(module, reference, "check the module's code and run `nxforge config check`")
        )
    except Exception as exc:  # a page's bug must not take the app down nor show a traceback
        reference = uuid.uuid4().hex[:8]
        log.exception("[%s] page %s failed", reference, page_label)
        st.error(
            f"**{plain(page_label)}** failed: {type(exc).__name__}: {plain(exc)}\n\n"
            + _what_to_do(module, reference, "reload the page; if it fails again, report it")
        )
    return False


def _what_to_do(module: str | None, reference: str, first_step: str) -> str:
    owner = f"the module **{plain(module)}**" if module else "NxForge"
    disable = f" An admin can disable {plain(module)} on the Modules page meanwhile." if module else ""
    return (
        f"What to do: {first_step}. The error comes from {owner};{disable} "
        f"The full traceback is in the app's log under reference `{reference}`."
    )
