"""A worker on the real local broker and Redis, scraped by a real Prometheus server (started by
deploy/local/prometheus.sh on a free port, scraping every second, loading the alert rules): what
Prometheus's HTTP API says the worker consumed and alerted is what was produced and committed,
and every metric the Grafana dashboard and the alert rules query is one the worker serves."""

import json
import os
import re
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.fleet import ROOT, Fleet
from tests.integration.scenario import canonical, city_lines, replayed

pytestmark = pytest.mark.integration

SCRIPT = ROOT / "deploy" / "local" / "prometheus.sh"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "knightwatch.json"
RULES = ROOT / "deploy" / "prometheus" / "rules" / "knightwatch.rules.yml"
METRIC = re.compile(r"\bknightwatch_[a-z0-9_]+\b")
# Records that fail, so that rejections are counted too: not JSON, a wrong type, a wrong key.
BAD_LINES = [
    b'{"topic":"rider-gps","key":"r-bad","value":"{not json"}\n',
    b'{"topic":"order-events","key":"o-bad","value":{"type":"teleported","order_id":"o-bad",'
    b'"rider_id":"r","ts":1784080800000}}\n',
    b'{"topic":"order-events","key":"o-bad","value":{"order_id":"o-other","rider_id":"r",'
    b'"ts":1784080800000,"type":"created"}}\n',
]


class Observed:
    def __init__(self, fleet: Fleet, prometheus_url: str, produced: Counter[str],
                 records: list[dict]) -> None:
        self.fleet = fleet
        self.prometheus_url = prometheus_url
        self.produced = produced
        self.records = records
        self.expected: list[dict] = []  # what replay makes of the scenario's good records

    def query(self, promql: str) -> list[dict]:
        """An instant query through Prometheus's HTTP API: the result's vector."""
        url = f"{self.prometheus_url}/api/v1/query?{urlencode({'query': promql})}"
        body = json.loads(urlopen(url, timeout=10).read())
        assert body["status"] == "success", body
        return body["data"]["result"]

    def by_label(self, promql: str, label: str) -> dict[str, int]:
        return {r["metric"][label]: int(float(r["value"][1])) for r in self.query(promql)}

    def settled(self, promql: str, label: str, expected: dict, timeout_s: float = 60) -> dict:
        """The query's result once it equals `expected`, or as it stands after `timeout_s`
        (scrapes lag the worker by up to a scrape interval)."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.by_label(promql, label)
            if got == expected or time.monotonic() > deadline:
                return got
            time.sleep(1)

    def served_metrics(self) -> dict[str, int]:
        """Sample names on the worker's /metrics page, with how many samples each has."""
        text = urlopen(f"http://127.0.0.1:{self.fleet.web_port(0)}/metrics",
                       timeout=10).read().decode()
        names: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                names[sample.name] += 1
        return names

    def unserved(self, names: set[str], timeout_s: float = 30) -> list[str]:
        """Those of `names` the worker's /metrics page has no sample of, once it has them all
        or after `timeout_s`: a worker counts a transaction's outputs when the commit returns,
        which a reader of the committed records can see a moment before."""
        deadline = time.monotonic() + timeout_s
        while True:
            served = self.served_metrics()
            missing = sorted(name for name in names if not served.get(name))
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.5)

    def rules(self) -> list[dict]:
        body = json.loads(urlopen(f"{self.prometheus_url}/api/v1/rules", timeout=10).read())
        return [rule for group in body["data"]["groups"] for rule in group["rules"]]

    def rule_state(self, name: str, expected: str, timeout_s: float = 60) -> str:
        """The named rule's state once it is `expected`, or as it stands after `timeout_s`:
        Prometheus evaluates rules on its own interval, behind its scrapes."""
        deadline = time.monotonic() + timeout_s
        while True:
            [rule] = [rule for rule in self.rules() if rule["name"] == name]
            if rule["state"] == expected or time.monotonic() > deadline:
                return rule["state"]
            time.sleep(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, timeout_s: float = 120) -> None:
    """Until the worker's /readyz says 200: the broker and Redis answer, partitions held."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status == 200:
                return
        except (URLError, OSError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"the worker on port {port} did not get ready")


def _wait_scraped(observed: Observed, timeout_s: float = 60) -> None:
    """Until Prometheus holds a sample of the worker's counters: records produced after it are
    an increase, as they are to a server scraping a live fleet."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if observed.query("knightwatch_records_consumed_total"):
            return
        time.sleep(0.5)
    raise AssertionError("Prometheus did not scrape the worker")


