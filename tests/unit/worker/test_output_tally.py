"""Emissions are counted where they are held, from their typed values, and the counts reach
Prometheus only when the transaction holding them commits."""

import asyncio

import pytest
from prometheus_client import REGISTRY

from schemas import OrderExemption, PointsChange, RiderAlert
from streams.config.settings import load_settings
from streams.pipeline.clock import clock_ahead
from streams.primitives.decode import dead_letter, decode_value
from streams.primitives.emissions import Emission
from streams.worker.ingest_partition import IngestPartition
from streams.worker.output_tally import REASON_CATEGORIES, OutputTally, reason_category
from streams.worker.rider_partition import RiderPartition
from tests.builders import T0, ping, ride

SETTINGS = load_settings()
TOPICS = SETTINGS.topics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def alert(kind: str = "speeding", severity: str = "warning", realtime: bool = True) -> Emission:
    value = RiderAlert(alert_id=f"a-{kind}", rider_id="r1", ts=T0, kind=kind, severity=severity,
                       message={"zh": "慢", "en": "slow"}, evidence={}, realtime=realtime)
    return Emission("alerts", "r1", value)


def decision(exempt: bool, reasons: list[str]) -> Emission:
    value = OrderExemption(decision_id="d", order_id="o", rider_id="r1", ts=T0, promised_ts=T0,
                           late_by_s=60, exempt=exempt, reasons=reasons, evidence={})
    return Emission("exemptions", "o", value)


def refused_redemption() -> Emission:
    value = PointsChange(change_id="c", rider_id="r1", ts=T0, points=0,
                         reason="redemption_refused", ref="x", balance=3, refused="short")
    return Emission("points", "r1", value)


def _letter_error(value: bytes | None, key: str | None = "r1") -> str:
    letter = decode_value("gps", TOPICS.gps, key, value or b"", (value or b"").decode())
    return letter.error  # type: ignore[union-attr]


@pytest.mark.parametrize(("error", "category"), [
    (_letter_error(b"{not json"), "not_json"),
    (_letter_error(b'{"rider_id": "r1", "ts": "soon", "lat": 0, "lon": 0}'), "invalid"),
    (_letter_error(ping("r1").model_dump_json().encode(), key=None), "no_key"),
    (_letter_error(ping("r2").model_dump_json().encode()), "key_mismatch"),
    (_letter_error(b" " * 70_000), "too_large"),
    (clock_ahead(10_000_000, 0, 1000), "clock_ahead"),
    ("late: event time 1 is before 2", "late"),
    ("order lifecycle: picked_up of an order never accepted", "order_lifecycle"),
    ("something no version of Knightwatch says", "other"),
])
def test_a_dead_letters_reason_is_counted_by_its_bounded_category(error: str, category: str):
    assert reason_category(error) == category
    assert category in REASON_CATEGORIES


def test_held_outputs_count_nothing_until_their_transaction_commits():
    before = sample("knightwatch_alerts_total", kind="fatigue", severity="critical")
    tally = OutputTally()
    tally.add(alert("fatigue", "critical"), arrived_ms=0)
    assert sample("knightwatch_alerts_total", kind="fatigue", severity="critical") == before
    tally.publish(committed_ms=1000)
    assert sample("knightwatch_alerts_total", kind="fatigue", severity="critical") == before + 1


def test_decisions_count_by_outcome_and_their_deciding_reason():
    def count(outcome: str, reason: str) -> float:
        return sample("knightwatch_exemption_decisions_total", outcome=outcome, reason=reason)

    before = (count("exempt", "weather"), count("not_exempt", "none"),
              count("exempt", "congestion"))
    tally = OutputTally()
    tally.add(decision(True, ["weather", "congestion"]), arrived_ms=None)
    tally.add(decision(False, []), arrived_ms=None)
    tally.publish(committed_ms=0)
    assert (count("exempt", "weather"), count("not_exempt", "none"),
            count("exempt", "congestion")) == (before[0] + 1, before[1] + 1, before[2])


