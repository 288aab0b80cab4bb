"""Everything Knightwatch keeps about one rider, fed that rider's events in event-time order."""

from typing import Self

from schemas import AlertReview, OrderEvent, PointRedemption, RiderAlert
from streams.config.thresholds import DetectionSettings
from streams.config.topics import TopicNames
from streams.detectors.base import EpisodeClosed, Finding, RiderContext
from streams.detectors.registry import SCORED_AT_CLOSE, RiderDetectors
from streams.orders.exemptions import decide, late_by_s, subsidy
from streams.orders.tracker import OrderState, OrderTracker
from streams.primitives.decode import dead_letter
from streams.primitives.emissions import Emission
from streams.primitives.events import Ping
from streams.primitives.fix import Fix
from streams.primitives.snapshot import Snapshot, fields, versioned
from streams.scoring.riding_days import RidingDay, RidingDays
from streams.scoring.role_models import RiderStanding, standing
from streams.scoring.safety_points import SafetyPoints
from streams.scoring.safety_score import PENALISED_KINDS, SafetyScore

KIND = "pipeline.rider"
VERSION = 3


def _v1_to_v2(v1: Snapshot) -> Snapshot:
    """Version 1 kept no safety points: a rider restored from it starts with none."""
    return {**v1, "v": 2, "points": SafetyPoints(v1["rider_id"]).snapshot(), "redemptions": []}


def _v2_to_v3(v2: Snapshot) -> Snapshot:
    """Version 2 kept no riding days: a rider restored from it starts the role-model period
    with no history (deliveries before the upgrade do not count towards it) and today's riding
    counts from the upgrade."""
    return {**v2, "v": 3, "days": RidingDays().snapshot()}


MIGRATIONS = {1: _v1_to_v2, 2: _v2_to_v3}

# Penalised alerts are remembered this long (event time) to judge the orders they fall in.
_PENALTY_LOG_MS = 8 * 3_600_000
# Weight of each moving fix in the rider's usual riding speed.
_USUAL_SPEED_ALPHA = 0.01
REMINDER_KINDS = frozenset({"speeding", "severe_weather"})
# The order topic by its contract name. A rejected order event is found when the reorder buffer
# releases it, long after its record (and the topic it came from) was read, and the core is not
# told topic names: a deployment that renames the topic still sees which input this was.
ORDER_EVENTS_TOPIC: str = TopicNames.model_fields["orders"].default
LIFECYCLE_ERROR = "order lifecycle: "


