"""The ``nxforge`` command: config check, migrate, modules, users, scrape, collect, sim, demo, schema, module commands.

The CLI is a face: it may use every layer below it. Each command imports what it needs when it
runs, so ``nxforge --help`` stays fast; ``users``, ``scrape`` and ``config check`` live in their own files here.
``collector.py`` parses only the collector's options (``collector_main``): no module discovery and no other
command's parser on a cron run's path.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from nxforge.collector.exit_status import DAEMON_TICK_S, EXIT_CODES_HELP
from nxforge.config.errors import ConfigError
from nxforge.log_redaction import install_log_redaction
from nxforge.secrets import MissingSecretError

if TYPE_CHECKING:
    from nxforge.platform import Platform

log = logging.getLogger("nxforge")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_DATABASE = 3
EXIT_DISK = 4  # the collector's codes are described in nxforge.collector.exit_status


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()  # no secret in any line, ours or a library's (httpx prints URLs)


def _platform(scraping_processes: int = 0) -> Platform:
    from nxforge.platform import Platform

    return Platform(scraping_processes=scraping_processes)


def cmd_config_check(_args: argparse.Namespace) -> int:
    from nxforge.cli.config_check import check_all
    from nxforge.environment import Environment

    checked, problems = check_all(Environment.from_environ())
    for problem in problems:
        print(problem)
    print(f"{len(checked)} file(s) checked, {len(problems)} problem(s)", file=sys.stderr)
    return EXIT_CONFIG if problems else EXIT_OK


def cmd_migrate(_args: argparse.Namespace) -> int:
    from nxforge.migrations.runner import migrate_module

    platform = _platform()
    for info in platform.enabled_modules():
        applied = migrate_module(platform.engine, info.name, info.migrations_dir)
        print(f"{info.name}: {len(applied)} migration(s) applied" + (f" ({', '.join(applied)})" if applied else ""))
    return EXIT_OK


def cmd_modules(args: argparse.Namespace) -> int:
    from nxforge.audit import default_actor
    from nxforge.module_admin import install, lifecycle

    platform = _platform()
    actor = default_actor()
    try:
        if args.action == "list":
            rows = lifecycle.list_modules(platform)
            print(f"{'NAME':28} {'VERSION':10} {'STATUS':9} REQUIRES / ERROR")
            for row in rows:
                extra = (row.error or "").replace("\n", " | ") or ", ".join(row.requires)
                print(f"{row.name:28} {row.version:10} {row.status:9} {extra}")
        elif args.action == "enable":
            applied = lifecycle.enable_module(platform, args.name, actor)
            print(f"{args.name} enabled ({len(applied)} migration(s) applied)")
        elif args.action == "disable":
            lifecycle.disable_module(platform, args.name, actor)
            print(f"{args.name} disabled")
        elif args.action == "install":
            info = install.install_zip(platform, Path(args.name), actor)
            manifest = info.manifest
            assert manifest is not None
            permissions = ", ".join(manifest.permissions) or "none"
            print(f"{info.name} {manifest.version} installed (disabled); permissions: {permissions}")
        elif args.action == "uninstall":
            undone = lifecycle.uninstall_module(platform, args.name, actor)
            print(f"{args.name} uninstalled ({len(undone)} migration(s) undone)")
    except (lifecycle.LifecycleError, LookupError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    from nxforge.collector.runner import Collector
    from nxforge.metrics import serve, write_textfile
    from nxforge.scraping.prestart import default_processes

    # The engine reads in child processes while the jobs store (engine_process.py, engine_pool.py).
    processes = 0 if args.scraping_in_process else args.scraping_processes or default_processes()
    platform = _platform(scraping_processes=processes)
    # What start-up made (modules, SQLAlchemy's metadata, pydantic's schemas) lives as long as the process:
    # frozen out of the garbage collector's way, a full collection no longer walks it (a third of the CPU
    # of storing a batch of readings went to those walks). collector.py keeps the collector off until the
    # first job's code is imported, then freezes (nxforge.collector.memory); ``nxforge collect`` freezes here.
    if gc.isenabled():
        gc.freeze()
    filters = {"dry_run": args.dry_run}
    if args.endpoint:
        filters["endpoint"] = args.endpoint
    collector = Collector(platform, module=args.module, job=args.job, filters=filters)
    try:
        with collector.signals_stop_jobs():
            if not args.once:
                if args.metrics_port:
                    serve(args.metrics_port, args.metrics_host)
                collector.run_forever(tick_s=args.tick)
                return EXIT_OK
            runs = collector.run_due(trigger="once")
            print(f"{len(runs)} job(s) run: " + ", ".join(f"{r.module}/{r.job} {r.status}" for r in runs))
            outcome = collector.outcome(runs)
            try:
                write_textfile(Path(args.metrics_textfile or platform.env.data_dir / "metrics" / "nxforge.prom"))
            except OSError as exc:  # the readings are what exit 4 is about, not this file
                log.error("metrics textfile not written: %s", exc)
            status = outcome.exit_status()
            if status == EXIT_DATABASE:
                print("database unreachable: offline jobs spooled their work, the others did not run", file=sys.stderr)
            elif status == EXIT_CONFIG:
                print("configuration refused in part: see the log and the execution's summary", file=sys.stderr)
            return status
    finally:
        platform.close()


def cmd_sim(args: argparse.Namespace) -> int:
    from nxforge.simulator.cli import main as sim_main

    return sim_main(args.rest)


def cmd_demo(args: argparse.Namespace) -> int:
    from nxforge.demo import main as demo_main

    return demo_main(args.rest)


def cmd_schema(args: argparse.Namespace) -> int:
    from nxforge.schemas import main as schema_main

    return schema_main(args.rest)


def cmd_module_command(args: argparse.Namespace) -> int:
    from nxforge.module_system.loading import resolve_handler

    platform = _platform()
    handler = resolve_handler(platform.env.modules_dir, args.handler)
    try:
        return int(handler(platform.context(args.module_name), args.rest) or 0)
    finally:
        platform.close()


def _module_commands() -> dict[str, tuple[str, str]]:
    """``command -> (module, handler)`` for every enabled module that declares commands."""
    try:
        from nxforge.environment import Environment
        from nxforge.module_system.discovery import discover_modules

        env = Environment.from_environ()
        enabled = set(env.load_core_config().modules.enabled)
        commands = {}
        for info in discover_modules(env.modules_dir):
            if info.manifest and info.name in enabled:
                for name, handler in info.manifest.commands.items():
                    commands[name] = (info.name, handler)
        return commands
    except ConfigError:
        return {}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with subcommands from enabled modules."""
    from nxforge.cli.notebook import add_notebook_parser
    from nxforge.cli.scrape import add_scrape_parser
    from nxforge.cli.users import add_users_parser

    parser = argparse.ArgumentParser(prog="nxforge", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    config = sub.add_parser("config", help="configuration files")
    config.add_argument("action", choices=["check"])
    config.set_defaults(func=cmd_config_check)

    sub.add_parser("migrate", help="apply pending migrations of enabled modules").set_defaults(func=cmd_migrate)

    modules = sub.add_parser("modules", help="list, enable, disable, install ZIP, uninstall")
    modules.add_argument("action", choices=["list", "enable", "disable", "install", "uninstall"])
    modules.add_argument("name", nargs="?", help="module name (or ZIP path for install)")
    modules.set_defaults(func=cmd_modules)

    add_users_parser(sub)
    add_scrape_parser(sub)
    add_notebook_parser(sub)

    collect = sub.add_parser("collect", help="run the collector (same as collector.py)", epilog=EXIT_CODES_HELP,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
    add_collect_arguments(collect)
    collect.set_defaults(func=cmd_collect)

    sim = sub.add_parser("sim", help="the meter simulator on 127.0.0.1", add_help=False)
    sim.add_argument("rest", nargs=argparse.REMAINDER)
    sim.set_defaults(func=cmd_sim)

    schema = sub.add_parser("schema", help="write the JSON Schemas of every YAML file into schemas/", add_help=False)
    schema.add_argument("rest", nargs=argparse.REMAINDER)
    schema.set_defaults(func=cmd_schema)

    demo = sub.add_parser("demo", help="simulated meters, collector and app on SQLite", add_help=False)
    demo.add_argument("rest", nargs=argparse.REMAINDER)
    demo.set_defaults(func=cmd_demo)

    for name, (module, handler) in sorted(_module_commands().items()):
        command = sub.add_parser(name, help=f"from module {module}", add_help=False)
        command.add_argument("rest", nargs=argparse.REMAINDER)
        command.set_defaults(func=cmd_module_command, module_name=module, handler=handler)
    return parser


def add_collect_arguments(parser: argparse.ArgumentParser) -> None:
    """The collector's options, shared by ``collector.py`` and ``nxforge collect``."""
    parser.add_argument("--once", action="store_true", help="run what is due, then exit (for cron)")
    parser.add_argument("--module", help="only this module's jobs")
    parser.add_argument("--job", help="only this job (runs even if not due)")
    parser.add_argument("--endpoint", action="append", help="only this endpoint id (repeatable)")
    parser.add_argument("--dry-run", action="store_true", help="scrape and print, store nothing")
    parser.add_argument("--tick", type=int, choices=range(1, 3601), metavar="SECONDS", default=DAEMON_TICK_S,
                        help=f"daemon: seconds between checks for due jobs and changed configuration "
                        f"(default {DAEMON_TICK_S})")
    parser.add_argument("--metrics-port", type=int, help="daemon: serve Prometheus metrics on this port")
    parser.add_argument("--metrics-host", default="127.0.0.1", help="daemon: metrics address (default 127.0.0.1)")
    parser.add_argument(
        "--metrics-textfile", help="--once: node_exporter textfile (default data/metrics/nxforge.prom)"
    )
    parser.add_argument("--scraping-processes", type=int, choices=range(1, 9), metavar="N",  # prestart.MAX_PROCESSES
                        help="read meters in N child processes: plain web pages spread over them, every other "
                        "endpoint in the first (default: two, one where this process may use one core only)")
    parser.add_argument("--scraping-in-process", action="store_true",
                        help="read meters in this process instead of child processes (one interpreter: slower, "
                        "for a debugger or profiler)")


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; configuration and database errors become the documented exit statuses."""
    _setup_logging(args.verbose)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_CONFIG
    except MissingSecretError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except OperationalError as exc:
        print(f"database unreachable: {exc.orig}", file=sys.stderr)
        return EXIT_DATABASE


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not hasattr(args, "rest"):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if unknown:
        # Commands that hand their arguments on (sim, demo, module commands) parse them themselves.
        args.rest = [*unknown, *args.rest]
    return _run(args)


def collector_parser() -> argparse.ArgumentParser:
    """``collector.py``'s parser: the options of ``nxforge collect`` and ``-v``, nothing else to build."""
    # No abbreviations: collector.py reads --scraping-processes and --scraping-in-process before this parser runs.
    parser = argparse.ArgumentParser(prog="collector.py", description="run the collector (same as nxforge collect)",
                                     epilog=EXIT_CODES_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_collect_arguments(parser)
    parser.set_defaults(func=cmd_collect)
    return parser


def collector_main(argv: Sequence[str] | None = None) -> int:
    """``python collector.py [--once] ...``: the same run as ``nxforge collect``, without the other commands'
    parsers or the enabled modules' commands (a cron run would discover the modules twice)."""
    return _run(collector_parser().parse_args(argv))
