"""The Kafka worker fleet against the real local broker: same records as `knightwatch replay`,
whatever the number of workers, through a SIGKILL, with bad records dead-lettered."""

import json
import time
from collections import defaultdict

import pytest
from kafka import KafkaConsumer

from streams.config.settings import load_settings
from tests.integration.fleet import BROKERS, Fleet
from tests.integration.scenario import canonical, city_lines, final_scores, replayed

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("workers", [1, 3])
def test_the_fleet_gives_exactly_what_replay_gives_without_heartbeats(fleet: Fleet,
                                                                     workers: int):
    """Replay closes everything at the end of its file; the fleet when its inputs go idle.
    Every output topic counts, dead letters included."""
    lines = city_lines(copies=2)
    lines = lines[:100] + BAD_LINES + lines[100:]
    expected = canonical(_on_fleet_topics(replayed(lines), fleet))
    assert len(expected) > 50
    assert sum(s == "dead_letters" for s, _, _ in expected) == len(BAD_LINES)
    fleet.produce(lines, heartbeat=False)
    for i in range(workers):
        fleet.start_worker(i)
    records = fleet.collect(min_records=len(expected))
    got = canonical(records)
    assert got - expected == set(), "the fleet said something replay did not"
    assert expected - got == set(), "the fleet missed something replay said"
    assert len(records) == len(got), "a committed record appeared twice"
    _check_metrics(fleet, records)


def _on_fleet_topics(records: list[dict], fleet: Fleet) -> list[dict]:
    """Replay's records with the fleet's input topic names in dead letters."""
    names = load_settings().topics
    renamed = {getattr(names, n): getattr(fleet.settings.topics, n)
               for n in ("gps", "orders", "weather", "reviews", "redemptions")}
    return [r if r["stream"] != "dead_letters" else r | {"value": r["value"] | {
        "source_topic": renamed[r["value"]["source_topic"]]}} for r in records]


