"""The worker's gauges, set on a timer: how far behind each consumed partition is, and how many
riders it holds in memory (and as evicted snapshots)."""

from collections.abc import Callable, Iterable

from faust.types import TP

from streams.worker import metrics
from streams.worker.rider_partition import RiderPartition
from streams.worker.transactional import TransactionalPartition


class WorkerGauges:
    def __init__(self) -> None:
        self._lag_labels: set[tuple[str, str]] = set()

    def observe(self, assigned: Iterable[TP], highwater: Callable[[TP], int | None],
                next_offset: Callable[[TP], int | None],
                partitions: Iterable[TransactionalPartition]) -> None:
        """`highwater`: a partition's end offset as of the last fetch; `next_offset`: the next
        offset of it to hand on; None when not known yet (not fetched, not sought)."""
        labels = set()
        for tp in assigned:
            end, position = highwater(tp), next_offset(tp)
            if end is None or position is None:
                continue
            label = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*label).set(max(0, end - position))
            labels.add(label)
        # A partition that moved to another worker is that worker's to report.
        for label in self._lag_labels - labels:
            metrics.CONSUMER_LAG.remove(*label)
        self._lag_labels = labels
        riders = [p for p in partitions if isinstance(p, RiderPartition)]
        metrics.RIDERS_IN_MEMORY.set(sum(len(p.core.riders) for p in riders))
        metrics.RIDERS_EVICTED.set(sum(len(p.core.evicted) for p in riders))
