"""The `knightwatch` command."""

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from streams.config.settings import KnightwatchSettings, SettingsError, load_settings
from streams.primitives.zones import ZoneFileError, ZoneMap
from streams.review.files import ReviewError
from streams.worker.topics import TopicLayoutError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from streams.replay.runner import ReplaySummary
    from streams.review.records import RiderRecords

# Exit statuses (the README's "Replay" section documents them). 1 is left to Python: an
# unexpected error, with its traceback, is a bug.
EXIT_OK = 0
EXIT_BAD_INPUT = 2  # bad arguments, setting, zones file, input or output path: nothing usable
EXIT_REJECTED = 3  # the input was read, but more than --max-rejected of its records rejected
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report it

DEFAULT_MAX_REJECTED = 0.5


class CliError(Exception):
    """A problem with what the command was given; the message names it, in one line."""


def _settings(args: argparse.Namespace) -> KnightwatchSettings:
    return load_settings(getattr(args, "config", None))


def _zones(path: str | Path | None, settings: KnightwatchSettings) -> ZoneMap | None:
    return ZoneMap.load(path, settings.detection.zones) if path else None


def _check_input(path: str) -> None:
    if path == "-":
        return
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise CliError(f"input {path}: {exc.strerror}") from exc
    if stat.S_ISDIR(mode):
        raise CliError(f"input {path}: is a folder, not a file")
    if stat.S_ISREG(mode):
        # Only a regular file is opened to try it: opening a pipe (`<(zcat ...)`) would
        # consume its writer.
        try:
            open(path, "rb").close()
        except OSError as exc:
            raise CliError(f"input {path}: cannot be read: {exc.strerror}") from exc


def _check_output(path: str | None, input_path: str) -> None:
    if path is None or path == "-":
        return
    out = Path(path)
    if out.is_dir():
        raise CliError(f"--out {path}: is a folder, not a file")
    folder = out.parent
    if not folder.is_dir():
        raise CliError(f"--out {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise CliError(f"--out {path}: cannot be written")
    if input_path != "-" and out.exists() and os.path.samefile(out, input_path):
        raise CliError(f"--out {path}: is the input file, which it would overwrite before "
                       "reading it")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"a share from 0 to 1, not {text}")
    return value


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.replay.runner import replay_file

    # Paths first: they are cheap to check, and a typo should not wait for a large zones file.
    _check_input(args.input)
    _check_output(args.out, args.input)
    settings = _settings(args)
    zones = _zones(args.zones or settings.zones_file, settings)
    try:
        summary = replay_file(args.input, args.out, settings, zones,
                              show_progress=not args.quiet)
    except BrokenPipeError:
        # The reader of stdout went away (`| head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise CliError("output closed before the replay ended") from None
    except OSError as exc:  # what the checks above cannot foresee: a full disk, a pipe...
        where = f"{exc.filename}: " if exc.filename else ""
        raise CliError(f"replay stopped: {where}{exc.strerror or exc}") from exc
    print(summary.render(), file=sys.stderr)
    return _verdict(summary, settings, args.max_rejected)


def _verdict(summary: "ReplaySummary", settings: KnightwatchSettings,
             max_rejected: float) -> int:
    """The exit status of a replay that read its input, with a one-line warning for each
    reason it is not a clean one."""
    if not summary.records:
        return EXIT_OK
    if not summary.accepted:
        # Most often the records' topics are not the configured ones (a [topics] section
        # meant for Kafka, used on a file written with the default names).
        topics = ", ".join(settings.topics.input_roles())
        print(f"knightwatch: warning: none of the {summary.records:,} records was accepted: "
              f"is each on an input topic ({topics}; settings [topics]) with a valid value?",
              file=sys.stderr)
    share = summary.rejected / summary.records
    if share > max_rejected:
        print(f"knightwatch: warning: {summary.rejected:,} of {summary.records:,} records "
              f"({share:.0%}) were rejected (see the dead letters), more than --max-rejected "
              f"{max_rejected:g}", file=sys.stderr)
        return EXIT_REJECTED
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo.run import run_demo

    return run_demo(Path(args.out_dir), seed=args.seed, riders=args.riders)


