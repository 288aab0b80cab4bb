"""The compose stack's Grafana finds the dashboard and the datasource its panels name."""

import json
import re
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
GRAFANA = DEPLOY / "grafana"


def _compose_mounts(service: str) -> dict[str, str]:
    """The service's bind mounts in deploy/docker-compose.yml, container path -> host path."""
    text = (DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")
    block = text.split(f"\n  {service}:\n")[1].split("\n\n")[0]
    return {container: host for host, container in
            re.findall(r"^\s+- (\./[^:\s]+):([^:\s]+)(?::ro)?$", block, re.MULTILINE)}


def _provisioned(path: Path, key: str) -> str:
    [value] = re.findall(rf"^\s+{key}: (\S+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return value


def test_the_dashboards_folder_is_mounted_where_the_provider_reads_it():
    mounts = _compose_mounts("grafana")
    folder = _provisioned(GRAFANA / "provisioning" / "dashboards" / "knightwatch.yml", "path")
    assert (DEPLOY / mounts[folder]).resolve() == GRAFANA / "dashboards"
    assert (DEPLOY / mounts["/etc/grafana/provisioning"]).resolve() == GRAFANA / "provisioning"
    assert list((GRAFANA / "dashboards").glob("*.json"))


def test_every_panel_queries_the_provisioned_prometheus():
    uid = _provisioned(GRAFANA / "provisioning" / "datasources" / "prometheus.yml", "uid")
    dashboard = json.loads((GRAFANA / "dashboards" / "knightwatch.json").read_text("utf-8"))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"] and all(t["datasource"]["uid"] == uid and t["expr"]
                                        for t in panel["targets"]), panel["title"]


def test_the_prometheus_rules_folder_is_mounted_where_prometheus_yml_points():
    mounts = _compose_mounts("prometheus")
    assert (DEPLOY / mounts["/etc/prometheus/prometheus/rules"]).resolve() == \
        DEPLOY / "prometheus" / "rules"
    assert mounts["/etc/prometheus/prometheus.yml"] == "./prometheus.yml"
