"""Reading a replay file: every line ending splits lines, a UTF-8 byte-order mark opening the file
is skipped, and an over-long line is never held whole; the records read are the same whatever
the file's line endings, BOM or the size of the reads."""

import io
import json

import orjson
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from streams.config.settings import load_settings
from streams.primitives.decode import MAX_RAW_BYTES, MAX_RECORD_BYTES
from streams.replay.envelope import UTF8_BOM, LineReader, OverlongLine
from streams.replay.runner import ReplaySummary, replay
from tests.builders import ride

SETTINGS = load_settings()
TOPICS = SETTINGS.topics
RECORDS = [orjson.dumps({"topic": TOPICS.gps, "key": p.rider_id,
                         "value": json.loads(p.model_dump_json())})
           for p in ride(speed_kmh=[18.0] * 5 + [40.0] * 20 + [18.0] * 5, duration_s=120)]


class Trickle(io.RawIOBase):
    """A pipe that hands over at most `step` bytes a read, and has no read1."""

    def __init__(self, data: bytes, step: int) -> None:
        self.data, self.step, self.pos = data, step, 0

    def read(self, size: int = -1) -> bytes:
        n = self.step if size < 0 else min(size, self.step)
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        return chunk

    def readable(self) -> bool:
        return True


def read(data: bytes, chunk_size: int = 1 << 20, step: int | None = None) -> list[tuple]:
    """(line, size) for each line read: an over-long line is its head and its whole size."""
    source = io.BytesIO(data) if step is None else Trickle(data, step)
    lines = list(LineReader(source, chunk_size=chunk_size))  # type: ignore[arg-type]
    return [(bytes(line), line.size if isinstance(line, OverlongLine) else len(line))
            for line in lines]


def run(data: bytes) -> tuple[list[dict], ReplaySummary]:
    sink = io.BytesIO()
    summary = replay(io.BytesIO(data), sink, SETTINGS, show_progress=False)
    return [json.loads(x) for x in sink.getvalue().splitlines()], summary


BASELINE, BASELINE_SUMMARY = run(b"\n".join(RECORDS) + b"\n")


def test_the_baseline_reads_every_record_and_raises_an_alert() -> None:
    assert BASELINE_SUMMARY.records == len(RECORDS) and BASELINE_SUMMARY.rejected == 0
    assert any(r["topic"] == TOPICS.alerts for r in BASELINE)


def test_a_byte_order_mark_opening_the_file_is_skipped_and_the_first_record_read() -> None:
    out, summary = run(UTF8_BOM + b"\n".join(RECORDS) + b"\n")
    assert out == BASELINE
    assert (summary.records, summary.rejected) == (len(RECORDS), 0)


def test_a_byte_order_mark_arriving_a_byte_at_a_time_is_skipped_too() -> None:
    data = UTF8_BOM + b"\n".join(RECORDS[:3])
    for step in (1, 2, 3, 4):
        assert [line for line, _ in read(data, step=step)] == RECORDS[:3]


def test_only_the_mark_opening_the_file_is_skipped() -> None:
    # One in the middle of a file (files concatenated) is part of its line: a dead letter.
    data = b"\n".join([*RECORDS[:2], UTF8_BOM + RECORDS[2], *RECORDS[3:]]) + b"\n"
    out, summary = run(data)
    dead = [r["value"] for r in out if r["topic"] == TOPICS.dead_letters]
    assert summary.rejected == 1 and dead[0]["error"].startswith("not JSON")
    assert [line for line, _ in read(UTF8_BOM)] == []
    assert [line for line, _ in read(UTF8_BOM[:2])] == [UTF8_BOM[:2]]  # not a mark: read


