"""One rider's story in the city's local time: every alert, score change, decision, subsidy,
points change and refused record of that rider, none of another's, in event-time order."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.config.topics import TopicNames
from streams.review.files import ReviewError, review_files
from streams.review.records import RiderRecords, read_rider
from streams.review.timeline import render_timeline, timeline

TOPICS = TopicNames()
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _story(replayed, rider: str = "r1", zone: ZoneInfo = SHANGHAI) -> str:
    records = read_rider(review_files(str(replayed.folder)), rider, TOPICS)
    return render_timeline(records, timeline(records, TOPICS, zone), zone, TOPICS)


def _at(ts: int, zone: ZoneInfo = SHANGHAI) -> str:
    return datetime.fromtimestamp(ts / 1000, zone).strftime("%H:%M:%S")


def test_the_rider_city_and_zone_head_the_story(replayed):
    first = _story(replayed).splitlines()[0]
    assert first == "Rider r1, city shanghai; times Asia/Shanghai, UTC+08:00"


def test_each_of_the_riders_outputs_is_a_line_at_its_local_time(replayed):
    lines = _story(replayed).splitlines()
    for topic, what in [("rider-alerts", "alert"), ("rider-score-deltas", "score"),
                        ("order-exemptions", "decision"), ("rider-subsidies", "subsidy"),
                        ("rider-safety-points", "points")]:
        values = replayed.outputs(topic)
        assert values, topic
        shown = [line for line in lines if line.startswith("  ") and f"  {what:<8}  " in line]
        assert sorted(line[2:10] for line in shown) == sorted(_at(v["ts"]) for v in values)


def test_what_each_line_says(replayed):
    story = _story(replayed)
    [speeding] = [a for a in replayed.outputs("rider-alerts") if a["kind"] == "speeding"]
    assert (f"{_at(speeding['ts'])}  alert     speeding critical (penalised, real-time): "
            "You are speeding: 36 km/h") in story
    assert "decision  order o1 1 min 0 s late: exempt (weather)" in story
    assert "subsidy   order o1: orange rainstorm warning in Shanghai" in story
    assert "points    +20 -> 30 (severe_weather_delivery, ref o1)" in story
    assert ("points    redemption redeem-big refused (balance 30 is short of the 1000 points "
            "asked), balance 30") in story
    assert "points    -20 -> 10 (redemption, ref redeem-small, rain cape)" in story
    assert "rejected  a rider-gps record: invalid lat" in story
    assert story.splitlines()[-1] == ("In all: 3 alerts (2 penalised), score 90 tier A, "
                                      "10 safety points, 1 late order decided, 1 record rejected")


def test_lines_follow_event_time_whatever_the_output_order(replayed):
    times = [line[2:10] for line in _entries(_story(replayed))]
    assert times == sorted(times) and len(times) >= 10


def _entries(story: str) -> list[str]:
    return [line for line in story.splitlines() if line.startswith("  ")]


def test_the_story_holds_the_riders_records_and_no_one_elses(replayed):
    own = sum(len(replayed.outputs(topic)) for topic in (
        "rider-alerts", "rider-score-deltas", "order-exemptions", "rider-subsidies",
        "rider-safety-points"))
    dead = [d for d in replayed.outputs("dead-letters", rider=None) if d["key"] == "r1"]
    assert len(_entries(_story(replayed))) == own + len(dead) == own + 1
    [r2_alert] = replayed.outputs("rider-alerts", rider="r2")
    assert [e[2:20] for e in _entries(_story(replayed, "r2"))] == [
        f"{_at(r2_alert['ts'])}  alert   "]


def test_times_are_on_the_zone_given_and_the_header_names_it(replayed):
    dublin = ZoneInfo("Europe/Dublin")
    story = _story(replayed, zone=dublin)
    assert "times Europe/Dublin, UTC+01:00" in story.splitlines()[0]
    [speeding] = [a for a in replayed.outputs("rider-alerts") if a["kind"] == "speeding"]
    assert f"  {_at(speeding['ts'], dublin)}  alert     speeding" in story
    assert _at(speeding["ts"], dublin) != _at(speeding["ts"])


def test_an_unknown_rider_is_refused_naming_riders_that_are_there(replayed):
    with pytest.raises(ReviewError) as refused:
        read_rider(review_files(str(replayed.folder)), "r9", TOPICS)
    assert "rider 'r9': no record of this rider in" in str(refused.value)
    assert "riders there include r1, r2" in str(refused.value)


def _delta(ts: int, delta: int, score: int, ref: str) -> tuple[str, dict]:
    return "rider-score-deltas", {"rider_id": "r1", "ts": ts, "delta": delta, "score": score,
                                  "tier": "A", "reason": "x", "ref": ref}


def test_a_change_applied_after_a_later_dated_one_says_so():
    # A delivery's recovery waits for its area to settle; a penalty dated after it goes first.
    records = RiderRecords("r1", outputs=[_delta(2_000_000, -8, 92, "alert-a"),
                                          _delta(1_000_000, 1, 93, "order-b")])
    entries = timeline(records, TOPICS, SHANGHAI)
    assert [e.ts for e in entries] == [1_000_000, 2_000_000]
    assert entries[0].text.endswith(f"; applied after the change at {_at(2_000_000)}")
    assert "applied after" not in entries[1].text


def _dead_letter(raw: str) -> tuple[str, dict]:
    return "dead-letters", {"source_topic": "rider-gps", "key": "r1", "raw": raw,
                            "error": "late: 400 s behind the rider's event time"}


def test_a_refused_record_is_placed_at_its_own_time_or_beside_its_neighbour():
    late = '{"rider_id":"r1","ts":1500000,"lat":31.2,"lon":121.4}'
    records = RiderRecords("r1", outputs=[_dead_letter("not json"),
                                          _delta(2_000_000, -8, 92, "alert-a"),
                                          _dead_letter(late)])
    entries = timeline(records, TOPICS, SHANGHAI)
    assert [(e.what, e.ts) for e in entries] == [
        ("rejected", 1_500_000), ("rejected", 2_000_000), ("score", 2_000_000)]
    assert entries[1].text == ("a rider-gps record: late: 400 s behind the rider's event time")
