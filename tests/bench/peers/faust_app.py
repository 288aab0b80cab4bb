"""The sustained-speeding rule as a plain faust-streaming agent written the obvious way: per
event, the rider's state read from a Faust Table, updated, written back (a table write, so a
changelog record, per event), and an alert sent to a topic. Faust's default processing
guarantee (at-least-once) and in-memory table store, as its user guide starts one.

    KW_PEER_BROKERS=... KW_PEER_INPUT=... KW_PEER_OUTPUT=... KW_PEER_GROUP=... \
        KW_PEER_PARTITIONS=12 KW_PEER_DATADIR=... python -m tests.bench.peers.faust_app
"""

import os
import sys

import faust

from streams.config.thresholds import Speeding
from tests.bench.peers.speeding_rule import parse_fix, step

RULE = Speeding()
env = os.environ.get

app = faust.App(env("KW_PEER_GROUP", "kw-peer-faust"),
                broker=f"kafka://{env('KW_PEER_BROKERS', '127.0.0.1:19092')}",
                datadir=env("KW_PEER_DATADIR", "/tmp/kw-peer-faust"),
                topic_partitions=int(env("KW_PEER_PARTITIONS", "12")),
                broker_commit_interval=float(env("KW_PEER_COMMIT_INTERVAL", "1.0")),
                consumer_auto_offset_reset="earliest", web_enabled=False)
# Raw bytes, decoded by the rule as the other readers do (Faust's default would be JSON).
gps = app.topic(env("KW_PEER_INPUT", "rider-gps"), key_serializer="raw",
                value_serializer="raw")
alerts = app.topic(env("KW_PEER_OUTPUT", "kw-peer-faust-alerts"), value_serializer="json")
riders = app.Table("speeding", default=lambda: None,
                   partitions=int(env("KW_PEER_PARTITIONS", "12")))


@app.agent(gps)
async def speeding(stream: faust.StreamT) -> None:
    async for value in stream:
        fix = parse_fix(value)
        if fix is None:
            continue
        rider, ts, speed = fix
        state, alert = step(riders[rider], ts, speed, RULE)
        riders[rider] = state
        if alert:
            await alerts.send(key=rider.encode(), value={"rider_id": rider, "ts": ts,
                                                         "kind": "speeding"})


if __name__ == "__main__":
    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn"]
    app.main()
