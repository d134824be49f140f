"""MoleculeACE activity-cliff benchmark: drugloop ``gbm`` vs the paper's best method per target.

For each of the 20 targets in ``shared/data/moleculeace`` the default ``gbm`` model (no
per-target tuning) trains on the given train split; RMSE on the test split overall and on its
activity-cliff compounds (``cliff_mol == 1``) sits beside the best RMSE among the 24 methods of
van Tilborg et al. 2022 (``MoleculeACE_results.csv.gz``; best chosen by overall RMSE, and the
best cliff RMSE shown separately). Per-target results are cached in ``results/moleculeace/``.
Regression calibration (90% conformal coverage, Spearman(uncertainty, |error|)) is recorded too.

    .venv/bin/python benchmarks/moleculeace.py [--targets CHEMBL214_Ki ...] [--merge]
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from drugloop.models.gbm import GBMModel
from drugloop.paths import shared_data_dir

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "moleculeace"
warnings.filterwarnings("ignore")


def run_target(path: Path) -> dict:
    df = pd.read_csv(path)
    train, test = df[df.split == "train"], df[df.split == "test"]
    model = GBMModel(task="regression", n_jobs=1, seed=0)
    model.fit(train.smiles.tolist(), train["y [pEC50/pKi]"].to_numpy())
    pred = model.predict(test.smiles.tolist())
    lo, hi = model.interval(test.smiles.tolist())
    y = test["y [pEC50/pKi]"].to_numpy()
    cliff = test.cliff_mol.to_numpy() == 1
    err = pred.mean - y
    return {
        "target": path.name.split(".")[0],
        "n_train": len(train),
        "n_test": len(test),
        "n_cliff_test": int(cliff.sum()),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "cliff_rmse": float(np.sqrt(np.mean(err[cliff] ** 2))) if cliff.any() else None,
        "coverage_90": float(np.mean((y >= lo) & (y <= hi))),
        "spearman_uncertainty_abs_error": float(spearmanr(pred.std, np.abs(err)).statistic),
    }


def merge(data: Path) -> None:
    paper = pd.read_csv(data / "MoleculeACE_results.csv.gz")
    rows = []
    for path in sorted(OUT.glob("*.json")):
        r = json.loads(path.read_text())
        sub = paper[paper.dataset == r["target"]]
        best = sub.loc[sub.rmse.idxmin()]
        r["paper_best_method"] = f"{best.algorithm}-{best.descriptor}"
        r["paper_best_rmse"] = float(best.rmse)
        r["paper_best_method_cliff_rmse"] = float(best.cliff_rmse)
        r["paper_best_cliff_rmse"] = float(sub.cliff_rmse.min())
        r["beats_paper_rmse"] = r["rmse"] < r["paper_best_rmse"]
        r["beats_paper_cliff_rmse"] = (r["cliff_rmse"] or 9) < r["paper_best_cliff_rmse"]
        rows.append(r)
    summary = {
        "targets": len(rows),
        "beats_paper_best_rmse": sum(r["beats_paper_rmse"] for r in rows),
        "beats_paper_best_cliff_rmse": sum(r["beats_paper_cliff_rmse"] for r in rows),
        "mean_coverage_90": float(np.mean([r["coverage_90"] for r in rows])) if rows else None,
        "mean_spearman_uncertainty_abs_error": float(
            np.mean([r["spearman_uncertainty_abs_error"] for r in rows])
        )
        if rows
        else None,
    }
    (HERE / "results" / "moleculeace.json").write_text(
        json.dumps({"summary": summary, "targets": rows}, indent=2)
    )
    lines = [
        "# MoleculeACE — drugloop gbm vs the paper's best per target",
        "",
        "Command: `.venv/bin/python benchmarks/moleculeace.py`",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "| target | n train/test | drugloop RMSE | paper best RMSE (method) | drugloop cliff RMSE "
        "| paper best cliff RMSE | 90% cov. |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " ✓" if r["beats_paper_rmse"] else ""
        cmark = " ✓" if r["beats_paper_cliff_rmse"] else ""
        lines.append(
            f"| {r['target']} | {r['n_train']}/{r['n_test']} | {r['rmse']:.3f}{mark} | "
            f"{r['paper_best_rmse']:.3f} ({r['paper_best_method']}) | "
            f"{r['cliff_rmse']:.3f}{cmark} | {r['paper_best_cliff_rmse']:.3f} | "
            f"{r['coverage_90']:.2f} |"
        )
    lines += ["", "✓ = lower (better) than the paper's best of 24 methods."]
    (HERE / "results" / "moleculeace.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", nargs="*")
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None:
        print("shared data not found; skipping")
        return
    data = shared / "moleculeace"
    if not args.merge:
        OUT.mkdir(parents=True, exist_ok=True)
        files = sorted(data.glob("CHEMBL*.csv.gz"), key=lambda p: p.stat().st_size)
        for path in files:
            target = path.name.split(".")[0]
            if args.targets and target not in args.targets:
                continue
            out = OUT / f"{target}.json"
            if out.exists():
                continue
            result = run_target(path)
            out.write_text(json.dumps(result, indent=2))
            print(json.dumps(result), flush=True)
    merge(data)


if __name__ == "__main__":
    main()
