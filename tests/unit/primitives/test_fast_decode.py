"""The msgspec fast path for rider-gps lines only ever accepts a line the pydantic path accepts,
and then gives exactly the values pydantic gives; the common shape does take it; and parse_line
gives the same results with it as without it."""

import dataclasses
import functools
import io
import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator

from schemas import DeadLetter, GpsPing
from schemas.inputs import CITY_MAX_LEN, ID_MAX_LEN, MAX_ACCURACY_M, MAX_SPEED_KMH
from schemas.timestamps import MAX_TS_MS, MIN_TS_MS
from streams.config.settings import load_settings
from streams.demo.city import generate_city
from streams.primitives import fast_decode
from streams.primitives.decode import MAX_RECORD_BYTES
from streams.primitives.events import Ping
from streams.primitives.fast_decode import decode_gps_line, decode_gps_record
from streams.replay import runner
from streams.replay.envelope import ParsedLine, parse_line

TOPICS = load_settings().topics
ROLES = TOPICS.input_roles()
GPS = TOPICS.gps
TS = 1_784_080_800_000
FIELDS = ("rider_id", "ts", "lat", "lon", "speed_kmh", "heading_deg", "accuracy_m", "city")
MANY = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))


def exact(ping: Ping) -> list[tuple[type, str]]:
    # `==` takes 1 == 1.0 and 0.0 == -0.0; the values must be the very same, type and sign.
    return [(type(v), repr(v)) for v in dataclasses.astuple(ping)]


def pydantic_path(line: bytes) -> tuple[str, Ping] | None:
    """What today's path (orjson, GpsPing, the key check) makes of a line, as a Ping."""
    parsed = parse_line(line, ROLES, fast=False)
    if isinstance(parsed.value, GpsPing):
        return parsed.topic, Ping.of(parsed.value)
    return None


def check_agrees(line: bytes) -> tuple[str, Ping] | None:
    fast = decode_gps_record(line, ROLES)
    slow = pydantic_path(line)
    if slow is None:
        assert fast is None, f"fast path took a line pydantic rejects: {line!r}"
    if fast is not None:
        assert slow is not None
        assert fast[0] == slow[0]
        assert exact(fast[1]) == exact(slow[1])
        # The value on its own, straight through the model, gives the same too.
        model = GpsPing.model_validate(orjson.loads(line)["value"])
        assert exact(Ping.of(model)) == exact(fast[1])
        assert decode_gps_line(line, ROLES) == fast[1]
    return fast


# --- Building lines from JSON fragments, so numbers and strings can be spelt any way. ---


def dumps(value: Any, ascii_only: bool = True) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8")


def obj(members: list[tuple[bytes, bytes]], spaced: bool = False) -> bytes:
    sep, colon = (b", ", b": ") if spaced else (b",", b":")
    return b"{" + sep.join(k + colon + v for k, v in members) + b"}"


whitespace = st.sampled_from(
    [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000",
     "\u200a", "\u200b", "\u180e", "\u2028", "\u202f", "\u3000", "\ufeff"])
