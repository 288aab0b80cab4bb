import pytest

from streams.api import params
from streams.api.params import BadParameter


@pytest.mark.parametrize(("given", "why"), [
    ({}, "is required"), ({"lat": " "}, "is required"), ({"lat": "north"}, "must be a number"),
    ({"lat": "nan"}, "must be from"), ({"lat": "inf"}, "must be from"),
    ({"lat": "90.5"}, "must be from"),
])
def test_a_bad_number_names_the_parameter_and_why(given, why):
    with pytest.raises(BadParameter, match=why) as refused:
        params.number(given, "lat", -90, 90)
    assert refused.value.parameter == "lat"


def test_a_number_within_bounds_is_taken():
    assert params.number({"lat": " 31.23 "}, "lat", -90, 90) == 31.23


@pytest.mark.parametrize("bad", ["0", "-1", "101", "1.5", "ten", ""])
def test_a_limit_is_a_whole_number_within_its_bounds(bad):
    with pytest.raises(BadParameter, match="whole number from 1 to 100"):
        params.count({"limit": bad}, "limit", 10, 100)


def test_an_absent_limit_takes_its_default():
    assert params.count({}, "limit", 10, 100) == 10


def test_a_city_longer_than_the_contract_allows_is_refused():
    with pytest.raises(BadParameter, match="longer than 64"):
        params.city({"city": "x" * 65})
