"""The Endpoints page's tools: Test (scrape now, show values, timings, screenshot, page source),
Suggest (candidate selectors to copy into the form), and the meter swap and correction forms.

The scraping engine is reached only through ``ctx.scraping()``; swaps and corrections only
through the module's ``record_swap`` / ``record_correction``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from nxforge.sdk import ModuleContext, ScrapeConfig, ScrapeFailure, ScrapeRequest, ScrapeResult, Suggestion, plain

from ..corrections import UnknownEndpointError, record_correction, record_swap

log = logging.getLogger(__name__)

MAX_SOURCE_SHOWN = 20_000
HINTS = {
    "unreachable": "check the URL and that the device answers from the collector's host (ping, a browser)",
    "timeout": "the device is slow or busy: raise scrape.timeout_s in the YAML view, or test again",
    "tls": "for a self-signed certificate set verify_tls: false in the YAML view, or trust its CA",
    "auth_failed": "check the username, and that the ${NAME} password reference is set in the environment "
    "or config/secrets.yaml of the machine running the app and the collector",
    "step_failed": "compare the steps' selectors with the page source below",
    "selector_not_found": "press Suggest to find the energy element, or compare the selector with the page source",
    "pattern_no_match": "the element's text does not match the regex: compare with the page source, or clear the regex",
    "not_a_number": "write a regex whose group 1 captures only the number, or set decimal in the YAML view",
    "implausible": "check the unit and the min/max limits of the value in the YAML view",
    "config": "fix the configuration as the message says",
}


def _number(value: float) -> str:
    """A reading as the meter gave it: no exponent, no trailing zeros."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def code(text: object) -> str:
    """``text`` from a device page as inline code when it can be (one line, no backtick), else escaped."""
    shown = " ".join(str(text).splitlines())
    return f"`{shown}`" if shown.strip() and "`" not in shown else plain(shown)


def failure_message(error_class: str, message: str, hint: str | None) -> str:
    """An operator-facing failure: the class, what happened, what to do (the device's words shown as typed)."""
    what = plain(hint) if hint else HINTS.get(error_class, "check the configuration")
    return f"**{error_class}**: {plain(message)}\n\nWhat to do: {what}."


def run_test(ctx: ModuleContext, endpoint_id: str, config: ScrapeConfig) -> ScrapeResult | None:
    """Scrape the (edited, unsaved) config now, keeping evidence; None after showing why the engine could not."""
    request = ScrapeRequest(key=endpoint_id, config=config, capture_evidence=True)
    try:
        with st.spinner(f"Reading {endpoint_id} with the {config.engine} engine ..."):
            return ctx.scraping().scrape(request)
    except Exception as exc:  # the engine itself failed (not the meter): say so, never a traceback
        log.exception("test scrape of %s could not run", endpoint_id)
        st.error(
            f"The scraping engine could not run the test: {type(exc).__name__}: {plain(exc)}\n\n"
            "What to do: try again; if it keeps failing, check the app's log (a browser may be missing: "
            "`apt-get install chromium-headless-shell`)."
        )
        return None


