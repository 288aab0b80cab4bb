"""An input partition's earliest offset is asked of the broker once, then served from what was
learnt while a newer answer is fetched in the background: a checkpoint never waits on the
broker for it again."""

import asyncio

from streams.worker.input_position import EarliestOffsets


class Broker:
    def __init__(self, earliest: int) -> None:
        self.earliest = earliest
        self.asked = 0
        self.fail = False

    async def ask(self, tp: str) -> int | None:
        self.asked += 1
        if self.fail:
            raise RuntimeError("no longer assigned")
        return self.earliest


def _offsets(broker: Broker, now: list[float]) -> EarliestOffsets:
    return EarliestOffsets(broker.ask, refresh_s=10, clock=lambda: now[0])


def test_the_first_answer_is_awaited_and_then_served_without_asking_again():
    async def run() -> tuple:
        broker, now = Broker(7), [0.0]
        offsets = _offsets(broker, now)
        first = await offsets.get("tp")
        now[0] = 9.9
        second = await offsets.get("tp")
        return first, second, broker.asked

    assert asyncio.run(run()) == (7, 7, 1)


def test_an_old_answer_is_served_at_once_while_a_newer_one_is_fetched():
    async def run() -> tuple:
        broker, now = Broker(7), [0.0]
        offsets = _offsets(broker, now)
        await offsets.get("tp")
        broker.earliest, now[0] = 12, 10.0  # retention deleted records meanwhile
        served_at_once = await offsets.get("tp")
        again_before_the_answer = await offsets.get("tp")  # one refresh at a time
        await asyncio.sleep(0)
        return served_at_once, again_before_the_answer, await offsets.get("tp"), broker.asked

    assert asyncio.run(run()) == (7, 7, 12, 2)


def test_a_failed_refresh_keeps_the_last_answer_and_is_tried_again():
    async def run() -> tuple:
        broker, now = Broker(7), [0.0]
        offsets = _offsets(broker, now)
        await offsets.get("tp")
        broker.fail, now[0] = True, 10.0
        await offsets.get("tp")
        await asyncio.sleep(0)
        broker.fail, broker.earliest = False, 9
        kept = await offsets.get("tp")  # still the old answer; a new refresh starts
        await asyncio.sleep(0)
        return kept, await offsets.get("tp"), broker.asked

    assert asyncio.run(run()) == (7, 9, 3)
