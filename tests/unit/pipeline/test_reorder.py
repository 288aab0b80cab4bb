from streams.pipeline.reorder import RiderBuffer
from tests.builders import order, ping


def test_releases_in_event_time_order_with_fixes_before_actions():
    buf = RiderBuffer()
    for event in (ping(t_s=5), order("o", "picked_up", 5), ping(t_s=1), ping(t_s=3)):
        assert buf.add(event) == "buffered"
    released = buf.release(10**15, 300_000)
    assert [type(e).__name__ for e in released] == ["GpsPing", "GpsPing", "GpsPing", "OrderEvent"]
    assert [e.ts for e in released] == sorted(e.ts for e in released)


def test_duplicates_are_recognised_before_and_after_release():
    buf = RiderBuffer()
    assert buf.add(ping(t_s=1)) == "buffered"
    assert buf.add(ping(t_s=1)) == "duplicate"
    buf.release(ping(t_s=2).ts, 300_000)
    assert buf.add(ping(t_s=1)) == "duplicate"
    assert buf.add(ping(t_s=1, lat=31.3)) == "late"
