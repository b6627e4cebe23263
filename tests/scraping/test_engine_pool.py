"""Two scraping processes read as one engine (the collector's default): plain web pages spread, the rest in one.

What the collector relies on when it reads with several processes: every endpoint of a batch is
read and reported once, in request order; everything endpoints share in an engine (a login, a
one-session card, a device lock, an SNMP walk, a Modbus gateway, the browser) stays in the first
process, read at the full limits; an origin's ``per_host_concurrency`` holds for its plain pages
across the processes, not per process; a process that raises or dies costs no other process's
readings. Real HTTP against the simulator.
"""

from __future__ import annotations

import os
import queue
import signal
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapeResult
from nxforge.scraping.engine_pool import EnginePool, _Part, _Relay, member_for
from nxforge.simulator import DeviceSpec, SimClock, Simulator

from .conftest import PASSWORD, new_engine, request_for


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


def test_plain_pages_are_spread_and_everything_with_state_is_read_by_the_first_process() -> None:
    plain = [_request(f"plain-{n}") for n in range(40)]
    assert {member_for(r, 2) for r in plain} == {0, 1}  # no login, no device: spread over both
    assert [member_for(r, 2) for r in plain] == [member_for(r, 2) for r in plain]  # each always to the same one
    stateful = [
        *(_request(f"login-{n}", auth={"type": "basic", "username": "u", "password": "p"}) for n in range(20)),
        *(_request(f"device-{n}", device="pdu-a1") for n in range(20)),
        *(_request(f"session-{n}", session_limit=2) for n in range(20)),
        *(_request(f"page-{n}", engine="browser", url=f"http://10.0.0.{n}/") for n in range(20)),  # one browser
        *(_request(f"snmp-{n}", url="snmp://10.0.0.9", preset="raritan-pdu2-outlet-snmp", snmp={"outlet": n + 1},
                   auth={"type": "snmp_community", "community": "public"}) for n in range(24)),  # one walk
        *(_request(f"modbus-{n}", url=f"modbus://10.0.0.7{':502' if n % 2 else ''}", preset="eastron-sdm630",
                   modbus={"unit_id": n + 1}) for n in range(8)),  # one gateway, however its address is written
    ]
    assert {member_for(r, 3) for r in stateful} == {0}


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


def _all_read_in(tmp_path: Path, requests: list[ScrapeRequest], **engine: int) -> float:
    """Seconds a new two-process pool with ``engine``'s limits takes to read ``requests``, all of them read."""
    with new_engine(partial(EnginePool, 2), tmp_path, **engine) as pool:
        started = time.monotonic()
        results = pool.scrape_many(requests)
        elapsed = time.monotonic() - started
    assert all(r.ok for r in results), [r.error for r in results]
    return elapsed


def test_the_per_host_limit_holds_for_the_collector_not_per_process(
        sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=1.0)  # type: ignore[operator]
    requests = [*_keys_on(0, 2, "a", sim, "plain-f"), *_keys_on(1, 2, "b", sim, "plain-f")]
    elapsed = _all_read_in(tmp_path, requests, per_host_concurrency=2)
    # Two at a time in all (one per process): the four take two rounds of the meter's one second.
    assert elapsed >= 1.9


def test_a_device_with_state_keeps_the_full_limit_in_the_first_process(
        sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=2.0)  # type: ignore[operator]
    requests = [request_for(sim, "plain-f", key=f"outlet-{n}", engine="http", device="pdu-1") for n in range(4)]
    elapsed = _all_read_in(tmp_path, requests, per_host_concurrency=4)
    # All four at once, as one process reads them: one round of the meter's two seconds, not two (a halved limit).
    assert elapsed < 3.5


def test_a_part_that_raises_ends_the_batch_after_the_other_parts_results() -> None:
    class Member:  # what a part asks of its process: nothing but to forget a call
        def _forget(self, call: int) -> None:
            pass

    inbox: queue.SimpleQueue[tuple[object, ...]] = queue.SimpleQueue()
    relay = _Relay(7, inbox, parts=2)
    first = _Part(relay, Member(), [(0, _request("a")), (2, _request("c"))])  # type: ignore[arg-type]
    second = _Part(relay, Member(), [(1, _request("b"))])  # type: ignore[arg-type]
    first.put(("result", 11, 1, "c read"))
    second.put(("raised", 12, RuntimeError("engine bug")))
    first.put(("result", 11, 0, "a read"))  # the other process still reads its part
    first.put(("done", 11, None))
    replies = [inbox.get_nowait() for _ in range(inbox.qsize())]
    assert replies[:2] == [("result", 7, 2, "c read"), ("result", 7, 0, "a read")]  # renumbered as the batch's
    kind, batch, failure = replies[2]
    assert (kind, batch, str(failure)) == ("raised", 7, "engine bug") and len(replies) == 3  # last, once


def test_a_process_that_dies_costs_its_own_endpoints_only(sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=5.0)  # type: ignore[operator]
    faulty("geist").set_fault("slow", delay=2.0)  # type: ignore[operator]
    with new_engine(partial(EnginePool, 2), tmp_path) as engine:
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
        killed: list[int] = []

        def on_result(result: ScrapeResult) -> None:
            results[result.key] = result
            if all(r.key in results for r in mine) and not killed:
                killed.append(doomed_pid)
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
