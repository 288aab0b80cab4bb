from streams.pipeline.reorder import RiderBuffer
from streams.primitives.events import Ping
from tests.builders import order, ping


def test_releases_in_event_time_order_with_fixes_before_actions():
    buf = RiderBuffer()
    events = [Ping.of(ping(t_s=5)), order("o", "picked_up", 5), Ping.of(ping(t_s=1)),
              Ping.of(ping(t_s=3, speed=12.5, heading=None, accuracy=None, city=None))]
    for event in events:
        assert buf.add(event) == "buffered"
    released = buf.release(10**15, 300_000)
    assert [type(e).__name__ for e in released] == ["Ping", "Ping", "Ping", "OrderEvent"]
    # A packed fix comes back exactly as it went in, absent values included.
    assert released[1] == events[3] and released[2] == events[0]
    assert [e.ts for e in released] == sorted(e.ts for e in released)


def test_duplicates_are_recognised_before_and_after_release():
    buf = RiderBuffer()
    assert buf.add(ping(t_s=1)) == "buffered"
    assert buf.add(ping(t_s=1)) == "duplicate"
    buf.release(ping(t_s=2).ts, 300_000)
    assert buf.add(ping(t_s=1)) == "duplicate"
    assert buf.add(ping(t_s=1, lat=31.3)) == "late"


def test_a_duplicate_redelivered_after_a_restore_is_still_one():
    buf = RiderBuffer()
    buf.add(Ping.of(ping(t_s=1)))
    buf.add(Ping.of(ping(t_s=2)))
    buf.release(ping(t_s=3).ts, 300_000)
    restored = RiderBuffer.restore(buf.snapshot())
    assert restored.add(Ping.of(ping(t_s=1))) == "duplicate"
    assert restored.add(Ping.of(ping(t_s=4))) == "buffered"
