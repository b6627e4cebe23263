"""SNMP outlet counters read per second: the scraping engine's shared bulk walks, and the agent alone.

    python benchmarks/snmp.py                                  # 20 and 80 PDUs of 24 outlets, 3 repeats
    python benchmarks/snmp.py --pdus 40 --outlets 24 --repeats 5 --max-repetitions 25

The simulator (its SNMP agent on 127.0.0.1, one UDP port per PDU) runs in its own process. Each
PDU has ``--outlets`` metered outlets and each outlet is one endpoint (preset
``raritan-pdu2-outlet-snmp``, walk mode), so the endpoints of one PDU share one GETBULK walk of
the outlet table. "engine" = outlet endpoints read per second by ``ScrapingEngine.scrape_many``
(a fresh engine per repeat, warmed by one GET, so every PDU is walked again). "agent alone" =
the same table fetched with pre-encoded GETBULK datagrams from a bare asyncio UDP client (one
request in flight per PDU), counters per second: the ceiling the agent puts on any client. The
ratio engine / agent says how much of the agent's capacity the engine uses (issue 15's target:
>= 2,000 outlet counters/s through the engine). Not a pass/fail test; the 1-minute load average
is printed with each figure (the box is shared).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pyasn1.codec.ber import encoder  # noqa: E402
from pysnmp.proto import api  # noqa: E402

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapingEngine  # noqa: E402
from nxforge.secrets import SecretStore  # noqa: E402

PRESET = "raritan-pdu2-outlet-snmp"
TABLE = (1, 3, 6, 1, 4, 1, 13742, 6, 5, 4, 3, 1, 4, 1)  # the preset's walk_root: outlet n's energy is TABLE.n.8


def run_simulator(pdus: int, outlets: int, urls: Any, stop: Any) -> None:
    """Child process: ``pdus`` simulated PDUs with ``outlets`` outlets each, until told to stop."""
    from nxforge.simulator import DeviceSpec, Simulator

    devices = [DeviceSpec(f"pdu-{i:03d}", "plain", outlets=outlets) for i in range(pdus)]
    with Simulator(devices) as sim:
        urls.put(({spec.id: sim.snmp_url(spec.id) for spec in devices}, sim.snmp_credentials.community))
        stop.wait()


def outlet_requests(urls: dict[str, str], outlets: int, max_repetitions: int) -> list[ScrapeRequest]:
    """One walk-mode endpoint per outlet of every PDU."""
    requests = []
    for device, url in urls.items():
        for outlet in range(1, outlets + 1):
            config = ScrapeConfig.model_validate({
                "preset": PRESET, "url": url, "retries": 0, "timeout_s": 10,
                "snmp": {"max_repetitions": max_repetitions},
                "values": {"total_kwh": {"selector": ".".join(map(str, (*TABLE, outlet, 8)))}},
            })
            requests.append(ScrapeRequest(key=f"{device}-o{outlet}", config=config))
    return requests


def engine_rate(urls: dict[str, str], outlets: int, max_repetitions: int, community: str) -> tuple[float, int]:
    """Outlet counters/s through a fresh scraping engine, and how many endpoints failed."""
    requests = outlet_requests(urls, outlets, max_repetitions)
    with tempfile.TemporaryDirectory() as scratch, ScrapingEngine(
        secrets=SecretStore(environ={"SNMP_COMMUNITY": community}), evidence_dir=Path(scratch) / "evidence",
        state_dir=Path(scratch) / "state",
    ) as engine:
        first = next(iter(urls.values()))  # warm up: the pysnmp engine (its MIBs) loads on first use
        engine.scrape(ScrapeRequest(key="warm-up", config=ScrapeConfig.model_validate({
            "preset": "raritan-pdu2-snmp", "url": first, "retries": 0})))
        started = time.perf_counter()
        results = engine.scrape_many(requests)
        elapsed = time.perf_counter() - started
    failed = sum(not result.ok for result in results)
    return (len(results) - failed) / elapsed, failed


class _Client(asyncio.DatagramProtocol):
    """Sends one pre-encoded GETBULK, and the next as soon as the answer lands, for ``seconds``."""

    def __init__(self, datagrams: list[bytes], until: float, done: asyncio.Future[int]) -> None:
        self.datagrams, self.until, self.done, self.answers = datagrams, until, done, 0
        self.transport: asyncio.DatagramTransport | None = None

    def _send(self) -> None:
        assert self.transport is not None
        self.transport.sendto(self.datagrams[self.answers % len(self.datagrams)])  # a new request id each time

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram transport (not registered as one)
        self._send()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.answers += 1
        if time.perf_counter() < self.until:
            self._send()
        elif not self.done.done():
            self.done.set_result(self.answers)


def getbulk(community: str, max_repetitions: int, request_id: int) -> bytes:
    """A v2c GETBULK of the outlet table, encoded once."""
    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = v2c.GetBulkRequestPDU()
    v2c.apiBulkPDU.set_defaults(pdu)
    v2c.apiBulkPDU.set_request_id(pdu, request_id)
    v2c.apiBulkPDU.set_non_repeaters(pdu, 0)
    v2c.apiBulkPDU.set_max_repetitions(pdu, max_repetitions)
    v2c.apiBulkPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(TABLE), v2c.Null(""))])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


async def _agent_alone(ports: list[int], datagrams: list[bytes], seconds: float) -> int:
    loop = asyncio.get_running_loop()
    until = time.perf_counter() + seconds
    futures: list[asyncio.Future[int]] = []
    transports = []
    for port in ports:
        done: asyncio.Future[int] = loop.create_future()
        transport, _ = await loop.create_datagram_endpoint(lambda d=done: _Client(datagrams, until, d),  # type: ignore[misc]
                                                           remote_addr=("127.0.0.1", port))
        futures.append(done)
        transports.append(transport)
    try:
        answers = await asyncio.wait_for(asyncio.gather(*futures), timeout=seconds + 10)
    finally:
        for transport in transports:
            transport.close()
    return sum(answers)


def agent_rate(urls: dict[str, str], outlets: int, max_repetitions: int, community: str, seconds: float) -> float:
    """Outlet counters/s the agent serves to a bare client (answers x outlets per answer)."""
    ports = [int(url.rsplit(":", 1)[1].strip("/")) for url in urls.values()]
    started = time.perf_counter()
    datagrams = [getbulk(community, max_repetitions, 1000 + index) for index in range(64)]
    answers = asyncio.run(_agent_alone(ports, datagrams, seconds))
    per_answer = min(outlets, max_repetitions)  # one GETBULK returns the whole table when it fits
    return answers * per_answer / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdus", type=int, nargs="+", default=[20, 80])
    parser.add_argument("--outlets", type=int, default=24)
    parser.add_argument("--max-repetitions", type=int, default=25, help="rows per GETBULK (the preset's default)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each agent-alone measurement")
    args = parser.parse_args(argv)
    print(f"{'PDUs':>5} {'outlets':>7} {'endpoints':>9} {'engine counters/s':>17} {'agent alone /s':>14} "
          f"{'ratio':>6} {'failed':>6} {'load':>9}", flush=True)
    for pdus in args.pdus:
        urls_queue: Any = multiprocessing.Queue()
        stop = multiprocessing.Event()
        sim = multiprocessing.Process(target=run_simulator, args=(pdus, args.outlets, urls_queue, stop), daemon=True)
        sim.start()
        try:
            urls, community = urls_queue.get(timeout=120)
            load = f"{os.getloadavg()[0]:.1f}"
            best_engine, failed, best_agent = 0.0, 0, 0.0
            for _ in range(args.repeats):
                rate, failures = engine_rate(urls, args.outlets, args.max_repetitions, community)
                best_engine, failed = max(best_engine, rate), max(failed, failures)
                best_agent = max(best_agent, agent_rate(urls, args.outlets, args.max_repetitions, community,
                                                        args.seconds))
            print(f"{pdus:>5} {args.outlets:>7} {pdus * args.outlets:>9} {best_engine:>17.0f} {best_agent:>14.0f} "
                  f"{best_engine / best_agent:>6.2f} {failed:>6} {load + '-' + f'{os.getloadavg()[0]:.1f}':>9}",
                  flush=True)
        finally:
            stop.set()
            sim.join(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
