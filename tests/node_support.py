"""Run a real node process (``python -m node run``) for integration tests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class NodeProcess:
    config_path: Path
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    output: list[str] = field(default_factory=list)

    # --- process control ---------------------------------------------------

    def start(self) -> None:
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=pythonpath)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "node", "run", "--config", str(self.config_path)],
            cwd=self.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        proc = self.proc

        def pump() -> None:
            assert proc.stdout is not None
            # Everything the node printed also goes to a file, for post-mortems of failures.
            with open(self.workdir / "node-output.log", "a", encoding="utf-8") as copy:
                for line in proc.stdout:
                    text = line.decode("utf-8", "replace")
                    self.output.append(text)
                    copy.write(text)
                    copy.flush()

        threading.Thread(target=pump, daemon=True).start()

    def wait_healthy(self, timeout: float = 30.0, containers: tuple[str, ...] = ()) -> None:
        """Wait until /health answers healthy and /info lists every container in ``containers``."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited with {self.proc.returncode}:\n{self.log()}")
            try:
                status, _body = self.request("GET", "/health")
                if status == 200:
                    _, info = self.request("GET", "/info")
                    ready = {c["id"] for c in info["containers"]}
                    if set(containers) <= ready:
                        return
                    last = f"ready containers: {sorted(ready)}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.1)
        raise AssertionError(f"node not healthy after {timeout}s ({last}):\n{self.log()}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def kill9(self) -> None:
        """SIGKILL the master and its worker: nothing gets to clean up."""
        assert self.proc is not None
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                  text=True).stdout.split()
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        self.proc.kill()
        self.proc.wait(10)

    def log(self) -> str:
        return "".join(self.output[-200:])

    def events(self, name: str) -> list[dict[str, Any]]:
        """Every JSON log event the node printed whose ``event`` is ``name``."""
        found = []
        for line in list(self.output):
            if f'"{name}"' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == name:
                found.append(event)
        return found

    # --- HTTP ------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, source: str = "127.0.0.1",
                raw: bytes | None = None, headers: dict[str, str] | None = None,
                timeout: float = 30.0) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                          source_address=(source, 0))
        try:
            payload = raw if raw is not None else (
                None if body is None else json.dumps(body).encode())
            hdrs = {"Content-Type": "application/json"} if payload is not None else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=payload, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            try:
                return resp.status, json.loads(data) if data else None
            except ValueError:
                return resp.status, data
        finally:
            conn.close()

    def submit(self, containers: list[str], data: Any, **kw: Any) -> str:
        status, body = self.request("POST", "/api/jobs",
                                    {"containers": containers, "data": data}, **kw)
        assert status == 200, (status, body)
        job_id: str = body["id"]
        return job_id

    def wait_result(self, job_id: str, timeout: float = 30.0, *, source: str = "127.0.0.1",
                    intermediate: bool = False) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        query = f"/api/jobs?id={job_id}" + ("&intermediate=true" if intermediate else "")
        while time.monotonic() < deadline:
            status, body = self.request("GET", query, source=source)
            assert status == 200, (status, body)
            if body and body[0]["status"] != "running":
                result: dict[str, Any] = body[0]
                return result
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} still running after {timeout}s:\n{self.log()}")


def write_config(path: Path, config: dict[str, Any]) -> None:
    path.write_text(json.dumps(config, indent=2))


@contextmanager
def running_node(workdir: Path, config: dict[str, Any], port: int, *,
                 containers: tuple[str, ...] = (), timeout: float = 60.0) -> Iterator[NodeProcess]:
    config = dict(config)
    config.setdefault("server", {})["port"] = port
    config.setdefault("log", {"path": None})
    config.setdefault("store", {"data_dir": str(workdir / "data")})
    config.setdefault("forward_stats", False)
    path = workdir / "config.json"
    write_config(path, config)
    node = NodeProcess(config_path=path, port=port, workdir=workdir)
    node.start()
    try:
        node.wait_healthy(timeout, containers)
        yield node
    finally:
        node.stop()


def free_service_port() -> int:
    """A free 127.0.0.1 port below the kernel's ephemeral range.

    Ports handed out by binding to port 0 come from the ephemeral range, where the
    node's own outgoing connections may take them before Docker publishes them.
    """
    import random
    import socket

    low, high = 20000, 32000
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")
