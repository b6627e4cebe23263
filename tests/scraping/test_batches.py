"""Reading batch after batch (``scrape_batches``), as the collector does: the engine never waits for the next claim.

The engine in this process, in a child and in two children (the collector's), real HTTP against the simulator.
What the collector relies on: every endpoint of every batch is read and reported once, in the
caller's thread; the next batch is taken before the engine runs dry, so one slow meter holds its
own slot and not the batches behind it; a claim that fails (the database went away) still has
what was handed over read and reported; a scraping process that dies costs failed readings.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from nxforge.scraping import ScrapeRequest, ScrapeResult
from nxforge.scraping.engine_process import EngineProcess
from nxforge.scraping.scraper import Scraper
from nxforge.simulator import Simulator

from .conftest import new_engine, request_for


@pytest.fixture(params=["engine", "process", "pool"])
def reader(request: pytest.FixtureRequest) -> Scraper:
    """The engine in this process, in a child process, and in two (the collector's default)."""
    engine: Scraper = request.getfixturevalue(request.param)
    return engine


def _plain(sim: Simulator, prefix: str, count: int) -> list[ScrapeRequest]:
    return [request_for(sim, "plain-ok", key=f"{prefix}-{n}", engine="http") for n in range(count)]


class Claims:
    """A source of batches that records how many results had been reported each time it was asked for one."""

    def __init__(self, batches: list[list[ScrapeRequest]], fail_after: int | None = None) -> None:
        self.batches, self.fail_after = batches, fail_after
        self.reported: list[str] = []
        self.asked_at: list[int] = []
        self.threads: set[str] = set()

    def on_result(self, result: ScrapeResult) -> None:
        self.threads.add(threading.current_thread().name)
        self.reported.append(result.key)

    def __iter__(self) -> Iterator[list[ScrapeRequest]]:
        for number, batch in enumerate(self.batches):
            self.asked_at.append(len(self.reported))
            if number == self.fail_after:
                raise ConnectionError("the database went away")
            yield batch
        self.asked_at.append(len(self.reported))


def test_every_batch_is_read_once_and_the_next_is_taken_before_the_engine_runs_dry(
        sim: Simulator, reader: Scraper) -> None:
    batches = [_plain(sim, f"b{b}", 4) for b in range(3)]
    claims = Claims(batches)
    reader.scrape_batches(claims, on_result=claims.on_result)
    assert sorted(claims.reported) == sorted(r.key for batch in batches for r in batch)  # each once
    assert claims.threads == {threading.current_thread().name}
    assert claims.asked_at[0] == 0
    assert claims.asked_at[1] < 4  # the second batch was claimed while the first was still being read
    assert claims.asked_at[-1] < 12  # and the end of the claims found before the last result


def test_a_slow_meter_holds_its_own_slot_not_the_batches_behind_it(
        sim: Simulator, reader: Scraper, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=3.0)  # type: ignore[operator]
    slow = request_for(sim, "plain-f", key="slow", engine="http", timeout_s=20)
    batches = [[slow, *_plain(sim, "first", 3)], *[_plain(sim, f"then{b}", 4) for b in range(3)]]
    claims = Claims(batches)
    reader.scrape_batches(claims, on_result=claims.on_result)
    assert len(claims.reported) == 16
    assert claims.reported[-1] == "slow"  # the three batches after the slow meter's were read meanwhile


def test_a_claim_that_fails_still_has_what_was_handed_over_read_and_reported(
        sim: Simulator, reader: Scraper) -> None:
    batches = [_plain(sim, f"c{b}", 4) for b in range(3)]
    claims = Claims(batches, fail_after=2)
    with pytest.raises(ConnectionError, match="database went away"):
        reader.scrape_batches(claims, on_result=claims.on_result)
    assert sorted(claims.reported) == sorted(r.key for batch in batches[:2] for r in batch)


def test_a_child_that_dies_with_batches_out_costs_failed_readings_and_the_next_batch_is_read(
        sim: Simulator, tmp_path: Path, faulty: object) -> None:
    faulty("plain").set_fault("slow", delay=5.0)  # type: ignore[operator]
    with new_engine(EngineProcess, tmp_path) as engine:
        assert engine.scrape(request_for(sim, "plain-ok", key="warm", engine="http")).ok
        assert engine._proc is not None
        first_pid = engine._proc.pid
        batches = [[request_for(sim, "plain-f", key="slow", engine="http", timeout_s=20),
                    request_for(sim, "plain-ok", key="fast", engine="http")],
                   _plain(sim, "second", 2), _plain(sim, "third", 2)]
        results: dict[str, ScrapeResult] = {}

        def on_result(result: ScrapeResult) -> None:
            assert result.key not in results
            results[result.key] = result
            if result.key == "fast":  # the slow meter is still being read: the child dies now
                os.kill(first_pid, signal.SIGKILL)

        started = time.monotonic()
        engine.scrape_batches(iter(batches), on_result=on_result)
        assert time.monotonic() - started < 4.5  # the run goes on; it does not wait for the slow meter
        assert set(results) == {r.key for batch in batches for r in batch}  # every endpoint becomes a reading
        slow = results["slow"].error
        assert slow is not None and slow.error_class == "step_failed" and "scraping process stopped" in slow.message
        for key in ("second-0", "second-1"):  # handed over as the child died: read, or failed saying so
            error = results[key].error
            assert results[key].ok or (error is not None and "scraping process stopped" in error.message)
        assert results["third-0"].ok and results["third-1"].ok  # read by the new child
        assert engine._proc is not None and engine._proc.pid != first_pid
