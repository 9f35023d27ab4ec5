"""The Host's TIME-WAIT table (synack/timewait_table.py): packed slots in a
bytearray, open addressing, tombstones, expiry queues of slot numbers and
deadlines.

Checked against a plain model (a dict in store order; with several
lifetimes, by deadline) under random operations, and on its own for what
the model cannot see: tombstone reuse, growth and shrinking, the queues'
bounds, and the bytes a record costs.
"""

from __future__ import annotations

import math
import random
import tracemalloc
from collections import OrderedDict

import pytest

from synack import timewait_table
from synack.timewait_table import MIN_CAPACITY, Slots, TimeWaitTable

V4, V6 = 12, 36  # key lengths: packed IPv4 and IPv6 4-tuples
Model = dict[int, OrderedDict[bytes, tuple[bytes, float]]]  # by key length, in store order


def key(n: int, size: int = V4) -> bytes:
    return n.to_bytes(size, "big")


def value(n: int) -> bytes:
    return n.to_bytes(20, "big")


def slots_of(table: TimeWaitTable, size: int = V4) -> Slots:
    return table._tables[size]


def test_put_get_remove_ipv4_and_ipv6_keys() -> None:
    table = TimeWaitTable(20)
    table.put(key(1), value(10), 60.0)
    table.put(key(1, V6), value(20), 61.5)
    assert len(table) == 2
    assert table.get(key(1)) == (value(10), 60.0)
    assert table.get(key(1, V6)) == (value(20), 61.5)
    assert key(1) in table and key(1, V6) in table
    assert key(2) not in table and table.get(key(2)) is None
    assert key(1, 20) not in table  # a key length with no table yet
    assert table.remove(key(1)) and not table.remove(key(1))
    assert key(1) not in table and table.get(key(1)) is None
    assert len(table) == 1 and table.get(key(1, V6)) == (value(20), 61.5)


def test_a_value_of_the_wrong_size_is_refused() -> None:
    table = TimeWaitTable(20)
    with pytest.raises(ValueError, match="20 bytes, not 19"):
        table.put(key(1), bytes(19), 1.0)
    assert len(table) == 0


def test_records_expire_in_the_order_they_were_stored() -> None:
    table = TimeWaitTable(20)
    for n, expires in ((5, 100.0), (3, 101.0), (9, 102.0), (1, 103.0)):
        table.put(key(n), value(n), expires)
    assert table.next_expiry() == 100.0
    assert table.pop_expired(99.9) is None
    assert table.pop_expired(100.0) == key(5)
    assert table.pop_expired(102.0) == key(3)
    assert table.pop_expired(102.0) == key(9)
    assert table.pop_expired(102.0) is None
    assert table.next_expiry() == 103.0
    assert table.pop_expired(1e9) == key(1)
    assert table.next_expiry() is None and len(table) == 0


def test_ipv4_and_ipv6_records_expire_merged_by_deadline() -> None:
    table = TimeWaitTable(20)
    table.put(key(1, V6), value(1), 10.0)
    table.put(key(2), value(2), 11.0)
    table.put(key(3, V6), value(3), 12.0)
    table.put(key(4), value(4), 13.0)
    popped = []
    while (k := table.pop_expired(100.0)) is not None:
        popped.append(k)
    assert popped == [key(1, V6), key(2), key(3, V6), key(4)]


def test_a_restarted_timer_moves_the_record_to_the_back() -> None:
    # RFC 9293 3.10.7.4: a retransmitted FIN restarts the 2 MSL timeout
    table = TimeWaitTable(20)
    table.put(key(1), value(1), 60.0)
    table.put(key(2), value(2), 61.0)
    table.put(key(1), value(1), 62.0)  # restarted: one record, queued twice
    assert len(table) == 1 + 1
    assert table.get(key(1)) == (value(1), 62.0)
    assert table.next_expiry() == 61.0  # the old entry of key 1 is skipped
    assert table.pop_expired(61.5) == key(2)
    assert table.pop_expired(61.5) is None
    assert table.pop_expired(62.0) == key(1)
    assert len(table) == 0 and table.next_expiry() is None


