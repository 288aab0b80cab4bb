"""Every detection threshold, with its default and the reason for it.

The descriptions are the documentation: `knightwatch settings` prints them as the README table.
"""

from typing import Any, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.inputs import WarningLevel, WeatherCondition
from streams.config.cities import CitySettings

# allow_inf_nan=False: TOML and environment variables accept `inf` and `nan`, which pass every
# bound (`inf >= 0`; every comparison with NaN is false) and switch a rule off or on for good.
_FROZEN = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

# The farthest a fix may be from a one-way segment and still be on it: the zones index looks
# this far around a fix (streams.primitives.zones), and 200 m away is another street anyway.
ONE_WAY_MAX_MATCH_M = 200.0


def conflict(message: str) -> PydanticCustomError:
    """Settings of one model that contradict each other (the message names them). Raised from
    model validators, so a contradiction stops a run at start like any bad setting."""
    return PydanticCustomError("settings_conflict", message)


class StreamTiming(BaseModel):
    model_config = _FROZEN

    allowed_lateness_s: float = Field(
        300,
        gt=0,
        description="How late (event time) a record may arrive and still count. Phones buffer "
        "while offline and upload minutes later; 5 min covers the usual tunnel/elevator gap. "
        "Reminders do not wait for it (they leave with the fix that meets their rule); final "
        "records (score deltas, decisions, subsidies, area risk) do.",
    )
    realtime_max_age_s: float = Field(
        30,
        ge=0,
        description="A reminder is marked real-time only when the fix that met its rule is at "
        "most this far behind the stream's event time: a voice reminder about riding half a "
        "minute ago is still useful, one about an uploaded offline stretch is not.",
    )
    clock_window: int = Field(
        64,
        ge=1,
        description="The stream's clock is the median event time of this many latest fixes, "
        "not the newest one: a phone whose clock is hours fast (seen in the field) then cannot "
        "make everyone else's records late unless its records are half of what arrives. 64 "
        "fixes is under a second of a busy partition; a lone rider's clock runs half a window "
        "(~2 min at one ping per 4 s) behind its newest fix, well within the lateness.",
    )
    max_clock_ahead_s: float = Field(
        120,
        gt=0,
        description="A record dated more than this after its arrival (the Kafka record's "
        "timestamp, or a replay envelope's `timestamp`) is dead-lettered as `clock ahead` and "
        "moves nothing: a phone cannot report the future, and 2 min leaves room for a phone "
        "clock that drifted between network time syncs.",
    )
    duplicate_memory_s: float = Field(
        60,
        ge=0,
        description="How long (event time) a processed record is remembered to recognise a "
        "redelivered copy. Within the lateness bound a copy always meets its original still "
        "buffered; this only spares dead letters for copies redelivered a little later.",
    )
    idle_release_s: float = Field(
        300,
        ge=0,
        description="Extra wait, on top of the lateness, before a rider who has gone quiet has "
        "their buffered events processed using the stream's own event time.",
    )
    evict_after_s: float = Field(
        1800,
        gt=0,
        description="A rider with nothing for this long (the area clock's event time), nothing "
        "buffered and no order awaiting its decision leaves memory for their snapshot, and is "
        "rebuilt from it on their next record: memory follows active riders. 30 min outlasts "
        "a meal break; the snapshot keeps score, fatigue day totals and cooldowns.",
    )


