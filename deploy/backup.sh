#!/usr/bin/env bash
# Back up NxForge: the database and the config folder, into one time-stamped folder.
#
#   deploy/backup.sh [DEST]          # default DEST: ./backups  -> DEST/nxforge-YYYYmmddTHHMMSSZ/
#
# database.sqlite3   SQLite, copied with the online backup API (safe while the collector writes)
# database.pgdump    PostgreSQL, pg_dump -Fc (restore with deploy/restore.sh or pg_restore)
# config.tar.gz      the whole config folder, secrets.yaml INCLUDED when it exists
# module-data.tar.gz each module's own files under data/modules (spooled readings not yet stored, state)
# SHA256SUMS         checked by restore.sh
#
# It reads the same NXFORGE_* variables as the app (source /etc/nxforge/nxforge.env first).
# PYTHON (default .venv/bin/python) and PG_BIN (folder of pg_dump, default: PATH) can be set.
set -euo pipefail
root=${NXFORGE_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
PYTHON=${PYTHON:-$root/.venv/bin/python}
dest="${1:-backups}/nxforge-$(date -u +%Y%m%dT%H%M%SZ)"
umask 077
mkdir -p "$dest"
db_env=$("$PYTHON" deploy/nxforge_db.py env)   # an assignment, so set -e stops on failure
eval "$db_env"

case "$NXFORGE_DB_KIND" in
  sqlite) "$PYTHON" deploy/nxforge_db.py sqlite-copy "$NXFORGE_DB_PATH" "$dest/database.sqlite3" ;;
  postgresql) "${PG_BIN:+$PG_BIN/}pg_dump" --format=custom --file="$dest/database.pgdump" ;;
esac
tar -czf "$dest/config.tar.gz" -C "$(dirname "$NXFORGE_CONFIG_DIR")" "$(basename "$NXFORGE_CONFIG_DIR")"
if [ -d "$NXFORGE_DATA_DIR/modules" ]; then
  tar -czf "$dest/module-data.tar.gz" -C "$NXFORGE_DATA_DIR" modules
fi
(cd "$dest" && sha256sum -- * > SHA256SUMS)

echo "backup written to $dest"
if [ -f "$NXFORGE_CONFIG_DIR/secrets.yaml" ]; then
  echo "NOTE: config.tar.gz contains secrets.yaml (meter and database passwords): keep this backup" \
       "as safe as the secrets themselves (the folder is created mode 700)." >&2
else
  echo "NOTE: config.tar.gz holds the whole config folder; secrets.yaml would be inside it too." >&2
fi
