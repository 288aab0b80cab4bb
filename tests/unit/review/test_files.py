"""A review reads a replay's output file, or a folder laid out as the demo leaves it; anything
else is one line saying what to run."""

import pytest

from streams.review.files import ReviewError, review_files


def test_a_demo_folder_gives_its_output_input_and_zones(replayed):
    files = review_files(str(replayed.folder))
    assert files.output == replayed.folder / "output.jsonl"
    assert files.input == replayed.folder / "input.jsonl"
    assert files.zones == replayed.folder / "zones.geojson"


def test_an_output_file_alone_has_no_input_or_zones_unless_given(replayed):
    alone = review_files(str(replayed.output))
    assert (alone.output, alone.input, alone.zones) == (replayed.output, None, None)
    given = review_files(str(replayed.output), str(replayed.folder / "input.jsonl"))
    assert given.input == replayed.folder / "input.jsonl"


def test_a_missing_path_says_how_to_make_an_output(tmp_path):
    with pytest.raises(ReviewError) as refused:
        review_files(str(tmp_path / "out" / "demo"))
    assert "no such file or folder" in str(refused.value)
    assert "knightwatch demo" in str(refused.value) and "knightwatch replay" in str(refused.value)


def test_a_folder_without_an_output_is_refused_by_name(tmp_path):
    with pytest.raises(ReviewError, match=r"no output\.jsonl in this folder; run `knightwatch"):
        review_files(str(tmp_path))


def test_an_input_given_that_does_not_exist_is_refused(replayed, tmp_path):
    with pytest.raises(ReviewError, match=r"--input .*: no such file"):
        review_files(str(replayed.folder), str(tmp_path / "nope.jsonl"))
