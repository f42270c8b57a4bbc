"""The test workflow server (tests/images/workflow_server.py), run as a plain subprocess."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import eth_abi
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "images" / "workflow_server.py"
START_TIMEOUT = 10.0
LISTENING = re.compile(r"listening on [0-9.]+:(\d+)")


class Server(NamedTuple):
    process: subprocess.Popen[str]
    port: int

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)


def _start(args: list[str], env: dict[str, str] | None = None) -> Server:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    # The first line announces the port; readline blocks until it comes or the process dies.
    line = process.stdout.readline()
    match = LISTENING.search(line)
    if match is None:
        process.kill()
        pytest.fail(f"server did not start: {line!r}", pytrace=False)
    return Server(process, int(match.group(1)))


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        server.process.wait(timeout=START_TIMEOUT)
    if server.process.stdout is not None:
        server.process.stdout.close()


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(mode: str | None = None, *extra: str, env: dict[str, str] | None = None) -> Server:
        server = _start(([f"--mode={mode}"] if mode else []) + list(extra), env)
        started.append(server)
        return server

    yield start
    for server in started:
        _stop(server)


def post(server: Server, body: Any, raw: bytes | None = None) -> http.client.HTTPResponse:
    connection = server.connection()
    payload = raw if raw is not None else json.dumps(body).encode()
    connection.request("POST", "/service_output", payload, {"Content-Type": "application/json"})
    return connection.getresponse()


def post_json(server: Server, body: Any) -> tuple[int, Any]:
    response = post(server, body)
    assert response.getheader("Content-Type") == "application/json"
    return response.status, json.loads(response.read())


def get(server: Server, path: str) -> tuple[int, bytes]:
    connection = server.connection()
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("workflow_server", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- ABI string encoding ---------------------------------------------------------


@pytest.mark.parametrize("text", ["", "hi", "x" * 32, "x" * 33, '{"a":[1,2]}', "ünï"])
def test_abi_string_encoding_matches_eth_abi(text: str) -> None:
    assert load_script().abi_encode_string(text) == eth_abi.encode(["string"], [text])


def test_abi_string_encoding_matches_the_spec_vector() -> None:
    expected = (
        "0000000000000000000000000000000000000000000000000000000000000020"
        "0000000000000000000000000000000000000000000000000000000000000002"
        "6869000000000000000000000000000000000000000000000000000000000000"
    )
    assert load_script().abi_encode_string("hi").hex() == expected


# --- every mode -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["echo", "slow", "failing", "streaming"])
def test_readiness_probe_answers_ok_in_every_mode(
    start_server: Callable[..., Server], mode: str
) -> None:
    assert get(start_server(mode), "/") == (200, b"ok")


def test_mode_comes_from_the_environment(start_server: Callable[..., Server]) -> None:
    server = start_server(env={"WORKFLOW_MODE": "failing"})
    assert post(server, {"source": 1, "destination": 1, "data": {}}).status == 500


def test_unknown_mode_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--port", "0"],
        env={**os.environ, "WORKFLOW_MODE": "nope"},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    assert result.returncode == 2
    assert "unknown mode 'nope'" in result.stderr


def test_sigterm_stops_the_server_cleanly(start_server: Callable[..., Server]) -> None:
    server = start_server("echo")
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=START_TIMEOUT) == 0
    assert server.process.stdout is not None
    assert "workflow_server stopped" in server.process.stdout.read()


# --- echo -----------------------------------------------------------------------


@pytest.mark.parametrize("destination", [1, 2])
def test_echo_offchain_returns_the_data(
    start_server: Callable[..., Server], destination: int
) -> None:
    data = {"prompt": "hello", "n": [1, 2.5, None]}
    status, body = post_json(
        start_server("echo"),
        {"source": 1, "destination": destination, "data": data, "requires_proof": False},
    )
    assert (status, body) == (200, {"output": data})


def test_echo_onchain_from_offchain_data_abi_encodes_the_json(
    start_server: Callable[..., Server],
) -> None:
    data = {"b": 1, "a": "x y"}
    status, body = post_json(start_server("echo"), {"source": 1, "destination": 0, "data": data})
    assert status == 200
    assert set(body) == {"raw_input", "processed_input", "raw_output", "processed_output", "proof"}
    assert body["raw_input"] == body["processed_input"] == body["processed_output"] == ""
    assert body["proof"] == ""
    (decoded,) = eth_abi.decode(["string"], bytes.fromhex(body["raw_output"]))
    assert decoded == '{"b":1,"a":"x y"}'


def test_echo_onchain_from_chain_input_returns_the_hex(
    start_server: Callable[..., Server],
) -> None:
    hex_input = eth_abi.encode(["uint256"], [42]).hex()
    _, body = post_json(
        start_server("echo"),
        {"source": 0, "destination": 0, "data": hex_input, "requires_proof": True},
    )
    assert body["raw_output"] == hex_input
    assert body["proof"] == "c0ffee"


def test_service_resources(start_server: Callable[..., Server]) -> None:
    server = start_server("echo")
    status, raw = get(server, "/service-resources")
    resources = json.loads(raw)
    assert status == 200 and resources["service_id"] == "echo"
    capability = resources["compute_capability"][0]
    assert {"id", "type", "task", "models", "cached_models"} <= set(capability)
    hardware = resources["hardware_capabilities"][0]
    assert {"capability_id", "cpu_info", "disk_info", "os_info"} <= set(hardware)
    assert json.loads(get(server, "/service-resources?model_id=echo")[1]) == {"supported": True}
    assert json.loads(get(server, "/service-resources?model_id=gpt")[1]) == {"supported": False}


def test_service_id_can_be_overridden(start_server: Callable[..., Server]) -> None:
    server = start_server("slow", "--service-id", "my-model")
    assert json.loads(get(server, "/service-resources")[1])["service_id"] == "my-model"


def test_bad_requests_get_4xx(start_server: Callable[..., Server]) -> None:
    server = start_server("echo")
    assert post(server, None, raw=b"{not json").status == 400
    assert post(server, {"source": 1, "destination": 1}).status == 400
    assert post(server, [1, 2]).status == 400
    assert get(server, "/nowhere")[0] == 404


def test_connections_are_kept_alive(start_server: Callable[..., Server]) -> None:
    server = start_server("echo")
    connection = server.connection()
    connection.request("GET", "/")
    connection.getresponse().read()
    first_socket = connection.sock
    connection.request(
        "POST", "/service_output", json.dumps({"source": 1, "destination": 1, "data": 1})
    )
    response = connection.getresponse()
    assert json.loads(response.read()) == {"output": 1}
    assert connection.sock is first_socket


def test_requests_are_recorded_with_headers(start_server: Callable[..., Server]) -> None:
    server = start_server("echo")
    connection = server.connection()
    connection.request(
        "POST",
        "/service_output",
        json.dumps({"source": 1, "destination": 1, "data": {}}),
        {"Authorization": "Bearer tok", "Content-Type": "application/json"},
    )
    connection.getresponse().read()
    recorded = json.loads(get(server, "/_requests")[1])
    call = next(r for r in recorded if r["method"] == "POST")
    assert call["headers"]["Authorization"] == "Bearer tok"
    assert json.loads(call["body"]) == {"source": 1, "destination": 1, "data": {}}


# --- slow, failing, streaming -------------------------------------------------------------


def test_slow_sleeps_then_echoes(start_server: Callable[..., Server]) -> None:
    server = start_server("slow")
    began = time.monotonic()
    status, body = post_json(server, {"source": 1, "destination": 1, "data": {"sleep": 0.4}})
    assert time.monotonic() - began >= 0.4
    assert (status, body) == (200, {"output": {"sleep": 0.4}})


def test_failing_answers_500_with_text(start_server: Callable[..., Server]) -> None:
    response = post(start_server("failing"), {"source": 1, "destination": 1, "data": {"a": 1}})
    assert response.status == 500
    assert response.getheader("Content-Type").startswith("text/plain")
    assert response.read() == b'workflow failed: {"a":1}'


def test_failing_answers_500_with_json_when_asked(start_server: Callable[..., Server]) -> None:
    status, body = post_json(
        start_server("failing"), {"source": 1, "destination": 1, "data": {"json": True}}
    )
    assert status == 500
    assert body == {"code": "500", "name": "Internal", "description": "boom"}


def test_streaming_sends_each_chunk_as_it_is_made(start_server: Callable[..., Server]) -> None:
    server = start_server("streaming")
    delay = 0.5
    began = time.monotonic()
    response = post(
        server, {"source": 1, "destination": 2, "data": {"chunks": ["one", "two"], "delay": delay}}
    )
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read1() == b"one"
    assert time.monotonic() - began < delay  # arrived before the second chunk was written
    assert response.read() == b"two"
    assert time.monotonic() - began >= delay


def test_streaming_defaults_and_echo_for_other_destinations(
    start_server: Callable[..., Server],
) -> None:
    server = start_server("streaming")
    assert post(server, {"source": 1, "destination": 2, "data": {}}).read() == b"abc"
    assert post_json(server, {"source": 1, "destination": 1, "data": {"x": 1}}) == (
        200,
        {"output": {"x": 1}},
    )
