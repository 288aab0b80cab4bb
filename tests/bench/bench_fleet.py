"""Throughput of the Kafka worker fleet against the local broker, 1 worker beside 2.

    make bench-fleet      # starts the local Kafka and Redis first

Produces the same city (N hours of the replay test city) to a fresh deployment, starts the
workers, and times from start to the moment every expected output is committed; the same input
through `replay` is timed alongside.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from kafka import KafkaConsumer

from tests.integration.fleet import BROKERS, OUTPUTS, Fleet
from tests.integration.scenario import canonical, city_lines, replayed


def committed_count(fleet: Fleet) -> KafkaConsumer:
    topics = [fleet.settings.topics.output(s) for s in OUTPUTS]
    return KafkaConsumer(*topics, bootstrap_servers=BROKERS, isolation_level="read_committed",
                         auto_offset_reset="earliest", group_id=None, consumer_timeout_ms=200)


def run(lines: list[bytes], expected: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        # The worker's default checkpoint settings (1 s or 5,000 records).
        fleet = Fleet(Path(tmp), partitions=6, area_partitions=2, checkpoint_interval_s=1.0,
                      checkpoint_every=5000)
        fleet.create_topics()
        fleet.produce(lines)
        consumer = committed_count(fleet)
        started = time.monotonic()
        for i in range(workers):
            fleet.start_worker(i)
        seen = 0
        try:
            while seen < expected:
                seen += sum(1 for _ in consumer)
                if time.monotonic() - started > 600:
                    raise RuntimeError(f"only {seen} of {expected} outputs after 600 s")
            return time.monotonic() - started
        finally:
            consumer.close()
            fleet.stop_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=int, default=12)
    args = parser.parse_args(argv)
    lines = city_lines(copies=args.hours)
    started = time.monotonic()
    expected = len(canonical(replayed(lines)))
    replay_s = time.monotonic() - started
    print(f"input: {len(lines):,} records; {expected:,} outputs expected", file=sys.stderr)
    one = run(lines, expected, 1)
    two = run(lines, expected, 2)
    print(f"{'':<22}{'seconds':>9}{'records/s':>12}")
    print(f"{'replay (one process)':<22}{replay_s:>9.1f}{len(lines) / replay_s:>12,.0f}")
    print(f"{'fleet, 1 worker':<22}{one:>9.1f}{len(lines) / one:>12,.0f}")
    print(f"{'fleet, 2 workers':<22}{two:>9.1f}{len(lines) / two:>12,.0f}")
    print(f"ratio 1 worker / replay time   {one / replay_s:6.1f}x (includes start-up and "
          f"group join)")
    print(f"ratio 2 workers / 1 worker     {two / one:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
