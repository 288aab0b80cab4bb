"""A worker's serving layer and rider API end to end: Kafka, a worker, and its own throw-away
redis-server, stopped mid-stream and started again empty; then a certified rider found near a
point, except while carrying an order."""

import json
import time
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
import redis
from kafka import KafkaConsumer

from streams.primitives.geo import offset
from streams.serving.layout import KeyLayout
from streams.worker.metrics import SERVING_FAILURES
from tests.integration.api_client import check_against_openapi
from tests.integration.fleet import BROKERS, Fleet
from tests.integration.redis_server import free_port, start_redis, stop
from tests.integration.scenario import canonical, city_lines, final_scores, replayed

pytestmark = pytest.mark.integration
TOKEN = "fleet-token"
CERTIFIED_UNTIL = 4_000_000_000_000  # 2096
POINT = (31.2300, 121.4700)  # where help is needed


def _get(port: int, path: str, token: str | None = TOKEN) -> tuple[int, dict]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    try:
        with urlopen(Request(f"http://127.0.0.1:{port}{path}", headers=headers),
                     timeout=10) as r:
            return r.status, json.loads(r.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _committed_deltas(fleet: Fleet) -> int:
    consumer = KafkaConsumer(fleet.settings.topics.deltas, bootstrap_servers=BROKERS,
                             isolation_level="read_committed", auto_offset_reset="earliest",
                             group_id=None, consumer_timeout_ms=500)
    try:
        return sum(1 for _ in consumer)
    finally:
        consumer.close()


def _final_balances(records: list[dict]) -> dict[str, int]:
    """Each rider's balance after their last points record (a rider's records are in one
    partition, in the order they were committed)."""
    return {r["value"]["rider_id"]: r["value"]["balance"] for r in records
            if r["stream"] == "points"}


def _served(client: redis.Redis, keys: KeyLayout, riders, field: str) -> dict[str, int]:
    values = {rider: client.hget(keys.rider(rider), field) for rider in riders}
    return {rider: int(v) for rider, v in values.items() if v is not None}


def _nearby(web: int) -> list[str]:
    status, found = _get(web, f"/first-aiders/nearby?lat={POINT[0]}&lon={POINT[1]}"
                              "&radius_m=1000")
    check_against_openapi("/first-aiders/nearby", "get", status, found)
    return [r["rider_id"] for r in found["riders"]]


def _first_aider_follows_the_order_lifecycle(fleet: Fleet, web: int) -> None:
    """The certified rider, riding near POINT now, is found; not while carrying an order;
    again once it is delivered."""
    topics = fleet.settings.topics

    def fix() -> tuple:
        lat, lon = offset(POINT[0], POINT[1], 200, 0)
        return (topics.gps, b"medic", json.dumps({
            "rider_id": "medic", "ts": int(time.time() * 1000), "lat": lat, "lon": lon,
            "city": "shanghai"}).encode())

    def step(kind: str) -> tuple:
        now = int(time.time() * 1000)
        return (topics.orders, b"o-medic", json.dumps({
            "order_id": "o-medic", "rider_id": "medic", "ts": now, "type": kind,
            "promised_ts": now + 1_800_000}).encode())

    for records, want in [([fix()], ["medic"]), ([step("accepted"), fix()], []),
                          ([step("delivered"), fix()], ["medic"])]:
        fleet.produce_raw(records)
        started = time.monotonic()
        while _nearby(web) != want:
            assert time.monotonic() - started < 60, f"never {want} near the point"
            time.sleep(0.5)
            fleet.produce_raw([fix()])  # a rider keeps pinging


def test_redis_stopped_mid_stream_costs_no_output_and_the_serving_layer_catches_up(tmp_path):
    port = free_port()
    (tmp_path / "redis").mkdir()
    proc = start_redis(port, tmp_path / "redis")
    fleet = Fleet(tmp_path)
    fleet.env["KNIGHTWATCH_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    fleet.env["KNIGHTWATCH_API_TOKEN"] = TOKEN
    fleet.env["KNIGHTWATCH_SERVING__POSITION_INTERVAL_S"] = "1"
    fleet.create_topics()
    lines = city_lines(copies=6)
    expected = replayed(lines)
    expected_deltas = sum(r["stream"] == "deltas" for r in expected)
    topics = fleet.settings.topics
    try:
        fleet.produce(lines, heartbeat=False)
        fleet.produce_raw([
            (topics.profiles, b"medic", json.dumps({
                "rider_id": "medic", "first_aid_certified": True,
                "certified_until": CERTIFIED_UNTIL}).encode()),
            (topics.profiles, b"nobody", b'{"rider_id": "nobody"}')])
        fleet.start_worker(0)
        at_stop = 0
        started = time.monotonic()
        while at_stop < 3:
            assert time.monotonic() - started < 120, "no deltas committed in time"
            at_stop = _committed_deltas(fleet)
        stop(proc)
        assert at_stop < expected_deltas, "Redis stopped after the stream ended"

        # Redis is away: the worker goes on and commits everything.
        records = fleet.collect(min_records=len(canonical(expected)) + 1)
        profile_letters = [r for r in records if r["stream"] == "dead_letters"
                           and r["value"]["source_topic"] == topics.profiles]
        assert [r["key"] for r in profile_letters] == ["nobody"]
        assert canonical([r for r in records if r not in profile_letters]) == \
            canonical(expected)
        web = fleet.web_port(0)
        status, health = _get(web, "/healthz", token=None)
        assert status == 200 and not health["serving"]["healthy"]

        proc = start_redis(port, tmp_path / "redis")  # back, empty
        scores = final_scores([r["value"] for r in records if r["stream"] == "deltas"])
        balances = _final_balances(records)
        client = redis.Redis(port=port)
        keys = KeyLayout(fleet.settings.redis_key_prefix)
        started = time.monotonic()
        while (_served(client, keys, scores, "score") != scores
               or _served(client, keys, balances, "points") != balances):
            assert time.monotonic() - started < 90, "the serving layer did not catch up"
            time.sleep(1)
        assert client.hget(keys.certified, "medic") == str(CERTIFIED_UNTIL).encode()

        rider = max(scores, key=lambda r: (r in balances, -scores[r]))
        status, view = _get(web, f"/riders/{rider}")
        check_against_openapi("/riders/{rider_id}", "get", status, view)
        assert status == 200 and view["score"] == scores[rider]
        assert view["points"] == balances.get(rider, 0)
        status, refused = _get(web, f"/riders/{rider}", token="wrong")
        assert status == 401 and refused["error"] == "wrong bearer token"
        status, health = _get(web, "/healthz", token=None)
        assert health["serving"] == {"healthy": True, "riders_waiting": 0}
        assert _get(web, "/health", token=None)[1]["serving"] == health["serving"]  # alias
        with urlopen(f"http://127.0.0.1:{web}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        name = SERVING_FAILURES.describe()[0].name + "_total"
        failures = [line for line in metrics.splitlines() if line.startswith(name + " ")]
        assert failures and float(failures[0].split()[1]) > 0
        _first_aider_follows_the_order_lifecycle(fleet, web)
    finally:
        fleet.stop_all()
        fleet.delete_topics()
        stop(proc)
