"""The one surface modules import: ``from nxforge.sdk import ...`` and nothing else of ``nxforge``.

Each member is listed in ``MEMBERS`` with one line of documentation (as pluggy's hook specs are);
a test fails when a member has none or when a module imports any other part of ``nxforge``.
Signatures a module implements:

- a job handler: ``def run(ctx: JobContext) -> dict`` (a small JSON-able summary);
- a page: ``def render(ctx: ModuleContext, role: str) -> None``;
- a command: ``def command(ctx: ModuleContext, argv: list[str]) -> int`` (the exit status);
- a hook named in the manifest under ``hooks:``: see ``HOOKS``.
"""

from __future__ import annotations

from nxforge.config.errors import ConfigError, ConfigProblem
from nxforge.config.loader import LoadedYaml, load_yaml, validate_file, validate_loaded
from nxforge.db.types import UTCDateTime, utcnow
from nxforge.durations import parse_duration
from nxforge.errors import NxForgeError
from nxforge.formatting import (
    MISSING,
    STATUS_COLOURS,
    chart_text,
    kw,
    kwh,
    label,
    local_time,
    money,
    number,
    percent,
    plain,
    status_hex,
)
from nxforge.module_system.contract import HOOKS, JobContext, ModuleContext, NoticeKind, ScrapingProvider
from nxforge.scraping import (
    ScrapeConfig,
    ScrapeFailure,
    ScrapeRequest,
    ScrapeResult,
    Suggestion,
    list_presets,
    load_preset,
)
from nxforge.scraping.presets import UnknownPresetError, describe_preset
from nxforge.secrets import is_reference

MEMBERS: dict[str, str] = {
    "ModuleContext": "What module code receives: database, settings, logger, storage, events, secrets, scraping, "
    "clock, metrics; on a page also the signed-in user, its client (ctx.client: the one client a client-role "
    "user may see, None = all; pass it to every query function), audit(...) and notice(...).",
    "JobContext": "A ModuleContext for one run of one job: its config, filters, progress and should_stop().",
    "NoticeKind": "How a page notice is shown: success, info, warning or error.",
    "HOOKS": "The hooks a manifest may name under hooks:, with the arguments the core passes.",
    "ScrapingProvider": "ctx.scraping: hands out the process's one scraping engine, created on first use.",
    "ScrapeConfig": "The scrape YAML of one endpoint (url, engine, auth, steps, values, preset), validated.",
    "ScrapeRequest": "One endpoint to read: its id, its ScrapeConfig and whether to keep evidence.",
    "ScrapeResult": "What one scrape returned: the values read, or the error class, message and hint.",
    "ScrapeFailure": "Raised by the scraping engine with an error class, a message and a hint.",
    "Suggestion": "A selector the engine proposes for a value it found on a page.",
    "list_presets": "The names of the vendor presets shipped with the scraping engine.",
    "load_preset": "A preset's scrape config, to merge under an endpoint's own keys.",
    "describe_preset": "A preset's one-line description and the devices it fits.",
    "UnknownPresetError": "Raised by load_preset for a name that is not a shipped preset.",
    "load_yaml": "Read a YAML file keeping the line of every field, so errors can say file:line.",
    "LoadedYaml": "A YAML document with the line number of each field path.",
    "validate_loaded": "Validate a LoadedYaml against a pydantic model; problems carry file:line: field.",
    "validate_file": "load_yaml then validate_loaded, for a file on disk.",
    "ConfigError": "One or more ConfigProblems; str() lists them one per line.",
    "ConfigProblem": "One problem in one file: file, line, field and message.",
    "NxForgeError": "The base of every NxForge error: a message for the user and a hint.",
    "parse_duration": "Seconds in 30s, 15m, 2h, 1d or a bare number.",
    "UTCDateTime": "The SQLAlchemy column type for instants: stored in UTC, read back timezone-aware.",
    "utcnow": "The current time as a timezone-aware UTC datetime.",
    "is_reference": "True when a YAML value is a ${NAME} secret reference rather than a literal.",
    "MISSING": "What a missing value shows as on screen (an em dash, never 'None').",
    "STATUS_COLOURS": "The colour name (green, orange, red, blue, gray) of each status word, the same on every page.",
    "status_hex": "The CSS colour of a status, for charts and table cells.",
    "number": "A number with thin-space thousands, fixed decimals and an optional unit; MISSING for None.",
    "kwh": "Energy for people: '12 345.6 kWh'.",
    "kw": "Power for people: '3.25 kW'.",
    "percent": "A value already in percent: '87 %'.",
    "money": "An amount with separators and its currency's symbol: '1 234.50 €'.",
    "label": "A column name for people: 'month_kwh' -> 'Month kWh', with an optional unit.",
    "plain": "A config, device or event string escaped for st.markdown/caption/labels: shown as typed, never markup.",
    "chart_text": "A config, device or event string escaped for Plotly legends, hovers and titles (HTML subset).",
    "local_time": "A UTC instant as 'YYYY-MM-DD HH:MM' in the site's time zone; empty for None.",
}
"""One line per member of the module surface; a test checks every name in ``__all__`` has one."""

__all__ = [
    "HOOKS",
    "MEMBERS",
    "MISSING",
    "STATUS_COLOURS",
    "ConfigError",
    "ConfigProblem",
    "JobContext",
    "LoadedYaml",
    "ModuleContext",
    "NoticeKind",
    "NxForgeError",
    "ScrapeConfig",
    "ScrapeFailure",
    "ScrapeRequest",
    "ScrapeResult",
    "ScrapingProvider",
    "Suggestion",
    "UTCDateTime",
    "UnknownPresetError",
    "chart_text",
    "describe_preset",
    "is_reference",
    "kw",
    "kwh",
    "label",
    "list_presets",
    "load_preset",
    "load_yaml",
    "local_time",
    "money",
    "number",
    "parse_duration",
    "percent",
    "plain",
    "status_hex",
    "utcnow",
    "validate_file",
    "validate_loaded",
]
