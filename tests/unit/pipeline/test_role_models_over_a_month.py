"""A simulated month of one city's riding: the role models are the eligible riders with the
highest score, then the most points; a penalised alert keeps a rider off the board for the
period and no longer, too few deliveries keep a rider off it, and another city's riders are on
their own city's board."""

from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from streams.scoring.role_models import leaderboard, role_models
from tests.builders import T0, order, ride

DAY_S = 86_400
SETTINGS = DetectionSettings.model_validate({
    "role_models": {"period_days": 30, "min_deliveries": 40, "per_city": 3},
    "scoring": {"safe_riding_day_min_riding_s": 1200}})
SCORING = SETTINGS.scoring
RIDE_S = 1800  # each riding day: half an hour from 10:00 in Shanghai
ORDER_EVERY_S = 540


def riding_day(rider: str, day: int, deliveries: int, *, speeding: bool = False,
               city: str = "shanghai") -> list:
    """Half an hour of riding with `deliveries` on-time orders, standing still at each order
    action; `speeding` adds a minute at 40 km/h between two orders (a penalised alert)."""
    start = day * DAY_S
    actions = [t for i in range(deliveries) for t in (i * ORDER_EVERY_S + 20,
                                                      i * ORDER_EVERY_S + 500)]
    speeds = []
    for i in range(RIDE_S // 20 + 1):
        t = i * 20
        fast = speeding and 1640 <= t <= 1700
        speeds.append(0.0 if any(abs(t - a) <= 20 for a in actions)
                      else 40.0 if fast else 18.0)
    fixes = ride(rider, start_s=start, duration_s=RIDE_S, every_s=20, speed_kmh=speeds)
    orders = []
    for i in range(deliveries):
        order_id = f"{rider}-d{day}-o{i}"
        accepted = start + i * ORDER_EVERY_S + 20
        orders.append(order(order_id, "accepted", accepted, rider,
                            promised_s=accepted + 1200, city=city))
        orders.append(order(order_id, "delivered", accepted + 480, rider, city=city))
    fixes = [f.model_copy(update={"city": city}) for f in fixes]
    return sorted(fixes + orders, key=lambda e: e.ts)


def month(days: range) -> list:
    events = []
    for day in days:
        events += riding_day("busy", day, 3)
        events += riding_day("steady", day, 2)
        events += riding_day("rare", day, 1)  # 30 deliveries in the period: too few
        events += riding_day("penalised-old", day, 3, speeding=day == 0)
        events += riding_day("penalised-recent", day, 3, speeding=day == 21)
        events += riding_day("elsewhere", day, 3, city="beijing")
    return sorted(events, key=lambda e: e.ts)


def feed(core: KnightwatchCore, events: list) -> list:
    out = []
    for i, event in enumerate(events, 1):
        out += core.ingest(event)
        if i % 25 == 0:
            out += core.advance()
    return out


def at_day(day: int) -> int:
    return T0 + (day * DAY_S + RIDE_S) * 1000


def test_a_month_of_riding_names_the_safest_busy_riders_of_the_city_in_order():
    core = KnightwatchCore(SETTINGS)
    out = feed(core, month(range(32))) + core.close()
    assert {e.value.kind for e in out if e.stream == "alerts"} == {"speeding"}
    standings = core.standings(at_day(31))
    board = leaderboard(standings, "shanghai")
    # Everyone is back at the cap; busy and penalised-old made as many safe deliveries, but
    # penalised-old's day of speeding earned no safe-riding-day points.
    day_points = SCORING.safe_riding_day_points
    per_day = {n: n * SCORING.safe_delivery_points + day_points for n in (1, 2, 3)}
    assert [(s.rider_id, s.score, s.points, s.deliveries) for s in board] == [
        ("busy", 100, 32 * per_day[3], 90),
        ("penalised-old", 100, 32 * per_day[3] - day_points, 90),
        ("steady", 100, 32 * per_day[2], 60)]
    assert [s.rider_id for s in role_models(standings, "shanghai", SETTINGS.role_models)] \
        == ["busy", "penalised-old", "steady"]
    by_rider = {s.rider_id: s for s in standings}
    assert (by_rider["rare"].deliveries, by_rider["rare"].eligible) == (30, False)
    assert (by_rider["penalised-recent"].penalised_alerts,
            by_rider["penalised-recent"].eligible) == (1, False)
    assert [s.rider_id for s in leaderboard(standings, "beijing")] == ["elsewhere"]
    values = [s.sort_value for s in board]
    assert values == sorted(values, reverse=True) and len(set(values)) == len(values)


def test_a_rider_penalised_is_off_the_board_for_the_period_and_eligible_again_after_it():
    core = KnightwatchCore(SETTINGS)
    feed(core, month(range(30)))
    within = core.standing("penalised-old", at_day(29))  # penalised 29 days ago
    assert within is not None
    assert (within.penalised_alerts, within.eligible) == (1, False)
    feed(core, month(range(30, 32)))
    core.close()
    after = core.standing("penalised-old", at_day(31))  # penalised 31 days ago
    assert after is not None
    assert (after.penalised_alerts, after.eligible) == (0, True)