padding = st.text(whitespace, max_size=3)
texts = st.one_of(
    st.text(max_size=10),
    st.text("ab", min_size=120, max_size=135),  # about the 128 limit
    st.text("ab", min_size=60, max_size=68),  # about the city's 64
    st.builds(lambda a, s, b: a + s + b, padding, st.text(max_size=6), padding),
    st.builds(lambda a, s, b: a + s + b, padding, st.text("r", min_size=126, max_size=130),
              padding),
)
# Strings spelt as JSON, escaped or not, plus ones that are not valid JSON strings at all.
string_fragments = st.one_of(
    st.builds(dumps, texts, st.booleans()),
    st.sampled_from([b'"\\ud800"', b'"\\udc00x"', b'"\xff"', b'"\xed\xa0\x80"', b'"a\x01"',
                     b'"\\ud83d\\ude00"', b'"\\u0000"', b'"r\\u0031"', b"'r1'"]),
)
number_literals = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: repr(f).encode()),
    st.integers(-(2**70), 2**70).map(lambda i: str(i).encode()),
    st.from_regex(rb"-?(0|[1-9][0-9]{0,22})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?",
                  fullmatch=True),
    st.sampled_from([b"-0", b"-0.0", b"0", b"90", b"-90", b"180", b"-180", b"360",
                     b"359.99999999999999", b"359.9999999999999", b"90.00000000000001",
                     b"-90.000000000000001", b"1e-400", b"4.9e-324", b"1E2",
                     b"18446744073709551615", b"18446744073709551616", b"-9223372036854775809"]),
)
junk = st.one_of(
    st.sampled_from([b"true", b"false", b"null", b'"inf"', b'"-inf"', b'"nan"', b'"1.5"',
                     b'" 2 "', b'"Infinity"', b"[]", b"{}", b"[1]", b'{"a":[{"b":null}]}',
                     b"1e400", b"-1e400", b"NaN", b"Infinity", b"01", b"1.", b".5", b"+1", b"",
                     b"[" * 40 + b"]" * 40, b'"90"', b'"-0"', b'"1e9"', b'"NaN"', b"1e9",
                     b"-Infinity", b"1" + b"0" * 20]),
    string_fragments,
)
numbers = st.one_of(number_literals, number_literals, junk)
timestamps = st.one_of(
    st.integers(MIN_TS_MS, MAX_TS_MS).map(lambda i: str(i).encode()),
    st.sampled_from([MIN_TS_MS - 1, MIN_TS_MS, MAX_TS_MS, MAX_TS_MS + 1, TS, -TS, 0, 2**64,
                     2**70]).map(lambda i: str(i).encode()),
    st.sampled_from([b"1784080800000.0", b"1784080800000.5", b"1.7840808e12",
                     b"1.78408080000001e12", b'"1784080800000"', b'" 1784080800000 "',
                     b'"2026-07-15T02:00:00Z"', b'"2026-07-15T10:00:00+08:00"',
                     b'"2026-07-15T02:00:00"', b'"yesterday"']),
    numbers,
)
cities = st.one_of(st.just(b"null"), string_fragments, numbers)


def floats_in(lo: float, hi: float) -> st.SearchStrategy[bytes]:
    return st.one_of(st.floats(lo, hi).map(repr), st.integers(int(lo), int(hi)).map(str),
                     st.sampled_from([lo, hi]).map(repr)).map(str.encode)


# Up to twice the bound: in range and beyond it.
speeds = st.one_of(st.just(b"null"), floats_in(0, MAX_SPEED_KMH * 2))
accuracies = st.one_of(st.just(b"null"), floats_in(0, MAX_ACCURACY_M * 2))
city_texts = st.one_of(st.text(max_size=10), st.text("ab", min_size=60, max_size=68),
                       st.builds(lambda a, s, b: a + s + b, padding,
                                 st.text("c", min_size=62, max_size=66), padding))
