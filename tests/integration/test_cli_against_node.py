"""The operator CLI against a real node process (jobs) and the real Docker engine (logs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_actor_supervision import start_server
from tests.node_support import REPO_ROOT, free_service_port, running_node


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "node", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory):
    proc, url = start_server("echo")
    workdir = tmp_path_factory.mktemp("cli")
    config = {"manage_containers": False, "containers": [{"id": "echo", "url": url}]}
    try:
        with running_node(workdir, config, free_service_port()) as n:
            yield n
    finally:
        proc.terminate()
        proc.wait(5)


def test_jobs_submit_wait_get_and_list(node) -> None:
    base = f"http://127.0.0.1:{node.port}"
    done = cli("jobs", "--url", base, "submit", "echo", '{"q": 1}', "--wait", "20")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "success" and result["result"]["output"] == {"output": {"q": 1}}

    submitted = cli("jobs", "--url", base, "submit", "echo", '{"q": 2}')
    job_id = submitted.stdout.strip()
    assert submitted.returncode == 0 and len(job_id) == 36
    deadline = time.monotonic() + 20
    while True:
        got = json.loads(cli("jobs", "--url", base, "get", job_id).stdout)
        if (got and got[0]["status"] != "running") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert got[0]["id"] == job_id and got[0]["status"] == "success"
    listed = json.loads(cli("jobs", "--url", base, "list", "--pending", "false").stdout)
    assert job_id in listed and result["id"] in listed


def test_jobs_submit_reports_rejections_and_bad_data(node) -> None:
    base = f"http://127.0.0.1:{node.port}"
    rejected = cli("jobs", "--url", base, "submit", "nope", "{}")
    assert rejected.returncode == 1
    assert "405" in rejected.stderr and "Container not supported" in rejected.stderr
    bad = cli("jobs", "--url", base, "submit", "echo", "{oops")
    assert bad.returncode == 2 and "not JSON" in bad.stderr


def test_jobs_against_an_unreachable_node_says_so() -> None:
    out = cli("jobs", "--url", f"http://127.0.0.1:{free_service_port()}", "list")
    assert out.returncode == 1 and "cannot reach" in out.stderr


@pytest.mark.docker
def test_logs_follow_a_managed_container(tmp_path: Path) -> None:
    from tests.docker_support import ECHO_IMAGE, engine_client, ensure_test_images

    client = engine_client()
    ensure_test_images()
    name = "t-cli-logs"
    config = {"manage_containers": True,
              "containers": [{"id": name, "image": ECHO_IMAGE, "port": free_service_port()}]}
    with running_node(tmp_path, config, free_service_port(), containers=(name,),
                      timeout=120) as node:
        node.wait_result(node.submit([name], {"marker": "cli-logs"}))
        tail = cli("logs", name, "--tail", "3")
        assert tail.returncode == 0, tail.stderr
        assert 1 <= len(tail.stdout.splitlines()) <= 3
        env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
        follow = subprocess.Popen([sys.executable, "-m", "node", "logs", name, "--follow",
                                   "--since", "1m"], stdout=subprocess.PIPE, text=True, env=env)
        try:
            node.wait_result(node.submit([name], {"marker": "followed"}))
            assert follow.stdout is not None
            deadline = time.monotonic() + 20
            seen = ""
            while time.monotonic() < deadline and "POST" not in seen:
                seen += follow.stdout.readline()
            assert "POST" in seen
        finally:
            follow.send_signal(signal.SIGINT)
            follow.wait(10)
    missing = cli("logs", "no-such-container")
    assert client is not None
    assert missing.returncode == 1 and "no container named 'no-such-container'" in missing.stderr
