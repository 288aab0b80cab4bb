import pytest
from pydantic import ValidationError

from streams.config.thresholds import Scoring, TierPrivileges
from streams.scoring.privileges import privileges_for


def test_tier_d_may_take_no_order_and_tier_a_every_class_first():
    cfg = Scoring()
    d, a = privileges_for("D", cfg), privileges_for("A", cfg)
    assert d.order_classes == () and d.max_concurrent_orders == 0 and d.refresher_course
    assert set(a.order_classes) == {"standard", "premium", "long_distance"}
    assert a.priority_dispatch


def test_a_lower_tier_may_not_be_allowed_more_than_the_one_above():
    generous_c = TierPrivileges(order_classes=("standard", "premium"), max_concurrent_orders=2,
                                priority_dispatch=False, refresher_course=True)
    with pytest.raises(ValidationError, match="privileges_c allow more"):
        Scoring(privileges_c=generous_c)


def test_order_classes_without_an_order_slot_are_refused():
    with pytest.raises(ValidationError, match="must both allow orders"):
        TierPrivileges(order_classes=("standard",), max_concurrent_orders=0,
                       priority_dispatch=False, refresher_course=True)
