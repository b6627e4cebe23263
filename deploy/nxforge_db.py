"""Helper of deploy/backup.sh and deploy/restore.sh: where the database is, and SQLite copies.

The database URL is resolved exactly as the app resolves it (``NXFORGE_DATABASE_URL``, else
``database.url`` in nxforge.yaml with its ``${NAME}`` secrets, else SQLite under the data folder),
so a back-up never reads a different database than the collector writes. PostgreSQL connection
details go out as ``PG*`` variables, which pg_dump reads: a password in argv would show in ``ps``.
SQLite is copied with the online backup API, which gives a consistent snapshot even while the
collector writes (copying the file would not, and would miss what is still in the WAL).

    python deploy/nxforge_db.py env                 # shell assignments, for eval
    python deploy/nxforge_db.py sqlite-copy SRC DEST
"""

from __future__ import annotations

import shlex
import sqlite3
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from nxforge.environment import Environment


def shell_assignments() -> list[str]:
    """``NAME=value`` lines describing the configured database and folders."""
    env = Environment.from_environ()
    url = make_url(env.database_url())
    values = {"NXFORGE_CONFIG_DIR": str(env.config_dir), "NXFORGE_DATA_DIR": str(env.data_dir)}
    if url.get_backend_name() == "sqlite":
        values["NXFORGE_DB_KIND"] = "sqlite"
        values["NXFORGE_DB_PATH"] = str(Path(url.database or "").resolve())
    elif url.get_backend_name() == "postgresql":
        query = {key: value if isinstance(value, str) else value[-1] for key, value in url.query.items()}
        values |= {
            "NXFORGE_DB_KIND": "postgresql",
            "PGHOST": query.get("host") or url.host or "",
            "PGPORT": str(query.get("port") or url.port or 5432),
            "PGUSER": url.username or "",
            "PGPASSWORD": url.password or "",
            "PGDATABASE": url.database or "",
            "PGSSLMODE": query.get("sslmode", "prefer"),
        }
    else:
        raise SystemExit(f"unsupported database {url.get_backend_name()!r}: back it up with its own tools")
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items() if value]


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy ``source`` into ``target`` page by page with SQLite's backup API."""
    if not source.is_file():
        raise SystemExit(f"{source}: no such database file")
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    src.close()
    dst.close()


def main(argv: list[str]) -> int:
    """Dispatch the two sub-commands."""
    if argv[:1] == ["env"]:
        print("\n".join(shell_assignments()))
    elif argv[:1] == ["sqlite-copy"] and len(argv) == 3:
        sqlite_copy(Path(argv[1]), Path(argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
