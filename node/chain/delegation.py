"""Delegated subscriptions as the scheduler keeps them: the signed request plus its input."""

from __future__ import annotations

import msgspec

from node.chain.subscription import Subscription


class DelegatedRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A verified delegated subscription and the job that computes its output."""

    job_id: str
    client: str
    subscription: Subscription  # id 0: it may not exist on-chain yet
    containers: tuple[str, ...]
    nonce: int
    expiry: int
    v: int
    r: int
    s: int

    @property
    def sub_key(self) -> str:
        return f"deleg:{self.subscription.owner}:{self.nonce}"


class ClaimPayload(msgspec.Struct, frozen=True, kw_only=True):
    """What a claim must remember to be resumed after a restart."""

    delegated: DelegatedRequest | None = None
    calldata: bytes | None = None
    tx_key: str | None = None


_encoder = msgspec.json.Encoder()  # JSON: r, s and amounts exceed 64 bits
_decoder = msgspec.json.Decoder(ClaimPayload)


def encode_payload(payload: ClaimPayload) -> bytes:
    return _encoder.encode(payload)


def decode_payload(data: bytes | None) -> ClaimPayload:
    return ClaimPayload() if not data else _decoder.decode(data)