def test_a_tombstone_is_reused_and_its_stale_entries_are_not_the_new_records() -> None:
    table = TimeWaitTable(20)
    table.put(key(1), value(1), 10.0)
    table.put(key(2), value(2), 11.0)
    slots = slots_of(table)
    old = slots.find(key(1))
    assert table.remove(key(1))  # reopened (RFC 6191) or reset
    table.put(key(1), value(7), 20.0)  # the new incarnation is in TIME-WAIT too
    assert slots.find(key(1)) == old  # the tombstone was reused
    assert slots.used == 2
    # the removed record's queue entry is still ahead of key 2's: it must not
    # stand for the new record (which would hold key 2 until 20.0)
    assert table.next_expiry() == 11.0
    assert table.pop_expired(11.0) == key(2)
    assert table.next_expiry() == 20.0
    assert table.get(key(1)) == (value(7), 20.0)


def test_a_key_behind_a_tombstone_is_still_found() -> None:
    slots = Slots(V4, 20, capacity=64)
    keys = [key(n) for n in range(40)]
    for n, k in enumerate(keys):
        slots.put(k, value(n), float(n))
    for k in keys[::2]:
        slots.remove(slots.find(k))
    for n, k in enumerate(keys):
        off = slots.find(k)
        assert (off >= 0) == (n % 2 == 1)
        if off >= 0:
            assert slots.value(off) == value(n) and slots.key(off) == k


def test_growth_keeps_every_record_and_the_load_at_most_three_quarters() -> None:
    table = TimeWaitTable(20)
    capacities = set()
    for n in range(5_000):
        table.put(key(n), value(n), float(n))
        slots = slots_of(table)
        assert 4 * slots.used <= 3 * slots.capacity
        capacities.add(slots.capacity)
    assert len(capacities) > 10  # it grew, many times
    assert slots.capacity < 2 * 5_000 + 2  # by half each time, not more
    assert all(table.get(key(n)) == (value(n), float(n)) for n in range(5_000))
    assert table.next_expiry() == 0.0  # the order survived the moves
    assert [table.pop_expired(10.0) for _ in range(11)] == [key(n) for n in range(11)]


def test_tombstones_are_cleared_without_growing() -> None:
    table = TimeWaitTable(20)
    for n in range(100):
        table.put(key(n), value(n), float(n))
    rebuilt = 0
    for n in range(100, 10_000):  # one in, one out: as many tombstones as inserts
        buf = slots_of(table).buf
        table.put(key(n), value(n), float(n))
        rebuilt += slots_of(table).buf is not buf
        assert table.remove(key(n - 100))
        assert 4 * slots_of(table).used <= 3 * slots_of(table).capacity
        assert slots_of(table).capacity <= 2 * (100 + 1)  # half full after a rebuild
    assert 0 < rebuilt <= 9_900 / 50  # each rebuild clears a quarter of the slots or more
    assert len(table) == 100
    assert table.ordered_keys() == [key(n) for n in range(9_900, 10_000)]


def test_the_table_shrinks_when_records_go() -> None:
    table = TimeWaitTable(20)
    for n in range(10_000):
        table.put(key(n), value(n), float(n))
    big = slots_of(table).capacity
    while table.pop_expired(9_990.0) is not None:
        pass
    assert len(table) == 9
    assert slots_of(table).capacity < big // 100
    assert table.ordered_keys() == [key(n) for n in range(9_991, 10_000)]
    assert table.next_expiry() == 9_991.0


def test_restarts_do_not_grow_the_queue_without_bound() -> None:
    table = TimeWaitTable(20)
    for n in range(10):
        table.put(key(n), value(n), float(n))
    for t in range(10, 10_010):  # a peer retransmitting its FIN over and over
        table.put(key(3), value(3), float(t))
        slots = slots_of(table)
        assert queued(slots) == slots.entries <= 2 * len(table) + 64
    assert table.ordered_keys() == order_with_last(10, last=3)
    assert [table.pop_expired(1e9) for _ in range(10)] == order_with_last(10, last=3)


def queued(slots: Slots) -> int:
    """Entries in all of a table's expiry queues."""
    return sum(len(queue.slots) - queue.head for queue in slots.queues)


def order_with_last(count: int, last: int) -> list[bytes]:
    """Keys 0 to count - 1, with ``last`` moved to the end."""
    return [key(n) for n in range(count) if n != last] + [key(last)]


