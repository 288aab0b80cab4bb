"""The HTTP API of each worker, as aiohttp routes over the serving layer's store.

Every data route asks for the bearer token when one is configured. Positions are personal data:
without a configured token the first-aider route is not served at all, nor POST /reviews (which
changes scores), and the worker says so in its log."""

import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, SecretStr, ValidationError

from schemas import AlertReview
from streams.api import params
from streams.api.openapi import render
from streams.api.params import BadParameter
from streams.config.settings import ServingSettings
from streams.primitives.decode import describe
from streams.serving.store import ServingStore
from streams.serving.views import ApiError, FirstAiders, ReviewAccepted

log = logging.getLogger(__name__)

# Key, value: produces one record to the reviews topic, raising when it cannot.
ReviewSink = Callable[[bytes, bytes], Awaitable[None]]
Handler = Callable[[web.Request], Awaitable[web.Response]]
# A review body is one small JSON object; anything larger is refused unread.
MAX_REVIEW_BYTES = 4096


def _json(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(body=model.model_dump_json(), status=status,
                        content_type="application/json")


def _error(status: int, error: str, parameter: str | None = None) -> web.Response:
    return _json(ApiError(error=error, parameter=parameter), status)


class RiderApi:
    def __init__(self, store: ServingStore, serving: ServingSettings, token: SecretStr | None,
                 reviews_topic: str, send_review: ReviewSink,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self.store = store
        self.serving = serving
        # An empty token (a variable set to nothing) is no token: it would match no request.
        self.token = token.get_secret_value().encode() if token is not None \
            and token.get_secret_value() else None
        self.reviews_topic = reviews_topic
        self.send_review = send_review
        self.wall_ms = wall_ms

    def add_routes(self, app: web.Application) -> None:
        routes = [web.get("/riders/{rider_id}", self._guarded(self.rider)),
                  web.get("/riders/{rider_id}/privileges", self._guarded(self.privileges)),
                  web.get("/leaderboard", self._guarded(self.leaderboard)),
                  web.get("/openapi.json", self.openapi)]
        if self.token is None:
            log.warning("no API token configured (KNIGHTWATCH_API_TOKEN): "
                        "/first-aiders/nearby and POST /reviews are not served")
        else:
            routes += [web.get("/first-aiders/nearby", self._guarded(self.first_aiders)),
                       web.post("/reviews", self._guarded(self.review))]
        app.add_routes(routes)

    def _guarded(self, handler: Handler) -> Handler:
        """The token first, then the handler, its BadParameter answered as a 400."""

        async def guarded(request: web.Request) -> web.Response:
            refused = self._refused(request)
            if refused is not None:
                return refused
            try:
                return await handler(request)
            except BadParameter as exc:
                return _error(400, f"bad parameter {exc.parameter}: {exc.reason}",
                              exc.parameter)

        return guarded

    def _refused(self, request: web.Request) -> web.Response | None:
        if self.token is None:
            return None
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return _refusal("missing bearer token (Authorization: Bearer <token>)")
        if not hmac.compare_digest(given.strip().encode(), self.token):
            return _refusal("wrong bearer token")
        return None

    async def openapi(self, request: web.Request) -> web.Response:
        return web.Response(text=render(self.serving), content_type="application/json")

    async def rider(self, request: web.Request) -> web.Response:
        rider_id = params.rider_id(request.match_info.get("rider_id"))
        view = await self.store.rider(rider_id)
        if view is None:
            return _error(404, f"unknown rider {rider_id!r}: nothing served of them")
        return _json(view)

    async def privileges(self, request: web.Request) -> web.Response:
        rider_id = params.rider_id(request.match_info.get("rider_id"))
        view = await self.store.rider(rider_id)
        if view is None:
            return _error(404, f"unknown rider {rider_id!r}: nothing served of them")
        return _json(view.privileges)

    async def leaderboard(self, request: web.Request) -> web.Response:
        city = params.city(request.query)
        limit = params.count(request.query, "limit", 10, self.serving.max_limit)
        return _json(await self.store.leaderboard(city, limit))

    async def first_aiders(self, request: web.Request) -> web.Response:
        q = request.query
        lat = params.number(q, "lat", -85.05112878, 85.05112878)  # Redis GEO's range
        lon = params.number(q, "lon", -180, 180)
        radius = params.number(q, "radius_m", 1, self.serving.max_radius_m)
        limit = params.count(q, "limit", 10, self.serving.max_limit)
        found = await self.store.first_aiders_nearby(lat, lon, radius, limit, self.wall_ms())
        return _json(FirstAiders(riders=found))

    async def review(self, request: web.Request) -> web.Response:
        body = await request.content.read(MAX_REVIEW_BYTES + 1)
        if len(body) > MAX_REVIEW_BYTES:
            return _error(413, f"review body over {MAX_REVIEW_BYTES} bytes")
        try:
            review = AlertReview.model_validate_json(body)
        except ValidationError as exc:
            return _error(400, f"bad review: {describe(exc)}", "body")
        value = review.model_dump_json().encode()
        try:
            await self.send_review(review.rider_id.encode(), value)
        except Exception as exc:  # the broker's failure, whatever its type: the client retries
            log.warning("review %s not written: %r", review.alert_id, exc)
            return _error(503, "the review could not be written now; try again")
        return _json(ReviewAccepted(alert_id=review.alert_id, topic=self.reviews_topic), 202)


def _refusal(reason: str) -> web.Response:
    response = _error(401, reason)
    response.headers["WWW-Authenticate"] = 'Bearer realm="knightwatch"'
    return response
