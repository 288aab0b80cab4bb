from streams.config.thresholds import DetectionSettings
from streams.pipeline.processor import KnightwatchCore
from tests.builders import alerts, of, ride, run_core


def _crowd(speed_kmh: float, start_s: float, riders: int = 4, duration_s: float = 600) -> list:
    # Riders on the same short street, back and forth, so they stay in one or two cells.
    out = []
    for r in range(riders):
        for leg in range(int(duration_s // 120)):
            out += ride(f"c{r}", start_s=start_s + leg * 120, duration_s=116, every_s=4,
                        speed_kmh=speed_kmh, heading_deg=90 if leg % 2 == 0 else 270)
    return out


def test_a_slowed_down_cell_is_marked_and_released():
    # 10 minutes crawling at walking pace, then 20 minutes at normal speed.
    events = sorted(_crowd(4, 0) + _crowd(18, 600, duration_s=1200), key=lambda e: e.ts)
    out = run_core(events)
    changes = of(out, "area_risk")
    states = [c.state for c in changes]
    assert "congested" in states and "clear" in states
    first = next(c for c in changes if c.state == "congested")
    assert first.mean_speed_kmh < 0.5 * first.usual_speed_kmh and first.riders >= 3
    cleared = [c for c in changes if c.state == "clear" and c.cell == first.cell]
    assert cleared and cleared[0].ts > first.ts
    # Riders in a congested cell are told, once per cell and congestion episode.
    congestion_alerts = alerts(out, "congestion")
    assert {a.rider_id for a in congestion_alerts} == {"c0", "c1", "c2", "c3"}
    told = [(a.rider_id, a.evidence["cell"]) for a in congestion_alerts]
    assert len(told) == len(set(told))


def test_normal_speed_is_not_congestion():
    assert of(run_core(sorted(_crowd(18, 0), key=lambda e: e.ts)), "area_risk") == []


def test_too_few_riders_are_not_judged():
    events = sorted(_crowd(4, 0, riders=2), key=lambda e: e.ts)
    assert of(run_core(events), "area_risk") == []


def test_the_picture_is_in_event_time_windows():
    settings = DetectionSettings.model_validate({"congestion": {"window_s": 120}})
    events = sorted(_crowd(4, 0), key=lambda e: e.ts)
    changes = of(run_core(events, settings=settings), "area_risk")
    assert changes and all((c.window_end_ts - c.ts) == 120_000 for c in changes)
    assert all(c.ts % 120_000 == 0 for c in changes)


def test_a_congestion_alert_leaves_with_the_fix_that_makes_its_window_final():
    # A crawling crowd, then the street flows again long enough for event time to pass the
    # jam's first window by the lateness and idle wait.
    events = sorted(_crowd(4, 0) + _crowd(18, 600, duration_s=1800), key=lambda e: e.ts)
    core = KnightwatchCore()
    for event in events:
        before = core.clock.area_time
        told = alerts(core.ingest(event), "congestion")
        if told:
            break
    else:
        raise AssertionError("no ingest call returned a congestion alert")
    window_end = told[0].evidence["window_start_ts"] + core.settings.congestion.window_s * 1000
    # This fix moved the area clock past the window's end: it made the window final.
    assert before < window_end <= core.clock.area_time
    assert {a.rider_id for a in told} == {"c0", "c1", "c2", "c3"}
