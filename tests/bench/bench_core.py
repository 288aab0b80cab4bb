"""Throughput, memory and alert latency of the detection core, measured side by side in one run.

    make bench-core       # or: .venv/bin/python -m tests.bench.bench_core [--help]

Prints, and writes as JSON to bench/results/core.json:
- records/s of each layer on one fleet file, the demo city (300 riders whose fixes carry
  correlated GPS noise, their orders, weather and the zones file; 60 min, ~276k records): the
  replay line parser alone, the core alone on already-parsed events, and the whole replay
  (parse + core + write to memory);
- alert latency on that file: fixes and wall milliseconds from the fix that met an alert's rule
  to the call that returned the alert, per kind;
- state per active rider (tracemalloc current size after a collection) on the straight-street
  fleet of `synthetic_lines` (a ping every 3-5 s): 1,000 riders ridden 100 pings (~400 s),
  which fills each one's 5-minute reorder buffer, and 20,000 riders with two fixes each (the
  per-rider base at a larger count); projected to 100,000 riders, since 8M records of 100,000
  riders over the full window take far too long under tracemalloc; then what the riders still
  hold once event time has moved well past their last fix;
- the checkpoint record per changed rider, and ratios to the previous published figures (the
  replay ratio also on that figure's own input, 2,000 clean straight-street riders).
"""

import argparse
import bisect
import gc
import inspect
import io
import math
import os
import platform
import random
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from schemas import DeadLetter, GpsPing
from streams.config.settings import KnightwatchSettings, load_settings
from streams.demo.city import generate_city
from streams.pipeline.processor import KnightwatchCore
from streams.primitives.emissions import Emission
from streams.primitives.events import HEARTBEAT_PREFIX, Ping
from streams.primitives.geo import offset
from streams.primitives.snapshot import dumps
from streams.primitives.zones import ZoneMap
from streams.replay.envelope import ParsedLine, parse_line
from streams.replay.runner import _ADVANCE_EVERY, replay

# The previous published figures (README, 2,000 straight-street riders x 150 pings).
PREVIOUS_REPLAY_PER_S = 30_000
PREVIOUS_BYTES_PER_RIDER = 44_032  # 43 KiB
FLEET_PINGS_PER_S = 750_000
FLEET_RIDERS = 3_000_000
WORKERS = 24
T0 = 1_784_080_800_000
# The input behind PREVIOUS_REPLAY_PER_S, replayed again for a like-for-like ratio.
PREVIOUS_INPUT = (2000, 150)  # riders, pings per rider of synthetic_lines
OLD_INPUT = "replay, previous input"
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "core.json"

Results = dict[str, dict]


# -- inputs --------------------------------------------------------------------------------


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


def city_file(riders: int, minutes: int) -> tuple[list[bytes], ZoneMap, dict]:
    """The demo city as replay lines: noisy fixes, orders, weather and zones, so every
    detector (not only speeding) is exercised and has alerts to time."""
    started = time.perf_counter()
    city = generate_city(riders=riders, minutes=minutes)
    lines = [orjson.dumps(record) + b"\n" for record in city.records]
    topics = Counter(record["topic"] for record in city.records)
    info = {"generator": "streams.demo.city.generate_city", "riders": riders,
            "minutes": minutes, "records": len(lines), "by_topic": dict(topics),
            "generated_s": round(time.perf_counter() - started, 2)}
    return lines, ZoneMap.from_geojson(city.zones), info


# -- throughput ----------------------------------------------------------------------------


Seconds = tuple[float, float]  # wall, CPU of this process