# Per field: a valid value, and anything at all.
VALID: dict[str, st.SearchStrategy[bytes]] = {
    "rider_id": st.builds(lambda a, s, b: dumps(a + s + b, ascii_only=False), padding,
                          st.text(min_size=1, max_size=12), padding),
    "ts": st.integers(MIN_TS_MS, MAX_TS_MS).map(lambda i: str(i).encode()),
    "lat": floats_in(-90, 90),
    "lon": floats_in(-180, 180),
    "speed_kmh": speeds,
    "heading_deg": st.one_of(st.just(b"null"), st.floats(0, 360, exclude_max=True).map(
        lambda f: repr(f).encode())),
    "accuracy_m": accuracies,
    "city": st.one_of(st.just(b"null"), st.builds(dumps, city_texts, st.booleans())),
}
ANY: dict[str, st.SearchStrategy[bytes]] = {
    "rider_id": st.one_of(string_fragments, junk),
    "ts": timestamps,
    "lat": numbers,
    "lon": numbers,
    "speed_kmh": numbers,
    "heading_deg": numbers,
    "accuracy_m": numbers,
    "city": cities,
}
# Per field: values at and just beyond its bounds, as JSON.
EDGES: dict[str, list[bytes]] = {
    "rider_id": [dumps(p + "r" * n + q) for n in (0, 1, 127, 128, 129) for p, q in
                 (("", ""), (" ", "\u3000"), ("\x1c", ""))],
    "ts": [str(t).encode() for t in (MIN_TS_MS - 1, MIN_TS_MS, MAX_TS_MS, MAX_TS_MS + 1)],
    "lat": [b"-90", b"90", b"-90.0", b"90.00000000000001", b"-90.00000000000001", b"91",
            b"true", b"false", b'"31.5"', b'"nan"'],
    "lon": [b"-180", b"180", b"180.00000000000003", b"-180.00000000000003", b"-181"],
    "speed_kmh": [b"0", b"-0", b"-0.0", b"-5e-324", b"-1", b"1e308", b"1" + b"0" * 308,
                  b"1" + b"0" * 400, b"0." + b"0" * 400 + b"1", b"200", b"200.0",
                  b"200.00000000000003", b"201", b"2e2", b"1e9", b"true", b'"inf"', b'"12"'],
    "heading_deg": [b"0", b"-0.0", b"359.99999999999994", b"360", b"360.0", b"-1e-300", b'"90"',
                    b"false"],
    "accuracy_m": [b"0", b"-0.0", b"-5e-324", b"1e308", b"10000", b"10000.000000000002",
                   b"10001", b'"inf"', b'"Infinity"', b"1e400"],
    "city": [b'""', b'"  "', dumps(GPS), b'"\\u0000"', *(dumps(p + "c" * n + q) for n in
             (63, 64, 65) for p, q in (("", ""), (" ", "\u3000"))), b"true", b"1"],
}
EDGE = {name: st.sampled_from(values) for name, values in EDGES.items()}
keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=4)).map(dumps)


def chance(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) < percent


@st.composite
def gps_values(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    """A value object, mostly valid: each field valid, absent or anything at all; sometimes
    extra or repeated members. Also the rider_id fragment, to derive keys from."""
    members: list[tuple[bytes, bytes]] = []
    for name in FIELDS:
        if chance(draw, 4 if name in ("rider_id", "ts", "lat", "lon") else 30):
            continue  # absent
        odds = draw(st.integers(0, 99))
        pick = VALID if odds < 84 else EDGE if odds < 92 else ANY
        members.append((dumps(name), draw(pick[name])))
    if chance(draw, 15):
        for _ in range(draw(st.integers(1, 3))):
            members.insert(draw(st.integers(0, len(members))), (draw(keys), draw(junk)))
    rider = next((v for k, v in members if k == b'"rider_id"'), None)
    return obj(members, draw(st.booleans())), rider


@st.composite
def gps_lines(draw: st.DrawFn) -> bytes:
    value, rider = draw(gps_values())
    topic = dumps(GPS) if chance(draw, 90) else draw(st.sampled_from(
        [dumps(TOPICS.orders), b'"rider\\u002dgps"', b'"unknown"', b"5", b"null"]))
    members = [(b'"topic"', topic), (b'"value"', value)]
    stripped = None
    if rider is not None:
        try:
            text = json.loads(rider)
            stripped = dumps(text.strip()) if isinstance(text, str) else None
        except ValueError:
            pass
    # Mostly the key that matches: absent, or the rider_id as pydantic would strip it.
    key = None if chance(draw, 20) else stripped or rider if chance(draw, 75) else draw(
        st.sampled_from([rider or b'"r1"', b"null", dumps("someone"), b"7"]))
    if key is not None:
        members.append((b'"key"', key))
    if chance(draw, 8):
        members.append((draw(st.sampled_from([b'"partition"', b'"topic"', b'"value"'])),
                        draw(junk)))
    members = draw(st.permutations(members))
    end = draw(st.sampled_from([b"", b"\n", b"\r\n", b" \n"]))
    return obj(members, draw(st.booleans())) + end


@MANY
@given(gps_lines())
@example(b'{"topic":"rider-gps","key":"r1","value":{"rider_id":" r1\\u3000","ts":1784080800000,'
         b'"lat":1,"lon":2}}')
@example(b'{"topic":"rider-gps","value":{"rider_id":"\\u001cr1","ts":1784080800000,'
         b'"lat":1,"lon":2}}')
@example(b'{"topic":"rider-gps","value":{"rider_id":"r1","ts":1784080800000,"lat":true,'
         b'"lon":2}}')
@example(b'{"topic":"rider-gps","value":{"rider_id":"r1","ts":1784080800000,"lat":1,"lon":2,'
         b'"x":1e400}}')
@example(b'{"topic":"rider-gps","value":{"rider_id":"r1","ts":1784080800000,"lat":1,"lon":2,'
         b'"x":"\xff"}}')
@example(b'{"topic":"rider-gps","value":{"rider_id":"r1","ts":1784080800000,"lat":1,"lon":2},'
         b'"value":{"rider_id":"r2","ts":1784080800000,"lat":1,"lon":2}}')
def test_the_fast_path_only_takes_what_pydantic_takes_and_gives_the_same(line: bytes) -> None:
    check_agrees(line)


# --- The common shape takes the fast path. ---

ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40).filter(
    lambda s: s.strip() == s and s != "")