def test_points_changes_and_dead_letters_count_by_reason():
    points = ("knightwatch_safety_points_changes_total", {"reason": "redemption_refused"})
    rejected = ("knightwatch_records_rejected_total", {"topic": TOPICS.orders, "reason": "late"})
    before = [sample(name, **labels) for name, labels in (points, rejected)]
    tally = OutputTally()
    tally.add(refused_redemption(), arrived_ms=None)
    late = dead_letter(TOPICS.orders, "o1", "{}", "late: event time 1 is before 2")
    tally.add(Emission("dead_letters", "o1", late), arrived_ms=None)
    tally.publish(committed_ms=0)
    assert [sample(name, **labels) for name, labels in (points, rejected)] == \
        [before[0] + 1, before[1] + 1]


def test_an_alerts_latency_runs_from_its_records_arrival_to_the_commit():
    def observed() -> tuple[float, float]:
        return (sample("knightwatch_alert_publish_latency_seconds_sum", realtime="false"),
                sample("knightwatch_alert_publish_latency_seconds_count", realtime="false"))

    total, count = observed()
    tally = OutputTally()
    tally.add(alert(realtime=False), arrived_ms=1_000)
    tally.add(alert(realtime=False), arrived_ms=9_000)  # a producer's clock ahead: not < 0
    tally.publish(committed_ms=3_500)
    assert observed() == (pytest.approx(total + 2.5), count + 2)


def test_a_rider_partition_dates_an_alert_by_the_arrival_of_the_fix_that_raised_it():
    """Speeding at 40 km/h for long enough: the real-time reminder leaves with one of the
    fixes, and its arrival is that fix's, as the worker set it before handing the fix on."""
    partition = RiderPartition(SETTINGS, None, 0, client_kwargs={})
    arrivals = {}
    for offset, fix in enumerate(ride("r1", duration_s=60, speed_kmh=40, every_s=2)):
        arrivals[offset] = 1_000_000 + offset
        partition.arrived_ms = arrivals[offset]
        alerts_before = len(partition.tally.alert_arrivals)
        partition.on_gps(offset, b"r1", fix.model_dump_json().encode(), timestamp_ms=None)
        if len(partition.tally.alert_arrivals) > alerts_before:
            break
    [(realtime, arrived_ms)] = partition.tally.alert_arrivals
    assert realtime == "true"
    assert arrived_ms == arrivals[offset], "the fix in hand, not an earlier one"


class Producer:
    """A transactional producer whose first commit fails when `fail_first`."""

    def __init__(self, fail_first: bool) -> None:
        self.fail_first = fail_first

    async def send(self, topic, value, key=None, partition=None) -> None:
        return None

    async def send_offsets_to_transaction(self, offsets, group_id) -> None:
        return None

    async def commit_transaction(self) -> None:
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("broker gone")

    async def begin_transaction(self) -> None:
        return None


def test_a_checkpoint_that_fails_counts_none_of_its_dead_letters_and_one_that_commits_all():
    def rejected() -> float:
        return sample("knightwatch_records_rejected_total", topic=TOPICS.orders,
                      reason="not_json")

    def state_sizes() -> float:
        return sample("knightwatch_checkpoint_size_bytes_count", stage="ingest", part="outputs")

    before, sizes = rejected(), state_sizes()
    failing = IngestPartition(SETTINGS, TOPICS.orders, 0, client_kwargs={},
                              highwater=lambda: None)
    failing.producer = Producer(fail_first=True)  # type: ignore[assignment]
    for offset in range(3):
        failing.on_record(offset, b"o1", b"{not json")
    with pytest.raises(RuntimeError):
        asyncio.run(failing.checkpoint())
    assert rejected() == before and state_sizes() == sizes

    committing = IngestPartition(SETTINGS, TOPICS.orders, 1, client_kwargs={},
                                 highwater=lambda: None)
    committing.producer = Producer(fail_first=False)  # type: ignore[assignment]
    for offset in range(3):
        committing.on_record(offset, b"o1", b"{not json")
    asyncio.run(committing.checkpoint())
    assert rejected() == before + 3
    assert state_sizes() == sizes + 1
