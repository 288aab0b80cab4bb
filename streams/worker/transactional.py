"""A consumed partition whose outputs, state and offset commit together in one Kafka transaction.

faust-streaming's own `exactly_once` cannot carry this topology: its transaction for a send is
picked by the *destination* partition (`TransactionManager.send`), so a send to a topic no agent
consumes, or to another partition number, fails ("No transaction producer found"), and table
changelogs go through the plain producer (`Topic.send_soon`), outside any transaction. So
Knightwatch consumes with Faust, without acking, and each partition runs its own transactional
producer (id `<group>-<topic>-<partition>`, which fences a zombie owner of the partition):
outputs are held until a checkpoint, then outputs, the state records and the consumer offset
are committed atomically. After a crash the partition restarts from its last checkpoint, and
because processing is deterministic it produces the same records again.
"""

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from schemas import DeadLetter
from streams.config.settings import KnightwatchSettings
from streams.config.topics import TopicNames
from streams.primitives.emissions import Emission
from streams.worker import metrics
from streams.worker.client_loop import ClientLoop, SameLoop
from streams.worker.output_tally import OutputTally, wall_ms
from streams.worker.validation import dead_letter_output

log = logging.getLogger(__name__)

Output = tuple[str, bytes | None, bytes, int | None]  # topic, key, value, partition


def contract_output(emission: Emission, topics: TopicNames) -> Output:
    """An emission as a record of its contract topic (JSON value, partitioned by key)."""
    key = None if emission.key is None else emission.key.encode()
    return (topics.output(emission.stream), key,
            orjson.dumps(emission.value.model_dump(mode="json")), None)


