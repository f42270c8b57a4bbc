"""Suite-wide test policy.

With INFERNET_REQUIRE_REAL_PARTS=1 (set by .ci/run) a test that skips because a
real part (Docker engine, anvil, redis-server) is missing fails instead: CI must
prove the features against the real things, not quietly skip them.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

REQUIRE_REAL_PARTS = os.environ.get("INFERNET_REQUIRE_REAL_PARTS") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    report = outcome.get_result()
    expected_failure = hasattr(report, "wasxfail")  # xfail reports as skipped: not a skip
    if REQUIRE_REAL_PARTS and report.skipped and call.excinfo is not None \
            and not expected_failure:
        reason = str(call.excinfo.value)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where real parts are required: {reason}"


@pytest.fixture(autouse=True, scope="session")
def _keep_sigpipe_ignored() -> None:
    # Some client libraries reset SIGPIPE to the default on import, which would kill the
    # test process on a write to a closed socket; Python's own default is to ignore it.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
