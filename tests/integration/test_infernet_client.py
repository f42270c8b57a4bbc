"""The official infernet-client 1.4.0, unchanged, against a real node process.

The client pins ``infernet-ml>=2.0.0.81``, which the package index lacks, so it lives in its
own venv (cached between runs) and is driven by client_driver.py under that venv's
interpreter. Workflow containers are the test server as plain subprocesses, called by URL.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.node_support import NodeProcess
from tests.workflow_support import node_with_workflow_servers

# The first run builds the client venv inside a fixture, bounded by INSTALL_TIMEOUT.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

CLIENT_VERSION = "1.4.0"
VENV_REQUIREMENTS = ["infernet-ml==2.0.0", "aiohttp", "click", "quart", "web3<7"]
INSTALL_TIMEOUT = 900.0
DRIVER = Path(__file__).with_name("client_driver.py")
# pip's words for "the index has no such package/version", as opposed to a broken install.
NOT_ON_INDEX = ("No matching distribution found", "Could not find a version that satisfies")

# Written into the venv once it imports; a venv built for other pins is rebuilt.
VENV_MARKER = " ".join([*VENV_REQUIREMENTS, f"infernet-client=={CLIENT_VERSION}"])

SERVERS = {"c-echo": "echo", "c-stream": "streaming", "c-failing": "failing"}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infernet-node-tests"


def pip_install(python: Path, args: list[str], deadline: float) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        pytest.fail(f"installing the client venv took over {INSTALL_TIMEOUT:.0f}s")
    try:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", *args],
            capture_output=True, text=True, timeout=remaining)
    except subprocess.TimeoutExpired:
        pytest.fail(f"pip install {' '.join(args)} took over {INSTALL_TIMEOUT:.0f}s")
    if done.returncode == 0:
        return
    output = done.stdout[-3000:] + done.stderr[-3000:]
    if any(marker in output for marker in NOT_ON_INDEX):
        pytest.skip(f"the package index cannot provide {' '.join(args)}:\n{output}")
    pytest.fail(f"pip install {' '.join(args)} failed ({done.returncode}):\n{output}")


def client_venv() -> Path:
    """The venv's python, creating the venv once; the ``complete`` marker means it imports."""
    venv = cache_dir() / "client-venv"
    python = venv / "bin" / "python"
    complete = venv / "complete"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "client-venv.lock", "w") as lock:
        # Two test runs at once would otherwise build the same venv together.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if complete.exists() and complete.read_text() == VENV_MARKER and python.exists():
            return python
        deadline = time.monotonic() + INSTALL_TIMEOUT
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                       timeout=120)
        pip_install(python, VENV_REQUIREMENTS, deadline)
        pip_install(python, ["--no-deps", f"infernet-client=={CLIENT_VERSION}"], deadline)
        check = subprocess.run([str(python), "-c", "import infernet_client"],
                               capture_output=True, text=True, timeout=120)
        assert check.returncode == 0, f"infernet_client does not import:\n{check.stderr}"
        complete.write_text(VENV_MARKER)
        return python


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeProcess]:
    with node_with_workflow_servers(tmp_path_factory.mktemp("node"), SERVERS) as n:
        yield n


@pytest.fixture(scope="module")
def client_python() -> Path:
    return client_venv()


@pytest.fixture(scope="module")
def report(client_python: Path, node: NodeProcess) -> dict[str, Any]:
    python = client_python
    args = {"url": f"http://127.0.0.1:{node.port}", "echo": "c-echo", "stream": "c-stream",
            "failing": "c-failing"}
    done = subprocess.run([str(python), str(DRIVER), json.dumps(args)], capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, f"driver failed:\n{done.stderr}\nnode log:\n{node.log()}"
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def outcome(report: dict[str, Any], scenario: str) -> Any:
    entry = report[scenario]
    assert "ok" in entry, f"{scenario}: {entry['raised']}\n{entry['traceback']}"
    return entry["ok"]


def test_health(report: dict[str, Any]) -> None:
    assert outcome(report, "health") is True


def test_info_lists_the_containers(report: dict[str, Any]) -> None:
    info = outcome(report, "info")
    assert {c["id"] for c in info["containers"]} == set(SERVERS)
    assert info["chain"] == {"enabled": False, "address": ""}
    assert set(info["pending"]) == {"offchain", "onchain"}
    assert isinstance(info["version"], str) and info["version"]


def test_resources_and_model_support(report: dict[str, Any]) -> None:
    got = outcome(report, "resources")
    # Each test server names its service id after the container id.
    assert {cid: res["service_id"] for cid, res in got["all"].items()} == {
        cid: cid for cid in SERVERS}
    assert got["support"]["c-echo"] == {"supported": True}
    assert got["support"]["c-stream"]["supported"] is False


def test_job_is_submitted_and_fetched(report: dict[str, Any]) -> None:
    got = outcome(report, "job")
    assert got["result"] == {"id": got["id"], "status": "success",
                             "result": {"container": "c-echo",
                                        "output": {"output": {"prompt": "hello", "n": 3}}}}


def test_failed_job_carries_the_container_error(report: dict[str, Any]) -> None:
    got = outcome(report, "failed_job")
    result = got["result"]
    assert result["id"] == got["id"] and result["status"] == "failed"
    assert result["result"]["container"] == "c-failing"
    assert "workflow failed" in result["result"]["error"]


def test_unknown_job_is_none(report: dict[str, Any]) -> None:
    assert outcome(report, "unknown_job") is None


def test_batch_answers_in_order(report: dict[str, Any]) -> None:
    got = outcome(report, "batch")
    answers = got["answers"]
    assert len(answers) == 3
    assert set(answers[0]) == {"id"} and set(answers[2]) == {"id"}
    assert answers[1] == {"error": "Container not supported",
                          "params": {"container": "no-such-container"}}
    assert [r["id"] for r in got["first_look"]] == [answers[0]["id"], answers[2]["id"]]
    assert [r["result"]["output"] for r in got["finished"]] == [
        {"output": {"i": 0}}, {"output": {"i": 2}}]


def test_stream_yields_id_then_output(report: dict[str, Any]) -> None:
    got = outcome(report, "stream")
    job_id, *rest = got["pieces"]
    assert "".join(rest) == "abcdef"
    assert got["result"]["id"] == job_id
    assert got["result"]["status"] == "success"
    assert got["result"]["result"] == {"container": "c-stream", "output": {"output": "abcdef"}}


def test_get_jobs_lists_the_ids(report: dict[str, Any]) -> None:
    got = outcome(report, "get_jobs")
    finished_ids = {outcome(report, name)["id"] for name in ("job", "failed_job", "get_jobs")}
    assert finished_ids <= set(got["all"])
    assert finished_ids <= set(got["done"])
    assert not finished_ids & set(got["pending"])


def test_guardian_rejection_raises_api_error(report: dict[str, Any]) -> None:
    assert outcome(report, "rejected") == {
        "type": "APIError", "status_code": 405, "message": "Container not supported",
        "params": {"container": "no-such-container"}}


def test_rejected_stream_raises_api_error(report: dict[str, Any]) -> None:
    assert outcome(report, "rejected_stream") == {
        "type": "APIError", "status_code": 405, "message": "Container not supported",
        "params": {"container": "no-such-container"}}


def test_record_status_stores_a_finished_record(report: dict[str, Any]) -> None:
    got = outcome(report, "record_status")
    assert got["results"] == [{"id": got["id"], "status": "success", "result": None}]