def timed(fn: Callable[[], object]) -> tuple[Seconds, object]:
    """Wall and CPU time: on a shared machine the CPU time is the steadier of the two."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - wall, time.process_time() - cpu), result


def parser_variants() -> dict[str, dict]:
    """parse_line as replay calls it and, while it offers the switch, pydantic only: the
    msgspec fast path is new, so show what it buys beside it."""
    variants: dict[str, dict] = {"decode (parse_line)": {}}
    if "fast" in inspect.signature(parse_line).parameters:
        variants["decode (pydantic only)"] = {"fast": False}
    return variants


def time_decode(lines: list[bytes], roles: dict[str, str], options: dict) -> Seconds:
    def run() -> None:
        # Results are dropped as replay drops them: keeping 276k objects alive would add
        # garbage-collector passes that the real path does not pay.
        for line in lines:
            parse_line(line, roles, **options)

    return timed(run)[0]


def feed(core: KnightwatchCore, parsed: list[ParsedLine]) -> None:
    """What replay does between parsing and writing: dead letters skip the core, riders who
    went quiet are processed every `_ADVANCE_EVERY` records, everything closes at the end."""
    for i, p in enumerate(parsed, 1):
        if not isinstance(p.value, DeadLetter):
            core.ingest(p.value, source_topic=p.topic)  # type: ignore[arg-type]
        if i % _ADVANCE_EVERY == 0:
            core.advance()
    core.close()


def time_core(lines: list[bytes], zones: ZoneMap, settings: KnightwatchSettings) -> Seconds:
    # Its own frame, so the parsed events and the core are freed before the replay is timed.
    parsed = [parse_line(line, settings.topics.input_roles()) for line in lines]
    core = KnightwatchCore(settings.detection, zones)
    return timed(lambda: feed(core, parsed))[0]


def throughput(lines: list[bytes], zones: ZoneMap, settings: KnightwatchSettings) -> Results:
    n = len(lines)
    roles = settings.topics.input_roles()
    seconds = {name: time_decode(lines, roles, options)
               for name, options in parser_variants().items()}
    seconds["core (ingest, parsed events)"] = time_core(lines, zones, settings)
    data = b"".join(lines)
    t_replay, summary = timed(lambda: replay(io.BytesIO(data), io.BytesIO(), settings, zones,
                                             show_progress=False))
    seconds["replay (parse+core+write)"] = t_replay
    layers = {name: rates(n, s) for name, s in seconds.items()}
    layers[OLD_INPUT] = replay_previous_input(settings)
    return layers | {"alerts_by_kind": dict(summary.alerts_by_kind)}  # type: ignore[union-attr]


def replay_previous_input(settings: KnightwatchSettings) -> dict:
    """The previous figure's input (clean straight-street riders, GPS only) through the whole
    replay: the city is another mix (noise, orders, zones), so only this ratio compares like
    with like."""
    riders, pings = PREVIOUS_INPUT
    data = b"".join(synthetic_lines(riders, pings))
    seconds, _ = timed(lambda: replay(io.BytesIO(data), io.BytesIO(), settings,
                                      show_progress=False))
    return rates(riders * pings, seconds) | {"riders": riders, "pings_per_rider": pings}


def rates(n: int, seconds: Seconds) -> dict:
    out = {}
    for clock, s in zip(("wall", "cpu"), seconds, strict=True):
        out |= {f"seconds_{clock}": round(s, 3), f"records_per_s_{clock}": round(n / s),
                f"us_per_record_{clock}": round(1e6 * s / n, 2)}
    return out


# -- alert latency -------------------------------------------------------------------------


class FixLog:
    """Each rider's in-order fixes: event time and the wall time their ingest call started,
    to find the fix an alert names (alert.ts) and how long ago it came in."""

    def __init__(self) -> None:
        self.ts: dict[str, list[int]] = defaultdict(list)
        self.started: dict[str, list[float]] = defaultdict(list)
        self.out_of_order = 0

    def add(self, fix: Ping | GpsPing, started: float) -> None:
        seen = self.ts[fix.rider_id]
        if seen and fix.ts <= seen[-1]:
            self.out_of_order += 1  # late data is the event-time path's; not timed here
            return
        seen.append(fix.ts)
        self.started[fix.rider_id].append(started)

    def find(self, rider_id: str, ts: int) -> int | None:
        """Index of the rider's fix at `ts`, if one came in order."""
        seen = self.ts.get(rider_id, [])
        i = bisect.bisect_left(seen, ts)
        return i if i < len(seen) and seen[i] == ts else None


class AlertLags:
    def __init__(self, fixes: FixLog) -> None:
        self.fixes = fixes
        self.lag_fixes: dict[str, list[int]] = defaultdict(list)
        self.lag_ms: dict[str, list[float]] = defaultdict(list)
        self.later: Counter = Counter()  # realtime False
        self.unmatched: Counter = Counter()  # realtime, but no in-order fix at alert.ts

    def collect(self, out: list[Emission], returned: float) -> None:
        for emission in out:
            if emission.stream != "alerts":
                continue
            alert = emission.value
            kind = alert.kind  # type: ignore[attr-defined]
            if not alert.realtime:  # type: ignore[attr-defined]
                self.later[kind] += 1
                continue
            rider = alert.rider_id  # type: ignore[attr-defined]
            i = self.fixes.find(rider, alert.ts)  # type: ignore[attr-defined]
            if i is None:
                self.unmatched[kind] += 1
                continue
            # Fixes of this rider ingested after the one the alert names, before it came out.
            self.lag_fixes[kind].append(len(self.fixes.ts[rider]) - 1 - i)
            self.lag_ms[kind].append((returned - self.fixes.started[rider][i]) * 1000)


