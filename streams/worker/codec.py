"""Encoding of the fleet's internal records (JSON, compact and versionless by design: both ends
are the same release of Knightwatch)."""

from dataclasses import dataclass
from typing import Any

import orjson

from schemas import AlertReview, GpsPing, OrderEvent, PointRedemption, WeatherEvent
from streams.area.congestion import CongestedWindow, PartialWindow
from streams.area.judge import AreaJudgement, AreaProgress
from streams.primitives.events import Ping


@dataclass(frozen=True, slots=True)
class InputProgress:
    """From an input partition to the rider partitions: everything it holds up to `until`
    (event time) is forwarded, or it is `caught_up` with its topic."""

    topic: str
    partition: int
    until_ts: int
    caught_up: bool
    # The input partition's wall clock when it said so; for a caught-up word, when the end
    # offset it reached was fetched (input_position.word_sent_ms).
    sent_ms: int = 0


RiderRecord = (Ping | GpsPing | OrderEvent | AlertReview | PointRedemption | WeatherEvent
               | AreaJudgement | InputProgress)


def encode_rider_record(record: RiderRecord, source: tuple[int, int] | None = None) -> bytes:
    """`source`: (partition, offset) of the input record it was read from, for an input
    record the ingest stage forwards (see decode_forwarded)."""
    if isinstance(record, InputProgress):
        return orjson.dumps({"k": "progress", "topic": record.topic, "p": record.partition,
                             "until": record.until_ts, "caught_up": record.caught_up,
                             "sent": record.sent_ms})
    if isinstance(record, AreaJudgement):
        return orjson.dumps({"k": "judgement", "judge": record.judge, "until": record.until_ts,
                             "congested": [[c.cell, c.window_start, c.mean_kmh, c.usual_kmh]
                                           for c in record.congested]})
    kind = {GpsPing: "gps", Ping: "gps", OrderEvent: "order", AlertReview: "review",
            PointRedemption: "redemption", WeatherEvent: "weather"}[type(record)]
    if source is None:
        return b'{"k":"%s","v":%s}' % (kind.encode(), record.model_dump_json().encode())
    return b'{"k":"%s","s":[%d,%d],"v":%s}' % (kind.encode(), source[0], source[1],
                                              record.model_dump_json().encode())


def decode_rider_record(data: bytes) -> RiderRecord:
    return decode_forwarded(data)[0]


def decode_forwarded(data: bytes) -> tuple[RiderRecord, tuple[int, int] | None]:
    """The record, and for one the ingest stage forwarded, the (partition, offset) of the
    input record it was read from: a new owner of an input partition reads again from the
    group's committed offset, and what it forwards again is recognised by it, however late
    it comes."""
    msg: dict[str, Any] = orjson.loads(data)
    kind = msg["k"]
    if kind == "progress":
        return InputProgress(msg["topic"], msg["p"], msg["until"], msg["caught_up"],
                             msg.get("sent", 0)), None
    if kind == "judgement":
        return AreaJudgement(msg["judge"], msg["until"],
                             tuple(CongestedWindow(*c) for c in msg["congested"])), None
    value = msg["v"]
    source = msg.get("s")
    if kind == "gps":
        # Validated on the way in; rebuilt without validating again.
        record: RiderRecord = GpsPing.model_construct(**value)
    else:
        model = {"order": OrderEvent, "review": AlertReview, "redemption": PointRedemption,
                 "weather": WeatherEvent}[kind]
        record = model.model_construct(**value)
    return record, None if source is None else (source[0], source[1])


def encode_progress(progress: AreaProgress) -> bytes:
    return orjson.dumps({"source": progress.source, "until": progress.until_ts,
                         "partials": [[p.window_start, p.cell, p.speed_sum, p.fixes,
                                       list(p.riders)] for p in progress.partials]})


def decode_progress(data: bytes) -> AreaProgress:
    msg = orjson.loads(data)
    return AreaProgress(msg["source"], msg["until"],
                        tuple(PartialWindow(w, c, s, f, tuple(r))
                              for w, c, s, f, r in msg["partials"]))
