"""Messages that survive one rerun: an action reruns the app (so the menu is rebuilt) and then says what it did."""

from __future__ import annotations

from typing import Literal

import streamlit as st

FLASH_KEY = "nx_flash"
Kind = Literal["success", "info", "warning", "error"]


def flash(kind: Kind, message: str) -> None:
    """Queue ``message`` (Markdown) for the next run; callers escape config, device and event text with plain()."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, message))


def show_flashes() -> None:
    """Show and forget the queued messages."""
    for kind, message in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(message)