def test_clear_forgets_everything() -> None:
    table = TimeWaitTable(20)
    for n in range(50):
        table.put(key(n), value(n), float(n))
        table.put(key(n, V6), value(n), float(n))
    table.clear()
    assert len(table) == 0 and table.next_expiry() is None and table.ordered_keys() == []
    assert key(3) not in table
    table.put(key(3), value(3), 1.0)
    assert table.ordered_keys() == [key(3)] and table.next_expiry() == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_random_operations_match_a_plain_model(seed: int) -> None:
    """Against a dict per key length in store order (a restart moves a key to
    the end): same records, same expiry order, whatever tombstones, rebuilds
    and compactions happened on the way."""
    check_against_the_model(seed)


def test_every_tag_the_same_still_compares_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tags only save key comparisons: with one tag for all (every slot of a
    run a candidate, runs wrapping around the end) the answers are the same."""
    monkeypatch.setattr(timewait_table, "_TAGS", 1)
    check_against_the_model(7)


def check_against_the_model(seed: int) -> None:
    rng = random.Random(seed)
    table = TimeWaitTable(20)
    model: Model = {V4: OrderedDict(), V6: OrderedDict()}
    now = 0.0
    for _ in range(6_000):
        now += 1.0
        size = V4 if rng.random() < 0.7 else V6
        k = key(rng.randrange(300), size)
        op = rng.random()
        if op < 0.5:  # a connection collapses into TIME-WAIT, or a timer restarts
            v = value(rng.randrange(1 << 32))
            table.put(k, v, now + 200.0)
            model[size][k] = (v, now + 200.0)
            model[size].move_to_end(k)
        elif op < 0.7:  # reopened or reset
            assert table.remove(k) == (model[size].pop(k, None) is not None)
        elif op < 0.9:
            assert table.get(k) == model[size].get(k)
        else:
            expired = []
            while (gone := table.pop_expired(now)) is not None:
                expired.append(gone)
            assert expired == model_expire(model, now)
        assert len(table) == sum(len(m) for m in model.values())
        heads = [next(iter(m.values()))[1] for m in model.values() if m]
        assert table.next_expiry() == (min(heads) if heads else None)
    assert table.ordered_keys() == list(model[V4]) + list(model[V6])


def model_expire(model: Model, now: float) -> list[bytes]:
    expired: list[bytes] = []
    while True:
        due = [(m[k][1], k, m) for m in model.values() if m for k in [next(iter(m))]]
        if not due or min(due)[0] > now:
            return expired
        _, k, m = min(due, key=lambda d: d[0])
        del m[k]
        expired.append(k)


def traced_bytes_per_record(key_size: int, count: int, start: int = 64) -> tuple[float, float]:
    """tracemalloc growth per record while ``count`` records go in: the
    worst from ``start`` records on (growths included) and the last."""
    v = value(0)
    tracemalloc.start()
    try:
        table = TimeWaitTable(20)
        base = tracemalloc.get_traced_memory()[0]
        worst = 0.0
        for n in range(1, count + 1):
            table.put(key(n, key_size), v, float(n))
            if n >= start:
                worst = max(worst, (tracemalloc.get_traced_memory()[0] - base) / n)
        last = (tracemalloc.get_traced_memory()[0] - base) / count
    finally:
        tracemalloc.stop()
    assert len(table) == count
    return worst, last


def test_an_ipv4_record_costs_under_128_bytes_at_every_size() -> None:
    # issue 16: a TIME-WAIT record <= 128 B. A slot is 41 B (9 + 12-byte key +
    # 20-byte value) and a record holds 4/3 to 2 slots, plus 12 B of queue.
    worst, last = traced_bytes_per_record(V4, 8_000)
    assert worst < 128
    assert 4 / 3 * 41 + 12 <= last <= 2 * 41 + 12 + 2


def test_an_ipv6_record_costs_two_slots_at_most() -> None:
    # a 65-byte slot (36-byte key): 87 to 130 B a record, plus the queue
    worst, last = traced_bytes_per_record(V6, 2_000)
    assert worst < 2 * 65 + 12 + 16
    assert last >= 4 / 3 * 65 + 12


def test_minimum_capacity_holds_a_few_records() -> None:
    slots = Slots(V4, 20)
    assert slots.capacity == MIN_CAPACITY
    for n in range(6):
        assert slots.put(key(n), value(n), float(n))
    assert slots.capacity == MIN_CAPACITY  # 6 of 8 is 3/4
    slots.put(key(6), value(6), 6.0)
    assert slots.capacity == 2 * 7
    assert not slots.put(key(6), value(6), 7.0)  # a restart is not a new key


# -- records of different lifetimes (listeners with their own MSL) ------------


def leaving_times(table: TimeWaitTable) -> dict[bytes, float]:
    """Run a clock from one next expiry to the next until the table is empty:
    when each key left (a deadline earlier than the clock: late, at the
    clock's time). Each key is checked to stay until just before its time."""
    left: dict[bytes, float] = {}
    now = -math.inf
    while (due := table.next_expiry()) is not None:
        now = max(now, due)
        assert table.pop_expired(math.nextafter(now, -math.inf)) is None
        gone = table.pop_expired(now)
        assert gone is not None and gone not in left
        left[gone] = now
    assert len(table) == 0
    return left


def test_records_of_different_lifetimes_expire_each_at_its_own_deadline() -> None:
    # RFC 9293 3.4.2: 2 MSL each, whatever the others' MSL. A 1 s MSL record
    # stored behind a 5 s one used to wait for it (gone at 10.0, not 2.5)
    table = TimeWaitTable(20)
    stored = [(1, 0.0, 10.0), (2, 0.5, 2.0), (3, 1.0, 10.0), (4, 1.5, 2.0), (5, 2.0, 0.5)]
    for n, now, lifetime in stored:
        table.put(key(n), value(n), now + lifetime)
    assert table.next_expiry() == 2.5
    assert leaving_times(table) == {
        key(5): 2.5, key(2): 2.5, key(4): 3.5, key(1): 10.0, key(3): 11.0
    }  # fmt: skip


def test_a_restarted_record_among_records_of_another_lifetime() -> None:
    # RFC 9293 3.10.7.4: a retransmitted FIN restarts the record's 2 MSL
    table = TimeWaitTable(20)
    table.put(key(1), value(1), 0.0 + 2.0)  # lifetime 2
    table.put(key(2), value(2), 0.0 + 10.0)  # lifetime 10
    table.put(key(3), value(3), 0.5 + 2.0)
    table.put(key(1), value(1), 1.0 + 2.0)  # restarted: behind key 3 now
    table.put(key(4), value(4), 1.5 + 10.0)
    table.put(key(2), value(2), 2.0 + 10.0)  # restarted, behind key 4
    table.put(key(5), value(5), 2.25 + 2.0)
    assert table.get(key(1)) == (value(1), 3.0) and table.get(key(2)) == (value(2), 12.0)
    assert table.next_expiry() == 2.5  # key 1's first deadline is not kept
    assert leaving_times(table) == {
        key(3): 2.5, key(1): 3.0, key(5): 4.25, key(4): 11.5, key(2): 12.0
    }  # fmt: skip


def test_a_slot_reused_by_a_record_of_another_lifetime() -> None:
    """A record restarted a few times (stale entries queued) is removed and its
    slot reused by a record of a shorter lifetime: the stale entries do not
    stand for the new record, nor do they hide its own entry."""
    table = TimeWaitTable(20)
    table.put(key(1), value(1), 0.0 + 10.0)
    table.put(key(2), value(2), 0.0 + 10.0)
    for now in (0.5, 1.0, 1.5):
        table.put(key(1), value(1), now + 10.0)  # restarted: three stale entries
    slots = slots_of(table)
    old = slots.find(key(1))
    assert table.remove(key(1))  # reopened (RFC 6191)
    table.put(key(1), value(7), 2.0 + 1.0)  # the new incarnation: MSL 0.5
    assert slots.find(key(1)) == old
    table.put(key(3), value(3), 2.5 + 10.0)
    table.put(key(4), value(4), 2.5 + 1.0)
    assert table.get(key(1)) == (value(7), 3.0)
    assert leaving_times(table) == {key(1): 3.0, key(4): 3.5, key(2): 10.0, key(3): 12.5}


def test_an_old_entry_with_the_new_records_deadline_names_the_same_time() -> None:
    # the entry of a removed record whose deadline the slot's next record
    # happens to share stands for that record: it goes once, at that deadline
    table = TimeWaitTable(20)
    table.put(key(1), value(1), 0.0 + 4.0)
    table.put(key(2), value(2), 0.5 + 4.0)
    assert table.remove(key(1))
    table.put(key(1), value(7), 3.0 + 1.0)  # the same slot, the same deadline
    table.put(key(3), value(3), 3.0 + 4.0)
    assert leaving_times(table) == {key(1): 4.0, key(2): 4.5, key(3): 7.0}
    assert table.next_expiry() is None and slots_of(table).entries == 0


def test_restarts_of_two_lifetimes_stay_bounded() -> None:
    """A peer retransmitting FINs to records of two lifetimes: at most one
    queue per lifetime, and entries stay within twice the records."""
    rng = random.Random(5)
    table = TimeWaitTable(20)
    lifetime = {n: 3.0 if n % 2 else 40.0 for n in range(20)}
    deadline: dict[int, float] = {}
    for step in range(20_000):
        now = step / 64
        n = rng.randrange(20)
        deadline[n] = now + lifetime[n]
        table.put(key(n), value(n), deadline[n])
        slots = slots_of(table)
        assert len(slots.queues) <= 2
        assert queued(slots) == slots.entries <= 2 * len(table) + 64
    assert leaving_times(table) == {key(n): d for n, d in deadline.items()}


def test_a_queue_whose_entries_all_went_stale_is_dropped() -> None:
    # more than 1,024 stale entries: the queue's consumed part is cut off as
    # the queue empties, and the queue goes
    table = TimeWaitTable(20)
    for n in range(1_100):
        table.put(key(n), value(n), n + 10_000.0)  # lifetime 10,000
    for n in range(1_100, 2_200):
        table.put(key(n), value(n), n + 1.0)  # lifetime 1
    slots = slots_of(table)
    assert len(slots.queues) == 2
    for n in range(1_100):
        assert table.remove(key(n))
    assert table.next_expiry() == 1_101.0
    assert len(slots.queues) == 1 and queued(slots) == slots.entries == 1_100
    table.put(key(0), value(0), 2_300.0)
    assert leaving_times(table) == {key(n): n + 1.0 for n in range(1_100, 2_200)} | {
        key(0): 2_300.0
    }


@pytest.mark.parametrize("seed", range(3))
def test_random_operations_with_three_lifetimes_match_a_model(seed: int) -> None:
    """Records of three lifetimes, stored, restarted, removed and expired at
    random as the clock moves on: the earliest deadline is always the table's
    next expiry, records go in deadline order, and there are never more
    queues than lifetimes."""
    rng = random.Random(seed)
    table = TimeWaitTable(20)
    # deadlines never tie: now is whole, the lifetimes' fractions differ
    lifetimes = (200.0, 37.5, 91.25)
    model: dict[bytes, tuple[bytes, float]] = {}
    now = 0.0
    for _ in range(6_000):
        now += 1.0
        size = V4 if rng.random() < 0.7 else V6
        k = key(rng.randrange(300), size)
        op = rng.random()
        if op < 0.5:
            v = value(rng.randrange(1 << 32))
            model[k] = (v, now + rng.choice(lifetimes))
            table.put(k, v, model[k][1])
        elif op < 0.7:
            assert table.remove(k) == (model.pop(k, None) is not None)
        elif op < 0.9:
            assert table.get(k) == model.get(k)
        else:
            expired = []
            while (gone := table.pop_expired(now)) is not None:
                expired.append(gone)
            due = sorted((d, k) for k, (_, d) in model.items() if d <= now)
            assert expired == [k for _, k in due]
            for k in expired:
                del model[k]
        assert len(table) == len(model)
        assert table.next_expiry() == min((d for _, d in model.values()), default=None)
        assert all(len(slots.queues) <= len(lifetimes) for slots in table._tables.values())
    by_deadline = sorted(model, key=lambda k: (len(k), model[k][1]))
    assert table.ordered_keys() == by_deadline


def test_deadlines_in_any_order_still_expire_on_time() -> None:
    # with no clock order at all (one queue per falling run), never late
    rng = random.Random(1)
    table = TimeWaitTable(20)
    deadlines = {key(n): float(rng.randrange(10_000)) for n in range(500)}
    for k, d in deadlines.items():
        table.put(k, value(0), d)
    left = leaving_times(table)
    assert left == deadlines