def spread(values: list[float]) -> dict:
    """Nearest-rank p50 and p99, and the max."""
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {"p50": rank(0.5), "p99": rank(0.99), "max": ordered[-1]}


def alert_latency(lines: list[bytes], zones: ZoneMap, settings: KnightwatchSettings) -> Results:
    """Feed the fleet file as `feed` does, timing each call, and match every alert to its fix."""
    roles = settings.topics.input_roles()
    parsed = [parse_line(line, roles) for line in lines]
    core = KnightwatchCore(settings.detection, zones)
    fixes = FixLog()
    lags = AlertLags(fixes)
    clock = time.perf_counter
    for n, p in enumerate(parsed, 1):
        value = p.value
        if not isinstance(value, DeadLetter):
            started = clock()
            out = core.ingest(value, source_topic=p.topic)  # type: ignore[arg-type]
            returned = clock()
            if isinstance(value, Ping | GpsPing) and not value.rider_id.startswith(
                    HEARTBEAT_PREFIX):
                fixes.add(value, started)
            lags.collect(out, returned)
        if n % _ADVANCE_EVERY == 0:
            lags.collect(core.advance(), clock())
    lags.collect(core.close(), clock())
    kinds = sorted(lags.lag_fixes)
    return {"realtime": {k: {"alerts": len(lags.lag_fixes[k]),
                             "fixes": spread(lags.lag_fixes[k]),
                             "ms": {q: round(v, 3) for q, v in spread(lags.lag_ms[k]).items()}}
                         for k in kinds},
            "later": dict(lags.later), "realtime_without_fix": dict(lags.unmatched),
            "out_of_order_fixes": {"count": fixes.out_of_order}}


# -- memory --------------------------------------------------------------------------------


def traced_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def empty_core_bytes(settings: KnightwatchSettings) -> int:
    tracemalloc.start()
    try:
        base = traced_now()
        core = KnightwatchCore(settings.detection)
        held = traced_now() - base
        del core
        return held
    finally:
        tracemalloc.stop()


def ingest_lines(core: KnightwatchCore, lines: list[bytes], roles: dict[str, str]) -> None:
    """Parsed inside the measurement, as replay does, so that what the core keeps of each
    record (its compact fix and that fix's own strings) is counted."""
    for i, line in enumerate(lines, 1):
        p = parse_line(line, roles)
        core.ingest(p.value, source_topic=p.topic)  # type: ignore[arg-type]
        if i % _ADVANCE_EVERY == 0:
            core.advance()


def quiet_after_ms(settings: KnightwatchSettings) -> int:
    """Far enough past a rider's last fix that the core has released, closed and evicted them
    at these settings (lateness, idle wait, the quiet gap of about the idle wait, eviction),
    with 10 min to spare, so that "quiet" is beyond doubt."""
    t = settings.detection.timing
    return int((t.allowed_lateness_s + 2 * t.idle_release_s + t.evict_after_s + 600) * 1000)


def go_quiet(core: KnightwatchCore, last_ts: int, after_ms: int) -> None:
    """Move the stream's event time well past every rider's last fix, as the heartbeat a
    gateway sends to a quiet partition does, and let the core act on it."""
    heartbeat = Ping(f"{HEARTBEAT_PREFIX}bench", last_ts + after_ms, 0.0, 0.0, None, None,
                     None, None)
    core.ingest(heartbeat)
    core.advance()


def checkpoint_bytes(core: KnightwatchCore) -> float:
    """Mean checkpoint record of a rider, as the worker writes it: its snapshot as JSON."""
    sizes = [len(dumps(state.snapshot())) for state in core.riders.values()]
    return sum(sizes) / len(sizes)


