"""Active-learning benchmark: MolPAL protocol on the Enamine 10k docking-score library.

1% random initial batch, then five 1% batches chosen by the default campaign configuration
(the same defaults as ``drugloop campaign simulate``); the figure is the fraction of the true
top-1% found among everything tested after 6% of the library. Random selection runs beside it.

    .venv/bin/python benchmarks/active_learning.py            # seeds 0-4, both arms
    .venv/bin/python benchmarks/active_learning.py --seeds 0 1 # a part; parts merge on re-run
    .venv/bin/python benchmarks/active_learning.py --pool LIB.csv.gz --scores LIB_scores.csv.gz
                                          # a held-out library, same defaults (+ random arm)

Per-seed runs are cached under benchmarks/results/active_learning/ so the work can be split.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.campaign.simulate import (
    SimulationConfig,
    read_oracle,
    read_smiles_column,
    simulate_campaign,
)
from drugloop.paths import data_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = RESULTS / "active_learning"
# Published/measured anchors, quoted from issue #6 (MolPAL's own code and Enamine config run on
# this machine class, fraction of top-1% found after 6% explored) and MolPAL's paper.
ANCHORS = {
    "MolPAL RF + greedy": "0.452 ± 0.033",
    "MolPAL NN + greedy": "0.599 ± 0.048",
    "MolPAL 5-NN ensemble + UCB": "0.631 ± 0.049",
    "MolPAL MPN + greedy": "0.654",
}
ANCHOR_SEEDS = {"MolPAL MPN + greedy": 1}
DEFAULTS = SimulationConfig()
ARMS = {
    f"drugloop default ({DEFAULTS.model} minmax, size mean + {DEFAULTS.acquisition})": (
        "default",
        {},
    ),
    "drugloop gp minmax, constant mean + greedy (default until the size-mean proxy study)": (
        "minmax_constant",
        {"model_params": {"mean": "constant"}},
    ),
    "drugloop gp count-Tanimoto + greedy (default until the 8-seed proxy study)": (
        "gp_tanimoto",
        {"model_params": {"kernel": "tanimoto", "mean": "constant"}},
    ),
    "drugloop rf + greedy (foundation default)": ("drugloop", {"model": "rf"}),
    "random selection": ("random", {"acquisition": "random"}),
}


def part_path(arm: str, seed: int, parts: Path = PARTS) -> Path:
    return parts / f"{ARMS[arm][0]}_seed{seed}.json"


def run_part(
    arm: str, seed: int, pool: list[str], oracle: dict[str, float], parts: Path = PARTS
) -> dict:
    path = part_path(arm, seed, parts)
    if path.exists():
        return json.loads(path.read_text())
    config = SimulationConfig(minimize=True, seed=seed, **ARMS[arm][1])
    started = time.perf_counter()
    result = simulate_campaign(pool, oracle, config).to_dict()
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # shared machine
    parts.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return result


def summarize(seeds: list[int], parts: Path = PARTS, library: str = "Enamine10k (MolPAL)") -> dict:
    summary: dict = {
        "benchmark": "active_learning",
        "library": library,
        "protocol": "init 1% random + 5 x 1% batches; top-1% recovery after 6%",
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "arms": {},
    }
    for arm in ARMS:
        runs = []
        for seed in seeds:
            path = part_path(arm, seed, parts)
            if path.exists():
                runs.append(json.loads(path.read_text()))
        if not runs:
            continue
        finals = np.array([r["final_fraction_top_found"] for r in runs])
        per_round = np.array([[x["fraction_top_found"] for x in r["rounds"]] for r in runs])
        summary["arms"][arm] = {
            "seeds": [r["config"]["seed"] for r in runs],
            "fraction_top1pct_found_mean": round(float(finals.mean()), 4),
            "fraction_top1pct_found_sd": round(
                float(finals.std(ddof=1)) if len(finals) > 1 else 0.0, 4
            ),
            "per_seed": [round(float(f), 4) for f in finals],
            "per_round_mean": [round(float(v), 4) for v in per_round.mean(axis=0)],
            "mean_wall_seconds": round(float(np.mean([r["wall_seconds"] for r in runs])), 1),
            "top_k": runs[0]["top_k"],
        }
    summary["anchors"] = ANCHORS
    summary["default_selection"] = proxy_selection()
    summary["extra_seed_check"] = extra_seed_check()
    summary["check_after_choice"] = check_after_choice()
    return summary


def _rank_summary(frame) -> dict:
    means = frame.groupby(["task", "config"])["fraction"].agg(["mean", "std", "count"])
    ranks = means["mean"].groupby(level="task").rank(ascending=False)
    return {
        "tasks": sorted(frame["task"].unique()),
        "per_task": {
            f"{task} | {config}": {
                "mean": round(r["mean"], 4),
                "sd": round(r["std"], 4),
                "seeds": int(r["count"]),
            }
            for (task, config), r in means.iterrows()
        },
        "mean_rank_over_tasks": ranks.groupby(level="config").mean().round(2).to_dict(),
        "mean_fraction_over_tasks": means["mean"].groupby(level="config").mean().round(4).to_dict(),
        "n_tasks": means["mean"].groupby(level="config").size().to_dict(),
    }


def proxy_selection() -> dict:
    """The proxy-task runs the default was chosen on (benchmarks/al_proxy.py), never Enamine."""
    from al_proxy import table

    frame = table()
    if frame.empty:
        return {}
    return {
        "protocol": "init 1% + 5 x 1% batches, top-1% recovery, seeds 0-2 where complete",
        **_rank_summary(frame),
        "rule": "first rule (superseded): default = best mean rank over proxy tasks on seeds "
        "0-2; ties to the simpler (greedy, topk)",
    }


def extra_seed_check() -> dict:
    """Seeds 0-7 pooled: the rule the default is now chosen by.

    Seeds 3-7 showed that three seeds could not separate the GP variants (every paired interval
    spans zero and the 3-seed order reverses), so the default is picked on all eight. Only
    configurations with all eight seeds on every task enter. Enamine 10k plays no part.
    """
    from al_proxy import EXTRA_PARTS, table

    extra = table(EXTRA_PARTS)
    if extra.empty:
        return {}
    frame = pd.concat([table(), extra])
    counts = frame.groupby(["config", "task"])["seed"].nunique().unstack()
    complete = counts.index[(counts == 8).all(axis=1)]
    frame = frame[frame["config"].isin(complete)]
    return {
        "protocol": "proxy tasks, seeds 0-7 pooled",
        "rule": "current rule: default = best mean rank over proxy tasks on seeds 0-7",
        **_rank_summary(frame),
        "paired_vs_gp_greedy": _paired_differences(frame, "gp_greedy"),
    }


def check_after_choice() -> dict:
    """The chosen default vs the one before it on seven ChEMBL sets no rule ever looked at.

    Run after the choice (``al_proxy.py --check``), so it can only confirm or qualify it.
    """
    from al_proxy import CHECK_CONFIGS, CHECK_PARTS, table

    frame = table(CHECK_PARTS)
    if frame.empty:
        return {}
    wide = frame.pivot_table(index=["task", "seed"], columns="config", values="fraction")
    current, previous = CHECK_CONFIGS
    diff = (wide[current] - wide[previous]).dropna()
    per_task = wide.groupby(level="task").mean()
    return {
        "configs": {"current": current, "previous": previous},
        "per_task_mean": {
            t: {c: round(float(v), 4) for c, v in row.items()} for t, row in per_task.iterrows()
        },
        "mean_difference": round(float(diff.mean()), 4),
        "wins_ties_losses": [int((diff > 0).sum()), int((diff == 0).sum()), int((diff < 0).sum())],
        "runs": len(diff),
    }


def _paired_differences(frame, reference: str, n_boot: int = 5000) -> dict:
    """Per (task, seed) recovery minus the reference's; task-averaged, with a bootstrap CI.

    Resampling seeds within each task keeps every task in every replicate, matching the
    task-averaged figure; the CI says whether a gap is larger than seed noise.
    """
    wide = frame.pivot_table(index=["task", "seed"], columns="config", values="fraction")
    rng = np.random.default_rng(0)
    out = {}
    for config in wide.columns.drop(reference):
        diff = (wide[config] - wide[reference]).dropna()
        groups = [g.to_numpy() for _, g in diff.groupby(level="task")]
        boots = [np.mean([rng.choice(g, len(g)).mean() for g in groups]) for _ in range(n_boot)]
        low, high = np.percentile(boots, [2.5, 97.5])
        out[config] = {
            "mean_difference": round(float(np.mean([g.mean() for g in groups])), 4),
            "ci95": [round(float(low), 4), round(float(high), 4)],
            "wins_ties_losses": [
                int((diff > 0).sum()),
                int((diff == 0).sum()),
                int((diff < 0).sum()),
            ],
        }
    return out


def _rank_table(sel: dict) -> list[str]:
    tasks = sel["tasks"]
    lines = [
        "| configuration | mean rank | mean recovery | " + " | ".join(tasks) + " |",
        "|---|---|---|" + "---|" * len(tasks),
    ]
    for config, rank in sorted(sel["mean_rank_over_tasks"].items(), key=lambda kv: kv[1]):
        cells = []
        for task in tasks:
            cell = sel["per_task"].get(f"{task} | {config}")
            cells.append(f"{cell['mean']:.3f}" if cell else "–")
        lines.append(
            f"| {config} | {rank} | {sel['mean_fraction_over_tasks'][config]:.3f} | "
            + " | ".join(cells)
            + " |"
        )
    return lines


def markdown(summary: dict) -> str:
    lines = [
        f"# Active learning — {summary['library']}, top-1% recovery after 6% tested",
        "",
        "| method | fraction of top-1% found | seeds | s/run |",
        "|---|---|---|---|",
    ]
    for arm, s in summary["arms"].items():
        lines.append(
            f"| {arm} | {s['fraction_top1pct_found_mean']:.3f} ± "
            f"{s['fraction_top1pct_found_sd']:.3f} | {len(s['seeds'])} | {s['mean_wall_seconds']} |"
        )
    if summary["library"].startswith("Enamine10k"):  # the anchors were measured on it
        for name, value in ANCHORS.items():
            lines.append(f"| {name} (anchor) | {value} | {ANCHOR_SEEDS.get(name, 5)} | |")
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/active_learning.py`", ""]
    sel = summary.get("default_selection") or {}
    if sel:
        lines += [
            "## How the default was chosen (proxy tasks only; Enamine 10k never used)",
            "",
            "Two stages. First, top-1% recovery as the mean of seeds 0-2 per task "
            "(`benchmarks/al_proxy.py`; rank 1 = best on that task, ties share the mean rank). "
            "That picked the count-Tanimoto GP. Seeds 3-7 then showed three seeds cannot "
            "separate the GP variants, so the rule moved to all eight seeds (next section), "
            "which picked the MinMax-kernel GP, and then the MinMax GP with a prior mean linear "
            "in molecular size (`gp_minmax_sizemean`, the current default); the Enamine arm for "
            "each was run once, after its choice. Configuration names below are the proxy "
            "script's; `gp_greedy` there is the count-Tanimoto GP.",
            "",
        ]
        lines += _rank_table(sel)
        lines += [
            "",
            f"Rule: {sel['rule']}. A configuration run on fewer tasks (–) was stopped early for "
            "time; its mean rank covers only the tasks it ran. `gp_ap` = GP on Morgan counts + "
            "atom-pair counts (mean of the two count-Tanimoto kernels, MolPAL's Enamine "
            "featurization added); `gp_minmax` = GP with the MinMax kernel on Morgan counts; "
            "`gp_ml` = the default GP with its signal and noise variances fitted each round by "
            "marginal likelihood (L-BFGS) instead of the noise picked from a 5-point grid; "
            "`gp_physchem` = `gp_ml` plus an RBF kernel on 10 standardized RDKit descriptors "
            "(heavy atoms, MW, cLogP, TPSA, HBD, HBA, rotatable bonds, rings, aromatic rings, "
            "Fsp3), both kernel weights, the length-scale and the noise fitted by marginal "
            "likelihood each round; `gp_lgbm_rank` = rank average of the default GP and "
            "LightGBM on the same 10 descriptors. These four are defined in the proxy script "
            "only. Caveat: the zinc10k_docklike oracle is built from six of those descriptors, "
            "so descriptor models are favoured there by construction. Per-seed figures: "
            "`default_selection` in the JSON.",
        ]
    extra = summary.get("extra_seed_check") or {}
    if extra:
        lines += [
            "",
            "## The current rule: seeds 0-7 pooled",
            "",
            "Seeds 3-7 for the leading configurations (`al_proxy.py --seeds 3 4 5 6 7 "
            "--parts-dir benchmarks/results/active_learning/proxy_extra_seeds`), pooled with "
            "seeds 0-2. Only configurations with all eight seeds on every task enter. The "
            "MinMax GP (`gp_minmax`, MinMax kernel on Morgan counts) led first; its two "
            "best-ranked companions were then put on the MinMax kernel (`gp_minmax_physchem`, "
            "`gp_minmax_ap`) and four changes to the MinMax GP itself were tried: targets floored "
            "at their median (`gp_minmax_clip`), targets rank-mapped to normal quantiles "
            "(`gp_minmax_copula`), radius-3 Morgan counts (`gp_minmax_r3`) and a prior mean "
            "linear in molecular size, the total Morgan count, with its two coefficients fitted "
            "by generalized least squares (`gp_minmax_sizemean`). Only the size mean lifted the "
            'mean rank, so it is the default now (`mean="size"` of the `gp` model) and its '
            "Enamine arm was run once, after that choice. The margins are small: every paired "
            "interval below includes zero, and the size mean's lead comes from "
            "zinc10k_docklike (+0.06 over `gp_minmax`), whose oracle has size in it by "
            "construction, as docking scores do; on the three ChEMBL sets it is within noise "
            "of `gp_minmax` (+0.004, −0.007, −0.027).",
            "",
            *_rank_table(extra),
            "",
            "Paired against `gp_greedy` (same task and seed): recovery difference averaged over "
            "tasks, 95% bootstrap interval (seeds resampled within each task), and the count of "
            "(task, seed) runs won / tied / lost.",
            "",
            "| configuration | difference | 95% interval | won / tied / lost |",
            "|---|---|---|---|",
        ]
        paired = extra["paired_vs_gp_greedy"]
        for config, d in sorted(paired.items(), key=lambda kv: -kv[1]["mean_difference"]):
            low, high = d["ci95"]
            lines.append(
                f"| {config} | {d['mean_difference']:+.3f} | [{low:+.3f}, {high:+.3f}] | "
                + " / ".join(str(n) for n in d["wins_ties_losses"])
                + " |"
            )
    check = summary.get("check_after_choice") or {}
    if check:
        current, previous = check["configs"]["current"], check["configs"]["previous"]
        won, tied, lost = check["wins_ties_losses"]
        lines += [
            "",
            "## After the choice: seven more ChEMBL sets",
            "",
            "The next seven largest MoleculeACE sets, never used by any rule, run after the "
            "size mean was chosen (`.venv/bin/python benchmarks/al_proxy.py --check`; seeds 0-4, "
            "same protocol): top-1% recovery, mean over seeds.",
            "",
            f"| task | {current} | {previous} |",
            "|---|---|---|",
        ]
        for task, row in check["per_task_mean"].items():
            lines.append(f"| {task} | {row[current]:.3f} | {row[previous]:.3f} |")
        lines += [
            "",
            f"Paired over {check['runs']} (task, seed) runs: mean difference "
            f"{check['mean_difference']:+.3f}; won / tied / lost {won} / {tied} / {lost}.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--pool", type=Path, help="another library (CSV with a smiles column); default Enamine 10k"
    )
    parser.add_argument("--scores", type=Path, help="its look-up scores (smiles, score)")
    parser.add_argument(
        "--arms",
        nargs="+",
        choices=[short for short, _ in ARMS.values()],
        help="arms to run (default: all; on another library: default and random)",
    )
    args = parser.parse_args()
    if (args.pool is None) != (args.scores is None):
        parser.error("--pool and --scores go together")
    if args.pool is None:
        pool_path = data_dir() / "molpal" / "Enamine10k.csv.gz"
        scores_path = data_dir() / "molpal" / "Enamine10k_scores.csv.gz"
        name, parts, arms = "", PARTS, args.arms
    else:  # a held-out library: same defaults, own parts and result files
        pool_path, scores_path = args.pool, args.scores
        name = pool_path.name.split(".")[0]
        parts, arms = PARTS / name, args.arms or ["default", "random"]
    pool = read_smiles_column(pool_path)
    oracle = read_oracle(scores_path)
    chosen = [arm for arm in ARMS if arms is None or ARMS[arm][0] in arms]
    for seed in args.seeds:
        for arm in chosen:
            result = run_part(arm, seed, pool, oracle, parts)
            print(f"{arm:32s} seed {seed}: {result['final_fraction_top_found']:.3f}", flush=True)
    all_seeds = sorted({int(p.stem.split("seed")[1]) for p in parts.glob("*_seed*.json")})
    summary = summarize(all_seeds, parts, pool_path.name if name else "Enamine10k (MolPAL)")
    stem = f"active_learning_{name}" if name else "active_learning"
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=2))
    (RESULTS / f"{stem}.md").write_text(markdown(summary))
    print(markdown(summary))


if __name__ == "__main__":
    main()
