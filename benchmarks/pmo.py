"""PMO benchmark (Gao et al. 2022): 20 RDKit-only tasks, 10,000 oracle calls, AUC of the top-10.

The default drugloop portfolio optimizes each task through the ``external_process`` scoring
component, exactly as a user plugs in their own oracle: the oracle runs in a separate venv with
the package versions the published numbers used (TDC 0.3.7, RDKit 2022.09, ``_prev`` scoring for
zaleplon_mpo, sitagliptin_mpo and the two isomer tasks).

    python benchmarks/pmo.py setup                                  # builds benchmarks/.pmo-venv
    .venv/bin/python benchmarks/pmo.py run --tasks qed,celecoxib_rediscovery --seeds 0 1
    .venv/bin/python benchmarks/pmo.py report                        # merges all parts

Each (task, seed) run is cached in benchmarks/results/pmo/TASK_seedN.json, so parts can run
separately (and on different machines) and merge. ``run --prior PATH`` runs with a candidate LM
prior instead of the shipped one; its parts go to ``results/pmo/candidates/<prior id>/``, the
report pairs them with the record, and they join the record when that prior is shipped.

AUC top-10 as PMO defines it: the mean of the 10 best scores so far every 100 calls, trapezoids
from (0, 0), a run that stops early padded with its last value to the budget, the area divided
by the budget.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
PARTS = RESULTS / "pmo"
CANDIDATES = PARTS / "candidates"
VENV = ROOT / ".pmo-venv"
ORACLE = ROOT / "pmo_oracle.py"
TASKS = (
    "albuterol_similarity",
    "amlodipine_mpo",
    "celecoxib_rediscovery",
    "deco_hop",
    "fexofenadine_mpo",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "median1",
    "median2",
    "mestranol_similarity",
    "osimertinib_mpo",
    "perindopril_mpo",
    "qed",
    "ranolazine_mpo",
    "scaffold_hop",
    "sitagliptin_mpo",
    "thiothixene_rediscovery",
    "troglitazone_rediscovery",
    "valsartan_smarts",
    "zaleplon_mpo",
)
# Published 20-task sums of AUC top-10 (sums of the per-task means in each paper's table).
ANCHORS = {
    "REINVENT (PMO paper)": 11.59,
    "Graph GA (PMO paper)": 11.44,
    "GP BO (PMO paper)": 10.81,
    "Genetic GFN (Kim et al. 2024)": 13.59,
    "GenMol (pre-screens ZINC; not budget-comparable)": 15.48,
}
VENV_PACKAGES = [
    "numpy<2",
    "rdkit==2022.9.5",
    "pandas<2.3",
    "scipy<1.14",
    "scikit-learn<1.6",
    "networkx",
    "fuzzywuzzy",
    "tqdm",
    "requests",
    "six",
    "pyyaml",
    "joblib",
    "packaging",
    "setuptools>=77,<81",
]


def setup() -> None:
    """Create the oracle venv (python3.11, pinned packages, PyTDC 0.3.7 without its deps)."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3.11", "-m", "venv", str(VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, *VENV_PACKAGES], check=True)
    subprocess.run([*pip, "--no-deps", "PyTDC==0.3.7"], check=True)
    print(f"oracle environment ready: {python}")


def auc_top_k(scores: list[float], budget: int, k: int = 10, freq: int = 100) -> float:
    """PMO's AUC of the running top-``k`` mean (``scores`` in oracle-call order)."""
    n = min(len(scores), budget)
    if n == 0:
        return 0.0
    values = np.asarray(scores[:n], dtype=float)
    points = [*range(freq, n, freq), n]
    area, prev, last_x = 0.0, 0.0, 0
    top = 0.0
    for x in points:
        top = float(np.mean(np.sort(values[:x])[::-1][:k]))
        area += (x - last_x) * (top + prev) / 2
        prev, last_x = top, x
    area += (budget - n) * top  # a run that stopped early keeps its last value
    return area / budget