def cmd_simulate(args: argparse.Namespace) -> int:
    from streams.simulate.faults import FaultRates
    from streams.simulate.files import simulate, write_simulation

    out = Path(args.out)
    labels = Path(args.labels) if args.labels else out.with_suffix(".labels.jsonl")
    zones = Path(args.zones) if args.zones else out.with_suffix(".zones.geojson")
    minutes = round(args.hours * 60) if args.hours else args.minutes
    sim = simulate(seed=args.seed, riders=args.riders, minutes=minutes,
                   noise_m=args.noise_m, faults=None if args.no_faults else FaultRates(),
                   frame=args.frame)
    write_simulation(sim, out, labels, zones)
    print(f"{len(sim.records):,} records to {out}, {len(sim.labels):,} labels to {labels}, "
          f"zones to {zones}")
    if args.brokers:
        from streams.simulate.kafka_sink import produce

        sent = produce(sim.records, args.brokers, args.rate, total=len(sim.records),
                       duration_s=args.duration, topic_prefix=args.topic_prefix,
                       show_progress=not args.quiet)
        print(f"{sent:,} records produced to {args.brokers} at up to {args.rate:g}/s")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from streams.evaluate.report import run_eval

    return run_eval(Path(args.out_dir), riders=args.riders, minutes=args.minutes,
                    seed=args.seed)


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.asyncapi import asyncapi_drifted, write_asyncapi
    from schemas.export import check_schemas, write_schemas
    from streams.api.openapi import PATH as OPENAPI
    from streams.api.openapi import render as render_openapi

    if args.check:
        drift = check_schemas(Path(args.dir))
        if asyncapi_drifted(Path(args.asyncapi)):
            drift.append(Path(args.asyncapi).name)
        if not OPENAPI.exists() or OPENAPI.read_text(encoding="utf-8") != render_openapi():
            drift.append(OPENAPI.name)
        for name in drift:
            print(f"schema drift: {name}", file=sys.stderr)
        return 1 if drift else 0
    for path in [*write_schemas(Path(args.dir)), write_asyncapi(Path(args.asyncapi))]:
        print(path)
    OPENAPI.write_text(render_openapi(), encoding="utf-8")
    print(OPENAPI)
    return 0


def cmd_rider(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from streams.review.files import review_files
    from streams.review.records import read_rider
    from streams.review.timeline import render_timeline, timeline

    files = review_files(args.output, args.input, args.zones)
    if args.png is not None:
        _check_output(args.png, str(files.output))
        if files.input is None:
            raise CliError("--png needs the replay's input for the rider's fixes: pass "
                           "--input INPUT (a demo folder has its input.jsonl)")
    settings = _settings(args)
    records = read_rider(files, args.rider, settings.topics)
    try:
        zone = (ZoneInfo(args.time_zone) if args.time_zone
                else settings.detection.cities.zone_of(records.city))
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"--time-zone {args.time_zone}: not an IANA time zone (e.g. "
                       "Asia/Shanghai, Europe/Dublin)") from None
    # Whatever would stop the picture stops the command before it prints anything.
    zones = _zones(files.zones, settings) if args.png is not None else None
    if args.png is not None and len(records.fixes) < 2:
        raise CliError(f"--png: the input has {len(records.fixes)} valid fixes of rider "
                       f"{args.rider}, too few to draw a ride")
    entries = timeline(records, settings.topics, zone, args.lang)
    print(render_timeline(records, entries, zone, settings.topics))
    if args.png is not None:
        _draw(args, zones, records, settings, zone)
    return EXIT_OK


def _draw(args: argparse.Namespace, zones: ZoneMap | None, records: "RiderRecords",
          settings: KnightwatchSettings, zone: "ZoneInfo") -> None:
    from streams.review.ride_map import draw_ride, save_png

    ride = draw_ride(args.rider, records.fixes, records.values(settings.topics.alerts), zones,
                     zone)
    save_png(ride, args.png)
    marked = sum(len(m.get_offsets()) for m in ride.alert_marks.values())
    print(f"Picture of the ride: {args.png} ({len(records.fixes):,} fixes; alerts marked: "
          f"{marked}; zones and one-way streets drawn: {len(ride.zones_drawn)})")