class GpsHygiene(BaseModel):
    model_config = _FROZEN

    input_frame: Literal["wgs84", "gcj02"] = Field(
        "wgs84",
        description="The frame of incoming ping coordinates: wgs84 (GNSS, most phone OS "
        "location APIs) or gcj02 (what Chinese map SDKs such as Amap and Tencent return, "
        "offset by a few hundred metres in mainland China). gcj02 pings are turned into "
        "WGS-84 on arrival, as zones, one-way streets and distances are WGS-84.",
    )

    max_accuracy_m: float = Field(
        50,
        gt=0,
        description="Fixes with a worse reported accuracy are dropped: phone fixes in urban "
        "canyons degrade past 50 m and then move more than a rider does in 5 s.",
    )
    teleport_speed_kmh: float = Field(
        80,
        gt=0,
        description="An implied speed between fixes above this is a GPS jump, not riding: "
        "roughly three times the 25 km/h e-bike cap, beyond any e-bike.",
    )
    jump_min_distance_m: float = Field(
        40,
        ge=0,
        description="Below this displacement an implied speed is not judged a jump, because "
        "ordinary 5-10 m fix noise over a 1 s interval already implies 30+ km/h.",
    )
    relocate_after_fixes: int = Field(
        2,
        ge=1,
        description="Consecutive fixes consistent with each other but not with the old track "
        "after which the track re-anchors at the new place (GPS re-acquired after a gap).",
    )
    derived_speed_min_span_s: float = Field(
        10,
        gt=0,
        description="Without device speed, speed is distance over at least this span: 5 m fix "
        "noise over 10 s is under 2 km/h of error, over 1 s it would be 18 km/h.",
    )
    derived_speed_max_span_s: float = Field(
        60,
        gt=0,
        description="Position-derived speed is not computed across a longer gap between fixes.",
    )
    anomaly_alert_cooldown_s: float = Field(
        600,
        ge=0,
        description="At most one gps_anomaly info alert per rider in this period.",
    )

    @model_validator(mode="after")
    def _spans_ordered(self) -> Self:
        # Fixes older than the max span are forgotten, so a longer min span never finds one.
        if self.derived_speed_min_span_s > self.derived_speed_max_span_s:
            raise conflict(
                f"derived_speed_min_span_s ({self.derived_speed_min_span_s:g}) is above "
                f"derived_speed_max_span_s ({self.derived_speed_max_span_s:g}): speed would "
                "never be derived from positions")
        return self


