"""The detection logic stays plain Python: no Kafka, Faust or Redis in it."""

import ast
from pathlib import Path

import pytest

STREAMS = Path(__file__).resolve().parents[2] / "streams"
PURE = ["primitives", "pipeline", "detectors", "orders", "area", "scoring", "replay", "demo",
        "review"]
FORBIDDEN = {"kafka", "aiokafka", "faust", "mode", "redis"}


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_import_no_broker_or_store_client(package):
    for path in (STREAMS / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path}: imports {name}"
                assert not name.startswith("streams.worker"), f"{path}: imports {name}"