class RiderPipeline:
    """Hygiene, detectors, orders and score of one rider, fed in event-time order: what it
    finds is final. Holds only data; `snapshot()` is its plain form."""

    __slots__ = (
        "city",
        "days",
        "delivered",
        "detectors",
        "orders",
        "penalised",
        "points",
        "redemptions",
        "rider_id",
        "score",
        "usual_kmh",
    )

    def __init__(self, ctx: RiderContext) -> None:
        self.rider_id = ctx.rider_id
        self.detectors = RiderDetectors()
        self.score = SafetyScore(ctx.rider_id, ctx.settings.scoring)
        self.points = SafetyPoints(ctx.rider_id)
        self.days = RidingDays()  # riding, deliveries and penalties per local day
        self.redemptions: list[PointRedemption] = []  # awaiting the deliveries before them
        self.orders = OrderTracker()
        self.city: str | None = None
        self.usual_kmh: float | None = None
        self.penalised: list[tuple[int, int, str]] = []  # (start, end, alert_id), by end
        self.delivered: list[OrderState] = []  # awaiting their decision

    # -- state -----------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        return versioned(
            KIND, VERSION, rider_id=self.rider_id, detectors=self.detectors.snapshot(),
            score=self.score.snapshot(), points=self.points.snapshot(),
            days=self.days.snapshot(),
            redemptions=[r.model_dump(mode="json") for r in self.redemptions],
            orders=self.orders.snapshot(), city=self.city,
            usual_kmh=self.usual_kmh, penalised=[list(p) for p in self.penalised],
            delivered=[order.snapshot() for order in self.delivered])

    @classmethod
    def restore(cls, data: Snapshot) -> Self:
        values = fields(data, KIND, VERSION, MIGRATIONS)
        pipeline = cls.__new__(cls)
        pipeline.rider_id = values["rider_id"]
        pipeline.detectors = RiderDetectors.restore(values["detectors"])
        pipeline.score = SafetyScore.restore(values["score"])
        pipeline.points = SafetyPoints.restore(values["points"])
        pipeline.days = RidingDays.restore(values["days"])
        pipeline.redemptions = [PointRedemption.model_validate(r, strict=False)
                                for r in values["redemptions"]]
        pipeline.orders = OrderTracker.restore(values["orders"])
        pipeline.city = values["city"]
        pipeline.usual_kmh = values["usual_kmh"]
        pipeline.penalised = [(s, e, a) for s, e, a in values["penalised"]]
        pipeline.delivered = [OrderState.restore(o) for o in values["delivered"]]
        return pipeline

    # -- events ----------------------------------------------------------------------------

    def on_ping(self, ping: Ping, ctx: RiderContext) -> list[Emission]:
        if ping.city:
            self.city = ping.city
        fix, found = self.detectors.on_ping(ping, ctx)
        if fix is not None:
            self._observe(fix, ctx)
        return self._publish(found, ctx) if found else []

    def on_order_event(self, event: OrderEvent, ctx: RiderContext) -> list[Emission]:
        reason = self._lifecycle_error(event, ctx)
        if reason is not None:
            # Before anything sees it: no phone-use judgement (no alert, no penalty), and
            # neither the order nor the rider's city changes.
            # Its raw is its canonical JSON, as for every record refused after it was read;
            # the core sets the orders topic its owner named.
            letter = dead_letter(ORDER_EVENTS_TOPIC, event.order_id, event.model_dump_json(),
                                 LIFECYCLE_ERROR + reason)
            return [Emission("dead_letters", event.order_id, letter)]
        if event.city:
            self.city = event.city
        found = self.detectors.on_order_event(event, ctx)
        is_new = event.order_id not in self.orders.active
        delivered = self.orders.on_order_event(event)
        if is_new and event.order_id in self.orders.active:
            self._carry_weather_reminder(self.orders.active[event.order_id], event.ts, ctx)
        if delivered is not None:
            if delivered.city is None:
                delivered.city = self.city
            self.delivered.append(delivered)
        return self._publish(found, ctx) if found else []

    def on_review(self, review: AlertReview, ctx: RiderContext) -> list[Emission]:
        if review.verdict != "dismissed":
            return []
        self.days.on_dismissed(review.alert_id, review.ts)
        deltas = self.score.on_dismissal(review.alert_id, review.ts, ctx.settings.scoring)
        return [Emission("deltas", d.rider_id, d) for d in deltas]

    def on_redemption(self, redemption: PointRedemption) -> None:
        """Decided with the deliveries (decide_delivered): whether the balance covers it
        depends on every delivery before it, and those wait for their area's congestion."""
        self.redemptions.append(redemption)

    def close(self, ctx: RiderContext) -> list[Emission]:
        return self._publish(self.detectors.close(ctx), ctx)

    # -- orders ----------------------------------------------------------------------------

    def decide_delivered(self, until_ts: int, ctx: RiderContext) -> list[Emission]:
        """Decide every delivered order whose surroundings are settled by `until_ts`, the
        redemptions and the riding days before it."""
        ready = [o for o in self.delivered if o.delivered_ts <= until_ts]  # type: ignore[operator]
        spends = [r for r in self.redemptions if r.ts <= until_ts]
        days = self.days.ready(until_ts)
        if not ready and not spends and not days:
            return []
        self.delivered = [o for o in self.delivered if o.delivered_ts > until_ts]  # type: ignore[operator]
        self.redemptions = [r for r in self.redemptions if r.ts > until_ts]
        out: list[Emission] = []
        cfg = ctx.settings
        # In event time, a delivery before a redemption of the same millisecond: what the
        # balance covers does not depend on which record arrived first.
        # A day is dated by its end, and earned before a redemption of that millisecond.
        steps: list[tuple[int, int, str, OrderState | PointRedemption | RidingDay]] = sorted(
            [(o.delivered_ts, 0, o.order_id, o) for o in ready]  # type: ignore[misc]
            + [(d.end_ts, 0, d.date, d) for d in days]
            + [(r.ts, 1, r.redemption_id, r) for r in spends], key=lambda s: s[:3])
        cities = cfg.cities
        for _, _, _, item in steps:
            if isinstance(item, PointRedemption):
                out += [Emission("points", c.rider_id, c)
                        for c in self.points.on_redemption(item, cfg.scoring)]
                continue
            if isinstance(item, RidingDay):
                item.decided = True
                if item.is_safe(cfg.scoring):
                    out += [Emission("points", c.rider_id, c) for c in
                            self.points.on_safe_day(item.date, item.end_ts, cfg.scoring)]
                continue
            order = item
            end = order.delivered_ts
            assert end is not None
            self.days.on_delivery(end, cities, self.city)
            penalised = any(s <= end and e >= order.start_ts for s, e, _ in self.penalised)
            exempt = False
            late = late_by_s(order)
            if order.promised_ts is not None and late > 0:
                decision = decide(order, self.rider_id, order.city, ctx.weather, ctx.congestion,
                                  self.usual_kmh or cfg.speeding.national_cap_kmh, cfg)
                exempt = decision.exempt
                out.append(Emission("exemptions", order.order_id, decision))
            paid = subsidy(order, self.rider_id, order.city, ctx.weather)
            if order.promised_ts is not None:
                for delta in self.score.on_delivery(order.order_id, end, late_by_s=late,
                                                    exempt=exempt, penalised_during=penalised,
                                                    cfg=cfg.scoring):
                    out.append(Emission("deltas", delta.rider_id, delta))
                safe = not penalised and (late == 0 or exempt)
                for change in self.points.on_delivery(order.order_id, end, safe=safe,
                                                      severe_weather=paid is not None,
                                                      cfg=cfg.scoring):
                    out.append(Emission("points", change.rider_id, change))
            if paid is not None:
                out.append(Emission("subsidies", paid.rider_id, paid))
        horizon = until_ts - _PENALTY_LOG_MS
        self.penalised = [p for p in self.penalised if p[1] >= horizon]
        self.orders.forget_older_than(until_ts - int(cfg.orders.max_age_s * 1000))
        self.days.forget_before_period(cfg.role_models.period_days)
        return out

    # -- role models -----------------------------------------------------------------------

    def standing(self, at_ts: int, settings: DetectionSettings) -> RiderStanding:
        """Where the rider stands for the role models at event time `at_ts`: the period is the
        role-model period's local days ending with the day of `at_ts`."""
        cfg = settings.role_models
        days = self.days.in_period(at_ts, cfg.period_days, settings.cities.zone_of(self.city))
        penalised = sum(not self.score.dismissed(a) for d in days for a in d.penalised)
        return standing(self.rider_id, self.city, self.score.score, self.points.balance,
                        sum(d.deliveries for d in days), penalised, cfg)

    # -- helpers ---------------------------------------------------------------------------

    def _lifecycle_error(self, event: OrderEvent, ctx: RiderContext) -> str | None:
        """Why the event does not fit this rider's orders, or None when it does."""
        if event.rider_id != self.rider_id:
            # The core routes by rider, so only a caller feeding the wrong pipeline gets here;
            # another rider's order otherwise reaches its own rider's pipeline, where it is
            # unknown (never accepted or created by that rider).
            return f"{event.type} of rider {event.rider_id} for rider {self.rider_id}'s orders"
        return self.orders.rejects(event, int(ctx.settings.orders.max_promise_s * 1000))

    def _observe(self, fix: Fix, ctx: RiderContext) -> None:
        """Feed the congestion picture and the orders."""
        congestion = ctx.congestion
        cell = congestion.cell_of(fix.lat, fix.lon)
        window = congestion.window_of(fix.ts)
        speed = fix.speed_kmh
        moving = speed is not None and speed >= ctx.settings.fatigue.moving_speed_kmh
        if speed is not None:
            congestion.observe(self.rider_id, cell, fix.ts, speed)
        if moving:
            cfg = ctx.settings
            self.days.on_moving_fix(fix.ts, int(cfg.fatigue.max_interval_s * 1000), cfg.cities,
                                    self.city)
            self.usual_kmh = speed if self.usual_kmh is None else (
                self.usual_kmh + _USUAL_SPEED_ALPHA * (speed - self.usual_kmh))  # type: ignore[operator]
        self.orders.on_fix(fix, cell, window, moving)

    def _carry_weather_reminder(self, order: OrderState, ts: int, ctx: RiderContext) -> None:
        """An order started under a warning the rider was already reminded of rides under it."""
        warning = ctx.weather.severe_at(order.city or self.city, ts)
        alerted = self.detectors.get("severe_weather").alerted
        if warning is not None and warning.warning_id in alerted:
            order.reminder_ts = ts
            order.reminder_kind = "severe_weather"
            order.reminder_alert_id = alerted[warning.warning_id]

    def _publish(self, found: list[Finding], ctx: RiderContext) -> list[Emission]:
        out: list[Emission] = []
        for item in found:
            if type(item) is EpisodeClosed:
                out.extend(self._penalise(item.alert, ctx))
                continue
            alert: RiderAlert = item  # type: ignore[assignment]
            out.append(Emission("alerts", alert.rider_id, alert))
            if alert.kind in REMINDER_KINDS:
                self.orders.on_reminder(alert.alert_id, alert.kind, alert.ts)
            if alert.kind not in SCORED_AT_CLOSE:
                out.extend(self._penalise(alert, ctx))
        return out

    def _penalise(self, alert: RiderAlert, ctx: RiderContext) -> list[Emission]:
        if alert.kind in PENALISED_KINDS:
            start = alert.evidence.get("start_ts")
            start = start if isinstance(start, int) else alert.ts
            self.penalised.append((start, alert.ts, alert.alert_id))
            if not self.score.dismissed(alert.alert_id):
                self.days.on_penalised(alert.alert_id, alert.ts, ctx.settings.cities,
                                       self.city)
        return [Emission("deltas", d.rider_id, d)
                for d in self.score.on_alert(alert, ctx.settings.scoring)]