def show_test(result: ScrapeResult, tz: ZoneInfo) -> None:
    """A Test result: values with units, time per step, screenshot, page source, or the error."""
    st.markdown("#### Test result")
    local = result.started_at.astimezone(tz).strftime("%H:%M:%S")
    if result.ok:
        st.success(f"Read in {result.duration_s:.2f} s with the {result.engine} engine at {local} (not saved).")
    elif result.error is not None:
        step = f" (step {result.error.step_index + 1})" if result.error.step_index is not None else ""
        st.error(failure_message(result.error.error_class, result.error.message + step, result.error.hint))
    numbers, picture = st.columns([2, 3], gap="large")
    with numbers:
        for name, read in result.values.items():
            st.metric(plain(name), f"{_number(read.value)} {read.unit}")
            st.caption(f"page text: {code(read.raw_text)}")
        steps = [t.name for t in result.timings] + ["total"]
        seconds = [f"{t.seconds:.3f}" for t in result.timings] + [f"{result.duration_s:.3f}"]
        st.table({"step": steps, "seconds": seconds})
        if result.attempts > 1:
            st.caption(f"{result.attempts} attempts (transient failures are retried).")
    screenshot = result.evidence.screenshot
    with picture:
        if screenshot is not None and Path(screenshot).is_file():
            with st.container(border=True):
                st.image(str(screenshot), caption="What the browser saw (password fields cleared)")
        else:
            st.caption(f"No screenshot: the {result.engine} engine reads without a browser."
                       + (" Choose the browser engine to get one." if result.engine == "http" else ""))
    source = result.evidence.page_source
    if source is not None and Path(source).is_file():
        text = Path(source).read_text(encoding="utf-8", errors="replace")
        cut = f"\n<!-- {len(text) - MAX_SOURCE_SHOWN} more characters in {source} -->" if len(text) > MAX_SOURCE_SHOWN \
            else ""
        with st.expander(f"Page source ({len(text):,} characters, secrets redacted)", expanded=not result.ok):
            st.code(text[:MAX_SOURCE_SHOWN] + cut, language="html")


def run_suggest(ctx: ModuleContext, endpoint_id: str, config: ScrapeConfig) -> list[Suggestion] | None:
    """The elements that look like energy on the endpoint's page; None after showing why there are none."""
    request = ScrapeRequest(key=endpoint_id, config=config)
    try:
        with st.spinner("Looking for energy readings on the page ..."):
            return ctx.scraping().suggest(request)
    except ScrapeFailure as failure:
        st.error("Suggest could not read the page. " + failure_message(failure.error_class, failure.message,
                                                                         failure.hint))
    except Exception as exc:
        log.exception("suggest for %s could not run", endpoint_id)
        st.error(f"The scraping engine could not look at the page: {type(exc).__name__}: {plain(exc)}\n\n"
                 "What to do: try again; if it keeps failing, check the app's log.")
    return None


def show_suggestions(endpoint_id: str, suggestions: list[Suggestion], use: Callable[[Suggestion], None]) -> None:
    """The candidates, best first, each with a button that copies its selector and regex into the form."""
    st.markdown("#### Suggestions")
    if not suggestions:
        st.info("Nothing on the page looks like an energy reading. Check the URL, the login and the steps "
                "(Test shows the page source), or write the selector by hand.")
        return
    st.caption("Elements that look like an energy counter, best first. **Use** copies selector, regex and unit "
               "into the form; then Test, then Save.")
    for index, suggestion in enumerate(suggestions):
        with st.container(border=True):
            text, button = st.columns([5, 1])
            label = f"{plain(suggestion.label)} · " if suggestion.label else ""
            text.markdown(f"{label}**{_number(suggestion.value)} {plain(suggestion.unit)}** · page text "
                          f"{code(suggestion.text)} · score {suggestion.score:.1f}")
            text.caption(f"selector {code(suggestion.selector)} · regex {code(suggestion.regex)}")
            button.button("Use", key=f"ep-{endpoint_id}-use-{index}", on_click=use, args=(suggestion,))


# --- meter swap and correction ----------------------------------------------------------------------


def _when(label: str, key: str, tz: ZoneInfo, now: datetime) -> datetime:
    local = now.astimezone(tz)
    day, moment = st.columns(2)
    picked_day = day.date_input(f"{label}: date ({tz.key})", value=local.date(), key=f"{key}-day",
                                max_value=local.date())
    picked_time = moment.time_input(f"{label}: time ({tz.key})", value=local.time().replace(second=0, microsecond=0),
                                    key=f"{key}-time", step=60)
    assert isinstance(picked_day, date) and isinstance(picked_time, time)
    return datetime.combine(picked_day, picked_time, tz)


def _event_failed(exc: Exception) -> None:
    if isinstance(exc, UnknownEndpointError):
        st.error(f"{plain(exc)}\n\nWhat to do: the collector copies the YAML into the database on its next run (every "
                 "minute); save the endpoint here or wait a minute, then record it again.")
    elif isinstance(exc, SQLAlchemyError):
        st.error(f"The database refused the record: {plain(getattr(exc, 'orig', None) or exc)}\n\n"
                 "What to do: try again; if it persists, check the database (Overview page).")
    else:
        st.error(f"{plain(exc)}\n\nWhat to do: correct the form and record it again.")


