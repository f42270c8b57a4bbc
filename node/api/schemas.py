"""Request bodies as msgspec Structs, their checks, and the conversion to service calls.

Only the fields listed here are read: keys such as ``id``, ``ip`` or ``type`` in a
body are ignored, so a body can never pick its job id or its client identity.
Schema errors become :class:`InvalidField` (422) naming the field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from eth_utils.address import to_checksum_address

from node.api.errors import InvalidField, MalformedJson
from node.api.service import DelegatedSubmission, JobSubmission
from node.messages import ContainerResult, Delivery, JobRecord, JobStatus

UINT16_MAX = 2**16 - 1
UINT32_MAX = 2**32 - 1
UINT256_MAX = 2**256 - 1
Address = Annotated[str, msgspec.Meta(pattern="^0x[0-9a-fA-F]{40}$")]
Bytes32Hex = Annotated[str, msgspec.Meta(pattern="^(0x)?[0-9a-fA-F]{64}$")]
# JSON Schema calls 126.0 an integer too, so integral floats are accepted (and checked);
# integer literals are parsed with arbitrary precision.
Number = int | float


class JobRequest(msgspec.Struct):
    containers: list[str]
    data: msgspec.Raw
    requires_proof: bool | None = None


class SubscriptionRequest(msgspec.Struct):
    """A delegated subscription as signed, validated and normalised.

    ``DelegatedSubmission.subscription`` holds this struct encoded as JSON (decode it
    with this type): snake_case names, addresses checksummed, ``containers`` as
    ``0x`` + 64 lower-case hex digits, integers in range."""

    owner: str
    active_at: int
    period: int
    frequency: int
    redundancy: int
    containers: str
    lazy: bool
    verifier: str
    payment_amount: int
    payment_token: str
    wallet: str


class SignatureRequest(msgspec.Struct):
    """``DelegatedSubmission.signature`` holds this encoded as JSON: ``v`` is 27 or 28,
    ``r``/``s`` are exact integers."""

    nonce: int
    expiry: int
    v: int
    r: int
    s: int


class _SubscriptionWire(msgspec.Struct):
    owner: Address
    active_at: Number
    period: Number
    frequency: Number
    redundancy: Number
    containers: Bytes32Hex
    lazy: bool
    verifier: Address
    payment_amount: Number
    payment_token: Address
    wallet: Address


class _SignatureWire(msgspec.Struct):
    nonce: Number
    expiry: Number
    v: Number
    r: Number
    s: Number


class DelegatedRequest(msgspec.Struct):
    subscription: _SubscriptionWire
    signature: _SignatureWire
    data: msgspec.Raw
    requires_proof: bool | None = None


class _BodyKind(msgspec.Struct):
    """Only looks at which keys are present; the values are skipped, not decoded."""

    subscription: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    signature: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


class StatusRequest(msgspec.Struct):
    id: str
    status: str
    containers: list[str]


class JobResult(msgspec.Struct, omit_defaults=True):
    id: str
    status: JobStatus
    result: ContainerResult | None
    intermediate_results: list[ContainerResult] | msgspec.UnsetType = msgspec.UNSET
    # Ours: for delegated subscriptions, where the on-chain delivery of this result stands.
    delivery: Delivery | msgspec.UnsetType = msgspec.UNSET


_kind_decoder = msgspec.json.Decoder(_BodyKind)
_job_decoder = msgspec.json.Decoder(JobRequest)
_delegated_decoder = msgspec.json.Decoder(DelegatedRequest)
_status_decoder = msgspec.json.Decoder(StatusRequest)
_encoder = msgspec.json.Encoder()

_AT_PATH = re.compile(r"^(?P<problem>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]*)`$")


def invalid_field(error: msgspec.ValidationError) -> InvalidField:
    """Turn msgspec's "Expected `str`, got `int` - at `$.containers[0]`" into our shape."""
    match = _AT_PATH.match(str(error))
    problem = match["problem"] if match else str(error)
    path = ((match["path"] if match else None) or "").lstrip(".")
    missing = _MISSING.match(problem)
    if missing:
        field = f"{path}.{missing['name']}" if path else missing["name"]
        return InvalidField(field, "missing required field")
    problem = problem.replace("`", "")
    return InvalidField(path or "body", problem[:1].lower() + problem[1:])


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as e:
        raise invalid_field(e) from None
    except (msgspec.DecodeError, RecursionError) as e:
        raise MalformedJson(e) from None