def optional_float(high: int) -> st.SearchStrategy[float | int | None]:
    return st.one_of(st.none(), st.floats(0, high), st.integers(0, high))


@st.composite
def common_lines(draw: st.DrawFn) -> bytes:
    rider = draw(ids)
    value: dict[str, Any] = {
        "rider_id": rider,
        "ts": draw(st.integers(MIN_TS_MS, MAX_TS_MS)),
        "lat": draw(st.one_of(st.floats(-90, 90), st.integers(-90, 90))),
        "lon": draw(st.one_of(st.floats(-180, 180), st.integers(-180, 180))),
        "speed_kmh": draw(optional_float(MAX_SPEED_KMH)),
        "heading_deg": draw(st.one_of(st.none(), st.floats(0, 360, exclude_max=True),
                                      st.integers(0, 359))),
        "accuracy_m": draw(optional_float(MAX_ACCURACY_M)),
        "city": draw(st.one_of(st.none(), st.text(max_size=12))),
    }
    for name in ("speed_kmh", "heading_deg", "accuracy_m", "city"):
        if draw(st.integers(0, 3)) == 0:
            del value[name]  # an absent optional is as common as a null one
    # Every input record is keyed; one without a key is a dead letter (gps_lines has those).
    record: dict[str, Any] = {"topic": GPS, "key": rider, "value": value}
    if draw(st.booleans()):
        return orjson.dumps(record) + b"\n"
    return json.dumps(record, ensure_ascii=draw(st.booleans())).encode() + b"\n"


@MANY
@given(common_lines())
def test_the_common_shape_takes_the_fast_path(line: bytes) -> None:
    assert check_agrees(line) is not None


def test_a_typical_line_takes_the_fast_path() -> None:
    line = (b'{"topic":"rider-gps","key":"rider-0007","value":{"rider_id":"rider-0007",'
            b'"ts":1784080801965,"lat":31.236772,"lon":121.476763,"speed_kmh":18.2,'
            b'"heading_deg":90.4,"accuracy_m":3.9,"city":"shanghai"}}\n')
    parsed = parse_line(line, ROLES)
    assert type(parsed.value) is Ping
    assert parsed == ParsedLine(GPS, line.decode().rstrip("\n"), Ping(
        "rider-0007", 1784080801965, 31.236772, 121.476763, 18.2, 90.4, 3.9, "shanghai"))


# --- Bytes changed at random in a valid line: JSON dialect differences would show here. ---

BASE = (b'{"topic":"rider-gps","key":"r-1","value":{"rider_id":"r-1","ts":1784080800000,'
        b'"lat":31.5,"lon":121.25,"speed_kmh":12,"heading_deg":null,"accuracy_m":3.5,'
        b'"city":"sh"}}\n')
