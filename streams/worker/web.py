"""The worker's own HTTP pages: /metrics for Prometheus, /healthz (the process runs; /health is
the same page), /readyz (it can do its job now). The rider API is streams/api."""

from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.worker.owners import PartitionOwners
from streams.worker.readiness import ReadinessProbe
from streams.worker.serving import ServingWriter


def add_pages(app: faust.App, owners: PartitionOwners, serving: ServingWriter,
              probe: ReadinessProbe) -> None:
    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        # For a load balancer or Kubernetes' readiness probe: 503 while the broker or Redis
        # does not answer, or while this worker holds no partition (joining, rebalancing).
        state = await probe.check(len(app.consumer.assignment()))
        return web.json(state.as_json(), status=200 if state.ready else 503)

    @app.page("/metrics")
    async def prometheus_metrics(web: Any, request: Any) -> Any:
        # aiohttp takes the charset separately from the content type.
        content_type = CONTENT_TYPE_LATEST.split("; charset=")[0]
        return web.bytes(generate_latest(), content_type=content_type)

    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "partitions": owners.names(),
                         "serving": {"healthy": serving.healthy,
                                     "riders_waiting": serving.riders_waiting}})

    app.page("/healthz")(health)
    app.page("/health", name="health-alias")(health)
