"""First render time of the Live page with 1,000 endpoints (target: at most 1 s).

Run by hand: ``.venv/bin/python benchmarks/live_page.py [--endpoints 1000]``. It builds a
temporary SQLite site with the real consumption monitor, then renders the app's default page
(Live) through Streamlit's AppTest, three ways:

- cold: the first render in a fresh process (imports, platform, queries) - a server's first visitor;
- new session: a new visitor on a warm server, query caches emptied - the figure the target is about;
- cached: a rerun while the query caches are warm (what the 30 s refresh costs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _render_once() -> float:
    from streamlit.testing.v1 import AppTest

    from nxforge.app.session import SESSION_USER

    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    app.session_state[SESSION_USER] = "viewer"
    started = time.perf_counter()
    app.run()
    elapsed = time.perf_counter() - started
    if app.exception or not app.title or app.title[0].value != "Live status":
        raise SystemExit(f"the Live page did not render: {[e.value for e in app.exception]}")
    return elapsed


def main() -> int:
    """Build the site, render, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="nxforge-bench-live-"))
    for folder in ("config", "data"):
        (base / folder).mkdir()
    os.environ.update(
        NXFORGE_CONFIG_DIR=str(base / "config"),
        NXFORGE_DATA_DIR=str(base / "data"),
        NXFORGE_MODULES_DIR=str(ROOT / "modules"),
        NXFORGE_DATABASE_URL=f"sqlite:///{base / 'data' / 'nxforge.db'}",
        NXFORGE_LOG_LEVEL="WARNING",
    )
    from nxforge.environment import Environment
    from tests.app.conftest import write_core_config, write_users
    from tests.app.consumption_site import seed_consumption

    env = Environment.from_environ()
    write_core_config(env, [])
    write_users(env)
    started = time.perf_counter()
    seed_consumption(env, endpoints=args.endpoints, hours=96, step_h=12)
    print(f"site: {args.endpoints} endpoints, 8 readings each, built in {time.perf_counter() - started:.1f} s ({base})")

    import streamlit as st

    cold = _render_once()
    fresh = []
    for _ in range(args.repeat):
        st.cache_data.clear()
        fresh.append(_render_once())
    cached = [_render_once() for _ in range(args.repeat)]
    print(f"cold (first render in a new process): {cold:.2f} s")
    print(f"new session, empty query caches:      median {statistics.median(fresh):.2f} s (min {min(fresh):.2f})")
    print(f"rerun with warm caches:               median {statistics.median(cached):.2f} s (min {min(cached):.2f})")
    target = statistics.median(fresh)
    print(f"target <= 1.0 s for a new session: {'met' if target <= 1.0 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
