"""The worker fleet under chaos, all of it while the input is still being produced: three
workers SIGKILLed (another running or started to take over), one added, one stopped with
SIGTERM, the broker paused for 20 s and Redis for 30 s. Afterwards the committed outputs are
exactly replay's, none twice; Redis serves every rider's final score; and the group's committed
input offsets equal the records produced.

It pauses the local broker and Redis themselves (by the pids deploy/local/*.sh recorded), so
anything else using them stalls meanwhile: the suite runs its tests one at a time."""

import json
import signal
import time
from collections import Counter, defaultdict

import pytest
from kafka import KafkaAdminClient

from tests.integration.chaos import (
    PacedFeed,
    kafka_pid,
    parallel_city_lines,
    paused,
    redis_pid,
    rider_partitions,
    sleep_until,
    wait_for_rider_work,
)
from tests.integration.fleet import BROKERS, Fleet
from tests.integration.scenario import canonical, final_scores, replayed

pytestmark = pytest.mark.integration

COPIES = 20  # of the test city, side by side: ~35,000 input records over 35 min of event time
FEED_S = 105.0  # the input is produced over this long, the chaos below happening meanwhile
KAFKA_PAUSE_S = 20.0
REDIS_PAUSE_S = 30.0
CATCH_UP_S = 120.0  # for Redis and the committed offsets, once the outputs are complete


@pytest.fixture
def fleet(fleet: Fleet) -> Fleet:
    """The shared deployment, its workers without idleness. The input is a backfill (half an
    hour of event time, months ago, in two minutes): idleness, event time running on to the
    wall clock, is for live input; a backfill runs without it and ends with a heartbeat
    (KafkaSettings.idle_after_s), or a stalled broker would make the rest of it late."""
    fleet.env["KNIGHTWATCH_KAFKA__IDLE_AFTER_S"] = "0"
    return fleet


def test_kills_scaling_and_paused_services_lose_and_duplicate_nothing(fleet: Fleet):
    kafka, redis_server = kafka_pid(), redis_pid()
    if kafka is None or redis_server is None:
        pytest.skip("needs the broker and Redis started by deploy/local/*.sh (their pid files)")
    lines = parallel_city_lines(COPIES)
    expected = replayed(lines)
    expected_deltas = [r["value"] for r in expected if r["stream"] == "deltas"]
    feed = PacedFeed(fleet, lines, duration_s=FEED_S, chunks=36)
    started = time.monotonic()
    events: list[str] = []  # what happened when, printed with any failure

    def at(offset_s: float, what: str) -> None:
        sleep_until(started + offset_s)
        events.append(f"{time.monotonic() - started:6.1f}s {what} "
                      f"({feed.chunks_sent}/{len(feed.chunks)} chunks sent)")
        assert feed.mid_stream(), f"the input was all produced before {what}"
        for index, proc in fleet.workers.items():
            assert proc.poll() is None, \
                f"worker {index} exited by itself ({proc.returncode}); see {fleet.workdir}"

    def kill(victim: int, replacement: int | None) -> None:
        # A worker killed while it runs rider partitions leaves their transactions open.
        wait_for_rider_work(fleet, victim, timeout_s=8)
        held = rider_partitions(fleet, victim)
        fleet.kill(victim)  # SIGKILL: no shutdown
        events.append(f"{'':8}worker {victim} held {held or 'no rider partition'}")
        if replacement is not None:
            fleet.start_worker(replacement)

    fleet.start_worker(0)
    fleet.start_worker(1)
    feed.start()
    try:
        at(12, "SIGKILL worker 0 (worker 1 running), start worker 2")
        kill(0, replacement=2)
        at(20, f"pause the broker for {KAFKA_PAUSE_S:.0f} s")
        with paused(kafka):
            time.sleep(KAFKA_PAUSE_S)
        at(48, "SIGKILL worker 1 (worker 2 running), start worker 3")
        kill(1, replacement=3)
        at(55, f"pause Redis for {REDIS_PAUSE_S:.0f} s")
        with paused(redis_server):
            redis_paused = time.monotonic()
            at(65, "SIGKILL worker 2 (worker 3 running), start worker 4")
            kill(2, replacement=4)
            at(75, "add worker 5")
            fleet.start_worker(5)
            sleep_until(redis_paused + REDIS_PAUSE_S)
        at(92, "SIGTERM worker 3")
        stopping = fleet.workers[3]
        fleet.kill(3, signal.SIGTERM)
        events.append(f"{'':8}worker 3 exited with {stopping.returncode}")
        feed.release.set()  # the last chunk of input, then a heartbeat
        feed.join(timeout=FEED_S + 180)
        assert not feed.is_alive() and feed.error is None, f"producing failed: {feed.error!r}"
        events.append(f"{time.monotonic() - started:6.1f}s input and heartbeat produced")
        records = fleet.collect(min_records=len(canonical(expected)))
        events.append(f"{time.monotonic() - started:6.1f}s outputs collected")
    finally:
        feed.release.set()
        print("\n".join(events))  # shown with a failure

    got, want = canonical(records), canonical(expected)
    assert sorted(want - got) == [], "the fleet missed something replay said"
    assert sorted(got - want) == [], "the fleet said something replay did not"
    twice = sorted(r for r, n in Counter(canonical([r]).pop() for r in records).items() if n > 1)
    assert twice == [], "a committed record appeared twice"
    contents = defaultdict(set)
    for r in records:
        if r["stream"] == "deltas":
            contents[r["value"]["delta_id"]].add(json.dumps(r["value"], sort_keys=True))
    assert {i: c for i, c in contents.items() if len(c) > 1} == {}, "a delta id, two contents"
    dead = canonical([r for r in records if r["stream"] == "dead_letters"])
    assert sorted(dead - want) == [], "a dead letter replay would not write"

    final = final_scores(expected_deltas)
    served = _poll(lambda: fleet.served_scores(final), final, CATCH_UP_S)
    assert {r: (served.get(r), s) for r, s in final.items() if served.get(r) != s} == {}, \
        "Redis does not serve a rider's final score (served, final)"

    produced = dict(feed.produced)
    committed = _poll(lambda: _committed_inputs(fleet), produced, CATCH_UP_S)
    assert committed == produced, "committed input offsets differ from the records produced"


def _poll(read, want, timeout_s: float):
    """`read()` until it returns `want` or `timeout_s` passes; its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if value == want or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def _committed_inputs(fleet: Fleet) -> dict[tuple[str, int], int]:
    """The group's committed offset per input partition (the producer is not transactional,
    so an offset counts records)."""
    topics = fleet.settings.topics
    inputs = set(topics.input_roles())
    group = fleet.env["KNIGHTWATCH_KAFKA__GROUP_ID"]
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    try:
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()
            if tp.topic in inputs and meta.offset >= 0}