def meter_event_forms(ctx: ModuleContext, endpoint_id: str, user: str, tz: ZoneInfo, after: Callable[[], None]
                      ) -> None:
    """A swap form and a correction form for one endpoint; both recompute later readings."""
    swap_tab, correction_tab = st.tabs(["Meter swap", "Manual correction"])
    now = ctx.clock()
    with swap_tab, st.form(f"ep-{endpoint_id}-swap", clear_on_submit=False):
        st.caption("The meter was replaced: its last reading, and the new meter's first. Billing carries the "
                   "counter across the swap.")
        at = _when("Swapped", f"ep-{endpoint_id}-swap-at", tz, now)
        old, new = st.columns(2)
        old_final = old.number_input("Old meter's final kWh", min_value=0.0, step=0.1, format="%.1f",
                                     key=f"ep-{endpoint_id}-swap-old")
        new_initial = new.number_input("New meter's initial kWh", min_value=0.0, step=0.1, format="%.1f",
                                       key=f"ep-{endpoint_id}-swap-new")
        why = st.text_input("Why", key=f"ep-{endpoint_id}-swap-why", placeholder="e.g. meter failed, ticket #1234")
        if st.form_submit_button("Record swap", type="primary") and _check_event(why, at, now):
            try:
                recorded = record_swap(ctx.db, endpoint_id, at=at, old_final_kwh=float(old_final),
                                       new_initial_kwh=float(new_initial), who=user, why=why.strip(),
                                       recorded_at=now)
            except (UnknownEndpointError, ValueError, SQLAlchemyError) as exc:
                _event_failed(exc)
            else:
                ctx.audit("endpoint.meter_swap", endpoint_id,
                             {"at": at.isoformat(), "old_final_kwh": float(old_final),
                              "new_initial_kwh": float(new_initial), "why": why.strip()})
                after()
                st.success(f"Meter swap recorded for {endpoint_id} at {at:%Y-%m-%d %H:%M} by {user}; "
                           f"{recorded.recomputed} later reading(s) recomputed.")
    with correction_tab, st.form(f"ep-{endpoint_id}-correction", clear_on_submit=False):
        st.caption("Add (or, negative, remove) energy from a moment on, e.g. what a broken meter missed, as "
                   "agreed with the client.")
        at = _when("From", f"ep-{endpoint_id}-corr-at", tz, now)
        delta = st.number_input("kWh to add (negative to remove)", step=0.1, format="%.1f",
                                key=f"ep-{endpoint_id}-corr-delta")
        why = st.text_input("Why", key=f"ep-{endpoint_id}-corr-why", placeholder="e.g. meter dead 3-5 May, ticket #99")
        if st.form_submit_button("Record correction", type="primary"):
            if float(delta) == 0.0:
                st.error("A correction of 0 kWh changes nothing: enter the kWh to add or remove.")
            elif _check_event(why, at, now):
                try:
                    recorded = record_correction(ctx.db, endpoint_id, at=at, delta_kwh=float(delta), who=user,
                                                 why=why.strip(), recorded_at=now)
                except (UnknownEndpointError, ValueError, SQLAlchemyError) as exc:
                    _event_failed(exc)
                else:
                    ctx.audit("endpoint.correction", endpoint_id,
                                 {"at": at.isoformat(), "delta_kwh": float(delta), "why": why.strip()})
                    after()
                    st.success(f"Correction of {float(delta):+.1f} kWh recorded for {endpoint_id} from "
                               f"{at:%Y-%m-%d %H:%M} by {user}; {recorded.recomputed} reading(s) recomputed.")


def _check_event(why: str, at: datetime, now: datetime) -> bool:
    if not why.strip():
        st.error("Say why: the reason is kept with the record (and shown to whoever audits the bill).")
        return False
    if at > now:
        st.error("That moment is in the future: give the time it happened.")
        return False
    return True
