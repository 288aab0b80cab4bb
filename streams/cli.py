"""The `knightwatch` command."""

import argparse
import sys
from pathlib import Path

from streams.config.settings import KnightwatchSettings, SettingsError, load_settings
from streams.primitives.zones import ZoneFileError, ZoneMap
from streams.worker.topics import TopicLayoutError


def _settings(args: argparse.Namespace) -> KnightwatchSettings:
    return load_settings(getattr(args, "config", None))


def _zones(path: str | Path | None) -> ZoneMap | None:
    return ZoneMap.load(path) if path else None


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.replay.runner import replay_file

    settings = _settings(args)
    zones = _zones(args.zones or settings.zones_file)
    summary = replay_file(args.input, args.out, settings, zones, show_progress=not args.quiet)
    print(summary.render(), file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo.run import run_demo

    return run_demo(Path(args.out_dir), seed=args.seed, riders=args.riders)


def cmd_schemas(args: argparse.Namespace) -> int:
    from schemas.export import check_schemas, write_schemas

    if args.check:
        drift = check_schemas(Path(args.dir))
        for name in drift:
            print(f"schema drift: {name}", file=sys.stderr)
        return 1 if drift else 0
    for path in write_schemas(Path(args.dir)):
        print(path)
    return 0


def cmd_settings(args: argparse.Namespace) -> int:
    from streams.config.docs import settings_markdown

    print(settings_markdown())
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from streams.worker.app import create_app
    from streams.worker.topics import ensure_topics

    settings = _settings(args)
    if settings.zones_file:
        ZoneMap.load(settings.zones_file)  # a bad zones file fails here, by name
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
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("demo", help="simulate a small city and replay it")
    p.add_argument("--out-dir", default="out/demo")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--riders", type=int, default=300)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("schemas", help="write (or --check) the JSON Schema files")
    p.add_argument("--dir", default=str(Path(__file__).resolve().parent.parent / "schemas/json"))
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=cmd_schemas)

    p = sub.add_parser("worker", help="run a Kafka worker (settings from KNIGHTWATCH_* env)")
    p.add_argument("--config", help="settings file (.toml or .json)")
    p.add_argument("--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"])
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("topics", help="create the Kafka topics (idempotent)")
    p.add_argument("--config", help="settings file (.toml or .json)")
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("settings", help="print every setting with its default as Markdown")
    p.set_defaults(func=cmd_settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (SettingsError, ZoneFileError, TopicLayoutError) as exc:
        print(f"knightwatch: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
