"""An input partition's earliest offset is never awaited by a checkpoint: what is known is
served at once (nothing before the first answer), and the broker is asked in the background
when nothing is known or the answer has grown old."""

import asyncio

from streams.worker.input_position import EarliestOffsets, next_to_read


class Broker:
    def __init__(self, earliest: int) -> None:
        self.earliest = earliest
        self.asked = 0
        self.fail = False
        self.answer = asyncio.Event()  # set: the broker answers

    async def ask(self, tp: str) -> int | None:
        self.asked += 1
        await self.answer.wait()
        if self.fail:
            raise RuntimeError("no longer assigned")
        return self.earliest


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_nothing_is_served_until_the_broker_answers_and_the_answer_after():
    async def run() -> tuple:
        broker, now = Broker(7), [0.0]
        offsets = EarliestOffsets(broker.ask, refresh_s=10, clock=lambda: now[0])
        before = [offsets.get("tp"), offsets.get("tp")]  # one question at a time
        broker.answer.set()
        await _settle()
        now[0] = 9.9
        return before, offsets.get("tp"), broker.asked

    assert asyncio.run(run()) == ([None, None], 7, 1)


def test_an_old_answer_is_served_at_once_while_a_newer_one_is_asked_for():
    async def run() -> tuple:
        broker, now = Broker(7), [0.0]
        broker.answer.set()
        offsets = EarliestOffsets(broker.ask, refresh_s=10, clock=lambda: now[0])
        offsets.get("tp")
        await _settle()
        broker.earliest, now[0] = 12, 10.0  # retention deleted records meanwhile
        served_at_once = offsets.get("tp")
        await _settle()
        return served_at_once, offsets.get("tp"), broker.asked

    assert asyncio.run(run()) == (7, 12, 2)


def test_a_failed_question_keeps_the_last_answer_and_is_asked_again():
    async def run() -> tuple:
        broker, now = Broker(7), [0.0]
        broker.answer.set()
        offsets = EarliestOffsets(broker.ask, refresh_s=10, clock=lambda: now[0])
        offsets.get("tp")
        await _settle()
        broker.fail, now[0] = True, 10.0
        offsets.get("tp")
        await _settle()
        broker.fail, broker.earliest = False, 9
        kept = offsets.get("tp")
        await _settle()
        return kept, offsets.get("tp"), broker.asked

    assert asyncio.run(run()) == (7, 9, 3)


def test_an_owner_whose_start_is_not_known_yet_counts_as_having_read_nothing():
    async def unknown() -> int | None:
        return None

    assert asyncio.run(next_to_read(-1, unknown)) == 0