def _require_object(raw: msgspec.Raw, field: str) -> msgspec.Raw:
    if bytes(raw).lstrip()[:1] != b"{":
        raise InvalidField(field, "expected object")
    return raw


def _uint(value: int | float, field: str, maximum: int) -> int:
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidField(field, "expected an integer")
        value = int(value)
    if not 0 <= value <= maximum:
        raise InvalidField(field, f"expected an integer between 0 and {maximum}")
    return value


def _normalised_subscription(sub: _SubscriptionWire) -> SubscriptionRequest:
    field = "subscription."
    return SubscriptionRequest(
        owner=to_checksum_address(sub.owner),
        active_at=_uint(sub.active_at, field + "active_at", UINT32_MAX),
        period=_uint(sub.period, field + "period", UINT32_MAX),
        frequency=_uint(sub.frequency, field + "frequency", UINT32_MAX),
        redundancy=_uint(sub.redundancy, field + "redundancy", UINT16_MAX),
        containers="0x" + sub.containers.removeprefix("0x").lower(),
        lazy=sub.lazy,
        verifier=to_checksum_address(sub.verifier),
        payment_amount=_uint(sub.payment_amount, field + "payment_amount", UINT256_MAX),
        payment_token=to_checksum_address(sub.payment_token),
        wallet=to_checksum_address(sub.wallet),
    )


def _normalised_signature(sig: _SignatureWire) -> SignatureRequest:
    v = _uint(sig.v, "signature.v", 255)
    if v in (0, 1):
        # The node's own check accepts 0/1 but the chain wants 27/28.
        v += 27
    elif v not in (27, 28):
        raise InvalidField("signature.v", "expected 27 or 28 (or 0/1)")
    return SignatureRequest(
        nonce=_uint(sig.nonce, "signature.nonce", UINT32_MAX),
        expiry=_uint(sig.expiry, "signature.expiry", UINT32_MAX),
        v=v,
        r=_uint(sig.r, "signature.r", UINT256_MAX),
        s=_uint(sig.s, "signature.s", UINT256_MAX),
    )


def to_job(req: JobRequest) -> JobSubmission:
    _require_object(req.data, "data")
    return JobSubmission(
        containers=tuple(req.containers),
        data=req.data,
        requires_proof=bool(req.requires_proof),
    )


def to_delegated(req: DelegatedRequest) -> DelegatedSubmission:
    _require_object(req.data, "data")
    sub = _normalised_subscription(req.subscription)
    sig = _normalised_signature(req.signature)
    return DelegatedSubmission(
        subscription=msgspec.Raw(_encoder.encode(sub)),
        signature=msgspec.Raw(_encoder.encode(sig)),
        data=req.data,
        requires_proof=bool(req.requires_proof),
    )


def is_delegated(body: bytes) -> bool:
    """An object with a ``subscription`` or ``signature`` key is a delegated request."""
    kind = _decode(_kind_decoder, body)
    return kind.subscription is not msgspec.UNSET or kind.signature is not msgspec.UNSET


def parse_submission(body: bytes) -> JobSubmission | DelegatedSubmission:
    """A syntactically valid JSON document -> a checked submission, or InvalidField."""
    if is_delegated(body):
        return to_delegated(_decode(_delegated_decoder, body))
    return to_job(_decode(_job_decoder, body))


def parse_status(body: bytes) -> StatusRequest:
    request: StatusRequest = _decode(_status_decoder, body)
    return request


def job_result(record: JobRecord, intermediate: bool) -> JobResult:
    return JobResult(
        id=record.id,
        status=record.status,
        result=record.result,
        intermediate_results=list(record.intermediate) if intermediate else msgspec.UNSET,
        delivery=record.delivery if record.delivery is not None else msgspec.UNSET,
    )
