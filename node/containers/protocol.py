"""The workflow-container protocol as pure functions (containers.md §2-§5).

Building request bodies, chaining steps and judging responses need no I/O, so
they live here and the HTTP adapter (``client.py``) only moves bytes.

Our response rules are stricter than the original node's (which ignored the
status code) yet accept everything infernet-ml images send on success:

* non-2xx -> error ``"HTTP <status>: <body text>"``;
* 2xx with a non-JSON content type -> error naming that type;
* empty body with a JSON type -> output ``null``;
* invalid JSON -> error carrying the body text;
* a JSON object with a ``code`` other than ``"200"``/``200``/``null`` -> error
  (infernet-ml services answer failures that way, sometimes with status 200);
* anything else -> the body, verbatim, as the output.
"""

from __future__ import annotations

from typing import Any

import msgspec

from node.messages import (
    ContainerError,
    ContainerOutput,
    ContainerResult,
    JobLocation,
    JobSpec,
    StepRequest,
)

MAX_ERROR_TEXT_BYTES = 4096
_JSON_NULL = b"null"
_OK_CODES: tuple[Any, ...] = ("200", 200, None)


def first_step(job: JobSpec) -> StepRequest:
    """The request for the job's first container."""
    if not job.containers:
        raise ValueError(f"job {job.id}: containers is empty")
    single = len(job.containers) == 1
    return StepRequest(
        job_id=job.id,
        step=0,
        container=job.containers[0],
        source=job.source,
        destination=job.destination if single else JobLocation.OFFCHAIN,
        data=job.data,
        requires_proof=job.requires_proof,
    )


def next_step(job: JobSpec, step: int, previous: ContainerOutput) -> StepRequest | None:
    """The request that follows step ``step`` (whose output is ``previous``).

    Returns None when ``step`` was the last container of the chain.
    """
    index = step + 1
    if index >= len(job.containers):
        return None
    last = index == len(job.containers) - 1
    return StepRequest(
        job_id=job.id,
        step=index,
        container=job.containers[index],
        source=JobLocation.OFFCHAIN,
        destination=job.destination if last else JobLocation.OFFCHAIN,
        data=previous.output,
        requires_proof=job.requires_proof,
    )


def _json_value(data: msgspec.Raw) -> bytes:
    # An empty Raw would make the body invalid JSON; it can only mean "nothing".
    value = bytes(data)
    return value if value.strip() else _JSON_NULL


def request_body(step: StepRequest) -> bytes:
    """``{"source","destination","data","requires_proof"}`` with ``data`` verbatim."""
    proof = b"true" if step.requires_proof else b"false"
    return b"".join(
        (
            b'{"source":%d,"destination":%d,"data":' % (step.source, step.destination),
            _json_value(step.data),
            b',"requires_proof":',
            proof,
            b"}",
        )
    )


def stream_request_body(data: msgspec.Raw) -> bytes:
    """The streaming body: source OFFCHAIN, destination STREAM, no ``requires_proof``."""
    head = b'{"source":%d,"destination":%d,"data":' % (
        JobLocation.OFFCHAIN,
        JobLocation.STREAM,
    )
    return head + _json_value(data) + b"}"


def error_text(body: bytes) -> str:
    """A container's body as error text: UTF-8 (lenient), trimmed, at most 4 KiB."""
    text = body[:MAX_ERROR_TEXT_BYTES].decode("utf-8", errors="replace").strip()
    if len(body) > MAX_ERROR_TEXT_BYTES:
        text += " [truncated]"
    return text


def is_json_media_type(content_type: str | None) -> bool:
    """True for ``application/json`` and ``application/*+json`` (parameters ignored)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        return True
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and subtype.endswith("+json")


class _CodeProbe(msgspec.Struct):
    """Reads only the ``code`` key of a JSON object; other keys are skipped."""

    code: Any = msgspec.UNSET


def _failure_code(body: bytes) -> bool:
    """Validate ``body`` as JSON; True if it is an object whose ``code`` says failure.

    Raises ``msgspec.DecodeError`` for invalid JSON.
    """
    if not body.startswith(b"{"):
        msgspec.json.decode(body, type=msgspec.Raw)
        return False
    probe = msgspec.json.decode(body, type=_CodeProbe)
    return probe.code is not msgspec.UNSET and probe.code not in _OK_CODES


def interpret_response(
    container: str, status: int, content_type: str | None, body: bytes
) -> ContainerResult:
    """Turn one ``/service_output`` HTTP response into a container result."""
    if not 200 <= status < 300:
        text = error_text(body)
        message = f"HTTP {status}: {text}" if text else f"HTTP {status} with an empty body"
        return ContainerError(container=container, error=message)
    if not is_json_media_type(content_type):
        shown = content_type if content_type else "none"
        return ContainerError(
            container=container,
            error=f"unexpected content type {shown!r} (expected application/json)",
        )
    stripped = body.strip()
    if not stripped:
        return ContainerOutput(container=container, output=msgspec.Raw(_JSON_NULL))
    try:
        failed = _failure_code(stripped)
    except msgspec.DecodeError:
        return ContainerError(container=container, error=error_text(body))
    if failed:
        return ContainerError(container=container, error=error_text(stripped))
    return ContainerOutput(container=container, output=msgspec.Raw(stripped))