Edits = list[tuple[int, int, int]]  # (position, insert / delete / replace, byte)


def edits_of(base: bytes) -> st.SearchStrategy[Edits]:
    """One to three bytes inserted, deleted or replaced anywhere in `base`."""
    return st.lists(st.tuples(st.integers(0, len(base)), st.integers(0, 2),
                              st.sampled_from(list(b'{}[]":,.-+eE0123456789 \t\n\\ux\x00\xff'
                                                   b'\xc3tfnalsr'))), min_size=1, max_size=3)


def edited(base: bytes, changes: Edits) -> bytes:
    out = bytearray(base)
    for pos, op, byte in changes:
        pos = min(pos, len(out))
        if op == 0:
            out.insert(pos, byte)
        elif op == 1 and pos < len(out):
            del out[pos]
        elif pos < len(out):
            out[pos] = byte
    return bytes(out)


@MANY
@given(edits_of(BASE))
def test_random_edits_of_a_valid_line_never_make_them_disagree(changes: Edits) -> None:
    check_agrees(edited(BASE, changes))


# --- Each bound, on its own. ---


def with_field(name: str, fragment: bytes, key: str | None = "r1") -> bytes:
    value = {"rider_id": b'"r1"', "ts": b"1784080800000", "lat": b"1.5", "lon": b"2.5",
             "speed_kmh": b"3.5", "heading_deg": b"4.5", "accuracy_m": b"5.5", "city": b'"sh"'}
    value[name] = fragment
    members = [(b'"topic"', dumps(GPS)), (b'"value"', obj([(dumps(k), v) for k, v in
                                                           value.items()]))]
    if key is not None:
        members.append((b'"key"', dumps(key)))
    return obj(members)


@pytest.mark.parametrize(("name", "fragment"),
                         [(name, f) for name, values in EDGES.items() for f in values])
def test_values_at_and_beyond_each_bound_agree(name: str, fragment: bytes) -> None:
    check_agrees(with_field(name, fragment))


def test_values_at_the_bounds_take_the_fast_path() -> None:
    inside = {"ts": [str(MIN_TS_MS).encode(), str(MAX_TS_MS).encode()],
              "lat": [b"-90", b"90"], "lon": [b"-180", b"180"],
              "speed_kmh": [b"0", b"-0.0", b"200", b"200.0"],
              "heading_deg": [b"0", b"359.99999999999994"],
              "accuracy_m": [b"0", b"10000"], "city": [b'""', b'"  "', dumps("c" * CITY_MAX_LEN),
                                                       dumps(" " + "c" * CITY_MAX_LEN + " ")]}
    for name, fragments in inside.items():
        for fragment in fragments:
            assert check_agrees(with_field(name, fragment)) is not None, (name, fragment)
    for rider in ("r" * ID_MAX_LEN, " r "):
        assert check_agrees(with_field("rider_id", dumps(rider), key=rider.strip())) is not None


# --- Whitespace: pydantic strips Unicode White_Space, Python's str.strip a little more. ---

SPACES = [chr(c) for c in range(0x3001) if chr(c).isspace()] + ["\u180e", "\u200b", "\ufeff"]


@pytest.mark.parametrize("space", SPACES, ids=[f"U+{ord(c):04X}" for c in SPACES])
def test_whitespace_around_strings_is_stripped_exactly_as_pydantic_does(space: str) -> None:
    value = {"rider_id": f"{space}r1{space}", "ts": TS, "lat": 1, "lon": 2,
             "city": f"{space}sh{space}"}
    line = orjson.dumps({"topic": GPS, "key": "r1", "value": value})
    fast = check_agrees(line)
    if space in fast_decode._WHITESPACE:
        assert fast is not None and fast[1].rider_id == "r1" and fast[1].city == "sh"


# --- parse_line with and without the fast path. ---

