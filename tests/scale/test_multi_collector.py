"""Three collector processes against one PostgreSQL and 300 simulated meters, one of them SIGKILLed.

Each collector is a real process looping ``collector.py --once --job collect`` (cron-style
passes: the daemon's schedule would let only one collector start the job per minute, see
docs/performance.md). Endpoints are polled every 20 s; the collectors claim batches of 20 with
``FOR UPDATE SKIP LOCKED`` and an 8 s lease. After the first round one collector is killed while
it holds claims. Then, per endpoint: consecutive readings are at least one poll interval apart
(never read twice in an interval) and less than two apart (no interval missed, the dead
collector's claims being taken over when their lease ran out).
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from nxforge_modules.consumption_monitor.tables import endpoint, reading
from sqlalchemy import create_engine, select

from nxforge.simulator import Simulator
from tests.scale.helpers import ROOT, fresh_database, make_site, plain_fleet

pytestmark = pytest.mark.postgres

ENDPOINTS = 300
POLL_S = 20.0
ROUNDS = 4  # readings per endpoint to wait for
DEADLINE_S = 150


def test_three_collectors_share_300_endpoints_and_survive_a_kill(postgres_admin_url: str, tmp_path: Path) -> None:
    devices = plain_fleet(ENDPOINTS)
    url = fresh_database(postgres_admin_url)
    engine = create_engine(url)
    with Simulator(devices) as sim:
        site = make_site(tmp_path, url, sim, devices, poll="20s",
                         settings={"claim_lease": "8s", "claim_batch": 20, "write_batch": 20}, scrape={"retries": 0})
        stop = tmp_path / "stop"
        logs = [(tmp_path / f"collector-{n}.log").open("wb") for n in range(3)]
        procs = [subprocess.Popen([sys.executable, str(ROOT / "tests/scale/collector_loop.py"), str(stop)],
                                  cwd=tmp_path, env=site.subprocess_env(), stdout=log, stderr=subprocess.STDOUT)
                 for log in logs]
        victim = procs[0]
        killed_claims = 0
        started = time.monotonic()
        try:
            # Kill the victim after the first round, at a moment it holds claims.
            while time.monotonic() - started < DEADLINE_S:
                with engine.connect() as conn:
                    count = conn.execute(select(reading.c.id).limit(ENDPOINTS + 1)).fetchall()
                    held = conn.execute(select(endpoint.c.id).where(
                        endpoint.c.claimed_by.like(f"%:{victim.pid}:%"))).fetchall()
                if len(count) > ENDPOINTS and held:
                    os.kill(victim.pid, signal.SIGKILL)
                    victim.wait(10)
                    killed_claims = len(held)
                    break
                time.sleep(0.05)
            assert killed_claims, "the victim never held claims after the first round"
            while time.monotonic() - started < DEADLINE_S:
                with engine.connect() as conn:
                    fewest = min((len(v) for v in _readings(conn).values()), default=0)
                if fewest >= ROUNDS:
                    break
                time.sleep(1)
        finally:
            stop.touch()
            for proc in procs[1:]:
                try:
                    proc.wait(60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for log in logs:
                log.close()
    with engine.connect() as conn:
        per_endpoint = _readings(conn)
    engine.dispose()
    assert len(per_endpoint) == ENDPOINTS
    problems = []
    for endpoint_id, times in per_endpoint.items():
        if len(times) < ROUNDS:
            problems.append(f"{endpoint_id}: only {len(times)} readings")
        for earlier, later in itertools.pairwise(times):
            gap = (later - earlier).total_seconds()
            if gap < POLL_S:
                problems.append(f"{endpoint_id}: read twice in one interval ({gap:.1f} s apart)")
            elif gap >= 2 * POLL_S:
                problems.append(f"{endpoint_id}: an interval was missed ({gap:.1f} s apart)")
    assert not problems, f"{len(problems)} problem(s), e.g. {problems[:10]}; victim held {killed_claims} claims"


def _readings(conn: object) -> dict[str, list]:  # type: ignore[type-arg]
    found: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    query = select(reading.c.endpoint_id, reading.c.read_at).order_by(reading.c.read_at)
    for endpoint_id, read_at in conn.execute(query):  # type: ignore[attr-defined]
        found[endpoint_id].append(read_at)  # every attempt counts, a failed read too
    return found
