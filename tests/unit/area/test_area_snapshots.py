"""Weather, the congestion map and the congestion judge, rebuilt from their snapshots, carry on
exactly as the ones that were running, judged by the settings in force when rebuilt."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from schemas import AreaRiskChange, WeatherEvent
from streams.area.congestion import CongestionMap
from streams.area.judge import AreaJudge, AreaProgress
from streams.area.weather import WeatherBook
from streams.config.thresholds import Congestion, Weather
from streams.primitives.snapshot import SnapshotError, dumps, loads
from tests.builders import ORIGIN, T0, ride, weather

HOUR_S = 3600


def _at(t_s: float) -> int:
    return T0 + int(t_s * 1000)


def _through_json(snapshot: dict) -> dict:
    # As another process reads it: bytes, then plain JSON values (tuples are lists by now).
    return loads(dumps(snapshot))


@dataclass(frozen=True)
class _Forget:
    ts: int


# -- weather ---------------------------------------------------------------------------------

_CITIES = ("shanghai", "beijing", "nowhere")


def _weather_script() -> list:
    """Warnings and their re-issues, mild weather, heat, an exact duplicate, a day's gap, and
    forgetting as event time moves on."""
    return [
        weather(0, minutes=30), weather(1200, minutes=30),  # one warning, re-issued
        weather(600, city="beijing", level="yellow", condition="high_temperature",
                temperature_c=35.5),
        weather(3600, level="yellow", condition="rain", minutes=45),
        weather(0, minutes=30),  # an exact duplicate
        weather(5400, level="blue", condition="heavy_rain", precip_mm_h=22.5, wind_mps=9.0),
        _Forget(_at(6 * HOUR_S)),
        weather(26 * HOUR_S, level="red", condition="typhoon", minutes=120),
        _Forget(_at(27 * HOUR_S)),
        weather(27 * HOUR_S, city="beijing", condition="clear", temperature_c=38.0),
    ]


def _weather_probe(book: WeatherBook) -> list:
    """What readers see: the weather, and the severe warnings, at times over the script."""
    seen = []
    for city in _CITIES:
        for t_s in range(-600, 29 * HOUR_S, 900):
            seen += [book.in_force(city, _at(t_s)), book.severe_at(city, _at(t_s)),
                     book.severe_during(city, _at(t_s), _at(t_s + 1800))]
    return seen


def _weather_feed(book: WeatherBook, step: object) -> object:
    if isinstance(step, WeatherEvent):
        return book.add(step)
    assert isinstance(step, _Forget)
    book.forget_before(step.ts)
    return _weather_probe(book)


def _weather_driven(steps: list, rules: Weather | None = None) -> WeatherBook:
    book = WeatherBook(rules or Weather())
    for step in steps:
        _weather_feed(book, step)
    return book


@pytest.mark.parametrize("cut", [0, 2, 5, 7, 9])
def test_a_restored_weather_book_continues_like_the_original(cut):
    steps = _weather_script()
    original = _weather_driven(steps[:cut])
    restored = WeatherBook.restore(_through_json(original.snapshot()), Weather())
    assert restored._by_city == original._by_city  # the events and their duplicate keys
    assert _weather_probe(restored) == _weather_probe(original)

    rest = steps[cut:]
    assert ([_weather_feed(restored, s) for s in rest]
            == [_weather_feed(original, s) for s in rest])
    assert _weather_probe(restored) == _weather_probe(original)
    assert restored.snapshot() == original.snapshot()


@pytest.mark.parametrize("rules", [Weather(heat_c=35),
                                   Weather(severe_levels=("yellow", "orange", "red"))],
                         ids=["heat-from-35", "yellow-is-severe"])
def test_a_restored_weather_book_judges_severity_by_the_current_rules(rules):
    steps = _weather_script()
    original = _weather_driven(steps[:5])
    restored = WeatherBook.restore(_through_json(original.snapshot()), rules)
    assert restored.rules == rules
    # Beijing's yellow heat warning at 35.5 °C: severe by either new rule, not by the old.
    assert restored.severe_at("beijing", _at(900)) is not None
    assert original.severe_at("beijing", _at(900)) is None
    assert _weather_probe(restored) == _weather_probe(_weather_driven(steps[:5], rules))


# -- congestion ------------------------------------------------------------------------------

_RIDERS = ("c0", "c1", "c2", "c3")
_ELSEWHERE = (ORIGIN[0] + 0.03, ORIGIN[1])  # a street some 3 km north
# (from, to) minute, km/h, where: after the second jam everyone rides elsewhere, so its cells
# go stale and clear.
_PHASES = [(0, 60, 18.0, ORIGIN), (60, 76, 8.0, ORIGIN), (76, 90, 18.0, ORIGIN),
           (90, 100, 8.0, ORIGIN), (100, 130, 18.0, _ELSEWHERE)]
_END_MIN = 130


@dataclass(frozen=True)
class _Obs:
    rider: str
    cell: str
    ts: int
    speed: float


@dataclass(frozen=True)
class _Until:
    ts: int


def _observations() -> list[_Obs]:
    """Riders back and forth along one street: free flow long enough to learn the cells'
    usual speed, then two jams."""
    area, out = CongestionMap(Congestion()), []
    for start_min, end_min, speed, where in _PHASES:
        for rider in _RIDERS:
            for leg in range((end_min - start_min) // 2):
                for p in ride(rider, start_s=start_min * 60 + leg * 120, duration_s=116,
                              every_s=4, speed_kmh=speed, heading_deg=90 + 180 * (leg % 2),
                              start=where):
                    out.append(_Obs(rider, area.cell_of(p.lat, p.lon), p.ts, p.speed_kmh))
    return out


def _by_minute(observations: list[_Obs]) -> dict[int, list[_Obs]]:
    """Observations by the minute (1-based) they fall in, in event-time order."""
    out: dict[int, list[_Obs]] = {}
    for obs in sorted(observations, key=lambda o: o.ts):
        out.setdefault((obs.ts - T0) // 60_000 + 1, []).append(obs)
    return out


_BY_MINUTE = _by_minute(_observations())


def _congestion_script(shuffle_seed: int | None = None) -> list:
    """Observations, and every minute the clock that finalises windows ending by then; with a
    seed, each minute's observations arrive in another order."""
    steps: list = []
    late = _Obs("c0", _BY_MINUTE[1][0].cell, _at(600), 18.0)
    for minute in range(1, _END_MIN + 1):
        batch = list(_BY_MINUTE.get(minute, []))
        if shuffle_seed is not None:
            random.Random(shuffle_seed + minute).shuffle(batch)
        steps += batch
        if minute == 50:
            steps.append(late)  # its window was judged long ago
        steps.append(_Until(_at(minute * 60)))
        if minute % 10 == 0:
            steps.append(_Forget(_at(minute * 60 + 8 * HOUR_S - 1800)))
    return steps