class TransactionalPartition(ABC):
    start_retry_s = 15.0  # how long `start` keeps trying
    # Where the producer and the state reader run; a worker sets its client thread.
    clients: ClientLoop = SameLoop()
    stage: str  # what the metrics call this kind of partition: one of metrics.STAGES

    def __init__(self, settings: KnightwatchSettings, *, source_topic: str, partition: int,
                 state_topic: str | None, client_kwargs: dict[str, Any]) -> None:
        self.settings = settings
        self.group_id = settings.kafka.group_id
        self.source_topic = source_topic
        self.partition = partition
        self.state_topic = state_topic
        self.client_kwargs = client_kwargs
        self.interval_s = settings.kafka.checkpoint_interval_s
        self.every = settings.kafka.checkpoint_every
        self.outputs: list[Output] = []
        # What the held outputs count once committed, and when the record in hand arrived
        # (its Kafka timestamp, epoch ms; None between records, when a timer emits).
        self.tally = OutputTally()
        self.arrived_ms: int | None = None
        # Holds an output that must not wait for the checkpoint interval (a real-time alert).
        self.urgent = False
        self.since_checkpoint = 0
        self.last_checkpoint = time.monotonic()
        self.lock = asyncio.Lock()
        self.producer: AIOKafkaProducer | None = None

    @property
    def transactional_id(self) -> str:
        return f"{self.group_id}-{self.source_topic}-{self.partition}"

    async def start(self) -> None:
        """Start the partition's producer and restore its state, trying again for up to
        `start_retry_s` when a client cannot start: just after a broker comes back from a
        pause its controller fences and unfences it, and for a moment its metadata names no
        broker (aiokafka then fails an assertion looking up the transaction coordinator).
        Nothing has been read or written yet, so starting again is safe; failing instead
        crashed the agent, whose replacement went on with the records after the one in hand."""
        deadline = time.monotonic() + self.start_retry_s
        delay = 0.1
        while True:
            try:
                await self._start_once()
                return
            except (KafkaError, AssertionError) as exc:
                await self._discard_producer()
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("%s could not start (%r); trying again in %.1f s",
                            self.transactional_id, exc, delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, 2.0)

    async def _start_once(self) -> None:
        state = await self.clients.run(self._open())
        self.restore(state)
        assert self.producer is not None
        await self.clients.run(self.producer.begin_transaction())

    async def _open(self) -> dict[bytes, bytes]:
        """On the client loop: the producer started, then the state read."""
        # Starting the producer registers the transactional id, fencing any previous owner,
        # before the state is read: no zombie can commit after we have read it.
        self.producer = AIOKafkaProducer(transactional_id=self.transactional_id,
                                         enable_idempotence=True, acks="all",
                                         max_batch_size=self.settings.kafka.producer_batch_bytes,
                                         **self.client_kwargs)
        await self.producer.start()
        return await self._read_state() if self.state_topic else {}

    async def _discard_producer(self) -> None:
        producer, self.producer = self.producer, None
        if producer is not None:
            try:
                await self.clients.run(producer.stop())
            except Exception as exc:  # half started: there may be nothing to stop
                log.info("stopping %s: %r", self.transactional_id, exc)

    async def _read_state(self) -> dict[bytes, bytes]:
        assert self.state_topic is not None
        tp = TopicPartition(self.state_topic, self.partition)
        consumer = AIOKafkaConsumer(isolation_level="read_committed", enable_auto_commit=False,
                                    group_id=None, **self.client_kwargs)
        await consumer.start()
        state: dict[bytes, bytes] = {}
        try:
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            end = (await consumer.end_offsets([tp]))[tp]
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=1000)
                for msg in batch.get(tp, []):
                    if msg.value is None:
                        state.pop(msg.key, None)
                    else:
                        state[msg.key] = msg.value
        finally:
            await consumer.stop()
        return state

    def hold(self, emission: Emission) -> None:
        """An emission for the next checkpoint: its record, and what it counts once committed."""
        self.outputs.append(contract_output(emission, self.settings.topics))
        self.tally.add(emission, self.arrived_ms)

    def hold_dead_letter(self, letter: DeadLetter) -> None:
        self.outputs.append(dead_letter_output(self.settings, letter))
        self.tally.add_dead_letter(letter)

    def due(self) -> bool:
        return self.urgent or self.since_checkpoint >= self.every or (
            self.since_checkpoint > 0
            and time.monotonic() - self.last_checkpoint >= self.interval_s)

    async def checkpoint(self) -> list[Output]:
        """Commit held outputs, state and offset; returns the outputs committed."""
        async with self.lock:
            if self.producer is None:
                return []  # stopped: the partition was revoked
            trailing = await self.trailing_outputs()
            if self.since_checkpoint == 0 and not self.outputs and not trailing:
                return []
            # Outputs, state and offset are taken together, with no await between them: the
            # agent goes on processing while this transaction is sent, and what it processes
            # then belongs to the next one, outputs, state and offset alike.
            outputs, self.outputs = self.outputs + trailing, []
            tally, self.tally = self.tally, OutputTally()
            offsets = self.commit_offsets()
            state = self.state_records()
            self.since_checkpoint = 0
            self.urgent = False
            self.on_captured()
            await self.clients.run(self._commit(self.producer, outputs, state, offsets))
            tally.publish(wall_ms())
            metrics.CHECKPOINT_SIZE.labels(self.stage, "outputs").observe(
                sum(len(key or b"") + len(value) for _, key, value, _ in outputs))
            metrics.CHECKPOINT_SIZE.labels(self.stage, "state").observe(
                sum(len(key) + len(value or b"") for key, value in state))
            self.last_checkpoint = time.monotonic()
            return outputs

    async def _commit(self, producer: AIOKafkaProducer, outputs: list[Output],
                      state: list[tuple[bytes, bytes | None]],
                      offsets: dict[tuple[str, int], int]) -> None:
        """On the client loop: one captured checkpoint sent and committed, and the next
        transaction begun."""
        for topic, key, value, partition in outputs:
            await producer.send(topic, value, key=key, partition=partition)
        for key, value in state:
            assert self.state_topic is not None
            await producer.send(self.state_topic, value, key=key, partition=self.partition)
        if offsets:
            await producer.send_offsets_to_transaction(
                {TopicPartition(topic, p): offset for (topic, p), offset in offsets.items()},
                self.group_id)
        await producer.commit_transaction()
        await producer.begin_transaction()

    async def stop(self) -> None:
        """Partition revoked or worker stopping: drop what was not committed."""
        async with self.lock:
            producer, self.producer = self.producer, None
            if producer is not None:
                await self.clients.run(self._close(producer))

    async def _close(self, producer: AIOKafkaProducer) -> None:
        try:
            await producer.abort_transaction()
        except Exception as exc:  # a fenced or broken producer has nothing to abort
            log.info("abort on %s: %s", self.transactional_id, exc)
        await producer.stop()

    @abstractmethod
    def on_record(self, offset: int, key: bytes | None, value: bytes | None) -> None:
        """Process one consumed record, holding what it produces until the checkpoint."""

    @abstractmethod
    def restore(self, state: dict[bytes, bytes]) -> None: ...

    @abstractmethod
    def state_records(self) -> list[tuple[bytes, bytes | None]]: ...

    @abstractmethod
    def commit_offset(self) -> int | None:
        """The next offset of the source partition to consume after a restart from this
        checkpoint; None when this owner has processed nothing yet, so that it commits none
        (committing `0` then would send the whole group back to the start of the partition)."""

    def commit_offsets(self) -> dict[tuple[str, int], int]:
        """The offsets this checkpoint commits, by (topic, partition): taken before the state
        records, which may record them."""
        offset = self.commit_offset()
        return {} if offset is None else {(self.source_topic, self.partition): offset}

    def on_captured(self) -> None:  # noqa: B027 - optional hook
        """Called once a checkpoint has taken the state records: what they hold is no longer
        pending. (Should the transaction fail, this owner is dropped or the worker stops, and
        the state is rebuilt from the last commit.)"""

    async def trailing_outputs(self) -> list[Output]:
        """Records to append to this checkpoint's transaction, after the held outputs."""
        return []
