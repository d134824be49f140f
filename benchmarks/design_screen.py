"""Surrogate pre-screening on the product's own use case: de novo design against a QSAR model.

PMO's tuning tasks (``pmo_ablation.py``, ablations 10-11) found no gain from the screen, so it
is off by default. This asks where it does help: ``examples/denovo_qsar.toml`` (PIM1 potency
from a random forest on ChEMBL Ki data, QED, SA score, alerts, size, two ADMET-panel terms),
the default portfolio unscreened, screened by the GP's mean and by expected improvement,
2,000 oracle calls, seeds 0-2. Reported: the top-10 mean objective at the end and PMO's AUC of
the running top-10 (every 100 calls, over the budget). Descriptive: no default changes on it.

    .venv/bin/python benchmarks/design_screen.py run --seeds 0 1 2 [--arms none mean ei]
    .venv/bin/python benchmarks/design_screen.py report
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pmo import auc_top_k  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PARTS = RESULTS / "design_screen"
CONFIG = ROOT / "examples" / "denovo_qsar.toml"
BUDGET = 2000
ARMS = ("none", "mean", "ei")


def run(arms: list[str], seeds: list[int]) -> None:
    import torch

    from drugloop.design import SurrogateScreen, default_portfolio, optimize
    from drugloop.design.run import RunConfig, _models
    from drugloop.scoring import build_scoring_function

    torch.set_num_threads(1)
    config = RunConfig.from_toml(CONFIG)
    models = _models(config)  # trained once; the objective is fresh per run (diversity memory)
    for seed in seeds:
        for arm in arms:
            path = PARTS / f"{arm}_seed{seed}.json"
            if path.exists():
                continue
            objective = build_scoring_function(config.scoring, models=models)
            generator = default_portfolio(seed=seed)
            if arm != "none":
                generator = SurrogateScreen(generator, acquisition=arm, seed=seed)
            started = time.perf_counter()
            scores = optimize(generator, objective, budget=BUDGET).molecules["score"]
            scores = scores.to_numpy(dtype=float)
            scores = scores[np.isfinite(scores)]
            part = {
                "arm": arm,
                "seed": seed,
                "oracle_calls": len(scores),
                "top10_mean": float(np.sort(scores)[::-1][:10].mean()),
                "auc_top10": auc_top_k(scores.tolist(), BUDGET),
                "wall_seconds": round(time.perf_counter() - started, 1),
            }
            PARTS.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(part, indent=1))
            print(json.dumps(part), flush=True)


def report() -> dict:
    parts = [json.loads(p.read_text()) for p in sorted(PARTS.glob("*_seed*.json"))]
    summary: dict = {"budget": BUDGET, "config": str(CONFIG.relative_to(ROOT)), "arms": {}}
    for arm in ARMS:
        rows = [p for p in parts if p["arm"] == arm]
        if rows:
            summary["arms"][arm] = {
                "seeds": [r["seed"] for r in rows],
                **{
                    key: float(np.mean([r[key] for r in rows]))
                    for key in ("top10_mean", "auc_top10", "wall_seconds")
                },
            }
    summary["parts"] = parts
    (RESULTS / "design_screen.json").write_text(json.dumps(summary, indent=1))
    lines = [
        "# Surrogate pre-screening, de novo design against a QSAR model",
        "",
        "Command: `.venv/bin/python benchmarks/design_screen.py run --seeds 0 1 2 && "
        ".venv/bin/python benchmarks/design_screen.py report`",
        "",
        f"Objective: `{summary['config']}` (default portfolio), {BUDGET} oracle calls; means "
        "over seeds. `mean`/`ei`: `SurrogateScreen` ranking 3x proposals by the GP's posterior "
        "mean / expected improvement over the 10th best.",
        "",
        "| screen | seeds | top-10 mean score | AUC top-10 | wall (s) |",
        "|---|---|---|---|---|",
    ]
    for arm, row in summary["arms"].items():
        seeds = ",".join(map(str, row["seeds"]))
        lines.append(
            f"| {arm} | {seeds} | {row['top10_mean']:.3f} | {row['auc_top10']:.3f} "
            f"| {row['wall_seconds']:.0f} |"
        )
    lines += ["", "Per seed (top-10 mean / AUC):", ""]
    for p in parts:
        lines.append(f"- {p['arm']} seed {p['seed']}: {p['top10_mean']:.3f} / {p['auc_top10']:.3f}")
    (RESULTS / "design_screen.md").write_text("\n".join(lines) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "report"])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    if args.command == "run":
        run(args.arms, args.seeds)
    print(json.dumps(report()["arms"], indent=1))


if __name__ == "__main__":
    main()
