"""The sustained-speeding rule as a Quix Streams application: a StreamingDataFrame over the
rider-gps topic (keyed by rider), the rider's episode in Quix's state store (RocksDB, with its
changelog topic), alerts to an output topic, exactly-once.

    python -m tests.bench.peers.quix_app --brokers B --input T --output T --group G \
        --state-dir DIR [--commit-interval 1.0]
"""

import argparse
import logging

from quixstreams import Application, State

from streams.config.thresholds import Speeding
from tests.bench.peers.speeding_rule import parse_fix, step

RULE = Speeding()
STATE_KEY = "speeding"


def speeding_alert(value: bytes, state: State) -> dict | None:
    # Bytes in, decoded here: a record that is not a fix (the topic's malformed test line)
    # is skipped, as the worker dead-letters it, rather than stopping the application.
    fix = parse_fix(value)
    if fix is None:
        return None
    rider, ts, speed = fix
    rider_state, alert = step(state.get(STATE_KEY), ts, speed, RULE)
    state.set(STATE_KEY, rider_state)
    return {"rider_id": rider, "ts": ts, "kind": "speeding"} if alert else None


def build(args: argparse.Namespace) -> Application:
    app = Application(broker_address=args.brokers, consumer_group=args.group,
                      auto_offset_reset="earliest", processing_guarantee="exactly-once",
                      commit_interval=args.commit_interval, state_dir=args.state_dir,
                      loglevel="WARNING")
    source = app.topic(args.input, value_deserializer="bytes", key_deserializer="bytes")
    alerts = app.topic(args.output, value_serializer="json", key_serializer="bytes")
    sdf = app.dataframe(source)
    sdf = sdf.apply(speeding_alert, stateful=True).filter(lambda alert: alert is not None)
    sdf.to_topic(alerts)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    for name in ("--brokers", "--input", "--output", "--group", "--state-dir"):
        parser.add_argument(name, required=True)
    parser.add_argument("--commit-interval", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    build(args).run()


if __name__ == "__main__":
    main()
