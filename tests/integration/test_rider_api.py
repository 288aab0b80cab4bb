"""Every route of the rider API, served in-process over a real Redis (a throw-away
redis-server) and a real Kafka topic for reviews; each answer is checked against the
published OpenAPI document."""

import asyncio
import logging
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from pydantic import SecretStr

from schemas import GpsPing, RiderProfile
from streams.api.openapi import render
from streams.api.routes import RiderApi
from streams.config.settings import load_settings
from streams.primitives.geo import offset
from streams.serving.live import LiveRiders
from streams.serving.pending import Placing
from streams.worker.serving import ServingWriter
from tests.builders import T0, order
from tests.integration.api_client import served
from tests.integration.fleet import BROKERS
from tests.integration.redis_server import free_port, start_redis, stop
from tests.unit.serving.helpers import alert, delta, points

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token"
NOW = T0 + 3_600_000
POINT = (31.2300, 121.4700)  # where help is needed
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory):
    port = free_port()
    proc = start_redis(port, tmp_path_factory.mktemp("redis"))
    yield port
    stop(proc)


@pytest.fixture(scope="module")
def reviews_topic():
    name = f"rider-alert-reviews-api-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=BROKERS)
    admin.create_topics([NewTopic(name, 1, 1)])
    yield name
    admin.delete_topics([name])
    admin.close()


def _settings(port: int, prefix: str):
    return load_settings(redis_url=f"redis://127.0.0.1:{port}/0", redis_key_prefix=prefix,
                         serving={"position_interval_s": 10, "position_ttl_s": 60})


def _certify(writer: ServingWriter, rider: str, until: int) -> None:
    writer.hand_over_profile(RiderProfile(rider_id=rider, first_aid_certified=True,
                                          certified_until=until), (0, 0))


def _at(writer: ServingWriter, rider: str, north_m: float, ts: int = NOW) -> None:
    lat, lon = offset(POINT[0], POINT[1], north_m, 0)
    live = LiveRiders()
    live.on_fix(GpsPing(rider_id=rider, ts=ts, lat=lat, lon=lon))
    writer.hand_over_live(live)


async def _seed(writer: ServingWriter) -> None:
    """r1 in Shanghai: three alerts, score 92, 30 points, an order under way; r2 and r3 on the
    Shanghai leaderboard; r4 in tier D. First-aiders north of POINT at known distances."""
    cities = {"r1": "shanghai", "r2": "shanghai", "r3": "shanghai", "r4": "beijing"}
    placing = {rider: Placing(city, True) for rider, city in cities.items()}.get
    writer.hand_over([alert("r1", 1), alert("r1", 2), alert("r1", 3), delta("r1", 92, 4),
                      points("r1", 30, 5), delta("r2", 97, 6), points("r2", 10, 7),
                      delta("r3", 97, 8), points("r3", 50, 9), delta("r4", 55, 10, tier="D")],
                     placing)
    live = LiveRiders()
    live.on_order(order("o1", "accepted", 0, rider="r1"))
    writer.hand_over_live(live)
    for rider in ("near", "busy", "expired", "mid", "far", "stale", "withdrawn"):
        _certify(writer, rider, NOW + (5_000 if rider == "expired" else 365 * DAY_MS))
    for rider, north_m in [("near", 100), ("uncertified", 120), ("busy", 150),
                           ("expired", 200), ("withdrawn", 250), ("mid", 300), ("far", 700)]:
        _at(writer, rider, north_m)
    _at(writer, "stale", 50, ts=NOW - 120_000)
    live = LiveRiders()
    live.on_order(order("ob", "picked_up", 0, rider="busy"))
    writer.hand_over_live(live)
    assert await writer.flush()
    writer.hand_over_profile(RiderProfile(rider_id="withdrawn", first_aid_certified=False),
                             (0, 1))
    assert await writer.flush()


def _run(port: int, topic: str, test, token: str | None = TOKEN) -> None:
    async def scenario() -> None:
        settings = _settings(port, f"kw-api-{uuid.uuid4().hex[:8]}:")
        writer = ServingWriter(settings, wall_ms=lambda: NOW)
        await _seed(writer)
        producer = AIOKafkaProducer(bootstrap_servers=BROKERS, acks="all")
        await producer.start()

        async def send_review(key: bytes, value: bytes) -> None:
            await producer.send_and_wait(topic, value, key=key)

        api = RiderApi(writer.store, settings.serving,
                       None if token is None else SecretStr(token), topic, send_review,
                       wall_ms=lambda: NOW + 10_000)
        try:
            async with served(api) as client:
                await test(client)
        finally:
            await producer.stop()
            await writer.close()

    asyncio.run(scenario())


