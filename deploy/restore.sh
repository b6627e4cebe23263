#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh: database, then config folder, then module data.
#
#   deploy/restore.sh BACKUP_FOLDER [--no-config] [--yes]
#
# Stop the collector and the app first (systemctl stop nxforge-collector nxforge-app; comment out
# the cron line). The database is REPLACED by the backup: SQLite through the backup API, PostgreSQL
# with pg_restore --clean in one transaction (a failure leaves the database as it was). The current
# config folder is kept aside as <config>.before-restore-<time> and the backed-up one put in place.
# It reads the same NXFORGE_* variables as the app; PYTHON and PG_BIN as in backup.sh.
set -euo pipefail
root=${NXFORGE_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
backup="" restore_config=1 yes=0
for arg in "$@"; do
  case "$arg" in
    --no-config) restore_config=0 ;;
    --yes) yes=1 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) backup=$(cd "$arg" && pwd) ;;
  esac
done
[ -n "$backup" ] || { echo "usage: $0 BACKUP_FOLDER [--no-config] [--yes]" >&2; exit 2; }
cd "$root"
PYTHON=${PYTHON:-$root/.venv/bin/python}
(cd "$backup" && sha256sum --quiet -c SHA256SUMS) || { echo "$backup: checksums do not match" >&2; exit 1; }
db_env=$("$PYTHON" deploy/nxforge_db.py env)   # an assignment, so set -e stops on failure
eval "$db_env"

if [ "$yes" != 1 ]; then
  target=${NXFORGE_DB_PATH:-${PGDATABASE:-}}
  read -r -p "Replace the database $target with $backup? [y/N] " answer
  [ "$answer" = y ] || [ "$answer" = Y ] || { echo "nothing restored"; exit 1; }
fi

case "$NXFORGE_DB_KIND" in
  sqlite)
    [ -f "$backup/database.sqlite3" ] || { echo "$backup holds no SQLite database" >&2; exit 1; }
    "$PYTHON" deploy/nxforge_db.py sqlite-copy "$backup/database.sqlite3" "$NXFORGE_DB_PATH" ;;
  postgresql)
    [ -f "$backup/database.pgdump" ] || { echo "$backup holds no PostgreSQL dump" >&2; exit 1; }
    "${PG_BIN:+$PG_BIN/}pg_restore" --clean --if-exists --no-owner --no-privileges --single-transaction \
      --exit-on-error --dbname="$PGDATABASE" "$backup/database.pgdump" ;;
esac
echo "database restored from $backup"

if [ "$restore_config" = 1 ]; then
  staging=$(mktemp -d)
  tar -xzf "$backup/config.tar.gz" -C "$staging"
  if [ -e "$NXFORGE_CONFIG_DIR" ]; then
    aside="$NXFORGE_CONFIG_DIR.before-restore-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$NXFORGE_CONFIG_DIR" "$aside"
    echo "current config kept in $aside"
  fi
  mkdir -p "$(dirname "$NXFORGE_CONFIG_DIR")"
  mv "$staging"/* "$NXFORGE_CONFIG_DIR"
  rmdir "$staging"
  echo "config restored to $NXFORGE_CONFIG_DIR (secrets.yaml included when it was backed up)"
fi
if [ -f "$backup/module-data.tar.gz" ]; then
  mkdir -p "$NXFORGE_DATA_DIR"
  tar -xzf "$backup/module-data.tar.gz" -C "$NXFORGE_DATA_DIR"
  echo "module data restored to $NXFORGE_DATA_DIR/modules"
fi
