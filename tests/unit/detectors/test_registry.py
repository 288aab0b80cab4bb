"""Every registered detector is complete: its kinds are in the contract, its message
templates exist, and its state round-trips through a snapshot."""

import typing

import pytest

from schemas.outputs import AlertKind
from streams.detectors.registry import DETECTORS, RiderDetectors
from streams.primitives.messages import _TEMPLATES
from streams.primitives.snapshot import dumps, loads


@pytest.mark.parametrize("spec", DETECTORS, ids=lambda s: s.name)
def test_a_registered_detector_raises_contract_kinds_with_existing_templates(spec):
    assert set(spec.kinds) <= set(typing.get_args(AlertKind))
    assert set(spec.templates) <= set(_TEMPLATES)


def test_detector_names_are_unique():
    names = [spec.name for spec in DETECTORS]
    assert len(names) == len(set(names))


def test_a_fresh_rider_detector_set_round_trips_through_its_snapshot():
    fresh = RiderDetectors()
    restored = RiderDetectors.restore(loads(dumps(fresh.snapshot())))
    assert dumps(restored.snapshot()) == dumps(fresh.snapshot())


def test_a_detector_missing_from_a_snapshot_starts_fresh():
    saved = RiderDetectors().snapshot()
    del saved["detectors"]["fatigue"]
    restored = RiderDetectors.restore(saved)
    assert restored.get("fatigue").snapshot() == RiderDetectors().get("fatigue").snapshot()