def test_a_rider_is_served_with_score_tier_privileges_points_and_latest_alerts(
        redis_port, reviews_topic):
    async def test(client):
        status, rider = await client.call("get", "/riders/{rider_id}", "/riders/r1", TOKEN)
        assert status == 200
        assert (rider["score"], rider["tier"], rider["points"], rider["city"]) == (
            92, "A", 30, "shanghai")
        assert rider["on_delivery"] and not rider["first_aid_certified"]
        assert [a["alert_id"] for a in rider["last_alerts"]] == ["a3", "a2", "a1"]
        assert rider["privileges"]["priority_dispatch"]

    _run(redis_port, reviews_topic, test)


def test_a_tier_d_rider_may_take_no_order(redis_port, reviews_topic):
    async def test(client):
        status, privileges = await client.call("get", "/riders/{rider_id}/privileges",
                                               "/riders/r4/privileges", TOKEN)
        assert status == 200
        assert privileges["tier"] == "D" and not privileges["may_take_orders"]
        assert privileges["order_classes"] == [] and privileges["refresher_course"]

    _run(redis_port, reviews_topic, test)


def test_an_unknown_rider_is_a_404(redis_port, reviews_topic):
    async def test(client):
        for template, url in [("/riders/{rider_id}", "/riders/nobody"),
                              ("/riders/{rider_id}/privileges", "/riders/nobody/privileges")]:
            status, body = await client.call("get", template, url, TOKEN)
            assert status == 404 and "nobody" in body["error"]

    _run(redis_port, reviews_topic, test)


ROUTES = [("get", "/riders/{rider_id}", "/riders/r1"),
          ("get", "/riders/{rider_id}/privileges", "/riders/r1/privileges"),
          ("get", "/leaderboard", "/leaderboard?city=shanghai"),
          ("get", "/first-aiders/nearby", "/first-aiders/nearby?lat=31.23&lon=121.47&radius_m=500"),
          ("post", "/reviews", "/reviews")]


def test_every_route_refuses_a_missing_or_wrong_token_with_a_401(redis_port, reviews_topic):
    async def test(client):
        for method, template, url in ROUTES:
            for headers in ({}, {"Authorization": "Bearer wrong"},
                            {"Authorization": f"Basic {TOKEN}"}, {"Authorization": "Bearer "}):
                status, body = await client.call(method, template, url, headers=headers)
                assert status == 401, (url, headers)
                assert "token" in body["error"]

    _run(redis_port, reviews_topic, test)


@pytest.mark.parametrize(("template", "url", "parameter"), [
    ("/leaderboard", "/leaderboard", "city"),
    ("/leaderboard", "/leaderboard?city=" + "x" * 65, "city"),
    ("/leaderboard", "/leaderboard?city=shanghai&limit=0", "limit"),
    ("/leaderboard", "/leaderboard?city=shanghai&limit=abc", "limit"),
    ("/leaderboard", "/leaderboard?city=shanghai&limit=101", "limit"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lon=121.47&radius_m=500", "lat"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=north&lon=121.47&radius_m=500", "lat"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=91&lon=121.47&radius_m=500", "lat"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=31.2&lon=181&radius_m=500", "lon"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=31.2&lon=121.4&radius_m=nan", "radius_m"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=31.2&lon=121.4&radius_m=0", "radius_m"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=31.2&lon=121.4&radius_m=20000",
     "radius_m"),
    ("/first-aiders/nearby", "/first-aiders/nearby?lat=31.2&lon=121.4&radius_m=9&limit=-1",
     "limit"),
    ("/riders/{rider_id}", "/riders/" + "r" * 129, "rider_id"),
])
def test_a_bad_parameter_is_a_400_naming_it(redis_port, reviews_topic, template, url,
                                            parameter):
    async def test(client):
        status, body = await client.call("get", template, url, TOKEN)
        assert status == 400 and body["parameter"] == parameter
        assert body["error"].startswith(f"bad parameter {parameter}: ")

    _run(redis_port, reviews_topic, test)