def memory_run(riders: int, pings: int, settings: KnightwatchSettings,
               checkpoint: bool = False) -> dict:
    lines = synthetic_lines(riders, pings)
    last_ts = orjson.loads(lines[-1])["value"]["ts"]  # lines are in time order
    roles = settings.topics.input_roles()
    gc.collect()
    tracemalloc.start()
    try:
        base = traced_now()
        core = KnightwatchCore(settings.detection)
        ingest_lines(core, lines, roles)
        active = traced_now() - base
        buffered = sum(len(state.buffer) for state in core.riders.values())
        record = checkpoint_bytes(core) if checkpoint else None
        after_ms = quiet_after_ms(settings)
        go_quiet(core, last_ts, after_ms)
        quiet = traced_now() - base
    finally:
        tracemalloc.stop()
    left = sum(len(state.buffer) for state in core.riders.values())
    evicted = [len(saved) for saved in core.evicted.values()]
    return {"riders": riders, "pings_per_rider": pings, "records": len(lines),
            "active_bytes": active, "buffered_fixes_per_rider": round(buffered / riders, 1),
            "quiet_after_min": after_ms / 60_000, "quiet_bytes": quiet,
            "riders_held_when_quiet": len(core.riders), "riders_evicted": len(evicted),
            "evicted_snapshot_bytes": round(sum(evicted) / len(evicted)) if evicted else None,
            "buffered_fixes_left_when_quiet": left, "checkpoint_bytes_per_rider": record}


def memory(args: argparse.Namespace, settings: KnightwatchSettings) -> Results:
    empty = empty_core_bytes(settings)
    runs = {"window": memory_run(args.window_riders, args.window_pings, settings, True),
            "scale": memory_run(args.scale_riders, args.scale_pings, settings),
            # Riders seen once (a phone inventing an id per record): memory must come back.
            "one-off": memory_run(args.one_off_riders, 1, settings)}
    for run in runs.values():
        # Per rider: what the riders add to an empty core.
        run["active_bytes_per_rider"] = round((run["active_bytes"] - empty) / run["riders"])
        run["quiet_bytes_per_rider"] = round((run["quiet_bytes"] - empty) / run["riders"])
    return {"method": "tracemalloc current size after gc.collect(), minus the empty core",
            "empty_core_bytes": empty, **runs}


# -- report --------------------------------------------------------------------------------


def machine() -> dict:
    return {"cpu_count": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)),
            "load_avg_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "started_utc": datetime.now(UTC).isoformat(timespec="seconds")}


def kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def print_throughput(results: Results) -> None:
    rates = {k: v for k, v in results["throughput"].items() if "seconds_wall" in v}
    print(f"{'layer':<30}{'records/s':>11}{'µs/record':>11}{'records/s':>11}{'µs/record':>11}")
    print(f"{'':<30}{'(wall)':>11}{'(wall)':>11}{'(CPU)':>11}{'(CPU)':>11}")
    for name, r in rates.items():
        print(f"{name:<30}{r['records_per_s_wall']:>11,}{r['us_per_record_wall']:>11.2f}"
              f"{r['records_per_s_cpu']:>11,}{r['us_per_record_cpu']:>11.2f}")
    decode, core = rates["decode (parse_line)"], rates["core (ingest, parsed events)"]
    whole, old = rates["replay (parse+core+write)"], rates[OLD_INPUT]
    for clock in ("wall", "cpu"):
        key = f"seconds_{clock}"
        print(f"{clock:>4}: core / decode {core[key] / decode[key]:6.2f}x the time of parsing; "
              f"replay / core {whole[key] / core[key]:5.2f}x the time of the core")
    for name, r in (("the same input", old), ("the city", whole)):
        print(f"replay {r['records_per_s_cpu'] / PREVIOUS_REPLAY_PER_S:.2f}x the previous 30k "
              f"records/s on {name} by CPU time "
              f"({r['records_per_s_wall'] / PREVIOUS_REPLAY_PER_S:.2f}x by wall clock)")
    print(f"(previous input: {old['riders']:,} clean straight-street riders x "
          f"{old['pings_per_rider']} pings, GPS only)")
    cores = math.ceil(FLEET_PINGS_PER_S / whole["records_per_s_cpu"])
    core_only = math.ceil(FLEET_PINGS_PER_S / core["records_per_s_cpu"])
    print(f"fleet: {FLEET_PINGS_PER_S:,} pings/s needs ~{cores} cores at the replay rate "
          f"({core_only} for the core alone), by CPU time")


def triple(q: dict, fmt: str) -> str:
    return "/".join(format(q[k], fmt) for k in ("p50", "p99", "max"))


def print_latency(results: Results) -> None:
    lat = results["latency"]
    print(f"{'realtime alerts':<20}{'n':>6}{'fixes p50/p99/max':>20}{'ms p50/p99/max':>26}")
    for kind, r in lat["realtime"].items():
        print(f"{kind:<20}{r['alerts']:>6}{triple(r['fixes'], 'd'):>20}"
              f"{triple(r['ms'], '.2f'):>26}")
    later = ", ".join(f"{k} {v}" for k, v in sorted(lat["later"].items())) or "none"
    print(f"later (realtime False): {sum(lat['later'].values())}: {later}")
    if lat["realtime_without_fix"]:
        print(f"realtime, no in-order fix at alert.ts: {lat['realtime_without_fix']}")
    print(f"out-of-order fixes (not timed): {lat['out_of_order_fixes']['count']}")


