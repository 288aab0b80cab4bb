"""Which files a review reads: a replay's output, and the input and zones file it was run on."""

from dataclasses import dataclass
from pathlib import Path

# What `knightwatch demo` leaves in its folder (and a user may lay out the same way).
OUTPUT_NAME = "output.jsonl"
INPUT_NAME = "input.jsonl"
ZONES_NAME = "zones.geojson"

_MAKE_ONE = ("run `knightwatch demo --out-dir DIR` (or `make demo`, which writes out/demo), or "
             "`knightwatch replay INPUT --out FILE`, and pass that folder or file")


class ReviewError(Exception):
    """What a review was given cannot be used; the message says what to do, in one line."""


@dataclass(frozen=True)
class ReviewFiles:
    output: Path
    input: Path | None  # the replay's input: the rider's fixes and city
    zones: Path | None


def review_files(output: str, input_path: str | None = None,
                 zones: str | None = None) -> ReviewFiles:
    """`output` is a replay's output file or a folder holding output.jsonl (as the demo leaves
    it); from a folder, its input.jsonl and zones.geojson are used unless others are given."""
    given = Path(output)
    if given.is_dir():
        folder, output_path = given, given / OUTPUT_NAME
        if not output_path.is_file():
            raise ReviewError(f"{given}: no {OUTPUT_NAME} in this folder; {_MAKE_ONE}")
    elif given.is_file():
        folder, output_path = None, given
    else:
        raise ReviewError(f"{given}: no such file or folder; {_MAKE_ONE}")
    return ReviewFiles(output_path,
                       _beside(input_path, folder, INPUT_NAME, "--input"),
                       _beside(zones, folder, ZONES_NAME, "--zones"))


def _beside(given: str | None, folder: Path | None, name: str, option: str) -> Path | None:
    if given is not None:
        path = Path(given)
        if not path.is_file():
            raise ReviewError(f"{option} {given}: no such file")
        return path
    if folder is not None and (folder / name).is_file():
        return folder / name
    return None
