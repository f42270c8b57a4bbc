"""Crash-test subprocess: runs the wallet and SIGKILLs itself from the wallet's
before-send hook, i.e. right after the first attempt is persisted.

    python -m tests.integration.chain_wallet.crash_wallet RPC_URL DB_PATH TO DATA_HEX KEY MODE

MODE "before-send" dies before the attempt reaches the RPC; "after-send" sends the
attempt's bytes first, so the wallet dies before it could record the send.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from node.chain.rpc import HttpRpc
from node.chain.tx import Attempt
from tests.integration.chain_wallet.harness import running_wallet


def main(argv: list[str]) -> int:
    rpc_url, db_path, to, data_hex, key, mode = argv
    if mode not in ("before-send", "after-send"):
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2

    def die(attempt: Attempt) -> None:
        if mode == "after-send":
            HttpRpc(rpc_url).send_raw(attempt.raw)
        os.kill(os.getpid(), signal.SIGKILL)

    with running_wallet(rpc_url, Path(db_path), before_send=die) as wallet:
        wallet.send(key, to, bytes.fromhex(data_hex))
        wallet.outcomes.wait_for({key}, timeout=30)
    print("the wallet sent without calling the hook", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
