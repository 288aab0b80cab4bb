"""`make bench`: Knightwatch side by side with the limit and its peers, in one run.

    make bench                                   # starts the local Kafka and Redis first
    python -m tests.bench.bench [--hours 288] [--peer-window 45]
    python -m tests.bench.bench --core-only      # no broker needed

Prints the machine's cores, progress lines while it runs, then markdown tables; writes
bench/results/bench.json, bench.md and bench.png:

- Core (bench_core): the whole replay's records/s by CPU time (one process: per core) on the
  demo city; bytes per active rider with full reorder buffers; what a rider still holds once
  event time has moved well past its last fix.
- The limit (bench_fleet): a bare consumer that only reads and json.loads the pre-loaded
  rider-gps topic, with kafka-python and with confluent-kafka.
- Knightwatch workers (bench_fleet): sustained records/s with 1 and with 2 workers,
  exactly-once; live alert latency of 1 worker under background load at 50% and 80% of the
  1-worker sustained rate.
- Peers (peers/, peer_run): the sustained-speeding rule in Quix Streams and as a plain faust
  agent, on the 1-worker run's same pre-loaded topic before its worker starts.
- Ratios and issue 11's targets (bench_table), reported as met or not, never asserted.

Rates of the worker and the peers compared with one another are all the group's committed
input offsets over time; the worker against the bare consumers is its sustained rate (input
to every output committed), the stricter of its two rates.
"""

import argparse
import io
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson

from streams.config.settings import load_settings
from streams.config.thresholds import Speeding
from streams.replay.runner import replay
from tests.bench import bench_fleet
from tests.bench.bare_confluent import confluent_read
from tests.bench.bench_core import city_file, machine, memory, rates, timed
from tests.bench.bench_fleet import DEFAULTS, bare_consume, latency_json, live_latency, progress
from tests.bench.bench_plot import plot
from tests.bench.bench_table import Figures, markdown, targets
from tests.bench.peer_run import faust_peer, quix_peer, run_peer
from tests.bench.peers.speeding_rule import alerts_in
from tests.integration.fleet import Fleet
from tests.integration.scenario import city_lines

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"
LOADS = (0.5, 0.8)  # of the 1-worker sustained rate, for the latency runs


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def core_part(args: argparse.Namespace) -> dict:
    settings = load_settings()
    progress(f"core: demo city, {args.core_riders} riders x {args.core_minutes} min")
    lines, zones, info = city_file(args.core_riders, args.core_minutes)
    data = b"".join(lines)
    seconds, _ = timed(lambda: replay(io.BytesIO(data), io.BytesIO(), settings, zones,
                                      show_progress=False))
    progress("core: memory per active and quiet rider")
    return {"fleet_file": info, "replay": rates(len(lines), seconds),
            "memory": memory(args, settings)}


def readers_of_the_loaded_topic(args: argparse.Namespace, into: dict):
    """What runs on the 1-worker run's pre-loaded deployment before its worker starts."""

    def run(fleet: Fleet) -> None:
        progress("bare consumer (confluent-kafka)")
        confluent = bare_consume(fleet, confluent_read)
        into["bare_confluent"] = {"records": confluent.records,
                                  "seconds": round(confluent.seconds, 3),
                                  "records_per_s": round(confluent.rate),
                                  "cpu_s_per_100k_records": round(confluent.cpu_per_100k, 2),
                                  "undecodable": confluent.undecodable}
        into["peer_alerts_owed"] = speeding_alerts_owed(args.hours)
        interval = DEFAULTS.checkpoint_interval_s  # the worker's, so commits lag alike
        into["peers"] = {name: run_peer(fleet, make(fleet, fleet.workdir, interval),
                                        args.peer_window).to_json()
                         for name, make in (("quix", quix_peer), ("faust", faust_peer))}

    return run


def speeding_alerts_owed(hours: int) -> int:
    """The speeding alerts the peers' rule raises over the whole pre-loaded GPS input (a line
    that is not JSON is on that topic too, as Fleet.produce sends it there)."""
    values = []
    for line in city_lines(copies=hours):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            values.append(line)
            continue
        if record.get("topic") == "rider-gps":
            values.append(orjson.dumps(record.get("value")))
    return alerts_in(values, Speeding())


def latency_part(args: argparse.Namespace, one_worker_rate: float) -> dict:
    out = {}
    for load in LOADS:
        rate = round(one_worker_rate * load)
        progress(f"alert latency at {load:.0%} of the 1-worker rate: {rate:,} records/s")
        result = live_latency(args.riders, args.stagger, rate)
        result.background_basis = f"{load:.0%} of the 1-worker sustained {one_worker_rate:,.0f}/s"
        out[f"{load:.0%}"] = latency_json(result)
    return out