def test_crlf_lf_and_lone_cr_line_endings_all_read_the_same_records() -> None:
    for ending in (b"\r\n", b"\r", b"\n"):
        out, summary = run(ending.join(RECORDS) + ending)
        assert out == BASELINE, ending
        assert (summary.records, summary.rejected) == (len(RECORDS), 0), ending
    mixed = b"".join(r + (b"\r\n", b"\r", b"\n")[i % 3] for i, r in enumerate(RECORDS))
    assert run(mixed)[0] == BASELINE
    assert run(UTF8_BOM + b"\r".join(RECORDS))[0] == BASELINE  # a classic Mac file, no ending


def test_blank_lines_and_a_missing_final_ending_change_nothing() -> None:
    data = b"\r\n\r\n" + b"\n \t\n".join(RECORDS) + b"\r\r\n"
    out, summary = run(data)
    assert out == BASELINE and summary.records == len(RECORDS)
    assert [line for line, _ in read(b"a\nb")] == [b"a", b"b"]


endings = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n", b"\n\r"])


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.binary(min_size=1, max_size=40).map(
           lambda b: b.replace(b"\r", b"x").replace(b"\n", b"y")), max_size=12),
       ends=st.lists(endings, min_size=12, max_size=12), bom=st.booleans(),
       chunk_size=st.integers(1, 64), step=st.one_of(st.none(), st.integers(1, 9)),
       last=st.booleans())
def test_any_endings_and_read_sizes_give_the_same_lines(
        lines: list[bytes], ends: list[bytes], bom: bool, chunk_size: int, step: int | None,
        last: bool) -> None:
    assume(bom or not (lines and lines[0].startswith(UTF8_BOM)))  # that would be a mark
    data = b"".join(line + end for line, end in zip(lines, ends, strict=False))
    if lines and not last:
        data = data[:-len(ends[len(lines) - 1])]  # no ending after the last line
    got = read((UTF8_BOM if bom else b"") + data, chunk_size=chunk_size, step=step)
    assert got == [(line, len(line)) for line in lines]


def test_an_over_long_line_comes_as_its_head_and_its_size_and_reading_goes_on() -> None:
    long = b"x" * (3 * MAX_RECORD_BYTES + 5)
    data = b"a\n" + long + b"\r\nb\r" + b"y" * (MAX_RECORD_BYTES + 1) + b"\nc"
    for chunk_size in (7, 1000, 1 << 20):
        assert read(data, chunk_size=chunk_size) == [
            (b"a", 1), (long[:MAX_RAW_BYTES], len(long)), (b"b", 1),
            (b"y" * MAX_RAW_BYTES, MAX_RECORD_BYTES + 1), (b"c", 1)]
    at_limit = b"z" * MAX_RECORD_BYTES
    assert read(at_limit + b"\n" + at_limit, chunk_size=4096) == [
        (at_limit, MAX_RECORD_BYTES), (at_limit, MAX_RECORD_BYTES)]
    assert read(long, chunk_size=4096) == [(long[:MAX_RAW_BYTES], len(long))]  # at the end


def test_an_over_long_line_in_replay_is_one_dead_letter_and_the_rest_goes_on() -> None:
    huge = RECORDS[0][:-2] + b',"pad":"' + b"p" * (5 * MAX_RECORD_BYTES) + b'"}}'
    data = b"\n".join([*RECORDS[:10], huge, *RECORDS[10:]]) + b"\n"
    out, summary = run(data)
    dead = [r["value"] for r in out if r["topic"] == TOPICS.dead_letters]
    assert [r for r in out if r["topic"] != TOPICS.dead_letters] == BASELINE
    assert (summary.records, summary.rejected) == (len(RECORDS) + 1, 1)
    assert dead[0]["error"] == (f"record too large: {len(huge)} bytes, over the "
                                f"{MAX_RECORD_BYTES}-byte limit; not parsed")
    assert dead[0]["raw"] == huge[:MAX_RAW_BYTES].decode()


def test_bytes_read_counts_the_whole_source() -> None:
    data = UTF8_BOM + b"\r\n".join(RECORDS)
    reader = LineReader(io.BytesIO(data), chunk_size=100)
    assert len(list(reader)) == len(RECORDS) and reader.bytes_read == len(data)