def _cut_at(steps: list, minute: int) -> int:
    """Just after the clock reached `minute`: whatever order each minute arrived in, the same
    input is behind."""
    return next((i + 1 for i, step in enumerate(steps)
                 if isinstance(step, _Until) and step.ts == _at(minute * 60)), 0)


def _congestion_feed(area: CongestionMap, step: object, hand_over: bool = False) -> object:
    """What the map says: judgements, or (handing over to a judge) its shares of windows."""
    if isinstance(step, _Obs):
        area.observe(step.rider, step.cell, step.ts, step.speed)
        return None
    if isinstance(step, _Forget):
        area.forget_before(step.ts)
        return None
    if hand_over:
        return area.take_final(step.ts)
    out = area.finalize(step.ts)
    return out, [area.congested(c.cell, c.window_start) for c in area.newly_congested]


def _congestion_driven(steps: list, cfg: Congestion | None = None,
                       hand_over: bool = False) -> CongestionMap:
    area = CongestionMap(cfg or Congestion())
    for step in steps:
        _congestion_feed(area, step, hand_over)
    return area


@pytest.mark.parametrize("hand_over", [False, True], ids=["judging", "handing-over"])
@pytest.mark.parametrize("minute", [0, 30, 62, 77, 95, 110])
def test_a_restored_congestion_map_continues_like_the_original(minute, hand_over):
    steps = _congestion_script()
    cut = _cut_at(steps, minute)
    original = _congestion_driven(steps[:cut], hand_over=hand_over)
    restored = CongestionMap.restore(_through_json(original.snapshot()), Congestion())
    assert restored.snapshot() == original.snapshot()

    rest = steps[cut:]
    said = [_congestion_feed(original, s, hand_over) for s in rest]
    assert [_congestion_feed(restored, s, hand_over) for s in rest] == said
    assert restored.snapshot() == original.snapshot()


def _changes(said: list) -> list[tuple[str, str]]:
    return [(c.cell, c.state) for out in said if out for c in out[0]
            if isinstance(c, AreaRiskChange)]


def test_the_script_congests_clears_and_goes_stale():
    area = CongestionMap(Congestion())
    changes = _changes([_congestion_feed(area, s) for s in _congestion_script()])
    first_cell = changes[0][0]
    assert [state for cell, state in changes if cell == first_cell] == [
        "congested", "clear", "congested", "clear"]
    assert area.dropped_late == 1


def test_a_restored_congestion_map_judges_by_the_current_threshold():
    # State taken after the usual speed was learned; 8 km/h is congested below half of 18
    # km/h, but not below 40% of it.
    steps = _congestion_script()
    cut = _cut_at(steps, 55)
    lenient = Congestion(congested_ratio=0.4)
    original = _congestion_driven(steps[:cut])
    restored = CongestionMap.restore(_through_json(original.snapshot()), lenient)
    fresh = _congestion_driven(steps[:cut], lenient)
    rest = steps[cut:]
    assert restored.cfg == lenient
    by_restored = [_congestion_feed(restored, s) for s in rest]
    assert by_restored == [_congestion_feed(fresh, s) for s in rest]
    assert "congested" in {state for _, state in _changes(
        [_congestion_feed(original, s) for s in rest])}
    assert _changes(by_restored) == []


# -- the judge -------------------------------------------------------------------------------

