"""The serving layer's Redis: a batch of pending writes in one transaction, and the queries the
HTTP API answers. Each query is one or two round trips, whatever the number of riders."""

import orjson
import redis.asyncio as redis

from schemas import RiderAlert
from schemas.outputs import Tier
from streams.config.settings import ServingSettings
from streams.config.thresholds import Scoring
from streams.scoring.privileges import privileges_for
from streams.scoring.safety_score import tier_for
from streams.serving.layout import KeyLayout, Standing, from_standing, role_model_standing
from streams.serving.pending import PendingWrites
from streams.serving.views import (
    FirstAider,
    Leaderboard,
    LeaderboardEntry,
    Privileges,
    RiderView,
)

# GEOSEARCH returns at most this many candidates per wanted row: some are then left out
# (mid-delivery, expired, stale), and an unbounded search of a dense city centre would return
# thousands.
_CANDIDATES_PER_ROW = 10


class ServingStore:
    def __init__(self, client: redis.Redis, layout: KeyLayout, serving: ServingSettings,
                 scoring: Scoring, open_order_ttl_s: float) -> None:
        self.client = client
        self.keys = layout
        self.serving = serving
        self.scoring = scoring
        # An order whose end never arrived is forgotten with the order tracker's memory.
        self.open_order_ttl_s = int(open_order_ttl_s)

    # -- writes --------------------------------------------------------------------------

    async def write(self, batch: PendingWrites, now_ms: int) -> None:
        """Everything in `batch`, atomically (MULTI/EXEC: a failed write leaves nothing half
        done, so writing it again does not push an alert twice). Raises on failure."""
        keys = self.keys
        standings = await self._stored_standings(
            [r for r, c in batch.riders.items() if c.standing])
        pipe = self.client.pipeline(transaction=True)
        for rider_id, changes in batch.riders.items():
            fields = dict(changes.fields)
            if changes.standing:
                stored = standings[rider_id]
                standing = Standing(int(fields.get("score", stored["score"])),
                                    int(fields.get("points", stored["points"])),
                                    str(fields.get("city", stored["city"]) or "") or None,
                                    bool(int(fields.get("role_model", stored["role_model"]))))
                value = role_model_standing(standing)
                board = stored["board"]
                if board and board != standing.city:
                    pipe.zrem(keys.leaderboard(board), rider_id)
                if value is not None and standing.city:
                    pipe.zadd(keys.leaderboard(standing.city), {rider_id: value})
                    fields["board"] = standing.city
                elif board:
                    pipe.zrem(keys.leaderboard(board), rider_id)
                    pipe.hdel(keys.rider(rider_id), "board")
            if fields:
                pipe.hset(keys.rider(rider_id), mapping=fields)
            if changes.alerts:
                key = keys.alerts(rider_id)
                pipe.lpush(key, *changes.alerts)
                pipe.ltrim(key, 0, self.serving.alerts_kept - 1)
            if changes.orders:
                key = keys.open_orders(rider_id)
                opened = [o for o, (_, under_way) in changes.orders.items() if under_way]
                ended = [o for o, (_, under_way) in changes.orders.items() if not under_way]
                if opened:
                    pipe.sadd(key, *opened)
                if ended:
                    pipe.srem(key, *ended)
                pipe.expire(key, self.open_order_ttl_s)
        for rider_id, profile in batch.profiles.items():
            if profile.certified_until is None:
                pipe.hdel(keys.certified, rider_id)
                pipe.zrem(keys.positions, rider_id)
                pipe.zrem(keys.seen, rider_id)
                pipe.hset(keys.rider(rider_id), "first_aid_certified", 0)
                pipe.hdel(keys.rider(rider_id), "certified_until")
            else:
                pipe.hset(keys.certified, rider_id, profile.certified_until)
                pipe.hset(keys.rider(rider_id), mapping={
                    "first_aid_certified": 1, "certified_until": profile.certified_until})
        for rider_id, position in batch.positions.items():
            pipe.geoadd(keys.positions, (position.lon, position.lat, rider_id))
            pipe.zadd(keys.seen, {rider_id: position.ts})
        await pipe.execute()
        await self._prune(now_ms)

    async def _stored_standings(self, riders: list[str]) -> dict[str, dict]:
        if not riders:
            return {}
        pipe = self.client.pipeline(transaction=False)
        for rider_id in riders:
            pipe.hmget(self.keys.rider(rider_id), "score", "points", "city", "board",
                       "role_model")
        stored = {}
        for rider_id, (score, points, city, board, role_model) in zip(
                riders, await pipe.execute(), strict=True):
            stored[rider_id] = {
                "score": self.scoring.start_score if score is None else int(score),
                "points": 0 if points is None else int(points),
                "city": None if city is None else city.decode(),
                "board": None if board is None else board.decode(),
                "role_model": 0 if role_model is None else int(role_model)}
        return stored

    async def _prune(self, now_ms: int) -> None:
        """Positions older than the TTL leave the GEO set (its members cannot expire)."""
        cutoff = now_ms - int(self.serving.position_ttl_s * 1000)
        stale = await self.client.zrangebyscore(self.keys.seen, "-inf", cutoff, start=0,
                                                num=1000)
        if stale:
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(self.keys.positions, *stale)
            pipe.zremrangebyscore(self.keys.seen, "-inf", cutoff)
            await pipe.execute()

    async def certified(self) -> dict[str, int]:
        """Certified riders -> certified_until: whose positions the workers write."""
        raw = await self.client.hgetall(self.keys.certified)
        return {k.decode(): int(v) for k, v in raw.items()}

    # -- queries -------------------------------------------------------------------------

    def privileges(self, rider_id: str, tier: Tier) -> Privileges:
        p = privileges_for(tier, self.scoring)
        return Privileges(rider_id=rider_id, tier=tier, may_take_orders=p.max_concurrent_orders > 0,
                          order_classes=list(p.order_classes),
                          max_concurrent_orders=p.max_concurrent_orders,
                          priority_dispatch=p.priority_dispatch,
                          refresher_course=p.refresher_course)

    async def rider(self, rider_id: str) -> RiderView | None:
        """None: nothing is served of this rider."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self.keys.rider(rider_id))
        pipe.lrange(self.keys.alerts(rider_id), 0, self.serving.alerts_kept - 1)
        pipe.scard(self.keys.open_orders(rider_id))
        raw, alerts, open_orders = await pipe.execute()
        if not raw and not alerts:
            return None
        h = {k.decode(): v.decode() for k, v in raw.items()}
        score = int(h.get("score", self.scoring.start_score))
        tier: Tier = h.get("tier") or tier_for(score, self.scoring)  # type: ignore[assignment]
        until = h.get("certified_until")
        return RiderView(
            rider_id=rider_id, score=score, tier=tier,
            privileges=self.privileges(rider_id, tier), points=int(h.get("points", 0)),
            city=h.get("city"), on_delivery=open_orders > 0,
            first_aid_certified=h.get("first_aid_certified") == "1",
            certified_until=None if until is None else int(until),
            last_alerts=[RiderAlert.model_validate(orjson.loads(a)) for a in alerts])

    async def leaderboard(self, city: str, limit: int) -> Leaderboard:
        rows = await self.client.zrevrange(self.keys.leaderboard(city), 0, limit - 1,
                                           withscores=True)
        entries = []
        for rank, (member, value) in enumerate(rows, start=1):
            score, points = from_standing(value)
            entries.append(LeaderboardEntry(rank=rank, rider_id=member.decode(), score=score,
                                            points=points))
        return Leaderboard(city=city, riders=entries)

    async def first_aiders_nearby(self, lat: float, lon: float, radius_m: float, limit: int,
                                  now_ms: int) -> list[FirstAider]:
        """Certified riders within `radius_m` of the point, nearest first, whose certificate
        has not expired, whose position is fresh and who carry no order: one GEOSEARCH and
        one pipelined look-up of the candidates."""
        hits = await self.client.geosearch(
            self.keys.positions, longitude=lon, latitude=lat, radius=radius_m, unit="m",
            sort="ASC", count=limit * _CANDIDATES_PER_ROW, withdist=True, withcoord=True)
        if not hits:
            return []
        riders = [member.decode() for member, _, _ in hits]
        pipe = self.client.pipeline(transaction=False)
        pipe.hmget(self.keys.certified, riders)
        pipe.zmscore(self.keys.seen, riders)
        for rider_id in riders:
            pipe.scard(self.keys.open_orders(rider_id))
        until_all, seen_all, *open_orders = await pipe.execute()
        fresh_from = now_ms - self.serving.position_ttl_s * 1000
        found = []
        for (rider_id, (_, distance, (hit_lon, hit_lat))), until, seen, busy in zip(
                zip(riders, hits, strict=True), until_all, seen_all, open_orders, strict=True):
            if until is None or int(until) <= now_ms or seen is None or seen < fresh_from \
                    or busy:
                continue
            found.append(FirstAider(rider_id=rider_id, distance_m=round(distance, 1),
                                    lat=hit_lat, lon=hit_lon, seen_ts=int(seen),
                                    certified_until=int(until)))
            if len(found) == limit:
                break
        return found