def _check_metrics(fleet: Fleet, records: list[dict]) -> None:
    """What a Prometheus scraper reads from the workers, in Prometheus's text format: the
    alerts they count, summed over the fleet, are the alerts committed."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    alerts = 0.0
    for index in fleet.workers:
        text = urlopen(f"http://127.0.0.1:{fleet.web_port(index)}/metrics",
                       timeout=10).read().decode()
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert "knightwatch_checkpoints" in families
        assert "knightwatch_records_consumed" in families
        alerts += sum(s.value for s in families["knightwatch_alerts"].samples
                      if s.name == "knightwatch_alerts_total")
    committed = sum(r["stream"] == "alerts" for r in records)
    assert committed > 0
    assert alerts == committed

# Replay lines whose values fail, spelled as a producer may: spacing, key order, non-ASCII.
BAD_LINES = [
    '{"topic": "rider-gps", "key": "r-line", "value": { "ts" :\t"soon", "rider_id":"r-line",'
    ' "lat": 1, "lon" : 2, "city": "上海 \\u00e9" } }\n'.encode(),
    b'{"topic":"rider-gps","key":"r-line","value":"{\\"rider_id\\": \\"r-line\\",'
    b' \\"ts\\": 1784080800000, \\"lat\\": 123.0,  \\"lon\\": 2}"}\n',
    b'{"topic":"rider-gps","key":"r-line","value":"{not json"}\n',
    b'{"topic":"rider-gps","key":"r-line","value": [1, 2 ]}\n',
    b'{"topic":"order-events","key":"o-line","value":{"type": "teleported", "order_id":"o-line",'
    b' "rider_id":"r", "ts":1784080800000}}\n',
    b'{"topic":"order-events","key":"o-line","value":{"order_id":"o-other","rider_id":"r",'
    b' "ts":1784080800000, "type":"created"}}\n',
]


def _sorted(records: list[dict]) -> list[str]:
    return sorted(json.dumps({"key": r["key"], "value": r["value"]}, sort_keys=True)
                  for r in records)


def test_malformed_records_are_dead_lettered_and_the_rest_processed(fleet: Fleet):
    good = city_lines(copies=1)
    topics = fleet.settings.topics
    bad = [
        (topics.gps, b"r-bad", b"{not json"),
        (topics.gps, b"r-bad", json.dumps({"rider_id": "r-bad", "ts": "soon", "lat": 1,
                                           "lon": 2}).encode()),
        (topics.gps, b"r-bad", json.dumps({"rider_id": "r-bad", "ts": 1784080800000,
                                           "lat": 123.0, "lon": 2}).encode()),
        (topics.orders, b"o-bad", json.dumps({"order_id": "o-bad", "rider_id": "r",
                                              "ts": 1784080800000, "type": "teleported"}).encode()),
    ]
    half = len(good) // 2
    fleet.produce(good[:half], heartbeat=False)
    fleet.produce_raw(bad)
    fleet.produce(BAD_LINES, heartbeat=False)
    fleet.produce(good[half:])
    fleet.start_worker(0)
    expected = canonical(replayed(good))
    records = fleet.collect(min_records=len(expected) + len(bad) + len(BAD_LINES))
    from_lines = [r for r in records if r["stream"] == "dead_letters"
                  and r["key"] in ("r-line", "o-line")]
    # The fleet's dead letters for replay lines are replay's own, topic names aside: raw is the
    # value as the line spells it, byte for byte, in both.
    replay_topics = load_settings().topics
    renamed = {getattr(replay_topics, name): getattr(topics, name)
               for name in ("gps", "orders", "weather", "reviews", "redemptions")}
    replay_dead = [r | {"value": r["value"] | {
        "source_topic": renamed[r["value"]["source_topic"]]}}
        for r in replayed(BAD_LINES) if r["stream"] == "dead_letters"]
    assert len(replay_dead) == len(BAD_LINES)
    assert _sorted(from_lines) == _sorted(replay_dead)
    dead = [r["value"] for r in records if r["stream"] == "dead_letters" and r not in from_lines]
    assert sorted(d["raw"] for d in dead) == sorted(v.decode() for _, _, v in bad)
    errors = " | ".join(d["error"] for d in dead)
    for fragment in ("not JSON", "ts", "lat", "type"):
        assert fragment in errors
    assert {d["source_topic"] for d in dead} == {topics.gps, topics.orders}
    assert canonical(records, streams={"alerts", "deltas", "exemptions", "subsidies",
                                       "points", "area_risk"}) == expected


def test_a_worker_killed_mid_stream_loses_and_duplicates_nothing(fleet: Fleet):
    lines = city_lines(copies=6)
    expected = replayed(lines)
    fleet.produce(lines, heartbeat=False)
    expected_deltas = [r["value"] for r in expected if r["stream"] == "deltas"]
    fleet.start_worker(0)
    committed_at_kill = _wait_for_committed_deltas(fleet, at_least=3)
    fleet.kill(0)  # SIGKILL: no shutdown, an open transaction left behind
    assert committed_at_kill < len(expected_deltas), "the kill came after the stream ended"
    fleet.start_worker(1)
    records = fleet.collect(min_records=len(canonical(expected)))

    deltas = [r["value"] for r in records if r["stream"] == "deltas"]
    by_id = defaultdict(set)
    for d in deltas:
        by_id[d["delta_id"]].add(json.dumps(d, sort_keys=True))
    assert all(len(contents) == 1 for contents in by_id.values()), "one id, two contents"
    assert len(deltas) == len(by_id), "a committed delta was seen twice"
    assert {d["delta_id"] for d in deltas} == {d["delta_id"] for d in expected_deltas}
    assert final_scores(deltas) == final_scores(expected_deltas)
    assert canonical(records) == canonical(expected)
    # The Redis serving layer holds each rider's final score.
    served = fleet.served_scores(final_scores(expected_deltas))
    assert served == final_scores(expected_deltas)


def _wait_for_committed_deltas(fleet: Fleet, at_least: int, timeout_s: float = 120) -> int:
    consumer = KafkaConsumer(fleet.settings.topics.deltas, bootstrap_servers=BROKERS,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             group_id=None, consumer_timeout_ms=200)
    seen, started = 0, time.monotonic()
    try:
        while seen < at_least:
            assert time.monotonic() - started < timeout_s, "no deltas committed in time"
            seen += sum(1 for _ in consumer)
    finally:
        consumer.close()
    return seen


def test_a_gps_topic_with_other_partitions_than_configured_is_refused(tmp_path):
    from kafka.admin import KafkaAdminClient, NewTopic

    from streams.worker.topics import TopicLayoutError, ensure_topics

    deployment = Fleet(tmp_path)
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    try:
        admin.create_topics([NewTopic(deployment.settings.topics.gps, 3, 1)])
    finally:
        admin.close()
    try:
        with pytest.raises(TopicLayoutError, match="has 3 partitions but the settings say 6"):
            ensure_topics(deployment.settings)
    finally:
        deployment.delete_topics()
