import json

import msgspec
import pytest

from node.containers.protocol import (
    MAX_ERROR_TEXT_BYTES,
    first_step,
    interpret_response,
    is_json_media_type,
    next_step,
    request_body,
    stream_request_body,
)
from node.messages import ContainerError, ContainerOutput, JobLocation, JobSpec, StepRequest


def job(containers, source=JobLocation.OFFCHAIN, destination=JobLocation.OFFCHAIN, proof=False):
    return JobSpec(
        id="job-1",
        client="127.0.0.1",
        containers=tuple(containers),
        data=msgspec.Raw(b'{"x": 1}'),
        requires_proof=proof,
        source=source,
        destination=destination,
    )


def output(container, raw):
    return ContainerOutput(container=container, output=msgspec.Raw(raw))


# --- chaining -----------------------------------------------------------------


def test_single_container_gets_job_source_and_destination():
    step = first_step(job(["A"], JobLocation.ONCHAIN, JobLocation.ONCHAIN, proof=True))
    assert (step.container, step.step) == ("A", 0)
    assert step.source == JobLocation.ONCHAIN
    assert step.destination == JobLocation.ONCHAIN
    assert bytes(step.data) == b'{"x": 1}'
    assert step.requires_proof is True
    assert step.job_id == "job-1"
    assert next_step(job(["A"]), 0, output("A", b"{}")) is None


def test_chain_of_three_follows_the_table():
    spec = job(["A", "B", "C"], JobLocation.OFFCHAIN, JobLocation.ONCHAIN, proof=True)
    first = first_step(spec)
    assert (first.source, first.destination) == (JobLocation.OFFCHAIN, JobLocation.OFFCHAIN)

    middle = next_step(spec, 0, output("A", b'{"a": [1, 2]}'))
    assert middle is not None
    assert (middle.container, middle.step) == ("B", 1)
    assert (middle.source, middle.destination) == (JobLocation.OFFCHAIN, JobLocation.OFFCHAIN)
    assert bytes(middle.data) == b'{"a": [1, 2]}'
    assert middle.requires_proof is True

    last = next_step(spec, 1, output("B", b'"b-out"'))
    assert last is not None
    assert (last.container, last.step) == ("C", 2)
    assert (last.source, last.destination) == (JobLocation.OFFCHAIN, JobLocation.ONCHAIN)
    assert bytes(last.data) == b'"b-out"'
    assert last.requires_proof is True

    assert next_step(spec, 2, output("C", b"{}")) is None


def test_job_without_containers_is_refused_clearly():
    with pytest.raises(ValueError, match="containers is empty"):
        first_step(job([]))


def test_onchain_source_first_of_chain_goes_offchain_destination():
    step = first_step(job(["A", "B"], JobLocation.ONCHAIN, JobLocation.ONCHAIN))
    assert (step.source, step.destination) == (JobLocation.ONCHAIN, JobLocation.OFFCHAIN)


# --- request bodies -----------------------------------------------------------


def step_request(data=b'{"k": "v"}', proof=False):
    return StepRequest(
        job_id="j",
        step=0,
        container="A",
        source=JobLocation.ONCHAIN,
        destination=JobLocation.OFFCHAIN,
        data=msgspec.Raw(data),
        requires_proof=proof,
    )


def test_request_body_key_order_and_verbatim_data():
    body = request_body(step_request(b'{"k": "v",  "n": 1.50}', proof=True))
    assert (
        body == b'{"source":0,"destination":1,"data":{"k": "v",  "n": 1.50},"requires_proof":true}'
    )
    assert list(json.loads(body)) == ["source", "destination", "data", "requires_proof"]


def test_request_body_hex_string_data_and_false_proof():
    body = json.loads(request_body(step_request(b'"deadbeef"')))
    assert body == {"source": 0, "destination": 1, "data": "deadbeef", "requires_proof": False}


def test_stream_body_has_no_requires_proof():
    body = stream_request_body(msgspec.Raw(b'{"prompt": "hi"}'))
    assert body == b'{"source":1,"destination":2,"data":{"prompt": "hi"}}'


def test_empty_raw_data_becomes_null():
    assert json.loads(request_body(step_request(b"")))["data"] is None


# --- responses ----------------------------------------------------------------


def test_json_success_keeps_body_verbatim_but_stripped():
    result = interpret_response("A", 200, "application/json", b'  {"output": "hi"}\n')
    assert result == output("A", b'{"output": "hi"}')


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/problem+json",
        "application/vnd.api+json;charset=utf-8",
    ],
)
def test_json_media_types(content_type):
    assert is_json_media_type(content_type)
    assert isinstance(interpret_response("A", 200, content_type, b"[1]"), ContainerOutput)


@pytest.mark.parametrize("content_type", [None, "", "text/html", "text/json", "application/jsonx"])
def test_non_json_content_type_is_an_error_naming_it(content_type):
    result = interpret_response("A", 200, content_type, b'{"output": 1}')
    assert isinstance(result, ContainerError)
    assert "content type" in result.error
    if content_type:
        assert content_type in result.error


def test_non_2xx_is_an_error_with_status_and_text():
    result = interpret_response("A", 500, "text/plain", b"  workflow failed\n")
    assert result == ContainerError(container="A", error="HTTP 500: workflow failed")
    # A JSON body does not make a 500 a success (unlike the original).
    result = interpret_response("A", 503, "application/json", b'{"output": 1}')
    assert isinstance(result, ContainerError) and result.error.startswith("HTTP 503: ")
    assert isinstance(interpret_response("A", 302, "application/json", b"{}"), ContainerError)


def test_non_2xx_empty_body():
    result = interpret_response("A", 404, None, b"")
    assert isinstance(result, ContainerError) and "404" in result.error


def test_error_text_is_capped_and_decoded_leniently():
    result = interpret_response("A", 500, "text/plain", b"\xff" + b"x" * 10_000)
    assert isinstance(result, ContainerError)
    assert result.error.startswith("HTTP 500: \ufffd")
    assert len(result.error.encode()) < MAX_ERROR_TEXT_BYTES + 64
    assert result.error.endswith("[truncated]")


@pytest.mark.parametrize("body", [b"", b"   \n\t"])
def test_empty_json_body_is_null_output(body):
    assert interpret_response("A", 200, "application/json", body) == output("A", b"null")


@pytest.mark.parametrize("body", [b'{"a": ', b"not json", b'{"a": 1} trailing', b"[1,]"])
def test_invalid_json_is_an_error_with_the_body(body):
    result = interpret_response("A", 200, "application/json", body)
    assert result == ContainerError(container="A", error=body.decode().strip())


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "500", "name": "err", "description": "boom"}',
        b'{"code": "400"}',
        b'{"code": 500}',
        b'{"code": ""}',
        b'{"code": {"x": 1}}',
    ],
)
def test_code_field_other_than_200_is_an_error(body):
    result = interpret_response("A", 200, "application/json", body)
    assert result == ContainerError(container="A", error=body.decode())


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "200", "x": 1}',
        b'{"code": 200}',
        b'{"code": null}',
        b'{"nested": {"code": "500"}}',
        b'[{"code": "500"}]',
    ],
)
def test_code_200_null_or_nested_is_success(body):
    assert interpret_response("A", 200, "application/json", body) == output("A", body)


@pytest.mark.parametrize("body", [b"null", b"42", b'"text"', b"[1, 2]", b"true"])
def test_non_object_json_is_success(body):
    assert interpret_response("A", 201, "application/json", body) == output("A", body)
