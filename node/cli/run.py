"""``infernet-node run`` and ``infernet-node check-config``."""

from __future__ import annotations

import argparse
import os
import sys

from node.config import ConfigError, check_config_command, load_config
from node.jsonlog import configure_logging

Subparsers = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", "-c", metavar="PATH", default=None,
        help="config.json path (default: $INFERNET_CONFIG_PATH, else ./config.json)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="run the node (REST API, containers, chain)",
                       description="Run the node in the foreground until SIGTERM/SIGINT.")
    add_config_option(p)
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None,
                   help="override log.level from the config")
    p.set_defaults(handler=_run)

    c = sub.add_parser("check-config", help="validate a config and print it with secrets masked",
                       description="Validate offline; exit 1 listing every error by JSON path.")
    add_config_option(c)
    c.set_defaults(handler=_check)


def _run(args: argparse.Namespace) -> int:
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        return 1
    level = args.log_level or loaded.config.log.level
    configure_logging(level)
    from node.server.gunicorn_app import NodeApplication
    from node.server.malloc import limit_malloc_arenas

    limit_malloc_arenas()
    NodeApplication(loaded, log_level=level).run()
    return 0


def _check(args: argparse.Namespace) -> int:
    return check_config_command(args.config, os.environ, sys.stdout, sys.stderr)
