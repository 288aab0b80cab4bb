"""The worker's consumer: it reads committed records only, and hands each fetched batch of a
partition to Knightwatch at once instead of record by record through Faust's streams.

Read committed: Faust reads `read_committed` only when it runs its own transactions
(processing_guarantee exactly_once); Knightwatch runs its own (see transactional.py), so Faust
would read records of aborted producer transactions: an aborted write to `rider-gps` would
still raise alerts and cost points.

Batches: Faust delivers each record through a task, a channel and a stream iterator (its
`Consumer._drain_messages`), which costs several times what detection itself costs per GPS
fix. Knightwatch never acks (its transactions commit offsets), so it needs none of that path:
the same fetch loop hands `(partition, records)` to the app's batch handler. Faust still runs
the group (assignment, rebalances, seeking to committed offsets), its timers and web server.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from aiokafka.structs import ConsumerRecord
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

log = logging.getLogger(__name__)

# Returns whether it took the batch: not when a rebalance came while it waited.
BatchHandler = Callable[[TP, list[ConsumerRecord]], Awaitable[bool]]


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka passes this to its fetcher when the consumer starts, which is after here.
        consumer._isolation_level = "read_committed"
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop, by batch: what it checks per record (flow, generation, active
        partitions, the read offset: the next offset to hand on, set by seeks) is checked
        here per batch."""
        handler: BatchHandler = self.app.batch_handler  # type: ignore[attr-defined]
        read_offset = self._read_offset
        try:
            while not (self._stopped.is_set() or fetcher._stopped.is_set()):
                records, active = await self._wait_next_records(timeout=1.0)
                await self.sleep(0)
                if not records or self.should_stop:
                    continue
                if not self.flow_active:
                    # A rebalance began after the fetch: what was fetched is dropped, and the
                    # consumer goes back to the committed offsets (as Faust's getmany does).
                    try:
                        await self.perform_seek()
                    except Exception as exc:
                        # The assignment is changing under it (as Faust's getmany, carry on):
                        # the rebalance's own seek, once assigned, sets where to read from.
                        log.warning("seek to committed offsets during a rebalance: %r", exc)
                    continue
                generation = self.app.consumer_generation_id
                for tp, batch in records.items():
                    if not self.flow_active or self.app.consumer_generation_id != generation:
                        break
                    if active is not None and tp not in active \
                            and tp not in self._buffered_partitions:
                        continue
                    start = read_offset.get(tp)
                    if start is not None and batch[0].offset < start:
                        batch = [r for r in batch if r.offset >= start]
                        if not batch:
                            continue
                    if not await handler(tp, batch):
                        break
                    # Unless a rebalance came meanwhile: its seek set where to read from.
                    if self.app.consumer_generation_id == generation:
                        read_offset[tp] = batch[-1].offset + 1
                    # Let the checkpoints under way take their next step: each is several
                    # round trips to the broker, and with one step per fetch (a dozen
                    # partitions' batches) they waited seconds behind the processing.
                    await asyncio.sleep(0)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class BatchConsumingApp(faust.App):
    """A Faust app whose consumer skips records of aborted transactions and hands fetched
    batches to `batch_handler`, set before the app starts."""

    batch_handler: BatchHandler
    # Adds plain aiohttp routes to the web server's application as it is set up.
    web_routes: Callable[[Any], None] | None = None

    def on_webserver_init(self, web: Any) -> None:
        if self.web_routes is not None:
            self.web_routes(web.web_app)

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
