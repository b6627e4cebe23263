#!/usr/bin/env bash
# Set up everything NxForge needs on this machine, idempotently:
#   a virtual environment in .venv with the locked packages, a Chromium for the scraping engine,
#   and (for the tests) PostgreSQL server binaries. Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.nxforge-installed

need_python() {
  "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || {
    echo "NxForge needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2; exit 1; }
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ ! -f /tmp/.nxforge-apt-updated ]; then as_root apt-get update -qq && touch /tmp/.nxforge-apt-updated; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# 1. Python packages, pinned by requirements.lock.
need_python
[ -x $VENV/bin/python ] || "$PYTHON" -m venv $VENV
wanted=$(cat requirements.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat $STAMP 2>/dev/null)" != "$wanted" ]; then
  echo "setup: installing Python packages into $VENV"
  $VENV/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  $VENV/bin/python -m pip install -q -r requirements.lock 2>&1 | grep -v '^WARNING: Location' || true
  $VENV/bin/python -m pip install -q --no-deps -e . 2>&1 | grep -v '^WARNING: Location' || true
  $VENV/bin/python -c 'import nxforge, streamlit, playwright, duckdb, polars' # fails loudly if incomplete
  echo "$wanted" > $STAMP
fi

# Bytecode for NxForge's own code: pip compiles the packages it installs, not this editable checkout,
# and where Python writes no bytecode itself (PYTHONDONTWRITEBYTECODE, a read-only checkout) every cron
# run of the collector would compile its modules again (~0.15 s a run). Incremental: quick when done.
$VENV/bin/python -m compileall -q -x '/(\.venv|node_modules)/' nxforge modules *.py >/dev/null \
  || echo "setup: could not write bytecode here (read-only checkout?): the collector compiles as it imports" >&2

# 2. A browser: Playwright's own if it has one, else the system's, else install Debian's headless shell.
have_browser() {
  ls "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}"/chromium*/ >/dev/null 2>&1 ||
    [ -x /usr/bin/chromium-headless-shell ] || [ -x /usr/bin/chromium ]
}
if ! have_browser; then
  echo "setup: no Chromium found; installing one"
  apt_install chromium-headless-shell || apt_install chromium || $VENV/bin/python -m playwright install chromium || {
    echo "setup: could not install Chromium; browser scrapes will fail until one is installed" >&2; exit 1; }
fi

# 3. PostgreSQL server binaries, only for the tests (the demo runs on SQLite).
if [ "${NXFORGE_SETUP_POSTGRES:-0}" = "1" ] && [ -z "${NXFORGE_TEST_DATABASE_URL:-}" ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    echo "setup: installing PostgreSQL server binaries for the tests"
    apt_install postgresql || { echo "setup: install PostgreSQL or set NXFORGE_TEST_DATABASE_URL" >&2; exit 1; }
  fi
fi
# 4. nginx, only for the tests of the shipped proxy config (deploy/nginx; they skip without it).
if [ "${NXFORGE_SETUP_NGINX:-0}" = "1" ] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "setup: installing nginx for the proxy config tests"
  apt_install nginx-light || apt_install nginx || echo "setup: no nginx; tests/deploy/test_nginx.py will skip" >&2
fi
echo "setup: ready"