LINES = [
    BASE,
    BASE.replace(b'"key":"r-1",', b""),
    BASE.replace(b'"key":"r-1"', b'"key":null'),
    BASE.replace(b'"key":"r-1"', b'"key":"r-2"'),
    BASE.replace(b'"key":"r-1"', b'"key":1'),
    BASE.replace(b'"rider_id":"r-1"', b'"rider_id":"  r-1 "'),
    BASE.replace(b'"rider_id":"r-1"', b'"rider_id":"   "'),
    BASE.replace(b'"ts":1784080800000', b'"ts":"2026-07-15T02:00:00Z"'),
    BASE.replace(b'"ts":1784080800000', b'"ts":1784080800.000'),
    BASE.replace(b'"ts":1784080800000', b'"ts":1784080800000.0'),
    BASE.replace(b'"lat":31.5', b'"lat":91'),
    BASE.replace(b'"lat":31.5', b'"lat":"31.5"'),
    BASE.replace(b'"lat":31.5', b'"lat":true'),
    BASE.replace(b'"speed_kmh":12', b'"speed_kmh":-1'),
    BASE.replace(b'"speed_kmh":12', b'"speed_kmh":"inf"'),
    BASE.replace(b'"heading_deg":null', b'"heading_deg":360'),
    BASE.replace(b'"city":"sh"', b'"city":"sh","device":{"os":"android"}'),
    BASE.replace(b'"city":"sh"', b'"city":"sh","x":1e400'),
    BASE.replace(b'"lat":31.5,', b""),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":"rider-gps","partition":3'),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":"rider-gps","partition":1e400'),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":"rider-gps","source":"\xff"'),
    BASE.replace(b'"city":"sh"', b'"city":"sh","note":"\xc3"'),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":"order-events"'),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":"order-events"').replace(
        b'"city":"sh"', b'"city":"rider-gps"'),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":"nowhere"'),
    BASE.replace(b'"topic":"rider-gps"', b'"topic":7'),
    BASE[:40],
    b"[1,2]\n",
    b'{"topic":"rider-gps"}\n',
    b"\xff\xfe\n",
    b'{"topic":"order-events","key":"o1","value":{"order_id":"o1","rider_id":"r1",'
    b'"ts":1784080800000,"type":"created"}}\n',
    b'{"topic":"weather-events","key":"shanghai","value":{"city":"shanghai",'
    b'"ts":1784080800000,"condition":"rain","warning_level":"orange"}}\n',
    b'{"topic":"rider-alert-reviews","key":"r1","value":{"alert_id":"a1","rider_id":"r1",'
    b'"ts":1784080800000,"verdict":"upheld"}}\n',
    # Plausibility: each a dead letter on both paths.
    BASE.replace(b'"speed_kmh":12', b'"speed_kmh":1e9'),
    BASE.replace(b'"speed_kmh":12', b'"speed_kmh":201'),
    BASE.replace(b'"speed_kmh":12', b'"speed_kmh":200'),  # at the bound: taken
    BASE.replace(b'"accuracy_m":3.5', b'"accuracy_m":10000'),  # at the bound: taken
    BASE.replace(b'"accuracy_m":3.5', b'"accuracy_m":"inf"'),
    BASE.replace(b'"accuracy_m":3.5', b'"accuracy_m":1e400'),
    BASE.replace(b'"heading_deg":null', b'"heading_deg":"90"'),
    BASE.replace(b'"ts":1784080800000', b'"ts":"1784080800000"'),
    BASE.replace(b'"ts":1784080800000', b'"ts":true'),
    BASE.replace(b'"ts":1784080800000', b'"ts":1784080800'),
    BASE.replace(b'"city":"sh"', b'"city":"' + b"c" * 65 + b'"'),
    BASE.replace(b'"city":"sh"', b'"city":"' + b"c" * 64 + b'"'),  # at the bound: taken
    BASE.replace(b'"city":"sh"', b'"city":"' + b"c" * MAX_RECORD_BYTES + b'"'),
    BASE.replace(b'"key":"r-1"', b'"key":""'),
]


