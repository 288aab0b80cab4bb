"""A fleet of partition cores with congestion judges gives the final records one core gives,
and publishes every alert exactly once."""

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.pipeline.fleet_driver import run_fleet
from tests.unit.pipeline.test_arrival_order_properties import (
    SETTINGS,
    ZONES,
    across_midnight,
    assert_same_finals_and_alerts_once,
    shuffled_within_lateness,
)


def test_three_partitions_two_judges_match_one_core():
    assert_same_finals_and_alerts_once(
        run_fleet(across_midnight(), partitions=3, judges=2, settings=SETTINGS, zones=ZONES))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=5),
       st.integers(min_value=1, max_value=3))
def test_any_partitioning_and_arrival_order_match_one_core(seed, partitions, judges):
    events = shuffled_within_lateness(across_midnight(), random.Random(seed))
    assert_same_finals_and_alerts_once(
        run_fleet(events, partitions=partitions, judges=judges, settings=SETTINGS,
                  zones=ZONES))
