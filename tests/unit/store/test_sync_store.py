"""The poller's durable state: cursor, block window, synced subscriptions."""

from __future__ import annotations

from pathlib import Path

import msgspec

from node.chain.subscription import CANCELLED_ACTIVE_AT, ZERO_ADDRESS, Subscription
from node.store.chain_db import ChainDb
from node.store.sync_store import BlockRef, SyncStore

OWNER = "0x00000000000000000000000000000000000000aA"


def sub(sub_id: int, active_at: int = 100_000, owner: str = OWNER) -> Subscription:
    return Subscription(id=sub_id, owner=owner, active_at=active_at, period=10, frequency=3,
                        redundancy=1, container_id=bytes([sub_id % 256]) * 32, lazy=False,
                        verifier=ZERO_ADDRESS, payment_amount=0, payment_token=ZERO_ADDRESS,
                        wallet=ZERO_ADDRESS)


def ref(n: int) -> BlockRef:
    return BlockRef(n, f"0x{n:064x}", 1000 + n)


def all_subs(store: SyncStore) -> list[Subscription]:
    return [s for batch in store.subscriptions(2) for s in batch]


def test_fresh_store_has_no_cursor(tmp_path: Path) -> None:
    state = SyncStore(ChainDb(str(tmp_path / "c.sqlite3"))).state()
    assert state.cursor is None and state.snapshot is None and state.highest_id == 0