def configuration_id() -> str:
    """Fingerprint of what a part's result depends on beyond the code: the shipped LM prior.

    Parts run with another prior (e.g. before it was retrained) are set aside, not summed.
    """
    import hashlib

    from drugloop.design.clm import DEFAULT_PRIOR

    return "prior-" + hashlib.sha256(DEFAULT_PRIOR.read_bytes()).hexdigest()[:12]


def _set_aside_stale(current: str) -> None:
    """Move parts (and checkpoints) of another configuration to ``pmo/stale/<their id>/``.

    Parts a candidate prior ran (``run --prior``) join the record once that prior is shipped.
    """
    for path in [*PARTS.glob("*_seed*.json"), *PARTS.glob("*_seed*.partial.parquet")]:
        if path.suffix == ".json":
            found = json.loads(path.read_text()).get("configuration_id", "prior-unrecorded")
        else:  # a checkpoint's id sits in a marker file beside it
            marker = PARTS / f"{path.name}.id"
            found = marker.read_text().strip() if marker.exists() else "prior-unrecorded"
        if found != current:
            target = PARTS / "stale" / found
            target.mkdir(parents=True, exist_ok=True)
            path.rename(target / path.name)
            (PARTS / f"{path.name}.id").unlink(missing_ok=True)
    for path in sorted((CANDIDATES / current).glob("*_seed*.json")):
        if not (PARTS / path.name).exists():
            path.rename(PARTS / path.name)


@contextlib.contextmanager
def use_prior(weights: Path) -> Iterator[None]:
    """The default portfolio built with another LM prior (it reads DEFAULT_PRIOR at call time)."""
    from drugloop.design import clm

    shipped = clm.DEFAULT_PRIOR
    clm.DEFAULT_PRIOR = weights
    try:
        yield
    finally:
        clm.DEFAULT_PRIOR = shipped


@contextlib.contextmanager
def _candidate_prior(prior: Path | None) -> Iterator[Path]:
    """Run with another LM prior; its parts go to ``pmo/candidates/<its id>/``, beside the record.

    Why: a new prior needs all 100 parts (~11 core-hours) before its sum means anything, and
    the shipped prior's complete record must stay in place while they accumulate.
    """
    if prior is None:
        yield PARTS
        return
    shipped = configuration_id()
    with use_prior(prior.resolve()):
        found = configuration_id()
        yield PARTS if found == shipped else CANDIDATES / found


