"""Scraping throughput: endpoints/s for the http and browser engines, and peak memory.

Run by hand: ``python benchmarks/scrape.py [--sizes 50 500] [--engines http browser]``.
The simulator runs in a separate process so it does not share the GIL with the engine.
Targets on a 2-core box: http >= 300 endpoints/s; browser (isolated context per endpoint)
>= 9/s, more with kept sessions.

Every row prints the 1-minute load average when it started (other work on the machine skews
the figures: compare rows measured at similar load) and the peak RSS of this process and its
children (Chromium included, the simulator excluded) during that row.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from nxforge.scraping import ScrapeConfig, ScrapeRequest, ScrapingEngine
from nxforge.secrets import SecretStore

PASSWORD = "bench-secret"


def run_simulator(count: int, urls: Any, stop: Any) -> None:
    """Child process: plain and sentry devices until told to stop."""
    from nxforge.simulator import DeviceSpec, Simulator

    devices = [DeviceSpec(id=f"plain-{i}", style="plain") for i in range(count)]
    devices += [DeviceSpec(id=f"sentry-{i}", style="sentry", password=PASSWORD) for i in range(count)]
    with Simulator(devices) as sim:
        urls.put(sim.base_url)
        stop.wait()


class RssSampler(threading.Thread):
    """Samples the RSS of this process and all its descendants (Chromium included)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self.row_peak_kib = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss = tree_rss_kib(os.getpid())
            self.peak_kib = max(self.peak_kib, rss)
            self.row_peak_kib = max(self.row_peak_kib, rss)
            self._halt.wait(0.25)

    def new_row(self) -> None:
        """Start measuring the peak of the next row."""
        self.row_peak_kib = tree_rss_kib(os.getpid())

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_kib


def tree_rss_kib(root: int) -> int:
    """RSS in KiB of ``root`` and its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * page_kib
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def requests_for(base: str, engine: str, style: str, size: int, tag: str) -> list[ScrapeRequest]:
    """One request per simulated device of ``style``."""
    out = []
    for i in range(size):
        data: dict[str, Any] = {"preset": style, "url": f"{base}/d/{style}-{i}/", "engine": engine, "retries": 0}
        if style == "sentry":
            data["auth"] = {"password": "${BENCH_PASSWORD}"}
            if engine == "browser":
                data["steps"] = [{"action": "click", "selector": "#tab-inlets"}]
        out.append(ScrapeRequest(key=f"{tag}-{style}-{i}", config=ScrapeConfig.model_validate(data)))
    return out


def measure(engine: ScrapingEngine, requests: list[ScrapeRequest]) -> tuple[float, int]:
    started = time.perf_counter()
    results = engine.scrape_many(requests)
    elapsed = time.perf_counter() - started
    return len(requests) / elapsed, sum(not r.ok for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--engines", nargs="+", default=["http", "browser"], choices=["http", "browser"])
    parser.add_argument("--modes", nargs="+", default=["no login", "login", "kept session"],
                        choices=["no login", "login", "kept session"])
    parser.add_argument("--browser-concurrency", type=int, default=4)
    parser.add_argument("--http-concurrency", type=int, default=64)
    parser.add_argument("--per-host", type=int, default=8, help="per_host_concurrency of the engine")
    args = parser.parse_args()

    urls: Any = multiprocessing.Queue()
    stop = multiprocessing.Event()
    sim = multiprocessing.Process(target=run_simulator, args=(max(args.sizes), urls, stop), daemon=True)
    sim.start()
    base = urls.get(timeout=60)
    sampler = RssSampler()
    sampler.start()
    print(f"browser_concurrency={args.browser_concurrency} http_concurrency={args.http_concurrency} "
          f"per_host={args.per_host}")
    print(f"{'engine':8} {'style':7} {'mode':14} {'size':>5} {'endpoints/s':>12} {'failed':>6} {'load1':>6} "
          f"{'peak MiB':>9}")
    styles = {"no login": "plain", "login": "sentry", "kept session": "sentry"}
    with tempfile.TemporaryDirectory() as tmp, ScrapingEngine(
        secrets=SecretStore(environ={"BENCH_PASSWORD": PASSWORD}), evidence_dir=Path(tmp) / "evidence",
        state_dir=Path(tmp) / "state", browser_concurrency=args.browser_concurrency,
        http_concurrency=args.http_concurrency, per_host_concurrency=args.per_host,
    ) as engine:
        for name in args.engines:
            # Warm up before timing: Chromium's launch, the connection pool, the parsers.
            engine.scrape_many(requests_for(base, name, "plain", 8, f"warmup-{name}"))
            for size in args.sizes:
                for mode in args.modes:
                    style = styles[mode]
                    if mode == "kept session" and "login" not in args.modes:
                        engine.scrape_many(requests_for(base, name, style, size, f"{name}-{size}"))
                    # "kept session" repeats the keys of the "login" run, so their cookies are reused
                    requests = requests_for(base, name, style, size, f"{name}-{size}")
                    load = os.getloadavg()[0]
                    sampler.new_row()
                    rate, failed = measure(engine, requests)
                    print(f"{name:8} {style:7} {mode:14} {size:5d} {rate:12.1f} {failed:6d} {load:6.2f} "
                          f"{sampler.row_peak_kib / 1024:9.0f}", flush=True)
    peak = sampler.stop()
    stop.set()
    sim.join(timeout=10)
    print(f"peak RSS overall (engine process + Chromium, simulator excluded): {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
