"""Admits delegated subscriptions arriving over REST, before any work is done for them.

Unlike the original, which answered ``{}`` and then dropped bad requests silently,
the client is told at once: the guardian's rules, the EIP-712 signature against
the consumer's delegated signer, and the expiry are all checked here (on the REST
thread, so the actors never wait on a signer lookup). An accepted request gets a
job id; its result is on ``GET /api/jobs`` as soon as the containers finish, and the
record later shows the delivery transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
import pykka

from actors.chain_scheduler import SCHEDULER
from actors.directory import ActorUnavailable, Directory
from actors.router import ROUTER
from node.api.schemas import SignatureRequest, SubscriptionRequest
from node.api.service import DelegatedSubmission, JobRejected, Unavailable
from node.chain import contracts
from node.chain.container_ids import ContainerIdResolver, parse_container_hash
from node.chain.delegation import DelegatedRequest
from node.chain.eip712 import recover_delegate_signer
from node.chain.rpc_types import Rpc, RpcError
from node.chain.scheduler_messages import TrackDelegated
from node.chain.subscription import Subscription
from node.guardian import GuardianRules, check_delegated
from node.messages import JobLocation, JobSpec, SubmitChainJob

log = logging.getLogger(__name__)

_subscription = msgspec.json.Decoder(SubscriptionRequest)
_signature = msgspec.json.Decoder(SignatureRequest)


class DelegationGate:
    def __init__(self, *, rpc: Rpc, coordinator: str, chain_id: int, rules: GuardianRules,
                 resolver: ContainerIdResolver, directory: Directory,
                 clock: Callable[[], float] = time.time, ask_timeout: float = 10.0) -> None:
        self._rpc = rpc
        self._coordinator = coordinator
        self._chain_id = chain_id
        self._rules = rules
        self._resolver = resolver
        self._directory = directory
        self._clock = clock
        self._timeout = ask_timeout

    def submit(self, client: str, request: DelegatedSubmission) -> str:
        sub_req = _subscription.decode(request.subscription)
        sig = _signature.decode(request.signature)
        container_hash = parse_container_hash(sub_req.containers) or b""
        containers = self._resolver.resolve(container_hash) if container_hash else None
        rejection = check_delegated(self._rules, containers, sub_req.owner, sub_req.verifier,
                                    sig.expiry, self._clock(), container_hash=container_hash,
                                    nonce=sig.nonce)
        if rejection is not None:
            raise JobRejected(rejection.error, dict(rejection.params))
        assert containers is not None
        sub = Subscription(
            id=0, owner=sub_req.owner, active_at=sub_req.active_at, period=sub_req.period,
            frequency=sub_req.frequency, redundancy=sub_req.redundancy,
            container_id=container_hash, lazy=sub_req.lazy, verifier=sub_req.verifier,
            payment_amount=sub_req.payment_amount, payment_token=sub_req.payment_token,
            wallet=sub_req.wallet)
        self._check_signer(sub, sig)
        job_id = str(uuid.uuid4())
        delegated = DelegatedRequest(job_id=job_id, client=client, subscription=sub,
                                     containers=containers, nonce=sig.nonce, expiry=sig.expiry,
                                     v=sig.v, r=sig.r, s=sig.s)
        spec = JobSpec(id=job_id, client=client, containers=containers, data=request.data,
                       requires_proof=sub.requires_proof, source=JobLocation.OFFCHAIN,
                       destination=JobLocation.ONCHAIN, reply_to=SCHEDULER)
        # The scheduler learns of the job before the router can finish it.
        self._ask(SCHEDULER, TrackDelegated(delegated))
        answer: str = self._ask(ROUTER, SubmitChainJob(spec))
        log.info("delegated subscription accepted",
                 extra={"job_id": job_id, "owner": sub.owner, "nonce": sig.nonce})
        return answer

    def _check_signer(self, sub: Subscription, sig: SignatureRequest) -> None:
        params: dict[str, Any] = {"owner": sub.owner, "nonce": sig.nonce}
        recovered = recover_delegate_signer(sub, sig.nonce, sig.expiry, self._chain_id,
                                            self._coordinator, sig.v, sig.r, sig.s)
        if recovered is None:
            raise JobRejected("Invalid signature", params)
        try:
            expected = contracts.delegator_signer(self._rpc, sub.owner)
        except RpcError as exc:
            raise Unavailable(f"cannot read the consumer's signer: {exc.kind}") from exc
        if expected.lower() != recovered.lower():
            raise JobRejected("Signer mismatch", {**params, "recovered": recovered,
                                                  "expected": expected})

    def _ask(self, name: str, message: Any) -> Any:
        try:
            return self._directory.ask(name, message, timeout=self._timeout)
        except ActorUnavailable as exc:
            raise Unavailable(f"{name} is restarting; retry shortly") from exc
        except pykka.Timeout as exc:
            raise Unavailable(f"{name} did not answer in time") from exc