def assert_same_parse(line: bytes, roles: dict[str, str] = ROLES) -> ParsedLine:
    fast, slow = parse_line(line, roles), parse_line(line, roles, fast=False)
    assert (fast.topic, fast.raw) == (slow.topic, slow.raw)
    if isinstance(fast.value, Ping):
        assert isinstance(slow.value, GpsPing)
        assert exact(fast.value) == exact(Ping.of(slow.value))
    else:
        assert isinstance(fast.value, BaseModel) and type(fast.value) is type(slow.value)
        assert fast.value == slow.value  # the same event, or the very same dead letter
    return fast


@pytest.mark.parametrize("line", LINES)
def test_parse_line_gives_the_same_with_and_without_the_fast_path(line: bytes) -> None:
    assert_same_parse(line)


def test_the_listed_lines_exercise_both_paths() -> None:
    kinds = [type(parse_line(line, ROLES).value) for line in LINES]
    assert kinds.count(Ping) >= 4 and kinds.count(GpsPing) >= 3 and DeadLetter in kinds


@MANY
@given(st.one_of(gps_lines(), common_lines()))
def test_parse_line_gives_the_same_for_generated_lines(line: bytes) -> None:
    assert_same_parse(line)


def test_replay_output_is_byte_identical_with_and_without_the_fast_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    records = generate_city(seed=3, riders=8, minutes=12).records
    lines = [orjson.dumps(r) + b"\n" for r in records]
    lines[5:5] = [line.rstrip(b"\r\n") + b"\n" for line in LINES]  # dead letters, coercions
    data = b"".join(lines)

    def run(parse: Callable[..., ParsedLine]) -> bytes:
        monkeypatch.setattr(runner, "parse_line", parse)
        sink = io.BytesIO()
        runner.replay(io.BytesIO(data), sink, load_settings(), show_progress=False)
        return sink.getvalue()

    fast = run(parse_line)
    assert fast == run(functools.partial(parse_line, fast=False))
    assert b"dead-letters" in fast and b"rider-score-deltas" in fast


# --- The plausibility rules: refused by both paths, the same dead letter. ---

IMPLAUSIBLE = [
    ("speed_kmh", b"1e9"), ("speed_kmh", b'"inf"'), ("speed_kmh", b"true"),
    ("speed_kmh", b"200.00000000000003"), ("accuracy_m", b'"inf"'), ("accuracy_m", b"10001"),
    ("accuracy_m", b"1e400"), ("heading_deg", b'"90"'), ("heading_deg", b"360"),
    ("lat", b"true"), ("lat", b'"31.5"'), ("lon", b"false"), ("ts", b'"1784080800000"'),
    ("ts", b"true"), ("ts", str(MAX_TS_MS + 1).encode()), ("ts", str(MIN_TS_MS - 1).encode()),
    ("city", dumps("c" * (CITY_MAX_LEN + 1))), ("city", b"7"),
    ("rider_id", dumps("r" * (ID_MAX_LEN + 1))),
]


@pytest.mark.parametrize(("name", "fragment"), IMPLAUSIBLE)
def test_implausible_values_are_refused_by_both_paths(name: str, fragment: bytes) -> None:
    line = with_field(name, fragment)
    assert decode_gps_record(line, ROLES) is None
    parsed = assert_same_parse(line)
    assert isinstance(parsed.value, DeadLetter)
    # 1e400 is beyond a double: orjson refuses it as JSON before any field is looked at.
    assert name in parsed.value.error or parsed.value.error.startswith("not JSON: number is inf")


@pytest.mark.parametrize("key", [None, b"null"])
def test_a_line_without_a_key_is_refused_by_both_paths(key: bytes | None) -> None:
    line = with_field("city", b'"sh"', key=None)
    if key is not None:
        line = line[:-1] + b',"key":' + key + b"}"
    assert decode_gps_record(line, ROLES) is None
    parsed = assert_same_parse(line)
    assert isinstance(parsed.value, DeadLetter) and parsed.value.error.startswith("no key")
    assert check_agrees(with_field("city", b'"sh"')) is not None  # the same, keyed: taken