def run_part(task: str, seed: int, budget: int, batch_size: int, parts: Path = PARTS) -> dict:
    path = parts / f"{task}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    import torch

    from drugloop.design import optimize
    from drugloop.design.portfolio import default_portfolio
    from drugloop.scoring import build_scoring_function

    torch.set_num_threads(1)
    python = VENV / "bin" / "python"
    if not python.exists():
        sys.exit(f"{python} missing: run `python benchmarks/pmo.py setup` first")
    objective = build_scoring_function(
        {
            "aggregation": "arithmetic",
            "components": [
                {
                    "type": "external_process",
                    "name": "oracle",
                    "command": [str(python), str(ORACLE), task],
                    "timeout": 600,
                }
            ],
        }
    )
    generator = default_portfolio(seed=seed)
    started = time.perf_counter()
    partial = parts / f"{task}_seed{seed}.partial.parquet"  # resumes an interrupted part
    history = pd.read_parquet(partial) if partial.exists() else None
    frames = [history] if history is not None else []

    def checkpoint(batch: pd.DataFrame) -> None:
        frames.append(batch)
        parts.mkdir(parents=True, exist_ok=True)
        pd.concat(frames, ignore_index=True).to_parquet(partial, index=False)
        (parts / f"{partial.name}.id").write_text(configuration_id())

    result = optimize(
        generator,
        objective,
        budget=budget,
        batch_size=batch_size,
        history=history,
        on_batch=checkpoint,
    )
    wall = time.perf_counter() - started
    frame = result.molecules
    raw = frame["oracle_raw"].to_numpy(dtype=float)
    ok = np.isfinite(raw)  # an unparseable SMILES (in the oracle's RDKit) is not a call
    scores = raw[ok].tolist()
    top10 = sorted(scores, reverse=True)[:10]
    part = {
        "task": task,
        "seed": seed,
        "configuration_id": configuration_id(),
        "budget": budget,
        "auc_top10": auc_top_k(scores, budget),
        "top10_mean": float(np.mean(top10)) if top10 else 0.0,
        "top1": float(max(scores)) if scores else 0.0,
        "oracle_calls": len(scores),
        "oracle_failures": int((~ok).sum()),
        "withheld_by_safety_guard": result.n_withheld,
        "stop_reason": result.stop_reason,
        "resumed_from_checkpoint": 0 if history is None else len(history),
        "wall_seconds": round(wall, 1),
        "scorecard": generator.scorecard(
            frame.loc[ok].nlargest(100, "oracle_raw")["smiles"].tolist()
        ),
        "generator_calls": frame.loc[ok, "generator"].value_counts().to_dict(),
        "best_smiles": frame.loc[ok].nlargest(3, "oracle_raw")["smiles"].tolist(),
    }
    parts.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(part, indent=2))
    partial.unlink(missing_ok=True)
    (parts / f"{partial.name}.id").unlink(missing_ok=True)
    generator.close() if hasattr(generator, "close") else None
    for weighted in objective.components:
        weighted.component.close()
    return part


def _incomplete(budget: int) -> list[dict]:
    """Interrupted parts: calls done so far and the AUC if the run stopped there (padded)."""
    rows = []
    for path in sorted(PARTS.glob("*_seed*.partial.parquet")):
        task, seed = path.name.split(".")[0].rsplit("_seed", 1)
        raw = pd.read_parquet(path)["oracle_raw"].to_numpy(dtype=float)
        scores = raw[np.isfinite(raw)].tolist()
        rows.append(
            {
                "task": task,
                "seed": int(seed),
                "oracle_calls": len(scores),
                "auc_top10_if_stopped_here": auc_top_k(scores, budget),
            }
        )
    return rows


