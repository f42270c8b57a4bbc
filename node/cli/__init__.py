"""The ``infernet-node`` command line."""

from __future__ import annotations

import argparse
import sys

from node import __version__
from node.cli import devchain, doctor, jobs, logs, registration, run, service, status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infernet-node",
        description="Serve Infernet compute requests (on-chain and REST) with Docker workflows.",
    )
    parser.add_argument("--version", action="version", version=f"infernet-node {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    run.register(sub)
    jobs.register(sub)
    logs.register(sub)
    devchain.register(sub)
    service.register(sub)
    doctor.register(sub)
    status.register(sub)
    registration.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["devchain"]:
        # The dev chain has its own option parser (and --help); hand it everything.
        return devchain.run(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
