"""The Prometheus alert rules under deploy/prometheus/rules are valid, behave as their unit tests
(knightwatch.test.yml) say, and are the rules the compose stack's Prometheus loads. Needs
promtool: `make test` installs it (deploy/local/prometheus.sh install)."""

import shutil
import subprocess
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULES = DEPLOY / "prometheus" / "rules"


def promtool(*args: str) -> subprocess.CompletedProcess:
    tool = shutil.which("promtool")
    assert tool, "promtool not found: `bash deploy/local/prometheus.sh install` installs it"
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=120,
                          cwd=DEPLOY)


def test_the_alert_rules_are_valid_promql_with_sound_names_and_labels():
    rules = sorted(RULES.glob("*.rules.yml"))
    assert rules
    result = promtool("check", "rules", *map(str, rules))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alert_rules_fire_exactly_as_their_unit_tests_expect():
    result = promtool("test", "rules", str(RULES / "knightwatch.test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_compose_stacks_prometheus_loads_every_rules_file():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    for rules in RULES.glob("*.rules.yml"):
        assert f"Checking prometheus/rules/{rules.name}" in result.stdout, result.stdout
