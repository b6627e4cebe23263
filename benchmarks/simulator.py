"""Requests per second the meter simulator serves to one keep-alive client.

Run by hand: ``.venv/bin/python benchmarks/simulator.py [--seconds 3]``. Not a pass/fail test;
the target is > 2,000 requests/s for the ``plain`` and JSON styles on a 2-core machine.
"""

from __future__ import annotations

import argparse
import http.client
import time

import httpx

from nxforge.simulator import DeviceSpec, Simulator


def _rate_httpx(url: str, seconds: float) -> float:
    with httpx.Client() as client:
        client.get(url).raise_for_status()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            client.get(url)
            count += 1
        return count / (time.perf_counter() - start)


def _rate_raw(host: str, port: int, path: str, seconds: float) -> float:
    """The same with the stdlib client: shows the server's own ceiling (httpx costs more)."""
    conn = http.client.HTTPConnection(host, port)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.request("GET", path)
        conn.getresponse().read()
        count += 1
    conn.close()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    specs = [DeviceSpec("plain-1", "plain", 2.3, 12543.5), DeviceSpec("geist-1", "geist", 2.3, 12543.5)]
    with Simulator(specs) as sim:
        port = int(sim.base_url.rsplit(":", 1)[1])
        for device_id, path in (("plain-1", "/d/plain-1/"), ("geist-1", "/d/geist-1/api/dev")):
            url = sim.base_url + path
            print(f"{device_id:<8} httpx:       {_rate_httpx(url, args.seconds):8.0f} req/s")
            print(f"{device_id:<8} http.client: {_rate_raw('127.0.0.1', port, path, args.seconds):8.0f} req/s")


if __name__ == "__main__":
    main()
