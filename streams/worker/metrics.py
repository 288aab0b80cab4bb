"""Knightwatch's own Prometheus metrics (Faust's sensor keeps reporting its internals)."""

from prometheus_client import Counter, Histogram

RECORDS = Counter("knightwatch_input_records", "Input records consumed", ["topic"])
DEAD_LETTERS = Counter("knightwatch_dead_letters", "Records sent to the dead-letter topic",
                       ["source_topic"])
ALERTS = Counter("knightwatch_alerts", "Alerts committed", ["kind", "severity"])
DELTAS = Counter("knightwatch_score_deltas", "Score deltas committed", ["reason"])
DECISIONS = Counter("knightwatch_exemption_decisions", "Timeout decisions committed",
                    ["exempt"])
CHECKPOINTS = Counter("knightwatch_checkpoints", "Partition transactions committed", ["stage"])
CHECKPOINT_SECONDS = Histogram("knightwatch_checkpoint_seconds",
                               "Time to commit a partition transaction", ["stage"])
SERVING_ERRORS = Counter("knightwatch_serving_errors", "Failed Redis serving-layer writes")
IDLE_RUN_ONS = Counter("knightwatch_idle_run_ons",
                       "Times an idle rider partition let its event time run on to the wall clock")
CHECKPOINT_FAILURES = Counter("knightwatch_checkpoint_failures",
                              "Partition transactions that could not commit", ["stage"])
