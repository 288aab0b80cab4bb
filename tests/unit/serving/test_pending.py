import orjson

from schemas import RiderProfile
from streams.serving.pending import MAX_ORDERS_WAITING, PendingWrites, Placing, Position
from tests.unit.serving.helpers import TOPICS, alert, delta, points


def _pending(kept: int = 3) -> PendingWrites:
    return PendingWrites(TOPICS, kept)


def test_the_newest_score_and_balance_of_each_rider_wait_with_their_city_and_eligibility():
    pending = _pending()
    pending.add_outputs([delta("r1", 97, 1), points("r1", 10, 2), delta("r1", 92, 3)],
                        placing_of={"r1": Placing("shanghai", True)}.get)
    changes = pending.riders["r1"]
    assert changes.fields["score"] == 92 and changes.fields["delta_id"] == "d3"
    assert changes.fields["points"] == 10 and changes.fields["city"] == "shanghai"
    assert changes.fields["role_model"] == 1
    assert changes.standing


def test_a_rider_whose_placing_is_not_known_waits_as_no_role_model():
    pending = _pending()
    pending.add_outputs([delta("r1", 97, 1)])
    assert pending.riders["r1"].fields["role_model"] == 0
    assert "city" not in pending.riders["r1"].fields


def test_waiting_writes_are_bounded_by_riders_not_by_records():
    pending = _pending(kept=3)
    for n in range(3000):
        rider = f"r{n % 3}"
        pending.add_outputs([delta(rider, 100 - n % 50, n), alert(rider, n)])
    assert len(pending) == 3
    assert all(len(c.alerts) == 3 for c in pending.riders.values())
    newest = [orjson.loads(a)["alert_id"] for a in pending.riders["r0"].alerts]
    assert newest == ["a2991", "a2994", "a2997"]


def test_a_failed_batch_goes_back_under_what_came_meanwhile():
    pending = _pending(kept=3)
    pending.add_outputs([delta("r1", 97, 1), alert("r1", 1), alert("r1", 2), points("r2", 5, 3)])
    batch = pending.take()
    assert len(pending) == 0
    pending.add_outputs([delta("r1", 90, 4), alert("r1", 4)])
    pending.put_back(batch)
    r1 = pending.riders["r1"]
    assert r1.fields["score"] == 90  # newer than the batch's 97
    assert [orjson.loads(a)["alert_id"] for a in r1.alerts] == ["a1", "a2", "a4"]
    assert pending.riders["r2"].fields["points"] == 5


def test_an_order_step_older_than_the_one_waiting_does_not_reopen_it():
    pending = _pending()
    pending.add_order("r1", "o1", 200, False)  # delivered
    pending.add_order("r1", "o1", 100, True)  # its pickup, arriving after
    assert pending.riders["r1"].orders == {"o1": (200, False)}


def test_a_rider_keeps_at_most_a_bounded_number_of_orders_waiting():
    pending = _pending()
    for n in range(MAX_ORDERS_WAITING + 5):
        pending.add_order("r1", f"o{n}", n, True)
    orders = pending.riders["r1"].orders
    assert len(orders) == MAX_ORDERS_WAITING and "o0" not in orders


def test_an_older_position_does_not_replace_a_newer_one():
    pending = _pending()
    pending.add_position("r1", Position(200, 31.0, 121.0))
    pending.add_position("r1", Position(100, 32.0, 122.0))
    assert pending.positions["r1"].ts == 200


def test_the_oldest_profile_offset_still_waiting_is_where_its_consumer_commits():
    pending = _pending()
    cert = RiderProfile(rider_id="r1", first_aid_certified=True, certified_until=10**12)
    pending.add_profile(cert, (0, 7))
    pending.add_profile(cert.model_copy(update={"rider_id": "r2"}), (0, 9))
    pending.add_profile(cert.model_copy(update={"rider_id": "r3"}), (1, 3))
    assert pending.unwritten_offset(0) == 7 and pending.unwritten_offset(1) == 3
    assert pending.unwritten_offset(2) is None
    pending.take()
    assert pending.unwritten_offset(0) is None


def test_a_backlog_is_taken_in_chunks_and_nothing_is_left_behind():
    pending = _pending()
    for n in range(1050):
        pending.add_outputs([delta(f"r{n}", 90, n)])
        pending.add_position(f"r{n}", Position(n, 31.0, 121.0))
    chunks = []
    while len(pending):
        chunks.append(pending.take(500))
    assert [len(c.riders) for c in chunks] == [500, 500, 50]
    assert [len(c.positions) for c in chunks] == [500, 500, 50]
    assert set().union(*(c.riders for c in chunks)) == {f"r{n}" for n in range(1050)}
