"""Should ``gbm`` classification blend its trees with a Tanimoto-kernel SVC? Validation decides.

``gbm`` regression blends a Tanimoto SVR since ``activity_blend.py`` (MoleculeACE: nested
validation RMSE lower on 20 of 20). Classifiers were left out because on the 13 TDC
classification endpoints the same blend's nested validation was about even (``kernel_blend.py``;
small sets worse). Activity classification (actives vs inactives) is a main use of ``model
train``, and there an SVM on Morgan bits is a strong classic method, so this asks the question
on a wider set, with every set's vote counted:

* the 13 TDC classification endpoints: their nested validation from ``results/kernel_blend/``
  (seeds 1-2, the endpoint's TDC metric; the panel's stacked trees as the base);
* MoleculeNet BACE and BBBP: the whole set, 5 scaffold folds (seed 0), AUROC;
* the 20 MoleculeACE targets, train split, binarized at pKi/pEC50 >= 7 (100 nM), AUROC.

For the new sets: the default ``gbm`` classifier (trees alone) gives out-of-fold (OOF)
probabilities; one SVC per fold on the same folds (C in {1, 10}); the blend averages the
Platt-calibrated probabilities of both, ``(1 - w) * trees + w * SVC``, w in {0, 0.25, 0.5,
0.75}; its validation score is nested (each fold's rows use the C, w and Platt fits chosen on
the other four folds), as in ``kernel_blend.py``. No test split is used.

The rule, fixed before any run: ``gbm`` classification blends by default only if the mean
over the 35 sets of the relative nested-validation change (positive = better) is at least
+0.5%, the bar of the earlier rules.

    .venv/bin/python benchmarks/classification_blend.py [--sets bace bbbp CHEMBL214_Ki ...]
    .venv/bin/python benchmarks/classification_blend.py --merge
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kernel_blend import OUT as TDC_RECORDS  # noqa: E402
from kernel_blend import Blender, nested_blend  # noqa: E402
from panel_features import relative_change  # noqa: E402
from tdc_data import write_summary  # noqa: E402

from drugloop.chem.features import bit_vectors  # noqa: E402
from drugloop.models.cv_ensemble import assign_folds, scaffold_groups  # noqa: E402
from drugloop.models.gbm import GBMModel  # noqa: E402
from drugloop.models.kernel import C_GRID, fold_svm, tanimoto_kernel  # noqa: E402
from drugloop.paths import shared_data_dir  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "classification_blend"
MIN_MEAN_CHANGE = 0.005
ACTIVE_AT = 7.0
warnings.filterwarnings("ignore")


def load_set(name: str) -> tuple[list[str], np.ndarray]:
    data = shared_data_dir()
    if name in ("bace", "bbbp"):
        df = pd.read_csv(data / "moleculenet" / f"{name}.csv.gz")
        return df.smiles.tolist(), df.iloc[:, 1].to_numpy(float)
    df = pd.read_csv(data / "moleculeace" / f"{name}.csv.gz")
    train = df[df.split == "train"]
    return train.smiles.tolist(), (train["y [pEC50/pKi]"].to_numpy() >= ACTIVE_AT).astype(float)


def run_set(name: str) -> dict:
    smiles, y = load_set(name)
    fps = bit_vectors(smiles)
    keep = [i for i, fp in enumerate(fps) if fp is not None]  # BBBP has unparseable rows
    smiles, y, fps = [smiles[i] for i in keep], y[keep], [fps[i] for i in keep]
    folds = assign_folds(scaffold_groups(smiles), 5, 0)
    model = GBMModel(task="classification", n_jobs=1, seed=0, kernel_blend=False)
    model.fit(smiles, y)
    K = tanimoto_kernel(fps, fps)
    oofs = {C: fold_svm(K, y, folds, "classification", C)[0] for C in C_GRID}
    blender = Blender("classification", "auroc", y, None)
    rows = np.arange(len(y))
    C, w = blender.choose(model.oof, oofs, rows)
    return {
        "set": name,
        "metric": "auroc",
        "n": len(y),
        "positives": int(y.sum()),
        "valid_base": blender.score(model.oof, rows),
        "valid_blend": blender.score(nested_blend(blender, model.oof, oofs, folds), rows),
        "chosen_C": C,
        "chosen_w": w,
    }


def tdc_votes() -> list[dict]:
    """The TDC classification endpoints' nested validation (seeds 1-2 averaged)."""
    by_endpoint: dict[str, list[dict]] = {}
    for path in sorted(TDC_RECORDS.glob("*_seed*.json")):
        record = json.loads(path.read_text())
        if record["task"] == "classification" and record["seed"] in (1, 2):
            by_endpoint.setdefault(record["endpoint"], []).append(record)
    return [
        {
            "set": f"TDC {name}",
            "metric": runs[0]["metric"],
            "valid_base": float(np.mean([r["valid_base"] for r in runs])),
            "valid_blend": float(np.mean([r["valid_blend"] for r in runs])),
        }
        for name, runs in by_endpoint.items()
    ]


def all_sets() -> list[str]:
    ace = sorted(p.name.split(".")[0] for p in (shared_data_dir() / "moleculeace").glob("CHEMBL*"))
    return ["bace", "bbbp", *ace]


def merge() -> None:
    records = tdc_votes() + [json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))]
    changes = [relative_change(r["metric"], r["valid_blend"], r["valid_base"]) for r in records]
    mean_change = float(np.mean(changes))
    summary = {
        "sets": len(records),
        "complete": len(records) == 13 + len(all_sets()),
        "mean_relative_valid_change": mean_change,
        "valid_better": int(sum(c > 0 for c in changes)),
        "valid_worse": int(sum(c < 0 for c in changes)),
        "min_mean_change": MIN_MEAN_CHANGE,
    }
    summary["adopt"] = bool(summary["complete"] and mean_change >= MIN_MEAN_CHANGE)
    lines = write_summary(
        "classification_blend",
        "gbm classification + Tanimoto-SVC blend (validation decides)",
        ".venv/bin/python benchmarks/classification_blend.py && "
        ".venv/bin/python benchmarks/classification_blend.py --merge",
        summary,
        records,
    ) + [
        "",
        "The TDC rows come from `kernel_blend.py`'s records.",
        "",
        "Nested out-of-fold validation only (C, w and Platt fits chosen on the other folds); "
        f"MoleculeACE targets binarized at pKi/pEC50 >= {ACTIVE_AT:g}.",
        "",
        "| set | metric | n (actives) | valid base | valid blend | change | C, w |",
        "|---|---|---|---|---|---|---|",
    ]
    for r, change in zip(records, changes, strict=True):
        size = f"{r['n']} ({r['positives']})" if "n" in r else "seeds 1-2"
        choice = f"{r['chosen_C']:g}, {r['chosen_w']:g}" if "chosen_w" in r else ""
        lines.append(
            f"| {r['set']} | {r['metric']} | {size} | {r['valid_base']:.3f} | "
            f"{r['valid_blend']:.3f} | {change:+.1%} | {choice} |"
        )
    (HERE / "results" / "classification_blend.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*")
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    if args.merge:
        merge()
        return
    if shared_data_dir() is None:
        print("shared data not found; skipping")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for name in args.sets or all_sets():
        path = OUT / f"{name}.json"
        if not path.exists():
            result = run_set(name)
            path.write_text(json.dumps(result, indent=2))
            print(f"{name}: {result['valid_base']:.3f} -> {result['valid_blend']:.3f}", flush=True)


if __name__ == "__main__":
    main()