def report() -> dict:
    _set_aside_stale(configuration_id())
    parts = [json.loads(p.read_text()) for p in sorted(PARTS.glob("*_seed*.json"))]
    per_task: dict[str, dict] = {}
    for task in TASKS:
        runs = [p for p in parts if p["task"] == task]
        if runs:
            aucs = [r["auc_top10"] for r in runs]
            per_task[task] = {
                "auc_top10_mean": float(np.mean(aucs)),
                "auc_top10_std": float(np.std(aucs)),
                "seeds": sorted(r["seed"] for r in runs),
                "wall_seconds_mean": float(np.mean([r["wall_seconds"] for r in runs])),
            }
    complete = len(per_task) == len(TASKS) and all(len(v["seeds"]) >= 5 for v in per_task.values())
    summary = {
        "benchmark": "pmo",
        "budget": parts[0]["budget"] if parts else 10000,
        "complete": complete,
        "tasks_covered": len(per_task),
        "sum_auc_top10_covered_tasks": float(sum(v["auc_top10_mean"] for v in per_task.values())),
        "per_task": per_task,
        "incomplete_parts": _incomplete(parts[0]["budget"] if parts else 10000),
        "sum_per_complete_seed": _sums_per_complete_seed(parts),
        "scorecard_over_parts": _pooled_scorecard(parts),
        "scorecards": {f"{p['task']}_seed{p['seed']}": p["scorecard"] for p in parts},
        "anchors_20_task_sum": ANCHORS,
        "configuration": (
            "default portfolio (reinvent + graph_ga + mmp_analogs) via external_process"
        ),
        "configuration_id": configuration_id(),
        "set_aside_parts": sorted(
            str(p.relative_to(PARTS)) for p in (PARTS / "stale").glob("*/*_seed*.json")
        ),
        "candidate_priors": _candidates(parts),
        "machine": f"{platform.machine()}, shared 2-core CPU",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pmo.json").write_text(json.dumps(summary, indent=2))
    (RESULTS / "pmo.md").write_text(_markdown(summary))
    print(_markdown(summary))
    return summary


def _candidates(record: list[dict]) -> list[dict]:
    """Each candidate prior's parts, paired with the record's part of the same task and seed."""
    shipped = {(p["task"], p["seed"]): p["auc_top10"] for p in record}
    rows = []
    for folder in sorted(p for p in CANDIDATES.glob("prior-*") if p.is_dir()):
        parts = [json.loads(p.read_text()) for p in sorted(folder.glob("*_seed*.json"))]
        if not parts:
            continue
        diffs = [
            p["auc_top10"] - shipped[(p["task"], p["seed"])]
            for p in parts
            if (p["task"], p["seed"]) in shipped
        ]
        rows.append(
            {
                "configuration_id": folder.name,
                "parts": len(parts),
                "tasks_covered": len({p["task"] for p in parts}),
                "paired_parts": len(diffs),
                "paired_auc_difference_mean": float(np.mean(diffs)) if diffs else None,
                "paired_higher": int(sum(d > 0 for d in diffs)),
                "sum_per_complete_seed": _sums_per_complete_seed(parts),
            }
        )
    return rows


def _sums_per_complete_seed(parts: list[dict]) -> dict[str, float]:
    """20-task sum for every seed that has all 20 tasks (one seed's sum, not a 5-seed mean)."""
    by_seed: dict[int, dict[str, float]] = {}
    for p in parts:
        by_seed.setdefault(p["seed"], {})[p["task"]] = p["auc_top10"]
    return {
        str(seed): float(sum(aucs.values()))
        for seed, aucs in sorted(by_seed.items())
        if set(aucs) == set(TASKS)
    }


def _pooled_scorecard(parts: list[dict]) -> list[dict]:
    """Each generator over all parts: its share of the oracle calls and of each part's top-100."""
    rows: dict[str, dict[str, list[float]]] = {}
    for p in parts:
        total = sum(c["scored"] for c in p["scorecard"]) or 1
        for c in p["scorecard"]:
            row = rows.setdefault(c["generator"], {"calls": [], "top": [], "validity": []})
            row["calls"].append(c["scored"] / total)
            row["top"].append(c["top_k_share"])
            row["validity"].append(c["validity"])
    return [
        {
            "generator": name,
            "parts": len(r["calls"]),
            "share_of_oracle_calls": float(np.mean(r["calls"])),
            "share_of_top100": float(np.mean(r["top"])),
            "validity": float(np.mean(r["validity"])),
        }
        for name, r in rows.items()
    ]


def _markdown(summary: dict) -> str:
    status = "complete" if summary["complete"] else "PARTIAL"
    lines = [
        f"# PMO, AUC top-10 at {summary['budget']} oracle calls ({status})",
        "",
        f"drugloop: {summary['configuration']} ({summary['configuration_id']}). "
        f"Tasks covered: {summary['tasks_covered']}/20. Parts run with another prior are kept "
        f"under `results/pmo/stale/` and not summed ({len(summary['set_aside_parts'])}).",
        "",
        "| task | drugloop AUC top-10 | seeds |",
        "|---|---|---|",
    ]
    for task, row in summary["per_task"].items():
        seeds = ",".join(map(str, row["seeds"]))
        lines.append(
            f"| {task} | {row['auc_top10_mean']:.3f} ± {row['auc_top10_std']:.3f} | {seeds} |"
        )
    lines += [
        "",
        f"Sum over the {summary['tasks_covered']} covered tasks: "
        f"**{summary['sum_auc_top10_covered_tasks']:.3f}**"
        + ("" if summary["complete"] else " (partial: not comparable with 20-task sums)"),
        "",
        "| published 20-task sum | AUC top-10 |",
        "|---|---|",
    ]
    lines += [f"| {name} | {value:.2f} |" for name, value in ANCHORS.items()]
    if summary["sum_per_complete_seed"]:
        lines += ["", "20-task sum of each seed that has all 20 tasks (single-seed sums):", ""]
        lines += ["| seed | 20-task sum |", "|---|---|"]
        lines += [f"| {k} | {v:.3f} |" for k, v in summary["sum_per_complete_seed"].items()]
    if summary["scorecard_over_parts"]:
        lines += [
            "",
            "Generator scorecard over all parts (means; the bandit sets the call share):",
            "",
            "| generator | parts | share of oracle calls | share of top-100 | validity |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['generator']} | {c['parts']} | {c['share_of_oracle_calls']:.2f} | "
            f"{c['share_of_top100']:.2f} | {c['validity']:.2f} |"
            for c in summary["scorecard_over_parts"]
        ]
    if summary["candidate_priors"]:
        lines += [
            "",
            "Candidate priors (`run --prior`; parts under `results/pmo/candidates/`, not in the "
            "sum above), paired with this record's part of the same task and seed:",
            "",
            "| candidate | parts | tasks | mean AUC difference (paired) | higher | seed sums |",
            "|---|---|---|---|---|---|",
        ]
        for c in summary["candidate_priors"]:
            mean = c["paired_auc_difference_mean"]
            sums = ", ".join(f"{k}: {v:.3f}" for k, v in c["sum_per_complete_seed"].items())
            lines.append(
                f"| {c['configuration_id']} | {c['parts']} | {c['tasks_covered']}/20 | "
                f"{'–' if mean is None else f'{mean:+.3f}'} | "
                f"{c['paired_higher']} of {c['paired_parts']} | {sums or '–'} |"
            )
    if summary["incomplete_parts"]:
        lines += [
            "",
            "Interrupted parts (not in the sum; AUC as if the run had stopped there):",
            "",
        ]
        lines += [
            "| task | seed | oracle calls done | AUC top-10 if stopped |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['task']} | {r['seed']} | {r['oracle_calls']} | "
            f"{r['auc_top10_if_stopped_here']:.3f} |"
            for r in summary["incomplete_parts"]
        ]
    for key, cards in summary["scorecards"].items():
        lines += ["", f"Generator scorecard, {key} (top-100 by oracle score):", ""]
        lines += ["| generator | scored | top-100 share | validity | uniqueness | novelty |"]
        lines += ["|---|---|---|---|---|---|"]
        lines += [
            f"| {c['generator']} | {c['scored']} | {c['top_k_share']:.2f} | {c['validity']:.2f} "
            f"| {c['uniqueness']:.2f} | {c['novelty']:.2f} |"
            for c in cards
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["setup", "run", "report"])
    parser.add_argument("--tasks", default=",".join(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument(
        "--prior", type=Path, help="a candidate LM prior (parts kept apart until it is shipped)"
    )
    args = parser.parse_args()
    if args.command == "setup":
        setup()
        return
    if args.command == "report":
        report()
        return
    _set_aside_stale(configuration_id())
    tasks = [t for t in args.tasks.split(",") if t]
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        sys.exit(f"unknown PMO task(s) {unknown}; known: {', '.join(TASKS)}")
    with _candidate_prior(args.prior) as parts:
        for seed in args.seeds:
            for task in tasks:
                part = run_part(task, seed, args.budget, args.batch_size, parts)
                print(
                    f"{task} seed {seed}: AUC top-10 {part['auc_top10']:.3f} "
                    f"({part['oracle_calls']} calls, {part['wall_seconds']:.0f} s)",
                    flush=True,
                )
    report()


if __name__ == "__main__":
    main()