def cmd_settings(args: argparse.Namespace) -> int:
    from streams.config.docs import settings_markdown

    print(settings_markdown())
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from streams.worker.app import create_app
    from streams.worker.topics import ensure_topics

    settings = _settings(args)
    _zones(settings.zones_file, settings)  # a bad zones file fails here, by name
    level = {"crit": "CRITICAL", "warn": "WARNING"}.get(args.loglevel, args.loglevel.upper())
    logging.basicConfig(level=level,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ensure_topics(settings)
    app = create_app(settings)
    sys.argv = ["knightwatch", "worker", "--loglevel", args.loglevel]
    app.main()
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.worker.topics import ensure_topics

    for name in ensure_topics(_settings(args)):
        print(f"created {name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="knightwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="run the detection core over a JSON Lines file")
    p.add_argument("input", help="JSON Lines of {topic, key, value} records, or - for stdin")
    p.add_argument("--out", help="output file (default: stdout)")
    p.add_argument("--zones", help="GeoJSON of restricted zones and one-way segments")
    p.add_argument("--config", help="settings file (.toml or .json)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--max-rejected", type=_share, default=DEFAULT_MAX_REJECTED, metavar="SHARE",
                   help="exit with status 3 when a larger share of the records is rejected "
                   f"(default {DEFAULT_MAX_REJECTED:g}; 1 never)")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("demo", help="simulate a small city and replay it")
    p.add_argument("--out-dir", default="out/demo")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--riders", type=int, default=300)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("simulate", help="a simulated city as a replay file, with ground-truth "
                       "labels of what every rider did")
    p.add_argument("--out", default="out/simulated.jsonl", help="the replay input to write")
    p.add_argument("--labels", help="labels JSON Lines (default: beside --out)")
    p.add_argument("--zones", help="zones GeoJSON (default: beside --out)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--riders", type=int, default=300)
    p.add_argument("--minutes", type=int, default=60)
    p.add_argument("--noise-m", type=float, default=3.5,
                   help="standard deviation of the drifting phone position error (m)")
    p.add_argument("--no-faults", action="store_true",
                   help="no dropped, duplicated or displaced pings, no faulty phones")
    p.add_argument("--frame", choices=("wgs84", "gcj02"), default="wgs84",
                   help="coordinate frame of the written positions (replay gcj02 with "
                   "KNIGHTWATCH_DETECTION__GPS__INPUT_FRAME=gcj02)")
    p.add_argument("--hours", type=float, help="simulated time in hours (instead of --minutes)")
    p.add_argument("--brokers", help="also produce the records to this Kafka, paced at --rate")
    p.add_argument("--rate", type=float, default=1000.0, help="records a second (--brokers)")
    p.add_argument("--duration", type=float, help="stop producing after this many seconds")
    p.add_argument("--topic-prefix", default="", help="prepended to every topic produced to")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("eval", help="precision, recall and detection delay against the "
                       "simulator's labels at several noise levels, and alert rates on real "
                       "traces")
    p.add_argument("--out-dir", default="eval/results")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--riders", type=int, default=120)
    p.add_argument("--minutes", type=int, default=60)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("schemas", help="write (or --check) the JSON Schema files and the "
                       "AsyncAPI and OpenAPI documents")
    schemas_dir = Path(__file__).resolve().parent.parent / "schemas"
    p.add_argument("--dir", default=str(schemas_dir / "json"))
    p.add_argument("--asyncapi", default=str(schemas_dir / "asyncapi.json"),
                   help="the AsyncAPI 3.0 document of every topic")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=cmd_schemas)

    p = sub.add_parser("worker", help="run a Kafka worker (settings from KNIGHTWATCH_* env)")
    p.add_argument("--config", help="settings file (.toml or .json)")
    p.add_argument("--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"])
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("topics", help="create the Kafka topics (idempotent)")
    p.add_argument("--config", help="settings file (.toml or .json)")
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("rider", help="one rider's timeline (and a picture of the ride) from a "
                       "replay's output")
    p.add_argument("output", help="a replay's output file, or a folder holding output.jsonl "
                   "(and input.jsonl, zones.geojson), as `knightwatch demo` leaves it")
    p.add_argument("--rider", required=True, help="the rider_id")
    p.add_argument("--input", help="the replay's input (default: input.jsonl in the folder): "
                   "the rider's fixes and city")
    p.add_argument("--zones", help="the zones file the replay used (default: zones.geojson in "
                   "the folder)")
    p.add_argument("--png", help="also draw the ride to this PNG file: the track coloured by "
                   "speed, alerts marked, zones drawn")
    p.add_argument("--time-zone", help="IANA zone to show times in (default: the rider's "
                   "city's, settings [cities])")
    p.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the "
                   "alerts' messages")
    p.add_argument("--config", help="settings file (.toml or .json)")
    p.set_defaults(func=cmd_rider)

    p = sub.add_parser("settings", help="print every setting with its default as Markdown")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SettingsError, ZoneFileError, TopicLayoutError, CliError, ReviewError) as exc:
        print(f"knightwatch: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("knightwatch: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