def test_snapshot_progress_survives_reopening(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite3")
    store = SyncStore(ChainDb(path))
    store.begin_snapshot(ref(5), next_id=1)
    store.save_snapshot_batch([sub(1), sub(2)], block=5, next_id=3)
    reopened = SyncStore(ChainDb(path))
    state = reopened.state()
    assert state.cursor is None
    assert state.snapshot is not None and state.snapshot.at == ref(5)
    assert state.snapshot.next_id == 3
    assert all_subs(reopened) == [sub(1), sub(2)]


def test_finish_snapshot_sets_cursor_and_window(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.begin_snapshot(ref(5), next_id=1)
    store.finish_snapshot(ref(5), highest_id=7)
    state = store.state()
    assert state.cursor == ref(5) and state.highest_id == 7 and state.snapshot is None
    assert store.block_hash(5) == ref(5).hash


def test_advance_is_idempotent_and_prunes_window(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    for n in range(1, 11):
        store.advance(ref(n), n, seen=[sub(n)], keep_blocks=3)
    store.advance(ref(10), 10, seen=[sub(10)], keep_blocks=3)
    assert [b.number for b in store.window()] == [10, 9, 8, 7]
    assert store.count() == 10
    assert store.state().cursor == ref(10)


def test_subscriptions_come_back_in_id_order_in_batches(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 5, seen=[sub(5), sub(1), sub(3)])
    batches = list(store.subscriptions(2))
    assert [[s.id for s in b] for b in batches] == [[1, 3], [5]]


def test_a_cancelled_subscription_is_done_and_no_longer_replayed(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 3, seen=[sub(1), sub(2),
                                   msgspec.structs.replace(sub(3), active_at=CANCELLED_ACTIVE_AT)])
    store.advance(ref(2), 3, cancelled=[2, 99])
    assert all_subs(store) == [sub(1)]
    assert store.count() == 1 and store.done_count() == 2
    assert store.seen_after(1) == [2]  # a rewind before the cancellation re-reads it


def test_done_rows_are_replayed_no_more_and_go_once_out_of_the_window(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 3, seen=[sub(1), sub(2), sub(3)])
    assert store.mark_done([2, 3, 99], block=5) == 2
    assert store.mark_done([2], block=6) == 0  # already done: its block stays
    assert all_subs(store) == [sub(1)] and store.count() == 1
    assert store.seen_after(4) == [2, 3] and store.seen_after(5) == []
    store.advance(ref(8), 3, keep_blocks=3)  # the window starts at block 5
    assert store.done_count() == 2
    store.advance(ref(9), 3, keep_blocks=3)  # block 5 left it
    assert store.done_count() == 0 and store.count() == 1


def test_a_rewind_before_a_done_row_makes_it_live_again(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 2, seen=[sub(1), sub(2)])
    store.advance(ref(3), 2)
    store.mark_done([1, 2], block=3)
    dirty = store.seen_after(2)
    assert dirty == [1, 2]
    store.rewind(ref(2), 2, reread=[sub(1), sub(2)], reread_block=2)
    assert all_subs(store) == [sub(1), sub(2)] and store.done_count() == 0


def test_a_table_from_before_done_rows_gets_the_column(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite3")
    db = ChainDb(path)
    with db.transaction() as conn:
        conn.execute("CREATE TABLE poller_subscriptions ("
                     " id INTEGER PRIMARY KEY, body BLOB NOT NULL, block INTEGER NOT NULL)")
        conn.execute("INSERT INTO poller_subscriptions VALUES (1, ?, 1)",
                     (msgspec.json.encode(sub(1)),))
        conn.execute("INSERT INTO poller_subscriptions VALUES (2, ?, 1)",
                     (msgspec.json.encode(callback(2, 1)),))
    store = SyncStore(db)
    assert all_subs(store) == [sub(1), callback(2, 1)]
    assert store.mark_done([1], block=2) == 1 and all_subs(store) == [callback(2, 1)]
    store.advance(BlockRef(3, "0x3", sub(1).interval_end(3) or 0), 2, fulfilled=[(2, 3)])
    assert all_subs(store) == []  # the columns were filled in from the stored bodies


def test_nonexistent_subscriptions_are_not_stored(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 1, seen=[sub(1, owner=ZERO_ADDRESS)])
    assert store.count() == 0


def test_rewind_drops_later_blocks_and_replaces_reread(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 1, seen=[sub(1)])
    store.advance(ref(2), 3, seen=[sub(2), sub(3)])
    store.advance(ref(3), 3, cancelled=[1])
    assert store.seen_after(1) == [1, 2, 3]
    gone = msgspec.structs.replace(sub(3), owner=ZERO_ADDRESS)
    store.rewind(ref(1), 2, reread=[sub(1), sub(2), gone], reread_block=1)
    state = store.state()
    assert state.cursor == ref(1) and state.highest_id == 2
    assert [b.number for b in store.window()] == [1]
    assert all_subs(store) == [sub(1), sub(2)]
    assert store.seen_after(1) == []


def test_reset_forgets_everything(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 1, seen=[sub(1)])
    store.reset()
    assert store.state().cursor is None and store.count() == 0 and store.window() == []


def test_uint256_payment_amounts_round_trip(tmp_path) -> None:
    # A subscription may name any uint256 amount; storing it must never crash the poller.
    import msgspec

    from node.store import sync_store

    big = msgspec.structs.replace(sub(1), payment_amount=2**256 - 1)
    assert sync_store._decoder.decode(sync_store._encoder.encode(big)) == big


def callback(sub_id: int, redundancy: int) -> Subscription:
    return msgspec.structs.replace(sub(sub_id), period=0, frequency=1, redundancy=redundancy)


def test_a_recurring_subscription_is_done_once_a_block_is_past_its_last_interval(
        tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    ends = sub(1).interval_end(3)  # 100_030
    assert ends is not None
    store.advance(BlockRef(1, "0x1", ends - 1), 2, seen=[sub(1), callback(2, 1)])
    assert store.count() == 2
    store.advance(BlockRef(2, "0x2", ends), 2)
    assert all_subs(store) == [callback(2, 1)]  # the callback has no end in time
    assert store.seen_after(1) == [1]  # marked at block 2: a rewind before re-reads it


def test_a_callback_is_done_once_its_redundancy_is_used_up_by_the_logs(
        tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 3, seen=[callback(1, 2), callback(2, 2), sub(3)])
    store.advance(ref(2), 3, fulfilled=[(1, 2), (2, 2), (3, 2)])
    assert store.count() == 3  # one of two; a recurring subscription counts nothing
    store.advance(ref(3), 3, fulfilled=[(1, 3)])
    assert [s.id for s in all_subs(store)] == [2, 3]
    assert store.seen_after(2) == [1]
    # A rewind re-reads the rows the rewound logs touched: their count starts afresh.
    store.rewind(ref(1), 3, reread=[callback(1, 2), callback(2, 2)], reread_block=1)
    store.advance(ref(2), 3, fulfilled=[(1, 2)])
    assert [s.id for s in all_subs(store)] == [1, 2, 3]


def test_never_deliverable_subscriptions_are_done_when_read(tmp_path: Path) -> None:
    store = SyncStore(ChainDb(str(tmp_path / "c.sqlite3")))
    store.advance(ref(1), 3, seen=[callback(1, 0), msgspec.structs.replace(sub(2), frequency=0),
                                   sub(3)])
    assert [s.id for s in all_subs(store)] == [3]