_SOURCE_OF = {"c0": 0, "c1": 0, "c2": 1, "c3": 1}


def _progress_messages() -> list[AreaProgress]:
    """Two rider partitions' progress; the second reports only every 7 minutes, so the judge
    holds the first one's shares of windows meanwhile, and one message is sent twice, as by a
    source restarted from its checkpoint."""
    sources = [CongestionMap(Congestion()), CongestionMap(Congestion())]
    out = []
    for step in _congestion_script():
        if isinstance(step, _Obs):
            sources[_SOURCE_OF[step.rider]].observe(step.rider, step.cell, step.ts, step.speed)
        elif isinstance(step, _Until):
            minute = (step.ts - T0) // 60_000
            for source in (0, 1) if minute % 7 == 0 or minute == _END_MIN else (0,):
                partials = tuple(sources[source].take_final(step.ts))
                out.append(AreaProgress(source, step.ts, partials))
            if minute == 64:
                out.append(out[-1])
    return out


_MESSAGES = _progress_messages()
_RESENT = next(i for i in range(1, len(_MESSAGES)) if _MESSAGES[i] == _MESSAGES[i - 1])


def _judge_driven(messages: list[AreaProgress], cfg: Congestion | None = None) -> AreaJudge:
    judge = AreaJudge(cfg or Congestion(), judge_id=3, sources=2)
    for message in messages:
        judge.on_progress(message)
    return judge


def _message_cut(minute: int) -> int:
    return sum(1 for m in _MESSAGES if m.until_ts <= _at(minute * 60))


@pytest.mark.parametrize("cut", [0, _message_cut(8), _message_cut(54), _RESENT,
                                 _message_cut(72), _message_cut(98), len(_MESSAGES)])
def test_a_restored_judge_continues_like_the_original(cut):
    original = _judge_driven(_MESSAGES[:cut])
    restored = AreaJudge.restore(_through_json(original.snapshot()), Congestion(), 3, 2)
    assert restored.snapshot() == original.snapshot()

    rest = _MESSAGES[cut:]
    said = [original.on_progress(m) for m in rest]
    assert [restored.on_progress(m) for m in rest] == said
    assert restored.snapshot() == original.snapshot()


def test_the_judge_script_judges_congestion():
    judge, said, judged = AreaJudge(Congestion(), judge_id=3, sources=2), [], []
    for message in _MESSAGES:
        decided, judgement = judge.on_progress(message)
        said.append((decided,))
        judged += judgement.congested if judgement else ()
    assert {state for _, state in _changes(said)} == {"congested", "clear"} and judged
    assert judge.progress == {0: _at(_END_MIN * 60), 1: _at(_END_MIN * 60)}


def test_a_restored_judge_judges_by_the_current_threshold():
    cut, lenient = _message_cut(55), Congestion(congested_ratio=0.4)
    restored = AreaJudge.restore(
        _through_json(_judge_driven(_MESSAGES[:cut]).snapshot()), lenient, 3, 2)
    fresh = _judge_driven(_MESSAGES[:cut], lenient)
    rest = _MESSAGES[cut:]
    assert [restored.on_progress(m) for m in rest] == [fresh.on_progress(m) for m in rest]
    assert restored.map.cfg == lenient


def test_another_judges_state_is_refused():
    with pytest.raises(SnapshotError, match="judge 3"):
        AreaJudge.restore(_judge_driven(_MESSAGES[:50]).snapshot(), Congestion(), 4, 2)


# -- every kind ------------------------------------------------------------------------------

Case = tuple[Callable[[], dict], Callable[[dict], Any]]

CASES: dict[str, Case] = {
    "weather": (lambda: _weather_driven(_weather_script()[:6]).snapshot(),
                lambda data: WeatherBook.restore(data, Weather())),
    "congestion": (
        lambda: _congestion_driven(_congestion_script()[:_cut_at(_congestion_script(), 77)])
        .snapshot(),
        lambda data: CongestionMap.restore(data, Congestion())),
    "judge": (lambda: _judge_driven(_MESSAGES[:_message_cut(54)]).snapshot(),
              lambda data: AreaJudge.restore(data, Congestion(), 3, 2)),
}


@pytest.mark.parametrize("name", CASES)
def test_the_same_state_gives_the_same_bytes(name):
    make, restore = CASES[name]
    first, second = make(), make()
    assert dumps(first) == dumps(second)
    assert dumps(restore(_through_json(first)).snapshot()) == dumps(first)


def test_the_same_congestion_picture_in_another_arrival_order_gives_the_same_bytes():
    minute = 77
    in_order = _congestion_script()
    shuffled = _congestion_script(shuffle_seed=7)
    assert shuffled != in_order
    assert (dumps(_congestion_driven(shuffled[:_cut_at(shuffled, minute)]).snapshot())
            == dumps(_congestion_driven(in_order[:_cut_at(in_order, minute)]).snapshot()))


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("change", [{"kind": "scoring.safety_score"}, {"v": 2}, {"v": "1"}])
def test_another_kind_or_an_unknown_version_is_refused(name, change):
    make, restore = CASES[name]
    with pytest.raises(SnapshotError):
        restore({**make(), **change})
