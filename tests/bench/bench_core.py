"""Throughput and memory of the detection core, measured side by side in one run.

    make bench            # or: .venv/bin/python -m tests.bench.bench_core [--riders N]

Prints records per second for each layer (JSON decode + validation alone, the core on typed
events, the whole replay path) and the ratios between them, then what that means for a fleet
carrying 3 million riders at one ping per 4 s (750k pings/s), and the state kept per rider.
"""

import argparse
import gc
import io
import math
import random
import sys
import time
import tracemalloc

import orjson

from schemas import GpsPing
from streams.config.settings import load_settings
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.geo import offset
from streams.replay.runner import replay

FLEET_PINGS_PER_S = 750_000
FLEET_RIDERS = 3_000_000
T0 = 1_784_080_800_000


def synthetic_lines(riders: int, pings_per_rider: int, seed: int = 1) -> list[bytes]:
    """Riders on straight streets, a ping every 3-5 s, a few speeding; arrival in time order."""
    rng = random.Random(seed)
    records = []
    for r in range(riders):
        rider = f"bench-{r:06d}"
        lat, lon = 31.1 + rng.random() * 0.3, 121.3 + rng.random() * 0.3
        heading = rng.choice([0, 90, 180, 270])
        speeder = r % 20 == 0
        ts = T0 + rng.randrange(60_000)
        for i in range(pings_per_rider):
            v = 38.0 if speeder and 30 <= i < 60 else 15 + rng.random() * 6
            step = v / 3.6 * 4
            lat, lon = offset(lat, lon, step * math.cos(math.radians(heading)),
                              step * math.sin(math.radians(heading)))
            value = {"rider_id": rider, "ts": ts, "lat": round(lat, 6), "lon": round(lon, 6),
                     "speed_kmh": round(v, 1), "heading_deg": heading, "accuracy_m": 6.0,
                     "city": "shanghai"}
            records.append((ts, orjson.dumps({"topic": "rider-gps", "key": rider,
                                              "value": value}) + b"\n"))
            ts += rng.randrange(3000, 5001)
    records.sort(key=lambda x: x[0])
    return [line for _, line in records]


def timed(fn) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--riders", type=int, default=2000)
    parser.add_argument("--pings", type=int, default=150, help="pings per rider")
    args = parser.parse_args(argv)
    lines = synthetic_lines(args.riders, args.pings)
    n = len(lines)
    values = [orjson.loads(line)["value"] for line in lines]
    raw_values = [orjson.dumps(v) for v in values]
    settings = load_settings()
    print(f"input: {n:,} GPS records, {args.riders:,} riders", file=sys.stderr)

    t_decode, pings = timed(lambda: [GpsPing.model_validate_json(v) for v in raw_values])

    def run_core() -> KnightwatchCore:
        core = KnightwatchCore(settings.detection)
        for i, p in enumerate(pings, 1):  # type: ignore[union-attr]
            core.ingest(p)
            if i % 4096 == 0:
                core.advance()
        core.close()
        return core

    t_core, core = timed(run_core)
    t_replay, summary = timed(lambda: replay(io.BytesIO(b"".join(lines)), io.BytesIO(),
                                              settings, show_progress=False))

    # State per rider: build the same riders again under tracemalloc, before end-of-input.
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    probe = KnightwatchCore(settings.detection)
    for i, p in enumerate(pings, 1):  # type: ignore[union-attr]
        probe.ingest(p)
        if i % 4096 == 0:
            probe.advance()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    per_rider = held / args.riders

    rates = {"decode+validate": n / t_decode, "core (typed events)": n / t_core,
             "replay (parse+core+write)": n / t_replay}
    print(f"{'layer':<28}{'records/s':>12}{'µs/record':>12}")
    for name, rate in rates.items():
        print(f"{name:<28}{rate:>12,.0f}{1e6 / rate:>12.2f}")
    print(f"ratio core / decode            {t_core / t_decode:6.2f}x the time of validation")
    print(f"ratio replay / core            {t_replay / t_core:6.2f}x the time of the core")
    cores = FLEET_PINGS_PER_S / rates["replay (parse+core+write)"]
    core_only = math.ceil(FLEET_PINGS_PER_S / rates["core (typed events)"])
    print(f"fleet: {FLEET_PINGS_PER_S:,} pings/s needs ~{math.ceil(cores)} cores at the replay "
          f"rate ({core_only} for the core alone)")
    print(f"state held per rider (incl. 5 min reorder buffer): {per_rider / 1024:.1f} KiB; "
          f"{FLEET_RIDERS:,} riders: {per_rider * FLEET_RIDERS / 2**30:.1f} GiB across the fleet")
    # What a fleet checkpoint writes per changed rider (state without its reorder buffer).
    import pickle

    from streams.worker.rider_partition import _without_buffer

    sizes = [len(pickle.dumps(_without_buffer(state))) for state in probe.riders.values()]
    per_checkpoint = sum(sizes) / len(sizes)
    riders_per_worker = FLEET_RIDERS / 24
    rates_mib = ", ".join(
        f"{per_checkpoint * riders_per_worker / interval / 2**20:,.0f} MiB/s at {interval} s"
        for interval in (1, 15, 30))
    print(f"checkpoint record per changed rider: {per_checkpoint / 1024:.1f} KiB; "
          f"{riders_per_worker:,.0f} riders per worker (24 workers), all changing between "
          f"checkpoints: {rates_mib}")
    print(f"alerts: {dict(summary.alerts_by_kind)}")  # type: ignore[union-attr]
    assert core is not None
    return 0


if __name__ == "__main__":
    sys.exit(main())