def _prometheus(action: str, env: dict[str, str]) -> None:
    result = subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    workdir: Path = tmp_path_factory.mktemp("prometheus-e2e")
    fleet = Fleet(workdir, partitions=3, area_partitions=1)
    fleet.create_topics()
    port = _free_port()
    env = {**os.environ, "KNIGHTWATCH_RUN_DIR": str(workdir), "PROMETHEUS_PORT": str(port),
           "PROMETHEUS_TARGETS": f"127.0.0.1:{fleet.web_port(0)}",
           "PROMETHEUS_SCRAPE_INTERVAL": "1s"}
    try:
        # The scenario waits on the topics before the worker starts, as a backlog does: read
        # live while it is written an hour a second, one input would outrun the other and the
        # late one's records would be dead letters (README, "Event time across topics").
        lines = city_lines(copies=1)
        produced = fleet.produce(lines, heartbeat=False)
        fleet.start_worker(0)
        _wait_ready(fleet.web_port(0))
        _prometheus("up", env)
        observed = Observed(fleet, f"http://127.0.0.1:{port}", Counter(), [])
        _wait_scraped(observed)
        # Records that fail come once Prometheus has a sample: an increase its rules see.
        produced.update(fleet.produce(BAD_LINES, heartbeat=False))
        observed.produced = produced
        observed.records = fleet.collect(min_records=len(replayed(lines)) + len(BAD_LINES))
        observed.expected = replayed(lines)
        yield observed
    finally:
        _prometheus("down", env)
        fleet.stop_all()
        fleet.delete_topics()


def test_the_worker_commits_what_replay_writes_and_a_dead_letter_per_bad_record(
        observed: Observed):
    good = {"alerts", "deltas", "exemptions", "subsidies", "points", "area_risk"}
    assert canonical(observed.records, streams=good) == canonical(observed.expected)
    errors = [r["value"]["error"] for r in observed.records if r["stream"] == "dead_letters"]
    assert len(errors) == len(BAD_LINES), errors


def test_prometheus_counts_every_record_produced_per_topic(observed: Observed):
    inputs = observed.fleet.settings.topics.input_roles()
    expected = {topic: observed.produced[topic] for topic in inputs}
    assert set(observed.produced) <= set(inputs)
    assert sum(n > 0 for n in expected.values()) >= 3 and sum(expected.values()) > 1000
    got = observed.settled("sum by (topic) (knightwatch_records_consumed_total)", "topic",
                           expected)
    assert got == expected


def test_prometheus_counts_every_committed_alert_by_kind(observed: Observed):
    committed = Counter(r["value"]["kind"] for r in observed.records if r["stream"] == "alerts")
    assert sum(committed.values()) > 10 and len(committed) >= 3
    got = observed.settled("sum by (kind) (knightwatch_alerts_total)", "kind", dict(committed))
    assert got == dict(committed)


def test_prometheus_counts_every_committed_dead_letter_by_topic(observed: Observed):
    committed = Counter(r["value"]["source_topic"] for r in observed.records
                        if r["stream"] == "dead_letters")
    assert sum(committed.values()) >= len(BAD_LINES)
    got = observed.settled("sum by (topic) (knightwatch_records_rejected_total)", "topic",
                           dict(committed))
    assert got == dict(committed)


def test_the_alert_rules_load_and_evaluate_against_the_live_metrics(observed: Observed):
    rules = observed.rules()
    names = {rule["name"] for rule in rules}
    assert {"KnightwatchConsumerLagGrowing", "KnightwatchDeadLetterSpike", "KnightwatchNoInput",
            "KnightwatchAlertLatencyBudgetBurnFast"} <= names
    assert all(rule["health"] == "ok" for rule in rules), \
        [(rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"]
    # The consumed counters exist from the worker's start, so the scenario's records are an
    # increase the rule sees.
    # A rule evaluated on the scrapes before the scenario may be pending; the next evaluation
    # after the input clears it.
    assert observed.rule_state("KnightwatchNoInput", "inactive") == "inactive", \
        "input was consumed within the rule's window"


def _dashboard_queries() -> list[str]:
    def targets(panels: list[dict]):
        for panel in panels:
            yield from (t["expr"] for t in panel.get("targets", []))
            yield from targets(panel.get("panels", []))

    return list(targets(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]))


def test_every_metric_the_dashboard_queries_is_served_by_a_live_worker(observed: Observed):
    queries = _dashboard_queries()
    used = {name for q in queries for name in METRIC.findall(q)}
    assert len(used) >= 12
    assert observed.unserved(used) == []
    for query in queries:  # valid PromQL, as Grafana sends it
        observed.query(query.replace("$__rate_interval", "1m"))


def test_every_metric_the_alert_rules_query_is_served_by_a_live_worker(observed: Observed):
    used = set(METRIC.findall(RULES.read_text(encoding="utf-8")))
    assert len(used) >= 4
    assert observed.unserved(used) == []
