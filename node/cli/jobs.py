"""``infernet-node jobs``: submit, fetch and list jobs on a running node over its REST API."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("jobs", help="submit / get / list jobs on a running node",
                       description="Talk to a running node's REST API.")
    p.add_argument("--url", default="http://127.0.0.1:4000", help="node base URL")
    jobs_sub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)

    s = jobs_sub.add_parser("submit", help="submit a job and print its id",
                            description="Submit an off-chain job.")
    s.add_argument("containers", help="comma-separated container ids, in order")
    s.add_argument("data", help="the job input as a JSON object")
    s.add_argument("--requires-proof", action="store_true")
    s.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="wait up to SECONDS for the result and print it")
    s.set_defaults(handler=_submit)

    g = jobs_sub.add_parser("get", help="print job results", description="Fetch job results.")
    g.add_argument("ids", nargs="+")
    g.add_argument("--intermediate", action="store_true", help="include intermediate results")
    g.set_defaults(handler=_get)

    ls = jobs_sub.add_parser("list", help="list this client's job ids",
                             description="List job ids.")
    ls.add_argument("--pending", choices=["true", "false"], default=None)
    ls.set_defaults(handler=_list)


class CliError(Exception):
    pass


def _request(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        text = exc.read().decode("utf-8", "replace")
        raise CliError(f"HTTP {exc.code}: {text}") from exc
    except urllib.error.URLError as exc:
        raise CliError(f"cannot reach {url}: {exc.reason}") from exc


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _results(base: str, ids: list[str], intermediate: bool) -> Any:
    query = [("id", i) for i in ids]
    if intermediate:
        query.append(("intermediate", "true"))
    return _request("GET", f"{base}/api/jobs?{urllib.parse.urlencode(query)}")


def _submit(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        print(f"error: data is not JSON: {exc}", file=sys.stderr)
        return 2
    job = {"containers": [c for c in args.containers.split(",") if c], "data": data,
           "requires_proof": args.requires_proof}
    base = args.url.rstrip("/")
    try:
        job_id = _request("POST", f"{base}/api/jobs", job)["id"]
        if args.wait is None:
            print(job_id)
            return 0
        deadline = time.monotonic() + args.wait
        while True:
            results = _results(base, [job_id], False)
            if results and results[0]["status"] != "running":
                _print(results[0])
                return 0 if results[0]["status"] == "success" else 1
            if time.monotonic() > deadline:
                print(f"error: job {job_id} still running after {args.wait} s", file=sys.stderr)
                return 1
            time.sleep(0.2)
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _get(args: argparse.Namespace) -> int:
    try:
        _print(_results(args.url.rstrip("/"), args.ids, args.intermediate))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _list(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + "/api/jobs"
    if args.pending is not None:
        url += f"?pending={args.pending}"
    try:
        _print(_request("GET", url))
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
