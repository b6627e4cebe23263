#!/usr/bin/env bash
# Create (or update) the NxForge role and database on PostgreSQL, then print the
# NXFORGE_DATABASE_URL line for /etc/nxforge/nxforge.env.
#
#   sudo deploy/postgres/setup.sh                       # local server, as the postgres system user
#   PGHOST=db.example PGUSER=admin deploy/postgres/setup.sh   # remote server, any superuser
#
# Variables: NXFORGE_DB_ROLE (nxforge), NXFORGE_DB_NAME (nxforge), NXFORGE_DB_PASSWORD (generated
# when unset), NXFORGE_DB_HOST / NXFORGE_DB_PORT (what the URL names; default PGHOST/PGPORT or
# localhost:5432). PG* variables say how psql reaches the server as a superuser.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
role=${NXFORGE_DB_ROLE:-nxforge}
db=${NXFORGE_DB_NAME:-nxforge}
password=${NXFORGE_DB_PASSWORD:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')}
url_host=${NXFORGE_DB_HOST:-${PGHOST:-localhost}}
url_port=${NXFORGE_DB_PORT:-${PGPORT:-5432}}

psql=(psql -X -q -v ON_ERROR_STOP=1 -v "role=$role" -v "dbname=$db" -d "${PGDATABASE:-postgres}")
if [ "$(id -u)" -eq 0 ] && [ -z "${PGHOST:-}" ] && command -v runuser >/dev/null; then
  psql=(runuser -u postgres -- "${psql[@]}")   # peer authentication over the local socket
fi
# The password goes in on stdin (never in argv, which other users can read from ps).
escaped=$(printf '%s' "$password" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
{ printf "\\\\set password '%s'\n" "$escaped"; cat "$here/setup.sql"; } | "${psql[@]}" >/dev/null

encoded=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$password")
if [ "${url_host#/}" != "$url_host" ]; then   # a socket directory such as /var/run/postgresql
  echo "NXFORGE_DATABASE_URL=postgresql+psycopg://$role:$encoded@/$db?host=$url_host&port=$url_port"
else
  echo "NXFORGE_DATABASE_URL=postgresql+psycopg://$role:$encoded@$url_host:$url_port/$db"
fi
echo "role $role owns database $db; put the line above in /etc/nxforge/nxforge.env (chmod 640)" >&2
