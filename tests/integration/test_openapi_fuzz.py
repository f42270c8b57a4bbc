"""Bounded schemathesis run against the node's own OpenAPI document, over HTTP, real node.

Each operation is fuzzed once (positive and negative generation, a fixed number of examples,
a share of a total time budget); every response goes through each check separately, so a
finding names its check. The tests are one per (operation, check): each fails listing every
request that broke that check. Known API bugs are xfail (strict) with the bug named in
KNOWN_BUGS, so the suite stays honest both ways.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from node.api.openapi import build_openapi
from tests.node_support import NodeProcess
from tests.workflow_support import node_with_workflow_servers

if os.environ.get("INFERNET_REQUIRE_REAL_PARTS") != "1":
    # In CI (real parts required) a missing fuzzer is a collection error, never a quiet skip.
    pytest.importorskip("schemathesis", reason="not installed: pip install -e .[test]")

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 75  # per operation and generation mode
TOTAL_BUDGET = 50.0  # seconds for all operations together
REQUEST_TIMEOUT = 10.0
SHOWN_PER_TEST = 5  # findings printed in full; the rest are counted

CHECKS: dict[str, Callable[..., Any]] = {
    "not_a_server_error": not_a_server_error,
    "response_schema_conformance": response_schema_conformance,
    "status_code_conformance": status_code_conformance,
}
SERVERS = {"f-echo": "echo", "f-stream": "streaming"}

# (operation, check) -> the bug, as reported to the API's owner.
KNOWN_BUGS: dict[tuple[str, str], str] = {}


def document_operations() -> list[str]:
    """Operations of the document the node serves, known at collection time without a node."""
    paths: dict[str, dict[str, Any]] = build_openapi()["paths"]
    return sorted(f"{method.upper()} {path}" for path, item in paths.items() for method in item
                  if method in {"get", "put", "post", "delete", "patch"})


OPERATIONS = document_operations()


@dataclass(frozen=True)
class Finding:
    operation: str
    check: str
    status: int
    curl: str
    response: str
    message: str

    def describe(self) -> str:
        return (f"{self.operation} [{self.check}] -> {self.status}\n  request: {self.curl}\n"
                f"  response: {self.response}\n  {self.message}")


@dataclass
class FuzzRun:
    findings: list[Finding]
    examples: dict[str, int]  # operation -> cases sent


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with node_with_workflow_servers(tmp_path_factory.mktemp("node"), SERVERS) as n:
        yield n


def body_excerpt(response: Any) -> str:
    text = response.content[:300].decode("utf-8", "replace") if response.content else ""
    return f"{response.status_code} {text!r}"


def fuzz_operation(operation: Any, base_url: str, deadline: float, run: FuzzRun) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    def exercise(case: Any) -> None:
        # Past the deadline the remaining examples are no-ops: the budget bounds the run.
        if time.monotonic() > deadline:
            return
        run.examples[label] = run.examples.get(label, 0) + 1
        response = case.call(base_url=base_url, timeout=REQUEST_TIMEOUT)
        for name, check in CHECKS.items():
            try:
                case.validate_response(response, checks=[check])
            except FailureGroup as group:
                for failure in group.exceptions:
                    run.findings.append(Finding(
                        operation=label, check=name, status=response.status_code,
                        curl=case.as_curl_command(base_url=base_url),
                        response=body_excerpt(response),
                        message=f"{failure.title}: {failure.message}"[:600]))

    for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
        test = settings(
            max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )(given(operation.as_strategy(generation_mode=mode))(exercise))
        try:
            test()
        except Unsatisfiable:
            # Some operations have no invalid inputs schemathesis can build (a lone string
            # path parameter); the other mode still exercises them.
            continue


def fuzz_document(document: dict[str, Any], base_url: str, budget: float) -> FuzzRun:
    # from_dict, not from_url: from_url leaves out the operation that serves the document.
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    run = FuzzRun(findings=[], examples={})
    start = time.monotonic()
    for index, operation in enumerate(operations):
        # Time an operation leaves unused goes to the ones after it.
        remaining = budget - (time.monotonic() - start)
        fuzz_operation(operation, base_url,
                       time.monotonic() + remaining / (len(operations) - index), run)
    return run


def served_document(node: NodeProcess) -> dict[str, Any]:
    status, document = node.request("GET", "/openapi.json")
    assert status == 200, (status, document)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def fuzz(node: NodeProcess) -> FuzzRun:
    return fuzz_document(served_document(node), f"http://127.0.0.1:{node.port}", TOTAL_BUDGET)


def test_checks_catch_a_document_that_lies(node: NodeProcess) -> None:
    """The harness can fail: a document promising what the node does not send is caught."""
    document = served_document(node)
    paths = document["paths"]
    document["paths"] = {"/health": paths["/health"], "/info": paths["/info"]}
    health = paths["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    health["schema"] = {"type": "object", "required": ["status"],
                        "properties": {"status": {"type": "integer"}}}
    info = paths["/info"]["get"]["responses"]
    info["201"] = info.pop("200")
    run = fuzz_document(document, f"http://127.0.0.1:{node.port}", 10.0)
    assert {(f.operation, f.check) for f in run.findings} == {
        ("GET /health", "response_schema_conformance"), ("GET /info", "status_code_conformance")}


def test_served_document_has_the_built_operations(node: NodeProcess) -> None:
    status, document = node.request("GET", "/openapi.json")
    assert status == 200
    served = sorted(f"{method.upper()} {path}" for path, item in document["paths"].items()
                    for method in item if method in {"get", "put", "post", "delete", "patch"})
    assert served == OPERATIONS


def _cases() -> list[Any]:
    cases = []
    for operation in OPERATIONS:
        for check in CHECKS:
            bug = KNOWN_BUGS.get((operation, check))
            marks = [pytest.mark.xfail(reason=bug, strict=True)] if bug else []
            cases.append(pytest.param(operation, check, marks=marks, id=f"{operation}-{check}"))
    return cases


@pytest.mark.parametrize(("operation", "check"), _cases())
def test_fuzzed_operation_passes_check(fuzz: FuzzRun, operation: str, check: str) -> None:
    assert fuzz.examples.get(operation, 0) > 0, f"{operation} was never exercised"
    found = [f for f in fuzz.findings if f.operation == operation and f.check == check]
    shown = "\n\n".join(f.describe() for f in found[:SHOWN_PER_TEST])
    more = f"\n\n... and {len(found) - SHOWN_PER_TEST} more" if len(found) > SHOWN_PER_TEST else ""
    assert not found, f"{len(found)} finding(s) for {operation} [{check}]:\n\n{shown}{more}"


def logged_error(line: str) -> bool:
    try:
        record = json.loads(line)
    except ValueError:
        return "Traceback" in line
    return isinstance(record, dict) and str(record.get("level")).lower() in {"error", "critical"}


def test_node_logged_no_errors_while_fuzzed(fuzz: FuzzRun, node: NodeProcess) -> None:
    # A handler that crashes but still answers 4xx would pass every check; its log would not.
    bad = [line for line in node.output if logged_error(line)]
    assert not bad, "".join(bad[:20])


# Requests gunicorn refuses before the app (request line over 4094 bytes, header fields too
# large) once got its text/html pages; found by `st run -c all`, now JSON and documented.
@pytest.mark.parametrize(("path", "headers"), [
    ("/api/jobs?id=" + "a" * 5000, {}),
    ("/health", {"X-Big": "a" * 9000}),
], ids=["long-request-line", "large-header"])
def test_oversized_request_gets_a_documented_json_error(
        node: NodeProcess, path: str, headers: dict[str, str]) -> None:
    operation = path.partition("?")[0]
    documented = served_document(node)["paths"][operation]["get"]["responses"]
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
    finally:
        conn.close()
    assert str(resp.status) in documented, (resp.status, body[:200])
    assert resp.getheader("Content-Type", "").startswith("application/json"), body[:200]
    assert isinstance(json.loads(body).get("error"), str)
