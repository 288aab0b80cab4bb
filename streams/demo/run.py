"""`knightwatch demo`: simulate a city, replay it through the detection core, summarise."""

import json
import time
from pathlib import Path

import orjson

from streams.config.settings import KnightwatchSettings, load_settings
from streams.demo.city import CITY, CLEAN, generate_city
from streams.demo.summary import render_summary
from streams.primitives.zones import ZoneMap
from streams.replay.runner import replay_file


def demo_settings() -> KnightwatchSettings:
    """The default settings, but for the two that judge a day and a month of riding: the demo
    city rides for one hour, so that hour is its riders' day and their role-model period. 20
    minutes of riding make a safe riding day (most riders ride more than half the hour), and
    4 deliveries a role model (a busy hour: most riders make 2 or 3), so the city's board
    names its busiest safe riders rather than everyone or no one."""
    return load_settings(detection={"scoring": {"safe_riding_day_min_riding_s": 1200},
                                    "role_models": {"min_deliveries": 4}})


def run_demo(out_dir: Path, seed: int = 7, riders: int = 300) -> int:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    input_path = out_dir / "input.jsonl"
    zones_path = out_dir / "zones.geojson"
    output_path = out_dir / "output.jsonl"

    started = time.perf_counter()
    city = generate_city(seed=seed, riders=riders)
    with open(input_path, "wb") as f:
        f.writelines(orjson.dumps(record) + b"\n" for record in city.records)
    zones_path.write_text(json.dumps(city.zones, indent=2) + "\n", encoding="utf-8")
    simulated_s = time.perf_counter() - started

    # Zones go through the same loader as `knightwatch replay --zones`, so the file written
    # here is checked exactly as a user's own would be.
    settings = demo_settings()
    summary = replay_file(str(input_path), str(output_path), settings,
                          zones=ZoneMap.load(zones_path), show_progress=False, standings=True)

    bad = sum(1 for b in city.behaviours.values() if b != "clean")
    minutes = (city.end_ts - city.start_ts) // 60_000
    print(f"Knightwatch demo: {city.name}, {riders:,} riders ({bad} misbehaving or with a "
          f"faulty phone), {minutes} min simulated, seed {seed}; simulated in "
          f"{simulated_s:.1f} s")
    print()
    print(render_summary(output_path, summary, settings.detection.cities.zone_of(CITY),
                         rider_ids=city.behaviours, role_models=settings.detection.role_models))
    print()
    print(f"Files in {out_dir}:")
    print(f"  {input_path.name:<15} the simulated records (replay input)")
    print(f"  {zones_path.name:<15} restricted zones and one-way streets")
    print(f"  {output_path.name:<15} alerts, score deltas, exemptions, subsidies, area risk")
    print(f"Replay it yourself: knightwatch replay {input_path} --zones {zones_path}")
    # The first rider who misbehaves is there whatever the number of riders.
    shown = next((r for r, b in sorted(city.behaviours.items()) if b != CLEAN), None)
    if shown is not None:
        print(f"One rider's story: knightwatch rider {out_dir} --rider {shown} "
              f"--png {out_dir / shown}.png")
    return 0
