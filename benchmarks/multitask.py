"""Multi-task vs single-task on real assay pairs that share compounds (MoleculeACE splits).

For each pair of related targets (default: kappa CHEMBL237_Ki + delta CHEMBL236_Ki opioid
receptors, 1,624 compounds measured on both), three arms with default hyperparameters:

* ``gbm`` single-task (drugloop's default model),
* ``chemprop`` single-task (one D-MPNN ensemble per target),
* ``chemprop_multitask``: one D-MPNN ensemble on both targets, missing labels masked.

Each model trains on its target's MoleculeACE train split; the multi-task model on the union
of both train splits. Compounds in *either* test split are removed from every training set, so
the multi-task model never sees a test compound through the other assay. Test RMSE per target,
beside the MoleculeACE paper's best method. One JSON per pair in ``results/multitask/``;
``--merge`` writes the table.

    .venv/bin/python benchmarks/multitask.py [--pairs CHEMBL237_Ki+CHEMBL236_Ki ...] [--merge]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.models import create_model
from drugloop.models.multitask import MultiTaskChempropModel
from drugloop.paths import shared_data_dir

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "multitask"
Y = "y [pEC50/pKi]"
DEFAULT_PAIRS = ("CHEMBL237_Ki+CHEMBL236_Ki",)
warnings.filterwarnings("ignore")


def _rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def run_pair(data: Path, pair: str, seed: int = 0) -> dict:
    names = pair.split("+")
    frames = {n: pd.read_csv(data / "moleculeace" / f"{n}.csv.gz") for n in names}
    test_smiles = set().union(*(set(f.smiles[f.split == "test"]) for f in frames.values()))
    train = {n: f[(f.split == "train") & ~f.smiles.isin(test_smiles)] for n, f in frames.items()}
    test = {n: f[f.split == "test"] for n, f in frames.items()}
    union = pd.DataFrame({n: t.set_index("smiles")[Y] for n, t in train.items()})
    result: dict = {"pair": pair, "seed": seed, "targets": {}}
    t0 = time.time()
    mt = MultiTaskChempropModel(seed=seed).fit(union.index.tolist(), union[names])
    result["multitask_seconds"] = time.time() - t0
    mt_preds = {n: mt.predict(test[n].smiles.tolist())[n].mean for n in names}
    for n in names:
        smiles, y = train[n].smiles.tolist(), train[n][Y].to_numpy()
        row = {"n_train": len(smiles), "n_test": len(test[n]), "n_multitask_train": len(union)}
        y_test = test[n][Y].to_numpy()
        for arm in ("gbm", "chemprop"):
            t0 = time.time()
            model = create_model(arm, seed=seed).fit(smiles, y)
            row[f"{arm}_rmse"] = _rmse(model.predict(test[n].smiles.tolist()).mean, y_test)
            row[f"{arm}_seconds"] = time.time() - t0
        row["chemprop_multitask_rmse"] = _rmse(mt_preds[n], y_test)
        result["targets"][n] = row
        print(pair, n, {k: round(v, 3) for k, v in row.items()}, flush=True)
    return result


def merge(data: Path) -> None:
    paper = pd.read_csv(data / "moleculeace" / "MoleculeACE_results.csv.gz")
    rows = []
    for path in sorted(OUT.glob("*.json")):
        r = json.loads(path.read_text())
        for target, t in r["targets"].items():
            sub = paper[paper.dataset == target]
            best = sub.loc[sub.rmse.idxmin()]
            rows.append(
                {
                    "pair": r["pair"],
                    "target": target,
                    "n_train": t["n_train"],
                    "n_multitask_train": t["n_multitask_train"],
                    "gbm": t["gbm_rmse"],
                    "chemprop": t["chemprop_rmse"],
                    "chemprop_multitask": t["chemprop_multitask_rmse"],
                    "paper_best": f"{best.rmse:.3f} ({best.algorithm}/{best.descriptor})",
                }
            )
    table = pd.DataFrame(rows)
    better = int((table.chemprop_multitask < table.chemprop).sum()) if len(table) else 0
    summary = {
        "targets": len(table),
        "multitask_beats_single_task_chemprop": better,
        "mean_rmse": {a: float(table[a].mean()) for a in ("gbm", "chemprop", "chemprop_multitask")}
        if len(table)
        else {},
    }
    (HERE / "results" / "multitask.json").write_text(
        json.dumps({"summary": summary, "rows": rows}, indent=2)
    )
    lines = [
        "# Multi-task vs single-task on assays sharing compounds (MoleculeACE splits)",
        "",
        "Command: `.venv/bin/python benchmarks/multitask.py && "
        ".venv/bin/python benchmarks/multitask.py --merge`",
        "",
        "Default hyperparameters for every arm (chemprop: 5 scaffold-fold members × 30 epochs, "
        "CPU). Compounds in either test split are removed from all training sets. Test RMSE "
        "(pKi units); lower is better.",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "| pair | target | n train (multi-task) | gbm | chemprop | chemprop multi-task | "
        "paper best |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['pair']} | {r['target']} | {r['n_train']} ({r['n_multitask_train']}) | "
            f"{r['gbm']:.3f} | {r['chemprop']:.3f} | {r['chemprop_multitask']:.3f} | "
            f"{r['paper_best']} |"
        )
    (HERE / "results" / "multitask.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="*", default=list(DEFAULT_PAIRS))
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    data = shared_data_dir()
    if data is None:
        print("shared data not found; skipping")
        return
    if args.merge:
        merge(data)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for pair in args.pairs:
        result = run_pair(data, pair)
        (OUT / f"{pair}.json").write_text(json.dumps(result, indent=2))
    merge(data)


if __name__ == "__main__":
    main()
