"""Runs the simulator at several noise levels through the core and reports how well it does.

Everything runs in process (the replay path, no Kafka), so a fresh clone can reproduce the
figures; the targets are reported, never asserted."""

import io
import json
import os
import platform
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from streams.config.settings import load_settings
from streams.evaluate.matching import Score, score_alerts, score_exemptions
from streams.primitives.zones import ZoneMap
from streams.replay.runner import replay
from streams.scoring.safety_score import PENALISED_KINDS
from streams.simulate.faults import FaultRates
from streams.simulate.files import simulate

# Position noise (standard deviation of the drifting error, m): none, the demo's, ordinary
# phones (3-10 m), and a bad day among high buildings.
NOISE_LEVELS_M = (0.0, 3.5, 7.0, 10.0)
REALISTIC_M = 7.0
ALERT_KINDS = [*sorted(PENALISED_KINDS), "gps_anomaly"]
TARGET = 0.98
# Real traces live beside the repository, never in it (see ../shared/data/README.md).
SHARED_DATA = Path(os.environ.get("KNIGHTWATCH_SHARED_DATA",
                                  Path(__file__).resolve().parents[2].parent / "shared" / "data"))
TRACES = ("dcu_ebike.jsonl", "dcu_escooter.jsonl")


@dataclass
class LevelResult:
    noise_m: float
    scores: list[Score]
    clean_riders: int
    penalised_on_clean: int
    seconds: float


def _run(records: list[dict], zones: dict | None) -> list[dict]:
    source = io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in records))
    sink = io.BytesIO()
    zone_map = ZoneMap.from_geojson(zones) if zones is not None else None
    replay(source, sink, load_settings(), zone_map, show_progress=False)
    return [json.loads(line) for line in sink.getvalue().splitlines()]


def evaluate_level(noise_m: float, seed: int, riders: int, minutes: int) -> LevelResult:
    started = time.perf_counter()
    # Sensor faults ride along with any noise; a noiseless city is a perfect one.
    sim = simulate(seed=seed, riders=riders, minutes=minutes, noise_m=noise_m,
                   faults=FaultRates() if noise_m > 0 else FaultRates.none())
    outputs = _run(sim.records, sim.zones)
    alerts = [r["value"] for r in outputs if r["topic"] == "rider-alerts"]
    decisions = [r["value"] for r in outputs if r["topic"] == "order-exemptions"]
    scores = score_alerts(sim.labels, alerts, ALERT_KINDS) + score_exemptions(sim.labels,
                                                                               decisions)
    misbehaving = {x["rider_id"] for x in sim.labels if x["expected"] in PENALISED_KINDS}
    clean = set(sim.behaviours) - misbehaving
    on_clean = sum(1 for a in alerts if a["rider_id"] in clean and a["kind"] in PENALISED_KINDS)
    return LevelResult(noise_m, scores, len(clean), on_clean, time.perf_counter() - started)


def trace_rates() -> list[tuple[str, float, Counter]]:
    """(file, hours ridden, alerts by kind) for each real trace file found."""
    out = []
    for name in TRACES:
        path = SHARED_DATA / name
        if not path.exists():
            continue
        records = [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
        spans: dict[str, list[int]] = {}
        for r in records:
            ts = r["value"]["ts"]
            lo_hi = spans.setdefault(r["value"]["rider_id"], [ts, ts])
            lo_hi[0], lo_hi[1] = min(lo_hi[0], ts), max(lo_hi[1], ts)
        hours = sum(hi - lo for lo, hi in spans.values()) / 3_600_000
        kinds = Counter(r["value"]["kind"] for r in _run(records, None)
                        if r["topic"] == "rider-alerts")
        out.append((name, hours, kinds))
    return out


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def render_markdown(levels: list[LevelResult], traces: list[tuple[str, float, Counter]],
                    seed: int, riders: int, minutes: int) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Knightwatch detection accuracy",
        "",
        f"Run {when} on {platform.machine()} ({os.cpu_count()} cores, Python "
        f"{platform.python_version()}): `knightwatch eval --seed {seed} --riders {riders} "
        f"--minutes {minutes}` (`make eval`). Targets, reported not asserted: precision and "
        f"recall ≥ {TARGET} for every penalised kind at realistic noise ({REALISTIC_M:g} m), "
        "no penalised alert on clean riders or on the real traces.",
        "",
        "Delay: from the labelled start of the episode to the alert's time (event time).",
        "",
    ]
    for level in levels:
        lines += [f"## Position noise {level.noise_m:g} m"
                  + (" (no sensor faults)" if level.noise_m == 0 else " with sensor faults"),
                  "",
                  "| kind | labelled | found | raised | precision | recall | delay p50 s "
                  "| delay p95 s |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for s in level.scores:
            lines.append(f"| {s.name} | {s.labelled} | {s.found} | {s.raised} | "
                         f"{_f(s.precision)} | {_f(s.recall)} | {_f(s.delay_s(0.5), 1)} | "
                         f"{_f(s.delay_s(0.95), 1)} |")
        lines += ["", f"Penalised alerts on the {level.clean_riders} riders with nothing "
                  f"penalised to find: {level.penalised_on_clean}.", ""]
    lines += ["## Real traces (../shared/data)", "",
              "| file | hours ridden | penalised alerts per hour | all alerts per hour "
              "| alerts by kind |", "|---|---:|---:|---:|---|"]
    for name, hours, kinds in traces:
        penalised = sum(v for k, v in kinds.items() if k in PENALISED_KINDS)
        lines.append(f"| {name} | {hours:.2f} | {penalised / hours:.2f} | "
                     f"{sum(kinds.values()) / hours:.2f} | "
                     f"{', '.join(f'{k} {v}' for k, v in sorted(kinds.items())) or 'none'} |")
    if not traces:
        lines.append(f"| not found at {SHARED_DATA} | | | | |")
    return "\n".join(lines) + "\n"


def plot(levels: list[LevelResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_p, ax_r) = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    noise = [x.noise_m for x in levels]
    for i, name in enumerate(s.name for s in levels[0].scores):
        scores = [next(s for s in x.scores if s.name == name) for x in levels]
        if all(s.labelled == 0 for s in scores):
            continue
        style = "-o" if i < 10 else "--s"
        ax_p.plot(noise, [s.precision for s in scores], style, label=name)
        ax_r.plot(noise, [s.recall for s in scores], style, label=name)
    for ax, title in ((ax_p, "precision"), (ax_r, "recall")):
        ax.axhline(TARGET, color="grey", linestyle=":", linewidth=1)
        ax.set_title(title)
        ax.set_xlabel("position noise, m (drifting)")
        ax.grid(alpha=0.3)
    ax_p.set_ylim(-0.02, 1.05)
    ax_r.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_eval(out_dir: Path, riders: int = 120, minutes: int = 60, seed: int = 7) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    levels = []
    for noise_m in NOISE_LEVELS_M:
        print(f"noise {noise_m:g} m: simulating {riders} riders for {minutes} min and "
              "replaying...", flush=True)
        levels.append(evaluate_level(noise_m, seed, riders, minutes))
        print(f"  done in {levels[-1].seconds:.1f} s", flush=True)
    print("real traces...", flush=True)
    traces = trace_rates()
    markdown = render_markdown(levels, traces, seed, riders, minutes)
    (out_dir / "accuracy.md").write_text(markdown, encoding="utf-8")
    plot(levels, out_dir / "accuracy.png")
    print()
    print(markdown)
    print(f"Written: {out_dir / 'accuracy.md'}, {out_dir / 'accuracy.png'}")
    return 0
