"""``infernet-node devchain``: a local chain with the Infernet contracts deployed."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "devchain", help="start anvil with the contract suite deployed (development)",
        description="Start a local anvil chain, deploy the Infernet contracts "
                    "deterministically and write the node's config fragment.",
        add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options passed to the dev chain")
    p.set_defaults(handler=_devchain)


def run(argv: list[str]) -> int:
    from node.chain.devchain import main

    code: int = main(argv)
    return code


def _devchain(args: argparse.Namespace) -> int:
    return run(list(args.rest))