def test_a_line_over_the_size_limit_is_refused_by_both_paths_unread() -> None:
    line = with_field("city", b'"sh"')
    # JSON whitespace pads a valid line to the limit exactly, then one byte over it.
    at_limit = line[:-1] + b" " * (MAX_RECORD_BYTES - len(line)) + b"}"
    assert len(at_limit) == MAX_RECORD_BYTES
    assert check_agrees(at_limit) is not None
    assert check_agrees(at_limit + b"\r\n") is not None  # the line ending is not counted
    over = at_limit[:-1] + b" }"
    assert decode_gps_record(over, ROLES) is None
    parsed = assert_same_parse(over)
    assert isinstance(parsed.value, DeadLetter)
    assert parsed.value.error.startswith(f"record too large: {MAX_RECORD_BYTES + 1} bytes")


# --- What the fast path mirrors. ---


def _contract() -> dict[str, Any]:
    fields = {}
    for name, info in GpsPing.model_fields.items():
        meta = [f"before {m.func.__name__}" if isinstance(m, BeforeValidator) else repr(m)
                for m in info.metadata]
        fields[name] = (str(info.annotation), meta, repr(info.default))
    decorators = GpsPing.__pydantic_decorators__
    validators = [*decorators.validators, *decorators.field_validators,
                  *decorators.model_validators, *decorators.root_validators]
    return {"config": dict(GpsPing.model_config), "fields": fields, "validators": validators}


def test_the_gps_contract_is_the_one_the_fast_path_mirrors() -> None:
    # Changed GpsPing? Mirror the change in streams/primitives/fast_decode.py (_GpsValue and
    # decode_gps_record), then update this.
    assert _contract() == {
        "config": {"extra": "ignore", "frozen": True, "str_strip_whitespace": True,
                   "strict": True, "allow_inf_nan": False},
        "fields": {
            "rider_id": ("<class 'str'>",
                         ["MinLen(min_length=1)", "MaxLen(max_length=128)"], "PydanticUndefined"),
            "ts": ("<class 'int'>", [f"Ge(ge={MIN_TS_MS})", f"Le(le={MAX_TS_MS})",
                                     "before to_epoch_ms"], "PydanticUndefined"),
            "lat": ("<class 'float'>", ["Ge(ge=-90)", "Le(le=90)"], "PydanticUndefined"),
            "lon": ("<class 'float'>", ["Ge(ge=-180)", "Le(le=180)"], "PydanticUndefined"),
            "speed_kmh": ("float | None", ["Ge(ge=0)", "Le(le=200)"], "None"),
            "heading_deg": ("float | None", ["Ge(ge=0)", "Lt(lt=360)"], "None"),
            "accuracy_m": ("float | None", ["Ge(ge=0)", "Le(le=10000)"], "None"),
            "city": ("str | None", ["MaxLen(max_length=64)"], "None"),
        },
        "validators": [],
    }
    assert tuple(f.name for f in dataclasses.fields(Ping)) == FIELDS


def test_gps_topics_come_from_the_roles() -> None:
    line = BASE.replace(b'"topic":"rider-gps"', b'"topic":"fixes"')
    assert decode_gps_record(line, ROLES) is None
    assert isinstance(assert_same_parse(line).value, DeadLetter)
    roles = {**ROLES, "fixes": "gps"}
    assert decode_gps_record(line, roles) == ("fixes", decode_gps_line(BASE, ROLES))
    assert isinstance(assert_same_parse(line, roles).value, Ping)


def test_roles_changed_in_place_are_still_followed() -> None:
    roles = dict(ROLES)
    assert decode_gps_record(BASE, roles) is not None
    roles[GPS] = "orders"
    assert decode_gps_record(BASE, roles) is None
    assert isinstance(assert_same_parse(BASE, roles).value, DeadLetter)
    roles[GPS] = "gps"
    roles["fixes"] = "gps"
    assert_same_parse(BASE, roles)
    assert_same_parse(BASE.replace(b'"topic":"rider-gps"', b'"topic":"fixes"'), roles)
