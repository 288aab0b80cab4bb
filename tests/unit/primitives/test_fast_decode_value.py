"""The worker's fast path for a rider-gps record (its value bytes and key, not a replay line)
takes only what the worker's pydantic path (decode_value) takes, and gives the same values."""

import orjson
from hypothesis import given

from schemas import GpsPing
from streams.primitives.decode import MAX_RECORD_BYTES, decode_value
from streams.primitives.events import Ping
from streams.primitives.fast_decode import decode_gps_value
from tests.unit.primitives.test_fast_decode import (
    GPS,
    MANY,
    Edits,
    common_lines,
    edited,
    edits_of,
    exact,
)


def check_value_agrees(value: bytes, key: str) -> Ping | None:
    fast = decode_gps_value(value, key)
    slow = decode_value("gps", GPS, key, value, value.decode("utf-8", "replace"))
    if fast is not None:
        assert isinstance(slow, GpsPing), f"fast path took {value!r}, refused as {slow}"
        assert exact(fast) == exact(Ping.of(slow))
    return fast


@MANY
@given(common_lines())
def test_a_common_value_takes_the_fast_path_and_gives_what_pydantic_gives(line: bytes) -> None:
    record = orjson.loads(line)
    assert check_value_agrees(orjson.dumps(record["value"]), record["key"]) is not None


BASE = (b'{"rider_id":"r-1","ts":1784080800000,"lat":31.5,"lon":121.25,"speed_kmh":12,'
        b'"heading_deg":null,"accuracy_m":3.5,"city":"sh"}')


@MANY
@given(edits_of(BASE))
def test_random_edits_of_a_valid_value_never_make_the_paths_disagree(changes: Edits) -> None:
    check_value_agrees(edited(BASE, changes), "r-1")


def test_a_key_that_is_not_the_rider_id_is_left_to_the_pydantic_path() -> None:
    assert check_value_agrees(BASE, "r-1") is not None
    assert decode_gps_value(BASE, "r-2") is None
    assert decode_gps_value(BASE.replace(b'"r-1"', b'" r-1 "'), "r-1") is not None, \
        "the key is compared with the rider id once stripped, as decode_value does"


def test_unknown_fields_and_oversized_values_are_left_to_the_pydantic_path() -> None:
    assert decode_gps_value(BASE[:-1] + b',"extra":1}', "r-1") is None
    padded = BASE[:-1] + b',"city":"' + b"x" * MAX_RECORD_BYTES + b'"}'
    assert decode_gps_value(padded, "r-1") is None