class Speeding(BaseModel):
    model_config = _FROZEN

    national_cap_kmh: float = Field(
        25,
        gt=0,
        description="GB 17761-2018: maximum design speed of an electric bicycle in China.",
    )
    tolerance_kmh: float = Field(
        3,
        ge=0,
        description="Allowance above the limit before a fix counts as speeding: device speed "
        "error is 1-2 km/h and pedelecs coast slightly past their 25 km/h assist cut-off.",
    )
    min_duration_s: float = Field(
        10,
        ge=0,
        description="An episode must last this long (first to last fast fix) to count, so a "
        "single fast fix or a short downhill roll never does.",
    )
    max_gap_s: float = Field(
        30, gt=0, description="A gap between fast fixes longer than this ends the episode."
    )
    cooldown_s: float = Field(
        120,
        ge=0,
        description="After an alert, further speeding within this time belongs to the same "
        "reminder: one voice reminder per episode, not one per ping.",
    )
    max_episode_s: float = Field(
        300,
        gt=0,
        description="A longer episode is reported at this length and a new one starts, so a "
        "rider speeding for an hour is not reported only once at the end.",
    )
    critical_excess_kmh: float = Field(
        10,
        gt=0,
        description="Peak excess over the limit from which the alert is critical rather than a "
        "warning (35 km/h under the national cap).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # An episode is cut at max_episode_s, so it can never last min_duration_s beyond that.
        if self.min_duration_s > self.max_episode_s:
            raise conflict(f"min_duration_s ({self.min_duration_s:g}) is above max_episode_s "
                           f"({self.max_episode_s:g}): no episode would ever be reported")
        # Only an excess above the tolerance is speeding at all.
        if self.critical_excess_kmh <= self.tolerance_kmh:
            raise conflict(f"critical_excess_kmh ({self.critical_excess_kmh:g}) is not above "
                           f"tolerance_kmh ({self.tolerance_kmh:g}): every speeding alert would "
                           "be critical")
        return self


class HarshManoeuvres(BaseModel):
    model_config = _FROZEN

    max_window_s: float = Field(
        3, gt=0, description="Speed or heading changes are measured over at most this span."
    )
    min_speed_kmh: float = Field(
        10,
        ge=0,
        description="Below this speed changes are standing-still noise and never count.",
    )
    braking_mps2: float = Field(
        3.5,
        gt=0,
        description="Deceleration from which braking is harsh: normal bicycle braking is "
        "1.5-3 m/s², emergency stops exceed 3.5 m/s².",
    )
    acceleration_mps2: float = Field(
        2.5,
        gt=0,
        description="Acceleration from which a launch is harsh: a 250 W pedelec reaches 25 "
        "km/h at well under 2 m/s²; more than 2.5 m/s² needs an illegal high-power motor.",
    )
    cornering_mps2: float = Field(
        3.0,
        gt=0,
        description="Lateral acceleration (speed × turn rate) from which a turn is harsh; "
        "comfortable cycling turns stay under 2 m/s².",
    )
    min_segment_m: float = Field(
        15,
        gt=0,
        description="Without device heading, a course (for wrong-way riding) is taken from "
        "positions only over at least this distance: 5 m of fix noise swings short bearings "
        "wildly. Cornering is judged from device heading only, for the same reason.",
    )
    confirm_span_s: float = Field(
        6,
        gt=2,
        le=8,
        description="Positions up to this long after a device speed change (and 4 s before it) "
        "decide whether the rider really changed speed or the wheel sensor dropped out: over "
        "2 s, 3-10 m of drifting phone noise is as large as the distance a stop saves; over "
        "6 s a stop from 24 km/h saves 40 m.",
    )
    decisive_margin_m: float = Field(
        8,
        gt=0,
        description="Positions that favour the device's reading of a change by at least this "
        "many metres confirm it at once, 2 s after the change, instead of after "
        "confirm_span_s: a sensor dropout from 25 km/h is 14 m the other way over 2 s, and "
        "drifting fix noise moves a position a few metres in 2 s.",
    )
    cooldown_s: float = Field(
        10, ge=0, description="One alert per manoeuvre kind within this time."
    )


class RestrictedZones(BaseModel):
    model_config = _FROZEN

    reentry_cooldown_s: float = Field(
        300,
        ge=0,
        description="Riding out of and back into the same no-entry zone within this time "
        "raises no second alert (fixes near the border flicker in and out).",
    )
    min_speed_kmh: float = Field(
        5, ge=0, description="Walking a bike into a zone at below this speed is not riding."
    )
    # Bounds of the zones file (--zones, KNIGHTWATCH_ZONES_FILE): it comes from outside, every
    # worker holds it in memory and a zone's outline is tested for each fix near it.
    max_file_mb: float = Field(
        10,
        gt=0,
        description="Largest zones file read (MB). A city's zones and one-way streets take a few "
        "MB; parsing costs ~15 times the file's size in memory, in every worker.",
    )
    max_features: int = Field(
        20_000,
        ge=1,
        description="Most features in the zones file: a large city's no-entry zones, school "
        "zones and one-way streets number in the thousands; each costs a few KB per worker.",
    )
    max_vertices: int = Field(
        1_000,
        ge=4,
        description="Most positions in one feature of the zones file. Each fix inside a zone's "
        "bounding box tests every vertex, ~0.2 µs each and four times per fix (two detectors, "
        "two passes): ~0.7 ms at 1,000, many times the ~40 µs a record costs. Outlines "
        "simplified to ~10 m stay well under it.",
    )
    max_area_km2: float = Field(
        2_500,
        gt=0,
        description="Largest area of one zone (km²): 50 km × 50 km holds a whole city district. "
        "A bigger zone is a mistake (a country- or world-sized polygon); a city-wide limit "
        "is speeding.national_cap_kmh.",
    )


class WrongWay(BaseModel):
    model_config = _FROZEN

    match_distance_m: float = Field(
        15, gt=0, le=ONE_WAY_MAX_MATCH_M,
        description="A fix within this distance of a one-way segment is on it (at most 200 m: "
        "the zones index looks no farther, and that far away is another street).",
    )
    opposite_within_deg: float = Field(
        45,
        gt=0,
        lt=90,
        description="Heading within this angle of the reverse of the segment's direction is "
        "riding against it.",
    )
    min_speed_kmh: float = Field(
        8, ge=0, description="Below this speed headings are unreliable and riders may walk."
    )
    min_duration_s: float = Field(
        10, ge=0, description="Against-the-flow riding must last this long to count."
    )
    cooldown_s: float = Field(300, ge=0, description="One alert per rider within this time.")


class PhoneUse(BaseModel):
    model_config = _FROZEN

    min_speed_kmh: float = Field(
        10,
        ge=0,
        description="An order action confirmed in the app while moving faster than this, before "
        "and after the tap, means the phone was handled while riding.",
    )
    max_ping_gap_s: float = Field(
        15,
        gt=0,
        description="Speed is judged from fixes at most this far before and after the action.",
    )


class Fatigue(BaseModel):
    model_config = _FROZEN

    moving_speed_kmh: float = Field(
        5, ge=0, description="Faster than this a rider is riding rather than waiting/walking."
    )
    break_min_s: float = Field(
        1200,
        gt=0,
        description="A stop at least this long (20 min) is a rest that resets continuous riding.",
    )
    continuous_warning_s: float = Field(
        4 * 3600,
        gt=0,
        description="Continuous riding without a break beyond 4 h raises a warning.",
    )
    daily_critical_s: float = Field(
        8 * 3600,
        gt=0,
        description="Riding time in one local day beyond 8 h raises a critical alert (Meituan "
        "reminds riders at 8 h and forces rest at 12 h).",
    )
    max_interval_s: float = Field(
        120,
        gt=0,
        description="Time between two moving fixes counts as riding only up to this gap.",
    )
    day_utc_offset_h: float = Field(
        8, ge=-12, le=14, description="Offset of the local day boundary (China Standard Time)."
    )

    @model_validator(mode="after")
    def _gap_is_not_a_break(self) -> Self:
        # A gap counted as riding must not also be a rest that ends the stretch.
        if self.max_interval_s > self.break_min_s:
            raise conflict(f"max_interval_s ({self.max_interval_s:g}) is above break_min_s "
                           f"({self.break_min_s:g}): a gap would count as riding and as a rest")
        return self


class Weather(BaseModel):
    model_config = _FROZEN

    severe_levels: tuple[str, ...] = Field(
        ("orange", "red"),
        description="CMA warning colours that count as severe weather (orange: serious, red: "
        "extremely serious impact).",
    )
    severe_conditions: tuple[str, ...] = Field(
        ("rainstorm", "typhoon", "blizzard", "ice"),
        description="Conditions that count as severe whatever the colour: each makes two-wheel "
        "riding markedly more dangerous.",
    )
    heat_c: float = Field(
        37,
        description="Temperature from which heat is severe: CMA's orange high-temperature "
        "warning is 37 °C.",
    )

    @model_validator(mode="after")
    def _known_values(self) -> Self:
        # Compared with the contract's values as they are: a typo ("Orange") would match none.
        levels = [v for v in get_args(WarningLevel) if v != "none"]
        conditions = get_args(WeatherCondition)
        for name, values, known in (("severe_levels", self.severe_levels, levels),
                                    ("severe_conditions", self.severe_conditions, conditions)):
            unknown = [v for v in values if v not in known]
            if unknown:
                raise conflict(f"{name}: {', '.join(map(repr, unknown))} not among "
                               f"{', '.join(known)}")
        return self


class Congestion(BaseModel):
    model_config = _FROZEN

    h3_resolution: int = Field(
        9, ge=6, le=11,
        description="H3 grid resolution of the congestion map: cells at 9 are ~350 m across, a "
        "few blocks.",
    )
    window_s: float = Field(
        300, gt=0,
        description="Tumbling event-time window of the speed picture: 5 min smooths traffic "
        "lights while still following a jam as it forms.",
    )
    congested_ratio: float = Field(
        0.5, gt=0, lt=1,
        description="A cell is congested when its window mean speed is below this share of its "
        "usual speed.",
    )
    clear_ratio: float = Field(
        0.7, gt=0, le=1,
        description="A congested cell clears when its mean speed is back above this share "
        "(hysteresis, so a cell does not flicker).",
    )
    default_usual_kmh: float = Field(
        18, gt=0,
        description="Usual speed assumed for a cell without history: typical e-bike delivery "
        "speed in Chinese cities, so on a cold start a street ridden at walking pace is congested.",
    )
    min_history_windows: int = Field(
        12, ge=1,
        description="Windows of a cell's own history needed before its learned usual speed "
        "replaces the default.",
    )
    usual_ewma_alpha: float = Field(
        0.05, gt=0, le=1,
        description="Weight of each uncongested window in a cell's usual speed (moving average).",
    )
    min_riders: int = Field(
        3, ge=1, description="Distinct riders needed in a cell window to judge it."
    )
    moving_above_kmh: float = Field(
        2, ge=0,
        description="Fixes slower than this are riders standing (waiting at a merchant), not "
        "traffic, and are left out of the picture.",
    )
    stale_windows: int = Field(
        3, ge=1,
        description="A congested cell with no riders for this many windows is released.",
    )

    @model_validator(mode="after")
    def _ratios_ordered(self) -> Self:
        # Equal ratios turn the hysteresis off; a clear ratio below the congested one would
        # clear a cell that is still congested.
        if self.congested_ratio > self.clear_ratio:
            raise conflict(f"congested_ratio ({self.congested_ratio:g}) is above clear_ratio "
                           f"({self.clear_ratio:g}): a congested cell would clear while still "
                           "congested")
        return self


class Orders(BaseModel):
    model_config = _FROZEN

    merchant_explain_share: float = Field(
        0.8, gt=0,
        description="merchant_delay applies when the wait from arrival at the merchant to food "
        "ready covers at least this share of the lateness ('most of late_by_s').",
    )
    congestion_explain_share: float = Field(
        0.5, gt=0,
        description="congestion applies when the time the rider spent in congested cells during "
        "the order is at least this share of the lateness.",
    )
    slowdown_explain_share: float = Field(
        0.5, gt=0,
        description="safety_slowdown applies when the time lost by riding slower after a "
        "speeding or weather reminder is at least this share of the lateness.",
    )
    min_reference_riding_s: float = Field(
        60, gt=0,
        description="Riding before a reminder needed to use its speed as the reference for the "
        "slowdown; otherwise the national cap is the reference.",
    )
    max_age_s: float = Field(
        6 * 3600, gt=0,
        description="An order not delivered or cancelled after this long is forgotten.",
    )
    max_promise_s: float = Field(
        6 * 3600, gt=0,
        description="An order event whose promised_ts is more than this after the order's "
        "acceptance is dead-lettered, not judged: food is promised within the hour and even a "
        "scheduled order is accepted only hours before it is due, so a deadline further out is "
        "corrupt (it would make any delivery look on time). 6 h is also how long an open order "
        "is remembered (max_age_s): a later deadline could never be judged.",
    )


OrderClass = Literal["standard", "premium", "long_distance"]
ORDER_CLASSES: tuple[OrderClass, ...] = get_args(OrderClass)


class TierPrivileges(BaseModel):
    """What a rider of one tier may take: dispatch asks it before offering an order."""

    model_config = _FROZEN

    order_classes: tuple[OrderClass, ...] = Field(
        description="Order classes the tier may be offered (standard, premium, long_distance).")
    max_concurrent_orders: int = Field(ge=0, le=10, description="Orders carried at once.")
    priority_dispatch: bool = Field(description="Offered orders before other tiers.")
    refresher_course: bool = Field(description="Must take the safety refresher course.")

    @model_validator(mode="after")
    def _none_means_none(self) -> Self:
        # A tier with order classes but no order slot (or the reverse) is a half-set setting.
        if bool(self.order_classes) != (self.max_concurrent_orders > 0):
            raise conflict(f"order_classes {list(self.order_classes)} and "
                           f"max_concurrent_orders ({self.max_concurrent_orders}) must both "
                           "allow orders or both allow none")
        return self


class Scoring(BaseModel):
    model_config = _FROZEN

    start_score: int = Field(100, ge=0, description="Score of a rider never seen before.")
    max_score: int = Field(100, gt=0, description="The score never exceeds this cap.")
    penalty_warning: int = Field(
        3, ge=0, description="Points lost for a penalised alert of severity warning."
    )
    penalty_critical: int = Field(
        8, ge=0, description="Points lost for a penalised alert of severity critical."
    )
    tier_a_min: int = Field(
        90, description="Tier A (score at least this): full privileges, priority dispatch."
    )
    tier_b_min: int = Field(
        75, description="Tier B: normal dispatch, no premium or long-distance orders."
    )
    tier_c_min: int = Field(
        60, description="Tier C: at most 2 concurrent orders and a safety refresher course."
    )
    # Tier D is everything below tier_c_min: no new orders until the course is passed.
    privileges_a: TierPrivileges = Field(
        TierPrivileges(order_classes=ORDER_CLASSES, max_concurrent_orders=3,
                       priority_dispatch=True, refresher_course=False),
        description="Tier A: every order class, three at once (a delivery bag's usual load), "
        "priority dispatch.")
    privileges_b: TierPrivileges = Field(
        TierPrivileges(order_classes=("standard",), max_concurrent_orders=3,
                       priority_dispatch=False, refresher_course=False),
        description="Tier B: normal dispatch, no premium or long-distance orders (the ones "
        "that tempt a rider to hurry).")
    privileges_c: TierPrivileges = Field(
        TierPrivileges(order_classes=("standard",), max_concurrent_orders=2,
                       priority_dispatch=False, refresher_course=True),
        description="Tier C: at most 2 concurrent orders and the safety refresher course.")
    privileges_d: TierPrivileges = Field(
        TierPrivileges(order_classes=(), max_concurrent_orders=0,
                       priority_dispatch=False, refresher_course=True),
        description="Tier D: no new orders until the course is passed.")
    memory_days: float = Field(
        30, gt=0,
        description="How long a rider's applied deltas and penalties are remembered: a review "
        "dismissing an alert older than this is no longer compensated.",
    )
    recovery_points: int = Field(
        1, ge=0,
        description="Earned by an on-time (or exempt) delivery with no penalised alert during it.",
    )
    late_penalty: int = Field(2, ge=0, description="Points lost for a late, non-exempt delivery.")
    late_penalty_long: int = Field(
        4, ge=0, description="Points lost for a non-exempt delivery later than late_long_s."
    )
    late_long_s: float = Field(
        900, gt=0, description="Lateness from which the long-lateness penalty applies."
    )
    safe_delivery_points: int = Field(
        10, ge=0,
        description="Safety points (the redeemable balance beside the capped score) earned by "
        "an on-time or exempt delivery with no penalised alert during it: unlike the score, "
        "they keep counting for riders already at the cap. 10 a delivery makes a typical "
        "reward (a few hundred points) a few weeks of safe riding.",
    )
    severe_weather_points: int = Field(
        20, ge=0,
        description="Safety points added to a safe delivery's made under a severe-weather "
        "warning (one that also earns a weather subsidy): riding safely then is harder and "
        "worth more.",
    )

    safe_riding_day_points: int = Field(
        20, ge=0,
        description="Safety points earned by a safe riding day: a local calendar day (the "
        "rider's city's time zone) with at least safe_riding_day_min_riding_s of riding and no "
        "penalised alert. Decided once the day is final in event time. 20, two safe "
        "deliveries' worth: a whole day ridden safely counts beside the deliveries in it.",
    )
    safe_riding_day_min_riding_s: float = Field(
        3600, gt=0,
        description="Riding (moving fixes, counted as fatigue counts them) a day needs to earn "
        "safe-riding-day points: a few minutes on the bike prove nothing about a day; an hour "
        "of riding is a short shift's worth.",
    )

    @model_validator(mode="before")
    @classmethod
    def _privileges_over_their_defaults(cls, data: Any) -> Any:
        # One privilege set (one environment variable) changes that field alone: the tier's
        # other privileges keep their defaults, as every other setting does.
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name in ("privileges_a", "privileges_b", "privileges_c", "privileges_d"):
            given = merged.get(name)
            if isinstance(given, dict):
                merged[name] = {**cls.model_fields[name].default.model_dump(), **given}
        return merged

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        cap = self.max_score
        # A start above the cap reads as a first delta of start - cap with no cause.
        if not 0 <= self.start_score <= cap:
            raise conflict(f"start_score ({self.start_score}) must be within 0..max_score "
                           f"({cap})")
        tiers = (self.tier_c_min, self.tier_b_min, self.tier_a_min)
        if not 0 <= tiers[0] < tiers[1] < tiers[2] <= cap:
            raise conflict(
                f"tier thresholds must rise within 0..max_score ({cap}): tier_c_min "
                f"({tiers[0]}) < tier_b_min ({tiers[1]}) < tier_a_min ({tiers[2]})")
        tiers_down = (self.privileges_a, self.privileges_b, self.privileges_c,
                      self.privileges_d)
        for name, higher, lower in zip("bcd", tiers_down, tiers_down[1:], strict=False):
            # A lower score must never open what a higher one closes.
            if not (set(lower.order_classes) <= set(higher.order_classes)
                    and lower.max_concurrent_orders <= higher.max_concurrent_orders
                    and higher.priority_dispatch >= lower.priority_dispatch):
                raise conflict(f"privileges_{name} allow more than the tier above them")
        if self.privileges_d.max_concurrent_orders:
            raise conflict("privileges_d must allow no orders: tier D takes none until the "
                           "course is passed")
        if self.penalty_critical < self.penalty_warning:
            raise conflict(f"penalty_critical ({self.penalty_critical}) is below "
                           f"penalty_warning ({self.penalty_warning})")
        if self.late_penalty_long < self.late_penalty:
            raise conflict(f"late_penalty_long ({self.late_penalty_long}) is below "
                           f"late_penalty ({self.late_penalty})")
        return self


class RoleModels(BaseModel):
    model_config = _FROZEN

    period_days: int = Field(
        30, ge=1, le=366,
        description="Rolling period over which role models are judged, in local calendar days "
        "(the current day and those before it): a month, as the programme names them monthly. "
        "A penalised alert keeps a rider off the board for this long. Each rider keeps one "
        "small record per day ridden in it, so at most a year.",
    )
    min_deliveries: int = Field(
        60, ge=1,
        description="Deliveries in the period a role model needs: about two a day over a month, "
        "so a rider with a handful of careful orders is not named above full-time riders.",
    )
    per_city: int = Field(
        10, ge=1,
        description="How many riders each city names as its safety role models (the top of "
        "its leaderboard: highest score, then most safety points).",
    )


class DetectionSettings(BaseModel):
    """All thresholds of the detection core."""

    model_config = _FROZEN

    timing: StreamTiming = StreamTiming()
    gps: GpsHygiene = GpsHygiene()
    speeding: Speeding = Speeding()
    harsh: HarshManoeuvres = HarshManoeuvres()
    zones: RestrictedZones = RestrictedZones()
    wrong_way: WrongWay = WrongWay()
    phone_use: PhoneUse = PhoneUse()
    fatigue: Fatigue = Fatigue()
    weather: Weather = Weather()
    congestion: Congestion = Congestion()
    orders: Orders = Orders()
    scoring: Scoring = Scoring()
    role_models: RoleModels = RoleModels()
    cities: CitySettings = CitySettings()

    @model_validator(mode="after")
    def _dismissals_outlast_the_period(self) -> Self:
        # A rider's score remembers dismissed alerts for memory_days; over a longer period an
        # alert a reviewer dismissed would count against the rider again.
        if self.role_models.period_days > self.scoring.memory_days:
            raise conflict(f"role_models.period_days ({self.role_models.period_days}) is above "
                           f"scoring.memory_days ({self.scoring.memory_days:g}): alerts "
                           "dismissed earlier in the period would count again")
        return self
