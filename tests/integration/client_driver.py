"""Drive the official infernet-client against a node; run with the client venv's interpreter.

Not a test module: test_infernet_client.py runs it as
``<venv>/bin/python client_driver.py '<json args>'`` and asserts on the one JSON object it
prints. Each scenario reports either its observations or the exception it raised, so one
broken call does not hide the others.

Args (JSON): {"url": node base url, "echo": id, "stream": id, "failing": id}
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from infernet_client import NodeClient
from infernet_client.error import APIError
from infernet_client.types import JobRequest

# The client's import resets SIGPIPE to the default, which kills a process on a write to a
# closed socket; Python's own default is to ignore it.
signal.signal(signal.SIGPIPE, signal.SIG_IGN)

Scenario = Callable[[NodeClient, dict[str, str]], Awaitable[Any]]


def api_error(exc: APIError) -> dict[str, Any]:
    return {"type": type(exc).__name__, "status_code": exc.status_code,
            "message": exc.message, "params": exc.params}


async def health(client: NodeClient, ids: dict[str, str]) -> Any:
    return await client.health(timeout=10)


async def info(client: NodeClient, ids: dict[str, str]) -> Any:
    return await client.get_info(timeout=10)


async def resources(client: NodeClient, ids: dict[str, str]) -> Any:
    return {"all": await client.get_resources(timeout=10),
            "support": await client.check_model_support(ids["echo"], timeout=10)}


async def job(client: NodeClient, ids: dict[str, str]) -> Any:
    job_id = await client.request_job(
        JobRequest(containers=[ids["echo"]], data={"prompt": "hello", "n": 3}), timeout=10)
    result = await client.get_job_result_sync(job_id, retries=30, timeout=10)
    return {"id": job_id, "result": result}


async def failed_job(client: NodeClient, ids: dict[str, str]) -> Any:
    job_id = await client.request_job(
        JobRequest(containers=[ids["failing"]], data={"why": "testing"}), timeout=10)
    result = await client.get_job_result_sync(job_id, retries=30, timeout=10)
    return {"id": job_id, "result": result}


async def unknown_job(client: NodeClient, ids: dict[str, str]) -> Any:
    return await client.get_job_result_sync("00000000-0000-4000-8000-000000000000",
                                            retries=2, timeout=10)


async def batch(client: NodeClient, ids: dict[str, str]) -> Any:
    answers = await client.request_jobs([
        JobRequest(containers=[ids["echo"]], data={"i": 0}),
        JobRequest(containers=["no-such-container"], data={}),
        JobRequest(containers=[ids["echo"]], data={"i": 2}),
    ], timeout=10)
    job_ids = [a["id"] for a in answers if "id" in a]
    results = await client.get_job_results(job_ids, timeout=10)
    for job_id in job_ids:  # get_job_result_sync waits for each to finish
        await client.get_job_result_sync(job_id, retries=30, timeout=10)
    finished = await client.get_job_results(job_ids, timeout=10)
    return {"answers": answers, "first_look": results, "finished": finished}


async def stream(client: NodeClient, ids: dict[str, str]) -> Any:
    pieces: list[str] = []
    async for piece in client.request_stream(
            JobRequest(containers=[ids["stream"]], data={"chunks": ["ab", "cd", "ef"]}),
            timeout=30):
        pieces.append(piece if isinstance(piece, str) else piece.decode("utf-8"))
    job_id = pieces[0]
    result = await client.get_job_result_sync(job_id, retries=30, timeout=10)
    return {"pieces": pieces, "result": result}


async def get_jobs(client: NodeClient, ids: dict[str, str]) -> Any:
    job_id = await client.request_job(
        JobRequest(containers=[ids["echo"]], data={"listed": True}), timeout=10)
    await client.get_job_result_sync(job_id, retries=30, timeout=10)
    return {"id": job_id, "all": await client.get_jobs(timeout=10),
            "pending": await client.get_jobs(pending=True, timeout=10),
            "done": await client.get_jobs(pending=False, timeout=10)}


async def rejected(client: NodeClient, ids: dict[str, str]) -> Any:
    try:
        job_id = await client.request_job(
            JobRequest(containers=["no-such-container"], data={}), timeout=10)
    except APIError as exc:
        return api_error(exc)
    return {"unexpected_id": job_id}


async def rejected_stream(client: NodeClient, ids: dict[str, str]) -> Any:
    try:
        async for piece in client.request_stream(
                JobRequest(containers=["no-such-container"], data={}), timeout=10):
            return {"unexpected_piece": str(piece)}
    except APIError as exc:
        return api_error(exc)
    return {"unexpected": "empty stream"}


async def record_status(client: NodeClient, ids: dict[str, str]) -> Any:
    job_id = "manual-" + ids["echo"]
    await client.record_status(job_id, "success", JobRequest(containers=[ids["echo"]], data={}),
                               timeout=10)
    return {"id": job_id, "results": await client.get_job_results([job_id], timeout=10)}


SCENARIOS: dict[str, Scenario] = {
    "health": health, "info": info, "resources": resources, "job": job,
    "failed_job": failed_job, "unknown_job": unknown_job, "batch": batch, "stream": stream,
    "get_jobs": get_jobs, "rejected": rejected, "rejected_stream": rejected_stream,
    "record_status": record_status,
}


async def run(args: dict[str, str]) -> dict[str, Any]:
    client = NodeClient(args["url"])
    report: dict[str, Any] = {}
    for name, scenario in SCENARIOS.items():
        try:
            report[name] = {"ok": await scenario(client, args)}
        except Exception as exc:  # reported to the test, which names the failing scenario
            report[name] = {"raised": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()}
    return report


def main() -> int:
    args = json.loads(sys.argv[1])
    print(json.dumps(asyncio.run(run(args)), default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
