"""Ask the quickstart's dev chain for a computation and wait for the node to deliver it.

    .venv/bin/python deploy/quickstart_request.py "any input text"

The example callback consumer asks for container ``hello-world`` with the given
input; the node picks the request up, runs the container and delivers the
output on-chain, where this script reads it back.
"""

from __future__ import annotations

import json
import sys
import time

from eth_abi.abi import decode as abi_decode
from web3 import Web3

from node.chain.deployment import contract_at

ZERO = "0x0000000000000000000000000000000000000000"


def main() -> int:
    text = sys.argv[1] if len(sys.argv) > 1 else "hello from the quickstart"
    with open(".quickstart/chain.json") as f:
        fragment = json.load(f)
    w3 = Web3(Web3.HTTPProvider(fragment["rpc_url"]))
    consumer = contract_at(w3, "ExampleCallbackConsumer",
                           fragment["contracts"]["callback_consumer"])
    before = consumer.functions.deliveryCount().call()
    account = w3.eth.account.from_key(fragment["consumer_private_key"])
    tx = consumer.functions.requestCompute("hello-world", text.encode(), 1, ZERO, 0, ZERO,
                                           ZERO).build_transaction({
        "from": account.address, "nonce": w3.eth.get_transaction_count(account.address)})
    signed = account.sign_transaction(tx)
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(
        signed.raw_transaction))
    print(f"request mined in block {receipt['blockNumber']}; waiting for the node...")
    deadline = time.monotonic() + 60
    while consumer.functions.deliveryCount().call() == before:
        if time.monotonic() > deadline:
            print("no delivery after 60 s: is the node running (deploy/quickstart.sh)?",
                  file=sys.stderr)
            return 1
        time.sleep(0.5)
    delivery = consumer.functions.getDelivery(before).call()
    raw_output, _ = abi_decode(["bytes", "bytes"], delivery[5])
    print(f"delivered by node {delivery[3]} for subscription {delivery[0]}: "
          f"{bytes(raw_output).decode(errors='replace')!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
