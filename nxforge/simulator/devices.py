"""Device specs and their runtime state: the energy model, history events and faults.

Truth lives here and nowhere else. True energy is the integral of a constant power since the
simulator's start; the counter a device shows is derived from it through a history of events
(reset, rollover, swap), so tests can check that billing recovers the truth from what the
device displayed.
"""

from __future__ import annotations

import logging
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nxforge.simulator.clock import SimClock
from nxforge.simulator.sessions import SessionStore

log = logging.getLogger(__name__)

#: Every style the simulator can imitate, in the order ``make_fleet`` cycles through them.
STYLES: tuple[str, ...] = (
    "apc-nmc2",
    "apc-nmc1",
    "raritan",
    "eaton-g4",
    "geist",
    "sentry",
    "panel-eu",
    "plain",
)
#: Environmental sensor styles (temperatures, humidity): not meters, so ``make_fleet`` skips them.
SENSOR_STYLES: tuple[str, ...] = ("bmc", "envprobe")
#: Web pages with one quirk each (shadow roots, split digits, XML) for the engines' tests: not in ``make_fleet``.
PAGE_STYLES: tuple[str, ...] = ("quirks",)
#: Styles served on the HTTPS listener.
TLS_STYLES: frozenset[str] = frozenset({"eaton-g4"})

#: Faults that last until cleared, with their default parameters.
TRANSIENT_FAULTS: dict[str, dict[str, Any]] = {
    "down": {},
    "slow": {"delay": 2.0},
    "flaky": {"p": 0.5, "status": 503, "seed": 0},
    "garbled": {"text": "1#2?4,x"},
    "wrong_password": {"password": None},
    "session_limit": {},
    "sentinel": {"value": "-1"},
    "stale": {},
    # SNMP: one metered outlet's objects disappear (a replaced or renumbered outlet module).
    "vanished_outlet": {"outlet": 1},
    # Thermal profile (sensor styles, see thermal.py): a hot rack, a value wobbling, wet air.
    "overheat": {"celsius": 45.0},
    "wobble": {"amplitude": 1.0, "period_s": 120.0},
    "humid": {"percent": 80.0},
    # Hostile devices (docs/simulator.md, "Hostile responses"): the scraper must bound them.
    "huge": {"mb": 50.0},
    "endless": {"max_s": 600.0},
    "endless_redirect": {"status": 302},
    "binary": {"size": 65536, "content_type": "application/octet-stream"},
    "slowloris": {"interval": 1.0, "phase": "body"},
    "blackhole": {"max_s": 600.0},
}
#: Faults the server answers at the socket level (it takes over the connection).
HOSTILE_FAULTS: tuple[str, ...] = ("blackhole", "slowloris", "huge", "endless")
#: Faults that are one-off events in the counter's history.
EVENT_FAULTS: dict[str, dict[str, Any]] = {
    "reset": {},
    "rollover": {"in_s": 60.0},
    "swap": {"initial": 0.0},
}
FAULTS: frozenset[str] = frozenset(TRANSIENT_FAULTS) | frozenset(EVENT_FAULTS)

_ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")
VOLTAGE_V = 230.1


@dataclass
class DeviceSpec:
    """What a simulated device is: its style, its constant draw and its starting counter."""

    id: str
    style: str
    power_kw: float = 1.0
    initial_kwh: float = 0.0
    username: str = "admin"
    password: str = "secret"
    rollover_kwh: float | None = None
    inlets: int = 2
    outlets: int = 8  # metered outlets on the SNMP face, sharing the device's energy
    temperature_c: float = 22.0
    humidity_pct: float = 45.0
    redfish_sessions_only: bool = False  # Redfish: refuse HTTP Basic, a session token is required
    redfish_max_sessions: int = 4  # Redfish: sessions open at once; one more login is refused
    linked: tuple[str, ...] = ()  # devices daisy-chained behind this one (its SNMP agent answers for them)
    clock_zone: str = "UTC"  # the zone of the device's own clock: the local times it shows (APC's energy start)

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ValueError(f"device id {self.id!r} must match {_ID_RE.pattern}")
        known = STYLES + SENSOR_STYLES + PAGE_STYLES
        if self.style not in known:
            raise ValueError(f"unknown style {self.style!r}; choose from {', '.join(known)}")
        if self.power_kw < 0:
            raise ValueError("power_kw must be >= 0")
        if self.rollover_kwh is not None and self.rollover_kwh <= 0:
            raise ValueError("rollover_kwh must be positive")
        if self.inlets < 1:
            raise ValueError("inlets must be >= 1")
        if not 1 <= self.outlets <= 96:
            raise ValueError("outlets must be within 1..96")
        if self.redfish_max_sessions < 1:
            raise ValueError("redfish_max_sessions must be >= 1")

    @property
    def tls(self) -> bool:
        return self.style in TLS_STYLES


