"""``infernet-node logs``: read a managed container's logs straight from Docker.

Talking to Docker directly (not to the node) means the logs are there even when
the node is down, which is when an operator needs them most.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """A UNIX time from '1700000000', '10m' (ago), or an ISO 8601 timestamp."""
    now = time.time() if now is None else now
    match = _RELATIVE.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--since: expected seconds since the epoch, a duration like 10m, or an ISO "
            f"timestamp, got {text!r}") from exc


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("logs", help="show a workflow container's logs",
                       description="Print the logs of a container the node manages.")
    p.add_argument("container", help="container id from config.json")
    p.add_argument("--tail", type=int, default=None, metavar="N", help="last N lines only")
    p.add_argument("--since", type=parse_since, default=None, metavar="T",
                   help="only lines since T (epoch seconds, 10m, 2h, or ISO time)")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    p.set_defaults(handler=_logs)


def _logs(args: argparse.Namespace) -> int:
    from node.containers.docker_manager import DockerManager, docker_client_from_env

    try:
        manager = DockerManager(docker_client_from_env(), credentials=None, node_id="cli")
        if not manager.state(args.container).exists:
            print(f"error: no container named {args.container!r} on this Docker engine",
                  file=sys.stderr)
            return 1
        out = sys.stdout.buffer
        for chunk in manager.logs(args.container, tail=args.tail, since=args.since,
                                  follow=args.follow):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