def figures(results: dict) -> Figures:
    f: Figures = {}
    if core := results.get("core"):
        window = core["memory"]["window"]
        f |= {"core_replay_per_core": core["replay"]["records_per_s_cpu"],
              "bytes_per_active_rider": window["active_bytes_per_rider"],
              "quiet_bytes_per_rider": window["quiet_bytes_per_rider"]}
    if fleet := results.get("fleet"):
        peers = fleet["peers"]
        f |= {"bare_kafka_python": fleet["bare_consumer"]["records_per_s"],
              "bare_confluent": fleet["bare_confluent"]["records_per_s"],
              "worker_1_sustained": fleet["one_worker"]["per_worker_records_per_s"],
              "worker_2_sustained": fleet["two_workers"]["sustained_records_per_s"],
              "worker_1_committed_input": fleet["one_worker"]["ingest_stage_records_per_s"],
              "peer_quix": peers["quix"]["records_per_s"],
              "peer_faust": peers["faust"]["records_per_s"]}
    for load, r in results.get("latency", {}).items():
        key = f"latency_{load.rstrip('%')}"
        spread = r["fix_ack_to_alert_seen_ms"] or {}
        f |= {f"{key}_p50": spread.get("p50"), f"{key}_p99": spread.get("p99")}
    return f


def header(m: dict) -> str:
    return (f"{m['started_utc']} on {m['cpu_count']} cores ({m['usable_cpus']} usable, "
            f"{m['cpu_model']}); load average {m['load_avg_1m']} at start, "
            f"{m.get('load_avg_1m_at_end', 'n/a')} at end; Python {m['python']}")


def notes(results: dict) -> str:
    lines = []
    if fleet := results.get("fleet"):
        lines.append(f"Input: {fleet['hours']} hours of the test city, "
                     f"{fleet['one_worker']['input_records']:,} records; worker defaults "
                     f"({DEFAULTS.gps_partitions} partitions, checkpoint "
                     f"{DEFAULTS.checkpoint_interval_s:g} s).")
        for peer in fleet["peers"].values():
            state = (f"failed: {peer['error'][:300]}" if peer["error"] else
                     f"{peer['records']:,} records in {peer['seconds']:g} s, ended by "
                     f"{peer['ended_by']}; {peer['alerts']:,} speeding alerts committed when "
                     f"stopped, of {fleet['peer_alerts_owed']:,} the rule raises over the "
                     "whole input")
            lines.append(f"Peer {peer['name']} ({peer['guarantee']}): {state}.")
    for load, r in results.get("latency", {}).items():
        lines.append(f"Latency at {load}: background {r['background_rate']:,}/s asked, "
                     f"{r['background_sent']:,}/s sent; alerts committed "
                     f"{r['alerts_committed']}/{r['riders']}.")
    return "".join(f"- {line}\n" for line in lines)


def write(results: dict, out_dir: Path) -> str:
    f = results["figures"]
    text = f"Knightwatch benchmark, {header(results['machine'])}\n\n{markdown(f)}\n{notes(results)}"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2)
                                         + b"\n")
    (out_dir / "bench.md").write_text(text)
    m = results["machine"]
    plot(f, f"Knightwatch, {m['started_utc']}, {m['cpu_count']} cores ({m['cpu_model']})",
         out_dir / "bench.png")
    return text


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--core-only", action="store_true", help="the core only: no broker")
    parser.add_argument("--hours", type=int, default=bench_fleet.DEFAULT_HOURS,
                        help="hours of the test city pre-loaded for the throughput runs")
    parser.add_argument("--peer-window", type=float, default=45.0,
                        help="seconds each peer is measured for at most, after its first commit")
    parser.add_argument("--riders", type=int, default=20, help="live riders timed per load")
    parser.add_argument("--stagger", type=float, default=0.23,
                        help="seconds between the live riders' starts")
    parser.add_argument("--core-riders", type=int, default=300, help="demo city riders")
    parser.add_argument("--core-minutes", type=int, default=60, help="demo city length")
    parser.add_argument("--window-riders", type=int, default=1000)
    parser.add_argument("--window-pings", type=int, default=100,
                        help="pings per rider: 100 x ~4 s fills the 300 s reorder buffer")
    parser.add_argument("--scale-riders", type=int, default=20_000)
    parser.add_argument("--scale-pings", type=int, default=2)
    parser.add_argument("--one-off-riders", type=int, default=20_000,
                        help="riders seen once, for the memory they leave when quiet")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    results: dict = {"machine": machine() | {"cpu_model": cpu_model()}}
    print(f"cores: {os.cpu_count()} ({results['machine']['cpu_model']}); load average "
          f"{results['machine']['load_avg_1m']}", flush=True)
    results["core"] = core_part(args)
    if not args.core_only:
        fleet: dict = {}
        fleet |= bench_fleet.throughput(args.hours, readers_of_the_loaded_topic(args, fleet))
        results["fleet"] = fleet
        one = fleet["one_worker"]["sustained_records_per_s"]
        results["latency"] = latency_part(args, one)
    results["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    results["machine"]["finished_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["figures"] = f = figures(results)
    results["targets"] = [{"name": t.name, "measured": t.measured, "wanted": t.wanted,
                           "verdict": t.verdict} for t in targets(f)]
    print(write(results, args.out_dir))
    print(f"wrote {args.out_dir}/bench.json, bench.md, bench.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
