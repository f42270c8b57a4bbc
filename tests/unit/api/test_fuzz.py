"""Whatever a client sends, the answer is never a 5xx."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api.conftest import make_client
from tests.unit.api.fakes import FakeJobService
from tests.unit.api.test_jobs import SIG, SUB

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = ["containers", "data", "requires_proof", "subscription", "signature", "id", "ip", "type"]


def _near_valid() -> st.SearchStrategy[object]:
    """Valid-looking bodies with one part replaced by something random."""
    base = st.sampled_from(
        [
            {"containers": ["a"], "data": {}},
            {"subscription": SUB, "signature": SIG, "data": {}},
        ]
    )

    def mutate(body, key, sub_key, value):
        body = dict(body)
        if isinstance(body.get(key), dict) and sub_key is not None:
            body[key] = {**body[key], sub_key: value}
        else:
            body[key] = value
        return body

    sub_keys = st.none() | st.sampled_from(sorted(SUB) + sorted(SIG))
    return st.builds(mutate, base, st.sampled_from(KEYS), sub_keys, json_values)


bodies = (
    st.binary(max_size=200)
    | json_values.map(msgspec.json.encode)
    | _near_valid().map(msgspec.json.encode)
    | st.lists(_near_valid() | json_values, max_size=4).map(msgspec.json.encode)
)

_client = make_client(FakeJobService(), max_body_bytes=4096)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(
    body=bodies,
    path=st.sampled_from(["/api/jobs", "/api/jobs/batch", "/api/jobs/stream"]),
    content_type=st.sampled_from([None, "application/json", "text/plain", "application/x+json"]),
)
def test_post_endpoints_never_answer_5xx(body, path, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    resp = _client.simulate_post(path, body=body, headers=headers)
    assert resp.status_code < 500, resp.text
    if resp.status_code >= 400:
        assert isinstance(resp.json["error"], str)


@FUZZ
@given(body=bodies)
def test_status_never_answers_5xx(body):
    resp = _client.simulate_put("/api/status", body=body, remote_addr="127.0.0.1")
    assert resp.status_code < 500, resp.text


@FUZZ
@given(
    query=st.text(max_size=60).map(lambda q: q.lstrip("?")),
    path=st.sampled_from(["/api/jobs", "/resources", "/api/containers/x/logs", "/health"]),
)
def test_query_strings_never_answer_5xx(query, path):
    resp = _client.simulate_get(path, query_string=query, remote_addr="127.0.0.1")
    assert resp.status_code < 500, resp.text
