"""`make bench`'s ratios, targets and markdown table from measured figures."""

from tests.bench.bench_table import markdown, ratios, targets

FIGURES = {"bare_kafka_python": 10_000.0, "bare_confluent": 40_000.0,
           "worker_1_sustained": 12_000.0, "worker_2_sustained": 18_000.0,
           "worker_1_committed_input": 15_000.0, "peer_quix": 5_000.0, "peer_faust": 20_000.0,
           "latency_50_p50": 90.0, "latency_50_p99": 300.0, "bytes_per_active_rider": 900.0}


def verdicts(figures: dict) -> dict[str, bool | None]:
    return {t.name: t.met for t in targets(figures)}


def test_ratios_divide_the_worker_by_each_bare_consumer_and_each_peer():
    r = ratios(FIGURES)
    assert r["worker / bare kafka-python"] == 1.2
    assert r["worker / bare confluent-kafka"] == 0.3
    assert r["worker / Quix Streams"] == 3.0
    assert r["worker / faust agent"] == 0.75
    assert r["2 workers / 1 worker"] == 1.5


def test_the_bare_target_is_judged_against_the_faster_bare_consumer():
    assert verdicts(FIGURES)["worker / faster bare consumer"] is False
    slower_confluent = FIGURES | {"bare_confluent": 20_000.0}
    assert verdicts(slower_confluent)["worker / faster bare consumer"] is True


def test_each_target_is_met_or_not_from_its_own_figure():
    v = verdicts(FIGURES)
    assert v["worker ahead of Quix Streams"] is True
    assert v["worker ahead of the faust agent"] is False
    assert v["alert p99 at 50% load (ms)"] is False
    assert v["bytes per active rider"] is True


def test_a_figure_not_measured_is_neither_met_nor_failed():
    v = verdicts({"bytes_per_active_rider": 2000.0})
    assert v["bytes per active rider"] is False
    assert v["worker ahead of Quix Streams"] is None
    assert ratios({})["worker / faust agent"] is None


def test_markdown_lists_measured_figures_ratios_and_verdicts():
    table = markdown(FIGURES)
    assert "| Quix Streams speeding rule | 5,000 | records/s |" in table
    assert "| worker / Quix Streams | 3.00 |" in table
    assert "| worker / faster bare consumer | 0.30 | >= 0.5 | NOT met |" in table
    assert "Alert latency p50 at 80% load" not in table  # not measured, not listed
