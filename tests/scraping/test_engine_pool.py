"""Two scraping processes read as one engine (the collector's default), each device in one of them.

What the collector relies on when it reads with several processes: every endpoint of a batch is
read and reported once, in request order; a device with state (a login, a one-session card, an
SNMP walk) is read by one process, so its lock and its one login hold; a device's
``per_host_concurrency`` holds for the collector as a whole, not per process; and a process
that dies costs failed readings for its own endpoints only. Real HTTP against the simulator.
"""

from __future__ import annotations

import os
import signal
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult
from nxforge.scraping.engine_pool import EnginePool, member_for
from nxforge.secrets import SecretStore
from nxforge.simulator import DeviceSpec, SimClock, Simulator

from .conftest import PASSWORD, SECRET_ENV, request_for


def _request(key: str, **config: object) -> ScrapeRequest:
    data: dict[str, object] = {"url": "http://10.0.0.5/energy"}
    if "preset" not in config:
        data |= {"engine": "http", "values": {"total_kwh": {"selector": "#kwh"}}}
    return ScrapeRequest(key=key, config=ScrapeConfig.model_validate({**data, **config}))


def _keys_on(member: int, count: int, prefix: str, sim: Simulator, device_id: str) -> list[ScrapeRequest]:
    """``count`` plain endpoints of ``device_id`` that the pool hands to process ``member``."""
    found: list[ScrapeRequest] = []
    for n in range(1000):
        request = request_for(sim, device_id, key=f"{prefix}-{n}", engine="http")
        if member_for(request, 2) == member:
            found.append(request)
        if len(found) == count:
            return found
    raise AssertionError("no such keys")


def test_a_device_with_state_is_read_by_one_process_plain_pages_are_spread() -> None:
    plain = [_request(f"plain-{n}") for n in range(40)]
    assert {member_for(r, 2) for r in plain} == {0, 1}  # no login, no device: spread over both
    for config in ({"auth": {"type": "basic", "username": "u", "password": "p"}},  # a login
                   {"device": "pdu-a1"}, {"session_limit": 2}):
        stateful = [_request(f"outlet-{n}", **config) for n in range(40)]
        assert len({member_for(r, 2) for r in stateful}) == 1, config
    outlets = [_request(f"snmp-{n}", url="snmp://10.0.0.9", preset="raritan-pdu2-outlet-snmp",
                        auth={"type": "snmp_community", "community": "public"}, snmp={"outlet": n + 1})
               for n in range(24)]
    assert len({member_for(r, 2) for r in outlets}) == 1  # one PDU's outlets: one walk, in one process
    browser = [_request(f"page-{n}", engine="browser", url=f"http://10.0.0.{n}/") for n in range(20)]
    assert {member_for(r, 3) for r in browser} == {0}  # one browser per collector


def test_every_endpoint_is_read_once_in_request_order(sim: Simulator, pool: EnginePool) -> None:
    requests = [request_for(sim, device, key=f"{device}-{n}", engine="http")
                for n in range(8) for device in ("plain-ok", "geist-ok", "panel-eu-ok")]
    assert {member_for(r, 2) for r in requests} == {0, 1}
    reported: list[str] = []
    results = pool.scrape_many(requests, on_result=lambda result: reported.append(result.key))
    assert [r.key for r in results] == [r.key for r in requests]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert all(r.values["total_kwh"].value == pytest.approx(12543.5, abs=0.001) for r in results)
    assert sorted(reported) == sorted(r.key for r in requests)


@pytest.fixture(scope="module")
def card() -> Iterator[Simulator]:
    device = DeviceSpec(id="apc-pool", style="apc-nmc2", power_kw=2.3, initial_kwh=12543.5, password=PASSWORD)
    simulator = Simulator([device], clock=SimClock(start=datetime(2025, 1, 1, tzinfo=UTC), frozen=True)).start()
    try:
        yield simulator
    finally:
        simulator.stop()


def test_a_one_session_card_with_three_endpoints_is_read_on_one_login(card: Simulator, pool: EnginePool) -> None:
    requests = [ScrapeRequest(key=f"outlet-{n}", config=ScrapeConfig.model_validate(
        {"preset": "apc-nmc2", "url": card.url_for("apc-pool"), "engine": "http", "retries": 0,
         "auth": {"password": "${SIM_PASSWORD}"}})) for n in (3, 4, 5)]
    assert len({zlib.crc32(r.key.encode()) % 2 for r in requests}) == 2  # spread by key, they would be split
    for run in range(2):
        results = pool.scrape_many(requests)
        assert [r.ok for r in results] == [True, True, True], [r.error for r in results]
        assert sum(any(t.name == "login" for t in r.timings) for r in results) == 1, f"run {run}"
        assert card.device("apc-pool").sessions.active() == 0  # logged off after the last one


def test_the_per_host_limit_holds_for_the_collector_not_per_process(
        sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=1.0)  # type: ignore[operator]
    requests = [*_keys_on(0, 2, "a", sim, "plain-f"), *_keys_on(1, 2, "b", sim, "plain-f")]
    with EnginePool(2, secrets=SecretStore(environ=SECRET_ENV), evidence_dir=tmp_path / "evidence",
                    state_dir=tmp_path / "state", per_host_concurrency=2) as limited:
        started = time.monotonic()
        results = limited.scrape_many(requests)
        elapsed = time.monotonic() - started
    assert all(r.ok for r in results), [r.error for r in results]
    # Two at a time in all (one per process): the four take two rounds of the meter's one second.
    assert elapsed >= 1.9


def test_a_process_that_dies_costs_its_own_endpoints_only(sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=5.0)  # type: ignore[operator]
    faulty("geist").set_fault("slow", delay=2.0)  # type: ignore[operator]
    with EnginePool(2, secrets=SecretStore(environ=SECRET_ENV), evidence_dir=tmp_path / "evidence",
                    state_dir=tmp_path / "state") as engine:
        doomed, spared = engine._members
        dying = _keys_on(0, 1, "dying", sim, "plain-f")[0]
        dying = dying.model_copy(update={"config": dying.config.model_copy(update={"timeout_s": 20})})
        mine = _keys_on(0, 2, "mine", sim, "plain-ok")
        late = _keys_on(1, 1, "late", sim, "geist-f")  # still being read by the other process when the first dies
        batch = [dying, *mine, *_keys_on(1, 3, "other", sim, "plain-ok"), *late]
        assert all(r.ok for r in engine.scrape_many([mine[0], batch[3]]))  # both processes are up and reading
        assert doomed._proc is not None and spared._proc is not None
        doomed_pid, spared_pid = doomed._proc.pid, spared._proc.pid
        results: dict[str, ScrapeResult] = {}

        def on_result(result: ScrapeResult) -> None:
            results[result.key] = result
            if all(r.key in results for r in mine) and doomed._proc is not None and doomed._proc.pid == doomed_pid:
                os.kill(doomed_pid, signal.SIGKILL)  # the first process dies while reading the slow meter

        engine.scrape_batches(iter([batch]), on_result=on_result)
        assert set(results) == {r.key for r in batch}
        error = results[dying.key].error
        assert error is not None and error.error_class == "step_failed" and "scraping process stopped" in error.message
        assert all(results[r.key].ok for r in batch[1:])  # the late meter too: its process went on
        again = engine.scrape_many(batch[1:-1])  # the next batch: a new first process, the second one as it was
        assert all(r.ok for r in again)
        assert doomed._proc is not None and doomed._proc.pid != doomed_pid
        assert spared._proc is not None and spared._proc.pid == spared_pid
