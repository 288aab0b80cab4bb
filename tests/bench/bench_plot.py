"""The PNG of `make bench`: the rates side by side, and the alert latency at each load."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: the figure only goes to a file
import matplotlib.pyplot as plt

from tests.bench.bench_table import Figures

RATES = [("bare_kafka_python", "bare\nkafka-python"), ("bare_confluent", "bare\nconfluent"),
         ("worker_1_sustained", "Knightwatch\n1 worker"),
         ("worker_2_sustained", "Knightwatch\n2 workers"),
         ("worker_1_committed_input", "Knightwatch 1w\ninput offsets"),
         ("peer_quix", "Quix\nStreams"), ("peer_faust", "faust\nagent")]
LATENCY = [("latency_50", "50% load"), ("latency_80", "80% load")]


def plot(f: Figures, title: str, out: Path) -> None:
    fig, (rates, latency) = plt.subplots(1, 2, figsize=(13, 4.8),
                                         gridspec_kw={"width_ratios": [3, 1]})
    shown = [(label, f[key]) for key, label in RATES if f.get(key)]
    bars = rates.bar([label for label, _ in shown], [v for _, v in shown],
                     color=["#999999" if "bare" in label else
                            "#1f77b4" if "Knightwatch" in label else "#ff7f0e"
                            for label, _ in shown])
    rates.bar_label(bars, fmt="{:,.0f}", fontsize=8)
    rates.set_ylabel("records/s")
    rates.tick_params(axis="x", labelsize=8)
    rates.set_title("Throughput on the same pre-loaded topic")
    loads = [(label, f.get(f"{key}_p50"), f.get(f"{key}_p99")) for key, label in LATENCY
             if f.get(f"{key}_p50") is not None]
    x = range(len(loads))
    latency.bar([i - 0.2 for i in x], [p50 for _, p50, _ in loads], 0.4, label="p50")
    latency.bar([i + 0.2 for i in x], [p99 for _, _, p99 in loads], 0.4, label="p99")
    latency.axhline(250, color="red", linewidth=0.8, linestyle="--", label="p99 aim 250 ms")
    latency.set_xticks(list(x), [label for label, _, _ in loads])
    latency.set_ylabel("ms, fix ack to committed alert")
    latency.set_title("Alert latency, 1 worker")
    latency.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
