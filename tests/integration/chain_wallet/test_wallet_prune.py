"""The wallet prunes decided transactions on a real anvil: a key no open claim uses
goes once older than the retention; the key of a claim still open stays, and a
restarted scheduler sending it again gets the stored outcome, not a second delivery."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from actors.chain_scheduler import wallet_keys_in_use
from node.chain import seed_load
from node.chain.delegation import ClaimPayload, encode_payload
from node.store.chain_db import ChainDb
from node.store.claim_store import Claim, ClaimStore
from tests.chain_support import CONSUMER_KEY, ChainSession
from tests.integration.chain_wallet.harness import deliver_call, running_wallet, wait_until

pytestmark = pytest.mark.chain


def test_decided_keys_go_after_the_retention_but_an_open_claims_key_is_answered(
        chain: ChainSession, db_path: Path) -> None:
    settled, still_open = seed_load.create_callback_requests(
        chain.w3, chain.deployment, CONSUMER_KEY, 2).ids
    done_key, open_key = f"sub:{settled}:1/1", f"sub:{still_open}:1/1"
    calls = {key: deliver_call(chain, sub_id)
             for key, sub_id in ((done_key, settled), (open_key, still_open))}
    with running_wallet(chain.anvil.rpc_url, db_path) as wallet:
        for key, (to, data) in calls.items():
            wallet.send(key, to, data)
        first = wallet.outcomes.wait_for(set(calls))
    assert {o.status for o in first.values()} == {"mined"}
    nonce = chain.w3.eth.get_transaction_count(chain.node)

    # The scheduler crashed after the wallet told it the outcome of open_key, before it
    # settled the claim: the claim is still open, and it will send open_key again.
    claims_db = ChainDb(str(db_path))
    try:
        claims = ClaimStore(claims_db)
        claims.put(Claim(key=f"sub:{still_open}:1", sub_key=f"sub:{still_open}",
                         interval=1, state="delivering", attempts=1,
                         payload=encode_payload(ClaimPayload(calldata=calls[open_key][1],
                                                             tx_key=open_key))))
        asked: list[Sequence[str]] = []

        def in_use(keys: Sequence[str]) -> set[str]:
            asked.append(keys)
            return wallet_keys_in_use(claims, keys)

        with running_wallet(chain.anvil.rpc_url, db_path, retention=0.001,
                            keys_in_use=in_use) as wallet:
            wait_until(lambda: wallet.store.get(done_key) is None, 20,
                       "the decided transaction pruned")
            assert wallet.store.attempts(done_key) == []
            kept = wallet.store.get(open_key)
            assert kept is not None and kept.state == "mined"
            assert sorted(asked[0]) == sorted(calls)

            to, data = calls[open_key]
            wallet.send(open_key, to, data)  # the restarted scheduler resumes the claim
            again = wallet.outcomes.wait_for({open_key})[open_key]
            wallet.status()
            assert again == first[open_key]
            assert len(wallet.store.attempts(open_key)) == 1
    finally:
        claims_db.close()
    assert chain.w3.eth.get_transaction_count(chain.node) == nonce  # nothing sent again