def print_memory(results: Results) -> None:
    mem = results["memory"]
    window, scale = mem["window"], mem["scale"]
    per_rider = window["active_bytes_per_rider"]
    print(f"memory: {mem['method']}; empty core {kib(mem['empty_core_bytes'])}")
    for name, run in (("window", window), ("scale", scale)):
        print(f"{name}: {run['riders']:,} riders x {run['pings_per_rider']} pings "
              f"(~{run['buffered_fixes_per_rider']:g} buffered each): "
              f"{run['active_bytes_per_rider']:,} B per active rider "
              f"({run['active_bytes'] / 2**20:,.1f} MiB in all)")
    # State is per rider (the two runs agree on the base), so larger fleets are projected.
    print(f"projected from the window run: 100,000 active riders "
          f"~{per_rider * 1e5 / 2**30:.2f} GiB; {FLEET_RIDERS:,} riders "
          f"{per_rider * FLEET_RIDERS / 2**30:.1f} GiB across the fleet")
    print(f"state {per_rider / PREVIOUS_BYTES_PER_RIDER:.2f}x the previous 43 KiB per rider "
          f"(which left out the fixes' own fields: built before tracing began)")
    for name, run in (("window", window), ("scale", scale), ("one-off", mem["one-off"])):
        evicted = (f"{run['riders_evicted']:,} evicted (snapshot {run['evicted_snapshot_bytes']}"
                   f" B compressed)" if run["riders_evicted"] else "none evicted")
        print(f"quiet ({name}, {run['riders']:,} riders x {run['pings_per_rider']}, event time "
              f"{run['quiet_after_min']:g} min past the last fix): "
              f"{run['quiet_bytes'] / 2**20:,.2f} MiB vs the empty core's "
              f"{kib(mem['empty_core_bytes'])}, {run['quiet_bytes_per_rider']:,} B per quiet "
              f"rider; {run['riders_held_when_quiet']:,} riders in memory, {evicted}; "
              f"{run['buffered_fixes_left_when_quiet']} fixes buffered")
    record = window["checkpoint_bytes_per_rider"]
    riders_per_worker = FLEET_RIDERS / WORKERS
    write = ", ".join(f"{record * riders_per_worker / s / 2**20:,.0f} MiB/s at {s} s"
                      for s in (1, 15, 30))
    print(f"checkpoint record per changed rider (JSON snapshot, window run): {kib(record)}; "
          f"{riders_per_worker:,.0f} riders per worker ({WORKERS} workers), all changing "
          f"between checkpoints: {write}")


def report(results: Results) -> None:
    m, f = results["machine"], results["fleet_file"]
    print(f"cores: {m['cpu_count']} ({m['usable_cpus']} usable); load average "
          f"{m['load_avg_1m']} at start, {m['load_avg_1m_at_end']} at end; Python {m['python']}")
    print(f"fleet file: demo city, {f['riders']} riders, {f['minutes']} min, "
          f"{f['records']:,} records ({f['by_topic'].get('rider-gps', 0):,} GPS)")
    print_throughput(results)
    print()
    print_latency(results)
    print()
    print_memory(results)
    print(f"alerts (replay): {results['throughput']['alerts_by_kind']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--riders", type=int, default=300, help="demo city riders")
    parser.add_argument("--minutes", type=int, default=60, help="demo city length")
    parser.add_argument("--window-riders", type=int, default=1000)
    parser.add_argument("--window-pings", type=int, default=100,
                        help="pings per rider: 100 x ~4 s fills the 300 s reorder buffer")
    parser.add_argument("--scale-riders", type=int, default=20_000)
    parser.add_argument("--scale-pings", type=int, default=2)
    parser.add_argument("--one-off-riders", type=int, default=200_000,
                        help="riders seen once, for the memory they leave when quiet")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = load_settings()
    results: Results = {"machine": machine()}
    lines, zones, results["fleet_file"] = city_file(args.riders, args.minutes)
    print(f"fleet file: {len(lines):,} records; timing...", file=sys.stderr)
    results["throughput"] = throughput(lines, zones, settings)
    results["latency"] = alert_latency(lines, zones, settings)
    del lines
    print("measuring memory...", file=sys.stderr)
    results["memory"] = memory(args, settings)
    results["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    report(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
