"""The picture of a ride draws the rider's own fixes coloured by speed, marks each of their
alerts where it was raised, draws the zones near the track, and is a real PNG."""

import struct
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from streams.config.topics import TopicNames
from streams.primitives.zones import ZoneMap
from streams.review.files import review_files
from streams.review.records import read_rider
from streams.review.ride_map import alert_position, draw_ride, save_png, speeds_kmh
from tests.builders import ride

SHANGHAI = ZoneInfo("Asia/Shanghai")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def r1(replayed):
    files = review_files(str(replayed.folder))
    records = read_rider(files, "r1", TopicNames())
    alerts = records.values("rider-alerts")
    return records, alerts, draw_ride("r1", records.fixes, alerts, ZoneMap.load(files.zones),
                                      SHANGHAI)


def test_the_track_is_the_riders_valid_fixes_in_time_order(r1, replayed):
    records, _, picture = r1
    segments = picture.track.get_segments()
    assert len(records.fixes) == 226  # every r1 fix but the impossible one; none of r2's
    assert len(segments) == len(records.fixes) - 1
    pairs = pairwise(records.fixes)
    for segment, (before, after) in zip(segments, pairs, strict=True):
        assert segment.tolist() == [[before.lon, before.lat], [after.lon, after.lat]]
    assert [s[0][0] for s in segments] == sorted(s[0][0] for s in segments)  # due east


def test_each_segment_is_coloured_by_the_speed_at_its_end(r1):
    records, _, picture = r1
    colours = picture.track.get_array().tolist()
    assert colours == [f.speed_kmh for f in records.fixes[1:]]
    assert max(colours) == 36.0 and min(colours) == 0.0  # the speeding stretch, the stop


def test_each_alert_is_marked_at_the_fix_it_was_raised_at(r1):
    records, alerts, picture = r1
    assert sorted(picture.alert_marks) == ["restricted_zone", "severe_weather", "speeding"]
    by_ts = {f.ts: (f.lon, f.lat) for f in records.fixes}
    for alert in alerts:
        marked = [tuple(p) for p in picture.alert_marks[alert["kind"]].get_offsets().tolist()]
        assert by_ts[alert["ts"]] in marked


def test_only_zones_near_the_track_are_drawn(r1):
    assert r1[2].zones_drawn == ["market street"]  # not the square 20 km away


def test_the_file_is_a_png_of_the_figure(r1, tmp_path):
    path = tmp_path / "ride.png"
    save_png(r1[2], path)
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) > 10_000
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert 500 < width < 2000 and 500 < height < 2000


def test_speed_without_a_device_speed_is_distance_over_time():
    fixes = ride(duration_s=40, speed_kmh=18, every_s=4, device_speed=False)
    speeds = speeds_kmh(fixes)
    assert speeds[0] == 0.0
    assert all(s == pytest.approx(18, abs=0.1) for s in speeds[1:])


def test_an_alert_with_a_position_of_its_own_is_marked_there():
    fixes = ride(duration_s=40)
    alert = {"ts": fixes[3].ts, "evidence": {"lat": 31.5, "lon": 121.9}}
    assert alert_position(fixes, alert) == (121.9, 31.5)
    between = {"ts": fixes[3].ts + 1500, "evidence": {}}
    assert alert_position(fixes, between) == (fixes[3].lon, fixes[3].lat)


def test_a_ride_of_one_fix_cannot_be_drawn():
    with pytest.raises(ValueError, match="at least two fixes"):
        draw_ride("r1", ride(duration_s=0), [], None, SHANGHAI)