@dataclass(frozen=True)
class Event:
    """A discontinuity of the displayed counter: from ``at`` the register grows from ``base``."""

    kind: str
    at: datetime
    true_kwh: float
    before: float
    after: float
    base: float
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "true_kwh": self.true_kwh,
            "before": self.before,
            "after": self.after,
            "params": self.params,
        }


def inlet_names(count: int) -> list[str]:
    """Sentry-style inlet names: AA, AB, AC, ..."""
    return ["A" + chr(ord("A") + i) for i in range(count)]


class DeviceRuntime:
    """Live state of one device: counter history, faults and sessions. Thread-safe."""

    def __init__(self, spec: DeviceSpec, clock: SimClock, t0: datetime) -> None:
        self.spec = spec
        self.clock = clock
        self.t0 = t0
        self.sessions = SessionStore(clock)
        self.redfish_sessions = SessionStore(clock)  # apart from web logins: a card counts them apart too
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._faults: dict[str, dict[str, Any]] = {}
        self._rng: random.Random | None = None
        self._stale_kwh: float | None = None
        self.linked: list[DeviceRuntime] = []  # spec.linked, resolved by the simulator

    # ----- energy model -------------------------------------------------------------------
    def _at(self, at: datetime | None) -> datetime:
        return self.clock.now() if at is None else at

    def true_energy_kwh(self, at: datetime | None = None) -> float:
        """Energy really consumed since the start: power × elapsed hours, never reset."""
        hours = (self._at(at) - self.t0).total_seconds() / 3600.0
        return self.spec.power_kw * max(hours, 0.0)

    def register_kwh(self, at: datetime | None = None) -> float:
        """The counter register after events, before the rollover modulo."""
        t = self._at(at)
        with self._lock:
            last = None
            for event in self._events:
                if event.at <= t:
                    last = event
        energy = self.true_energy_kwh(t)
        if last is None:
            return self.spec.initial_kwh + energy
        return last.base + (energy - last.true_kwh)

    def displayed_kwh(self, at: datetime | None = None) -> float:
        """What the counter shows: the register modulo ``rollover_kwh`` when set."""
        value = self.register_kwh(at)
        if self.spec.rollover_kwh is not None:
            value %= self.spec.rollover_kwh
        return value

    def shown_kwh(self) -> float | None:
        """What the page shows now after display faults; None when it shows no number."""
        with self._lock:
            if "garbled" in self._faults or "sentinel" in self._faults:
                return None
            stale = self._stale_kwh
        return stale if stale is not None else self.displayed_kwh()

    def inlet_kwh(self, inlet: str, at: datetime | None = None) -> float:
        """Counter of a secondary inlet (sentry AB, AC, ...); AA is the device counter."""
        names = inlet_names(self.spec.inlets)
        if inlet not in names:
            raise KeyError(inlet)
        k = names.index(inlet)
        if k == 0:
            return self.displayed_kwh(at)
        hours = max((self._at(at) - self.t0).total_seconds() / 3600.0, 0.0)
        return self.spec.initial_kwh * 0.5 + 1000.0 * k + self.spec.power_kw * 0.5 * hours

    @property
    def events(self) -> list[Event]:
        with self._lock:
            return list(self._events)

    def counter_restarted_at(self) -> datetime | None:
        """When the shown counter last restarted from 0 (a reset or a swap), or None if it never did."""
        restarts = [event for event in self.events if event.kind in ("reset", "swap")]
        return restarts[-1].at if restarts else None

    # ----- rendering helpers used by styles ----------------------------------------------
    def energy_text(self, fmt: Callable[[float], str], kwh: float | None = None) -> str:
        """Energy as the page prints it, with garbled/sentinel/stale applied.

        ``kwh`` overrides the counter (secondary inlets); display faults still apply.
        """
        faults = self._faults
        if faults:
            with self._lock:
                if "garbled" in faults:
                    return str(faults["garbled"]["text"])
                if "sentinel" in faults:
                    return str(faults["sentinel"]["value"])
                if kwh is None and self._stale_kwh is not None:
                    return fmt(self._stale_kwh)
        return fmt(self.displayed_kwh() if kwh is None else kwh)

    def energy_json(self, convert: Callable[[float], float]) -> float | str:
        """Energy for a JSON body: a number, or the garbled/sentinel text."""
        text = self.energy_text(lambda v: repr(convert(v)))
        try:
            return float(text)
        except ValueError:
            return text

    # ----- auth --------------------------------------------------------------------------
    def check_credentials(self, username: str | None, password: str | None) -> bool:
        """Compare with the spec, unless ``wrong_password`` pretends the password changed."""
        if username != self.spec.username:
            return False
        fault = self._faults.get("wrong_password")
        if fault is not None:
            replacement = fault.get("password")
            return replacement is not None and password == replacement
        return password == self.spec.password

    # ----- faults ------------------------------------------------------------------------
    def set_fault(self, name: str, **params: Any) -> None:
        """Activate a transient fault, or apply an event (reset, rollover, swap) now."""
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; choose from {', '.join(sorted(FAULTS))}")
        defaults = TRANSIENT_FAULTS.get(name, EVENT_FAULTS.get(name, {}))
        unknown = set(params) - set(defaults)
        if unknown:
            raise ValueError(f"fault {name!r} takes no parameter(s) {sorted(unknown)}")
        merged = {**defaults, **params}
        if name in EVENT_FAULTS:
            self._apply_event(name, merged)
            return
        if name == "flaky":
            p = float(merged["p"])
            if not 0.0 <= p <= 1.0:
                raise ValueError("flaky p must be within [0, 1]")
        _check_hostile(name, merged)
        if name == "stale":
            frozen = self.displayed_kwh()
        with self._lock:
            self._faults[name] = merged
            if name == "flaky":
                self._rng = random.Random(f"{self.spec.id}:{merged['seed']}")
            if name == "stale":
                self._stale_kwh = frozen
        log.info("device %s: fault %s %s", self.spec.id, name, merged)

    def clear_fault(self, name: str) -> None:
        with self._lock:
            self._faults.pop(name, None)
            if name == "stale":
                self._stale_kwh = None

    def clear_faults(self) -> None:
        """Clear every transient fault; history events stay (they happened)."""
        with self._lock:
            self._faults.clear()
            self._stale_kwh = None
            self._rng = None

    @property
    def faults(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._faults.items()}

    def fault(self, name: str) -> dict[str, Any] | None:
        """Parameters of an active fault (lock-free read for the hot path)."""
        return self._faults.get(name)

    def has_faults(self) -> bool:
        return bool(self._faults)

    def flaky_status(self) -> int | None:
        """The error status to answer with for this request, when ``flaky`` says so."""
        with self._lock:
            fault = self._faults.get("flaky")
            if fault is None or self._rng is None:
                return None
            return int(fault["status"]) if self._rng.random() < float(fault["p"]) else None

    def _apply_event(self, kind: str, params: dict[str, Any]) -> None:
        now = self.clock.now()
        before = self.displayed_kwh(now)
        if kind == "reset":
            base = 0.0
        elif kind == "swap":
            base = float(params["initial"])
        else:  # rollover
            limit = self.spec.rollover_kwh
            if limit is None:
                raise ValueError(f"device {self.spec.id} has no rollover_kwh; cannot roll over")
            base = limit - self.spec.power_kw * float(params["in_s"]) / 3600.0
        after = base % self.spec.rollover_kwh if self.spec.rollover_kwh else base
        event = Event(kind, now, self.true_energy_kwh(now), before, after, base, params)
        with self._lock:
            self._events.append(event)
            self._events.sort(key=lambda e: e.at)
        log.info("device %s: %s event, counter %.1f -> %.1f", self.spec.id, kind, before, after)


def _check_hostile(name: str, params: dict[str, Any]) -> None:
    """Reject parameters that would make a hostile fault meaningless or crash the server."""
    if name == "huge" and not 0 < float(params["mb"]) <= 4096:
        raise ValueError("huge mb must be within (0, 4096]")
    if name in ("endless", "blackhole") and float(params["max_s"]) <= 0:
        raise ValueError(f"{name} max_s must be positive")
    if name == "endless_redirect" and int(params["status"]) not in (301, 302, 303, 307, 308):
        raise ValueError("endless_redirect status must be a redirect status (301, 302, 303, 307, 308)")
    if name == "binary" and not 0 < int(params["size"]) <= 64 * 1024 * 1024:
        raise ValueError("binary size must be within (0, 64 MiB]")
    if name == "slowloris":
        if float(params["interval"]) <= 0:
            raise ValueError("slowloris interval must be positive")
        if params["phase"] not in ("headers", "body"):
            raise ValueError("slowloris phase must be 'headers' or 'body'")
