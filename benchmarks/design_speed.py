"""Design speed: molecules generated and scored per second with cheap scoring components.

Two configurations of our own engine run the same objective (QED, SA score, physchem windows,
a scaffold diversity filter) for the same budget of unique scored molecules, one after the
other on the same machine with one torch thread:

* ``portfolio``: the default portfolio (REINVENT-style RL with replay and augmented memory,
  graph GA, MMP analogs; bandit allocation), batch 100, as ``drugloop design run`` uses it;
* ``reinvent_like``: the ``reinvent`` generator alone with REINVENT 4's staged-learning
  defaults (sigma 128, learning rate 1e-4, batch 64, no augmented memory, a replay memory of
  100 sampling 10) — the baseline a REINVENT user would run.

Throughput is unique scored molecules per wall-clock second including generation, scoring and
learning, and per CPU second of the process (less sensitive to a shared machine's load). Each
configuration runs once per seed, alternating, and the ratio is taken per seed. The load
average is recorded beside the figures.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/design_speed.py            # budget 2000, 3 seeds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from drugloop.design.loop import optimize
from drugloop.design.portfolio import default_portfolio
from drugloop.design.reinvent import Reinvent
from drugloop.scoring import build_scoring_function

RESULTS = Path(__file__).resolve().parent / "results"

OBJECTIVE = {
    "aggregation": "geometric",
    "diversity_filter": {"type": "scaffold", "bucket_size": 25, "min_score": 0.4},
    "components": [
        {"type": "qed"},
        {"type": "sa_score", "transform": {"type": "reverse_sigmoid", "low": 2.5, "high": 5}},
        {
            "type": "molecular_weight",
            "transform": {"type": "double_sigmoid", "low": 200, "high": 500},
        },
        {"type": "logp", "transform": {"type": "double_sigmoid", "low": 0, "high": 5}},
        {"type": "tpsa", "transform": {"type": "double_sigmoid", "low": 20, "high": 140}},
        {"type": "hbd", "transform": {"type": "reverse_sigmoid", "low": 3, "high": 6}},
    ],
}

CONFIGS = {
    "portfolio": {"batch_size": 100},
    "reinvent_like": {"batch_size": 64},
}


def _generator(name: str, seed: int):
    if name == "portfolio":
        return default_portfolio(seed=seed)
    return Reinvent(
        sigma=128.0,
        learning_rate=1e-4,
        replay_size=100,
        replay_batch=10,
        augmented_rounds=0,
        seed=seed,
    )


def run_one(name: str, seed: int, budget: int) -> dict[str, float]:
    load_before = os.getloadavg()[0]
    started, cpu_started = time.perf_counter(), time.process_time()
    generator = _generator(name, seed)
    setup = time.perf_counter() - started
    scorer = build_scoring_function(OBJECTIVE)
    result = optimize(generator, scorer, budget, batch_size=CONFIGS[name]["batch_size"])
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    scores = result.molecules["score"].to_numpy(dtype=float)
    top10 = np.sort(scores[np.isfinite(scores)])[-10:]
    return {
        "config": name,
        "seed": seed,
        "scored": result.n_oracle_calls,
        "seconds": round(seconds, 2),
        "setup_seconds": round(setup, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "molecules_per_second": result.n_oracle_calls / seconds,
        "molecules_per_cpu_second": result.n_oracle_calls / cpu_seconds,
        "top10_mean_score": float(top10.mean()),
        "stop_reason": result.stop_reason,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = []
    for seed in args.seeds:
        order = list(CONFIGS) if seed % 2 == 0 else list(reversed(CONFIGS))
        for name in order:
            runs.append(run_one(name, seed, args.budget))
            print(json.dumps(runs[-1]), flush=True)
    rate, cpu_rate = (
        {name: [r[key] for r in runs if r["config"] == name] for name in CONFIGS}
        for key in ("molecules_per_second", "molecules_per_cpu_second")
    )
    ratios = [p / b for p, b in zip(rate["portfolio"], rate["reinvent_like"], strict=True)]
    cpu_ratios = [
        p / b for p, b in zip(cpu_rate["portfolio"], cpu_rate["reinvent_like"], strict=True)
    ]
    result = {
        "benchmark": "design_speed",
        "budget": args.budget,
        "seeds": args.seeds,
        "objective": OBJECTIVE,
        "configs": CONFIGS,
        "runs": runs,
        "mean_molecules_per_second": {k: float(np.mean(v)) for k, v in rate.items()},
        "mean_molecules_per_cpu_second": {k: float(np.mean(v)) for k, v in cpu_rate.items()},
        "ratio_portfolio_over_reinvent_like": [round(r, 3) for r in ratios],
        "cpu_ratio_portfolio_over_reinvent_like": [round(r, 3) for r in cpu_ratios],
        "torch_threads": 1,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "design_speed.json").write_text(json.dumps(result, indent=2))
    md = [
        "# Design speed: unique molecules generated and scored per second",
        "",
        f"Budget {args.budget} unique scored molecules per run; cheap objective (QED, SA, "
        "physchem windows, scaffold diversity filter); one torch thread; seeds "
        f"{args.seeds}, configurations alternating. Shared {os.cpu_count()}-core machine: "
        "1-min load average before/after each run is listed; compare the ratio, not the "
        "absolute rates.",
        "",
        "| config | seed | molecules/s | molecules/CPU-s | seconds | top-10 mean | load avg |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        md.append(
            f"| {r['config']} | {r['seed']} | {r['molecules_per_second']:.1f} | "
            f"{r['molecules_per_cpu_second']:.1f} | {r['seconds']:.1f}"
            f" | {r['top10_mean_score']:.3f} | {r['load_average_1min'][0]}→"
            f"{r['load_average_1min'][1]} |"
        )
    md += [
        "",
        "Ratio portfolio / REINVENT-like (same seed): "
        + ", ".join(f"{r:.2f}" for r in ratios)
        + f" (mean {np.mean(ratios):.2f}); per CPU second: "
        + ", ".join(f"{r:.2f}" for r in cpu_ratios)
        + f" (mean {np.mean(cpu_ratios):.2f}).",
        "",
        "REINVENT-like = our `reinvent` generator alone with REINVENT 4's staged-learning defaults "
        "(sigma 128, lr 1e-4, batch 64, replay 100/10, no augmented memory).",
    ]
    (RESULTS / "design_speed.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
