"""The wallet's fee policy: cache rules, replacement bumps and the going rate."""

from __future__ import annotations

import pytest

from node.chain.fee_policy import FEE_TTL, TIP_TTL, FeePolicy, underpriced
from node.chain.rpc_types import RpcError
from node.chain.tx import Fees


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeOracle:
    """Answers fee reads from settable values and counts them."""

    def __init__(self, *, suggestion: tuple[int, int] | None = (300, 7), tip: int = 7,
                 gas_price: int = 99) -> None:
        self.suggestion = suggestion
        self.tip = tip
        self.price = gas_price
        self.reads = {"fee_suggestion": 0, "max_priority_fee": 0, "gas_price": 0}
        self.failures: dict[str, RpcError] = {}  # by method: raised instead of answering

    def _read(self, name: str) -> None:
        self.reads[name] += 1
        if name in self.failures:
            raise self.failures[name]

    def fee_suggestion(self) -> tuple[int, int] | None:
        self._read("fee_suggestion")
        return self.suggestion

    def max_priority_fee(self) -> int:
        self._read("max_priority_fee")
        return self.tip

    def gas_price(self) -> int:
        self._read("gas_price")
        return self.price


def make(**oracle: object) -> tuple[FeePolicy, FakeOracle, FakeClock]:
    rpc = FakeOracle(**oracle)  # type: ignore[arg-type]
    clock = FakeClock()
    return FeePolicy(rpc, clock), rpc, clock


def test_with_a_known_base_fee_the_max_fee_leaves_room_for_two_base_fees() -> None:
    policy, rpc, _ = make(tip=5)
    assert policy.fees(base_fee=100) == Fees(max_fee=205, priority_fee=5)
    assert rpc.reads["fee_suggestion"] == 0


def test_the_tip_is_reused_until_it_expires() -> None:
    policy, rpc, clock = make(tip=5)
    assert policy.tip(fresh=False) == 5
    rpc.tip = 9
    clock.now += TIP_TTL - 0.01
    assert policy.tip(fresh=False) == 5
    assert policy.fees(base_fee=100) == Fees(max_fee=205, priority_fee=5)
    clock.now += 0.02
    assert policy.tip(fresh=False) == 9
    assert rpc.reads["max_priority_fee"] == 2


def test_a_fresh_read_bypasses_the_tip_cache() -> None:
    policy, rpc, _ = make(tip=5)
    policy.tip(fresh=False)
    rpc.tip = 8
    assert policy.fees(base_fee=100, fresh=True) == Fees(max_fee=208, priority_fee=8)
    assert policy.tip(fresh=False) == 8  # the fresh read refilled the cache


def test_an_unsupported_tip_falls_back_to_the_whole_suggestion() -> None:
    policy, rpc, _ = make(suggestion=(300, 7))
    rpc.failures["max_priority_fee"] = RpcError("unsupported", "no eth_maxPriorityFeePerGas")
    assert policy.tip(fresh=True) is None
    assert policy.fees(base_fee=100) == Fees(max_fee=300, priority_fee=7)
    del rpc.failures["max_priority_fee"]
    rpc.tip = 1
    # The failed tip read left nothing cached; the next read gets through.
    assert policy.tip(fresh=False) == 1


def test_other_tip_errors_are_raised() -> None:
    policy, rpc, _ = make()
    rpc.failures["max_priority_fee"] = RpcError("timeout", "slow")
    with pytest.raises(RpcError):
        policy.fees(base_fee=100)


def test_the_suggestion_is_reused_for_fee_ttl_unless_fresh() -> None:
    policy, rpc, clock = make(suggestion=(300, 7))
    assert policy.fees(base_fee=None) == Fees(max_fee=300, priority_fee=7)
    rpc.suggestion = (400, 9)
    clock.now += FEE_TTL - 0.01
    assert policy.fees(base_fee=None) == Fees(max_fee=300, priority_fee=7)
    assert policy.fees(base_fee=None, fresh=True) == Fees(max_fee=400, priority_fee=9)
    rpc.suggestion = (500, 11)
    clock.now += FEE_TTL
    assert policy.fees(base_fee=None) == Fees(max_fee=500, priority_fee=11)
    assert rpc.reads["fee_suggestion"] == 3


def test_no_eip1559_suggestion_means_legacy_gas_price() -> None:
    policy, _, _ = make(suggestion=None, gas_price=77)
    assert policy.fees(base_fee=None) == Fees(max_fee=77)
    policy, rpc, _ = make(gas_price=55)
    rpc.failures["fee_suggestion"] = RpcError("unsupported", "no eth_feeHistory")
    assert policy.fees(base_fee=None) == Fees(max_fee=55)
    policy, rpc, _ = make()
    rpc.failures["fee_suggestion"] = RpcError("unavailable", "down")
    with pytest.raises(RpcError):
        policy.fees(base_fee=None)
    assert rpc.reads["gas_price"] == 0


def test_a_replacement_bumps_both_fields_by_at_least_ten_percent() -> None:
    policy, _, _ = make(suggestion=(100, 1), tip=1)
    previous = Fees(max_fee=1000, priority_fee=100)
    bumped = policy.replacement(previous, base_fee=None)
    assert bumped.priority_fee is not None
    assert bumped.max_fee >= previous.max_fee * 11 // 10
    assert bumped.priority_fee >= 100 * 11 // 10
    assert bumped.max_fee >= bumped.priority_fee
    legacy = policy.replacement(Fees(max_fee=1000), base_fee=None)
    assert legacy.priority_fee is None and legacy.max_fee >= 1100


def test_a_replacement_never_pays_less_than_a_fresh_read_of_the_market() -> None:
    policy, rpc, _ = make(tip=5)
    policy.tip(fresh=False)  # cached at 5
    rpc.tip = 500
    bumped = policy.replacement(Fees(max_fee=1000, priority_fee=100), base_fee=2000)
    # Not the cached tip: the replacement reads again, and follows the higher market.
    assert bumped == Fees(max_fee=2 * 2000 + 500, priority_fee=500)


def test_underpriced_compares_with_base_plus_tip() -> None:
    current = Fees(max_fee=2 * 100 + 10, priority_fee=10)  # going rate 110
    assert underpriced(Fees(max_fee=109, priority_fee=10), current)
    assert not underpriced(Fees(max_fee=110, priority_fee=10), current)
    assert underpriced(Fees(max_fee=49), Fees(max_fee=50))
    assert not underpriced(Fees(max_fee=50), Fees(max_fee=50))


def test_underpriced_reads_the_market_and_is_false_when_it_cannot() -> None:
    policy, _, _ = make(tip=10)
    assert policy.underpriced(Fees(max_fee=109, priority_fee=10), base_fee=100)
    assert not policy.underpriced(Fees(max_fee=110, priority_fee=10), base_fee=100)
    policy, rpc, _ = make()
    rpc.failures["fee_suggestion"] = RpcError("unavailable", "down")
    assert not policy.underpriced(Fees(max_fee=1), base_fee=None)
