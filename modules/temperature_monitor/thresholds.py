"""The alert state machine of one sensor: hysteresis and a minimum duration, as a pure function.

* A limit is *entered* when the value reaches it, and *left* only when it falls back past it by
  the hysteresis: a value wobbling around 27.0 with a 1.0 hysteresis stays in (or out) instead
  of flapping.
* Getting worse (ok -> warning -> critical) must last ``min_duration``: the crossing is pending
  until then, and a pending crossing survives dips that stay within the hysteresis band.
* Getting better takes effect at once (the hysteresis already filtered the noise).

Pure and clock-free (time comes in as an argument), so the rules are tested without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from .config import Rule

Level = Literal["ok", "warning", "critical"]
Direction = Literal["high", "low"]
TransitionKind = Literal["raised", "escalated", "deescalated", "recovered"]
RANK = {"ok": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class SensorState:
    """Where a sensor stands between two readings (persisted in ``tm_sensor_state``)."""

    level: Level = "ok"
    direction: Direction | None = None
    pending_level: Level | None = None
    pending_direction: Direction | None = None
    pending_since: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """A change worth telling: an alert to raise, escalate, lower or close."""

    kind: TransitionKind
    level: Level
    direction: Direction | None
    threshold: float | None


def _holds(state: SensorState, direction: Direction, level: Level) -> bool:
    at_level = state.direction == direction and RANK[state.level] >= RANK[level]
    pending = state.pending_direction == direction and RANK[state.pending_level or "ok"] >= RANK[level]
    return at_level or pending


def target(value: float, state: SensorState, rule: Rule) -> tuple[Level, Direction | None, float | None]:
    """The level ``value`` asks for, the hysteresis applied to the levels already held or pending."""
    levels: tuple[Level, Level] = ("critical", "warning")
    directions: tuple[Direction, Direction] = ("high", "low")
    for level in levels:
        for direction in directions:
            limit = rule.limit(direction, level)
            if limit is None:
                continue
            slack = rule.hysteresis if _holds(state, direction, level) else 0.0
            if (direction == "high" and value >= limit - slack) or (direction == "low" and value <= limit + slack):
                return level, direction, limit
    return "ok", None, None


def evaluate(state: SensorState, value: float, at: datetime, rule: Rule) -> tuple[SensorState, Transition | None]:
    """The state after reading ``value`` at ``at``, and the transition it causes (if any)."""
    level, direction, limit = target(value, state, rule)
    if level == state.level and (level == "ok" or direction == state.direction):
        return replace(state, pending_level=None, pending_direction=None, pending_since=None), None
    worse = RANK[level] > RANK[state.level] or (level != "ok" and direction != state.direction)
    if not worse:
        settled = SensorState(level, direction if level != "ok" else None)
        kind: TransitionKind = "recovered" if level == "ok" else "deescalated"
        return settled, Transition(kind, level, settled.direction, limit)
    since = state.pending_since if state.pending_direction == direction and state.pending_since else at
    if (at - since).total_seconds() >= rule.min_duration_s:
        raised: TransitionKind = "raised" if state.level == "ok" or direction != state.direction else "escalated"
        return SensorState(level, direction), Transition(raised, level, direction, limit)
    return replace(state, pending_level=level, pending_direction=direction, pending_since=since), None