def test_the_leaderboard_ranks_a_citys_riders_by_score_then_points(redis_port, reviews_topic):
    async def test(client):
        status, board = await client.call("get", "/leaderboard",
                                          "/leaderboard?city=shanghai&limit=2", TOKEN)
        assert status == 200
        assert [(r["rank"], r["rider_id"], r["score"], r["points"]) for r in board["riders"]] \
            == [(1, "r3", 97, 50), (2, "r2", 97, 10)]
        status, empty = await client.call("get", "/leaderboard", "/leaderboard?city=paris",
                                          TOKEN)
        assert status == 200 and empty["riders"] == []

    _run(redis_port, reviews_topic, test)


def test_certified_riders_nearby_come_nearest_first_without_the_busy_expired_or_stale(
        redis_port, reviews_topic):
    async def test(client):
        url = f"/first-aiders/nearby?lat={POINT[0]}&lon={POINT[1]}&radius_m=500"
        status, found = await client.call("get", "/first-aiders/nearby", url, TOKEN)
        assert status == 200
        # Left out: uncertified (never written), busy (an order under way), expired (its
        # certificate ran out 5 s before the question), withdrawn (certification revoked),
        # stale (position 2 min old), far (700 m).
        assert [r["rider_id"] for r in found["riders"]] == ["near", "mid"]
        assert [round(r["distance_m"]) for r in found["riders"]] == [100, 300]
        status, wider = await client.call("get", "/first-aiders/nearby", url.replace(
            "radius_m=500", "radius_m=1000&limit=2"), TOKEN)
        assert [r["rider_id"] for r in wider["riders"]] == ["near", "mid"]
        status, wider = await client.call("get", "/first-aiders/nearby",
                                          url.replace("radius_m=500", "radius_m=1000"), TOKEN)
        assert [r["rider_id"] for r in wider["riders"]] == ["near", "mid", "far"]

    _run(redis_port, reviews_topic, test)


def test_a_review_is_validated_and_written_to_the_reviews_topic_keyed_by_rider(
        redis_port, reviews_topic):
    review = {"alert_id": "a1", "rider_id": "r1", "ts": NOW, "verdict": "dismissed",
              "reviewer": "li.wei@example.com"}

    async def test(client):
        status, body = await client.call("post", "/reviews", "/reviews", TOKEN,
                                         orjson.dumps(review))
        assert status == 202 and body == {"alert_id": "a1", "topic": reviews_topic}
        for bad in (review | {"verdict": "maybe"}, review | {"ts": "yesterday"},
                    {"alert_id": "a1"}):
            status, body = await client.call("post", "/reviews", "/reviews", TOKEN,
                                             orjson.dumps(bad))
            assert status == 400 and body["parameter"] == "body"
        status, body = await client.call("post", "/reviews", "/reviews", TOKEN, b"{not json")
        assert status == 400
        status, body = await client.call("post", "/reviews", "/reviews", TOKEN, b" " * 5000)
        assert status == 413

    _run(redis_port, reviews_topic, test)
    consumer = KafkaConsumer(reviews_topic, bootstrap_servers=BROKERS,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    records = list(consumer)
    consumer.close()
    assert [(r.key, orjson.loads(r.value)) for r in records] == [(b"r1", review)]


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
def test_without_a_token_positions_and_reviews_are_not_served(redis_port, reviews_topic,
                                                              caplog, token):
    async def test(client):
        status, _ = await client.call("get", "/first-aiders/nearby",
                                      "/first-aiders/nearby?lat=31.23&lon=121.47&radius_m=500",
                                      served=False)
        assert status == 404
        status, _ = await client.call("post", "/reviews", "/reviews", body=b"{}", served=False)
        assert status in (404, 405)
        status, rider = await client.call("get", "/riders/{rider_id}", "/riders/r1")
        assert status == 200 and rider["score"] == 92

    with caplog.at_level(logging.WARNING):
        _run(redis_port, reviews_topic, test, token=token)
    assert "first-aiders/nearby and POST /reviews are not served" in caplog.text


def test_the_live_openapi_document_is_the_checked_in_one(redis_port, reviews_topic):
    async def test(client):
        async with client.session.get(client.base + "/openapi.json") as response:
            assert response.status == 200
            assert await response.text() == render()

    _run(redis_port, reviews_topic, test)
