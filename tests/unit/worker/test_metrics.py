"""Every kind of transactional partition is labelled with a stage the metrics know, so its
checkpoints are counted (and counted from zero) rather than failing on a missing label."""

from streams.worker import metrics
from streams.worker.ingest_partition import IngestPartition
from streams.worker.judge_partition import JudgePartition
from streams.worker.profile_partition import ProfilePartition
from streams.worker.rider_partition import RiderPartition
from streams.worker.transactional import TransactionalPartition


def _kinds(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _kinds(sub)
    return {kind for kind in found if kind.__module__.startswith("streams.")}  # no test fakes


def test_every_partition_kind_has_a_stage_the_metrics_start_at_zero():
    kinds = _kinds(TransactionalPartition)
    assert {IngestPartition, JudgePartition, ProfilePartition, RiderPartition} <= kinds
    assert {kind.stage for kind in kinds} == set(metrics.STAGES)
