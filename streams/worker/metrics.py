"""Knightwatch's own Prometheus metrics (Faust's sensor keeps reporting its internals).

Named by Prometheus's conventions: the unit in the name, counters ending `_total`, durations
in seconds and sizes in bytes. Labels take bounded values only (topics, stages, alert kinds,
reason categories), never an id. README's metrics table lists them; the Grafana dashboard and
the alert rules under deploy/ query them by these names.
"""

from prometheus_client import Counter, Gauge, Histogram

STAGES = ("ingest", "riders", "judges", "profiles")

RECORDS_CONSUMED = Counter(
    "knightwatch_records_consumed_total",
    "Input records handed to their partition's owner, by input topic", ["topic"])
RECORDS_REJECTED = Counter(
    "knightwatch_records_rejected_total",
    "Records committed to the dead-letter topic, by the topic they came from and the category "
    "of the reason", ["topic", "reason"])
ALERTS = Counter("knightwatch_alerts_total", "Alerts committed", ["kind", "severity"])
SCORE_DELTAS = Counter("knightwatch_score_deltas_total", "Score deltas committed", ["reason"])
DECISIONS = Counter(
    "knightwatch_exemption_decisions_total",
    "Timeout decisions committed, by outcome and first (deciding) reason", ["outcome", "reason"])
SAFETY_POINTS = Counter("knightwatch_safety_points_changes_total",
                        "Safety-points changes committed, by reason", ["reason"])
ALERT_LATENCY = Histogram(
    "knightwatch_alert_publish_latency_seconds",
    "From the arrival of the record whose processing raised an alert (its Kafka timestamp) to "
    "the commit of the transaction that published it", ["realtime"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0))
CONSUMER_LAG = Gauge(
    "knightwatch_consumer_lag_records",
    "Records of a consumed partition not yet handed on: its high watermark at the last fetch "
    "minus the next offset to hand on", ["topic", "partition"])
RIDERS_IN_MEMORY = Gauge("knightwatch_riders_in_memory",
                         "Riders whose state this worker holds in memory")
RIDERS_EVICTED = Gauge("knightwatch_riders_evicted",
                       "Riders gone quiet whose state this worker keeps as compressed snapshots")
CHECKPOINTS = Counter("knightwatch_checkpoints_total", "Partition transactions committed",
                      ["stage"])
CHECKPOINT_DURATION = Histogram(
    "knightwatch_checkpoint_duration_seconds", "Time to commit a partition transaction",
    ["stage"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
CHECKPOINT_SIZE = Histogram(
    "knightwatch_checkpoint_size_bytes",
    "Bytes (keys and values) a committed partition transaction wrote: its outputs, or its "
    "state records", ["stage", "part"],
    buckets=tuple(1024 * 4**i for i in range(10)))  # 1 KiB to 256 MiB
CHECKPOINT_FAILURES = Counter("knightwatch_checkpoint_failures_total",
                              "Partition transactions that could not commit", ["stage"])
SERVING_FAILURES = Counter("knightwatch_serving_failures_total",
                           "Failed writes to the Redis serving layer")
IDLE_RUN_ONS = Counter(
    "knightwatch_idle_run_ons_total",
    "Times an idle rider partition let its event time run on to the wall clock")

# Known label values start at zero: a rate() or an alert rule then sees the first increment,
# and a dashboard shows 0 rather than no data.
for _stage in STAGES:
    CHECKPOINTS.labels(_stage)
    CHECKPOINT_FAILURES.labels(_stage)
for _realtime in ("true", "false"):
    ALERT_LATENCY.labels(_realtime)
