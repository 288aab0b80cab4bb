"""The worker's consumer reads committed records only.

Faust reads `read_committed` only when it runs its own transactions (processing_guarantee
exactly_once); Knightwatch runs its own (see transactional.py), so Faust would read records of
aborted producer transactions: an aborted write to `rider-gps` would still raise alerts and
cost points. These subclasses change that one setting of the aiokafka consumer Faust builds.
"""

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # aiokafka passes this to its fetcher when the consumer starts, which is after here.
        consumer._isolation_level = "read_committed"
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class ReadCommittedApp(faust.App):
    """A Faust app whose consumer skips records of aborted transactions."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
