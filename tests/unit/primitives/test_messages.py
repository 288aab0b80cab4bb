"""Messages name a city as a rider would say it, in each language; an unknown city by its id."""

import pytest

from streams.primitives.city_names import CITY_NAMES, city_name
from streams.primitives.messages import message


def _storm_in(city: str):
    return message("severe_weather", city=city, level_zh="红色", level_en="Red",
                   condition_zh="台风", condition_en="typhoon")


def test_a_known_city_is_named_in_chinese_and_in_english():
    said = _storm_in("guangzhou")
    assert said.zh.startswith("广州发布红色预警（台风）")
    assert said.en.startswith("Red weather warning in Guangzhou (typhoon)")
    assert "guangzhou" not in said.zh + said.en


def test_an_unknown_city_is_named_by_its_id_in_both_languages():
    said = _storm_in("atlantis-north")
    assert said.zh.startswith("atlantis-north发布红色预警")
    assert "in atlantis-north (typhoon)" in said.en


@pytest.mark.parametrize("spelling", ["Hong Kong", "hong-kong", "HONGKONG", "hong_kong"])
def test_city_ids_match_whatever_their_case_spaces_or_hyphens(spelling):
    assert city_name(spelling, "zh") == "香港"
    assert city_name(spelling, "en") == "Hong Kong"


def test_every_listed_city_has_a_chinese_and_an_english_name():
    for city, (zh, en) in CITY_NAMES.items():
        assert city == city.lower() and " " not in city
        assert zh and all("\u4e00" <= c <= "\u9fff" for c in zh), city
        assert en.isascii() and en[0].isupper(), city


def test_messages_without_a_city_are_unchanged():
    said = message("speeding", max_speed_kmh=33.2, limit_kmh=25)
    assert said.zh == "您已超速，最高33公里/小时，限速25，请减速慢行。"
    assert said.en.startswith("You are speeding: 33 km/h where the limit is 25.")
