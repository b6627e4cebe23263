"""Requests per second the meter simulator serves: one keep-alive client, then several at once.

Run by hand: ``.venv/bin/python benchmarks/simulator.py [--seconds 3] [--connections 8]``. Not
a pass/fail test; the target is > 2,000 requests/s for the ``plain`` and JSON styles on a
2-core machine. The single-client figures run the simulator in this process (as the tests
do); the concurrent figure runs it in a child process, as ``benchmarks/scrape.py`` does, with
``--connections`` keep-alive ``http.client`` connections in threads (the scraping engine keeps
up to ``per_host_concurrency`` = 8 connections to one host). The 1-minute load average is
printed with each figure: other work on the machine skews them.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import threading
import time
from typing import Any

import httpx

from nxforge.simulator import DeviceSpec, Simulator

SPECS = [DeviceSpec("plain-1", "plain", 2.3, 12543.5), DeviceSpec("geist-1", "geist", 2.3, 12543.5)]
PATHS = (("plain-1", "/d/plain-1/"), ("geist-1", "/d/geist-1/api/dev"))


def _rate_httpx(url: str, seconds: float) -> float:
    with httpx.Client() as client:
        client.get(url).raise_for_status()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            client.get(url)
            count += 1
        return count / (time.perf_counter() - start)


def _count_raw(host: str, port: int, path: str, seconds: float) -> int:
    conn = http.client.HTTPConnection(host, port)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.request("GET", path)
        conn.getresponse().read()
        count += 1
    conn.close()
    return count


def _rate_raw(host: str, port: int, path: str, seconds: float) -> float:
    """The same with the stdlib client: shows the server's own ceiling (httpx costs more)."""
    start = time.perf_counter()
    count = _count_raw(host, port, path, seconds)
    return count / (time.perf_counter() - start)


def _serve(ports: Any, stop: Any) -> None:
    with Simulator(SPECS) as sim:
        ports.put(int(sim.base_url.rsplit(":", 1)[1]))
        stop.wait()


def _rate_concurrent(port: int, path: str, seconds: float, connections: int) -> float:
    counts: list[int] = []

    def client() -> None:
        counts.append(_count_raw("127.0.0.1", port, path, seconds))

    threads = [threading.Thread(target=client) for _ in range(connections)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with Simulator(SPECS) as sim:
        port = int(sim.base_url.rsplit(":", 1)[1])
        for device_id, path in PATHS:
            url = sim.base_url + path
            load = os.getloadavg()[0]
            rate = _rate_httpx(url, args.seconds)
            print(f"{device_id:<8} httpx, in-process:       {rate:8.0f} req/s  (load {load:.2f})")
            load = os.getloadavg()[0]
            print(f"{device_id:<8} http.client, in-process: "
                  f"{_rate_raw('127.0.0.1', port, path, args.seconds):8.0f} req/s  (load {load:.2f})")
    ports: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=_serve, args=(ports, stop), daemon=True)
    child.start()
    port = ports.get(timeout=30)
    for device_id, path in PATHS:
        load = os.getloadavg()[0]
        rate = _rate_concurrent(port, path, args.seconds, args.connections)
        print(f"{device_id:<8} {args.connections} x http.client, simulator in a child process: "
              f"{rate:8.0f} req/s  (load {load:.2f})")
    stop.set()
    child.join(timeout=10)


if __name__ == "__main__":
    main()
