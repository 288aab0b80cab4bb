"""Each city's time zone: a listed city's own, anyone else's the default; a zone that does not
exist stops a run at start, by setting."""

import pytest

from streams.config.settings import SettingsError, load_settings


def test_an_unlisted_or_unknown_city_is_on_china_standard_time_by_default():
    cities = load_settings().detection.cities
    assert cities.zone_of("shanghai").key == "Asia/Shanghai"
    assert cities.zone_of("chengdu").key == "Asia/Shanghai"
    assert cities.zone_of(None).key == "Asia/Shanghai"


def test_a_listed_city_has_its_own_zone_whatever_the_case_of_its_id():
    zones = {"time_zones": {"dublin": "Europe/Dublin"}}
    cities = load_settings(detection={"cities": zones}).detection.cities
    assert cities.zone_of("dublin").key == "Europe/Dublin"
    assert cities.zone_of(" Dublin ").key == "Europe/Dublin"
    assert cities.zone_of("shanghai").key == "Asia/Shanghai"


def test_zones_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("KNIGHTWATCH_DETECTION__CITIES__TIME_ZONES", '{"london": "Europe/London"}')
    monkeypatch.setenv("KNIGHTWATCH_DETECTION__CITIES__DEFAULT_TIME_ZONE", "Asia/Hong_Kong")
    cities = load_settings().detection.cities
    assert cities.zone_of("london").key == "Europe/London"
    assert cities.zone_of("macau").key == "Asia/Hong_Kong"


@pytest.mark.parametrize(("values", "named"), [
    ({"time_zones": {"dublin": "Europe/Dubln"}}, "dublin: 'Europe/Dubln'"),
    ({"default_time_zone": "CST+8"}, "default_time_zone: 'CST+8'"),
    ({"default_time_zone": "../../etc/passwd"}, "default_time_zone"),
])
def test_a_zone_that_does_not_exist_is_refused_at_start_by_name(values, named):
    with pytest.raises(SettingsError) as refused:
        load_settings(detection={"cities": values})
    assert named in str(refused.value) and "KNIGHTWATCH_DETECTION__CITIES__" in str(refused.value)
    assert "not an IANA time zone" in str(refused.value)
