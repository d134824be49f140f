"""Tox21 (12 assays) and ClinTox (clinical-trial toxicity) with the ADMET panel's recipe.

The 22 TDC endpoints leave out the toxicity screens ADMET-AI also predicts, so the panel adds
them from the MoleculeNet CSVs in ``shared/data/moleculenet``. No official split ships with
them: each seed deals Bemis–Murcko scaffolds into a 20% test set (the rest is train_val), and
the TDC script's recipe runs unchanged (``tdc_admet.fit_and_score``: the ``gbm`` recipe as a
seeded 5-fold scaffold-CV ensemble, each member early-stopped on its fold). Missing labels
are dropped per assay. Metrics: AUROC and AUPRC on the test set, mean ± sd over seeds 1–5,
beside ADMET-AI's own test AUROC/AUPRC from ``admet_ai_admet_metadata.csv`` (a different
split: indicative only).

    .venv/bin/python benchmarks/tox21.py [--tasks NR-AR ...] [--seeds 1 2 3 4 5]
    .venv/bin/python benchmarks/tox21.py --merge
    .venv/bin/python benchmarks/tox21.py --booster both [--seeds 1]  # results/tox21/both/

Each (assay, seed) is cached in ``results/tox21/``; the seed-1 models are kept for the panel
(``tdc_admet.py --export-panel`` ships them beside the TDC endpoints).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feature_cache import cached_features  # noqa: E402
from tdc_admet import FEATURES, fit_and_score, models_dir  # noqa: E402
from tdc_data import run_cached, scaffold_split  # noqa: E402

from drugloop.models.chemprop_model import parses  # noqa: E402
from drugloop.models.features import FEATURE_SETS  # noqa: E402
from drugloop.paths import shared_data_dir  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "tox21"
TOX21 = [
    "NR-AR",
    "NR-AR-LBD",
    "NR-AhR",
    "NR-Aromatase",
    "NR-ER",
    "NR-ER-LBD",
    "NR-PPAR-gamma",
    "SR-ARE",
    "SR-ATAD5",
    "SR-HSE",
    "SR-MMP",
    "SR-p53",
]
CLINTOX = {"ClinTox": "CT_TOX"}  # ADMET-AI's ClinTox is the clinical-trial-toxicity label
TASKS = [*TOX21, *CLINTOX]
TEST_FRACTION = 0.2


def load(task: str) -> tuple[pd.DataFrame, str]:
    """(frame with Drug, Y for the labelled compounds, dataset name for the feature cache)."""
    dataset = "clintox" if task in CLINTOX else "tox21"
    frame = pd.read_csv(shared_data_dir() / "moleculenet" / f"{dataset}.csv.gz")
    column = CLINTOX.get(task, task)
    frame = frame[parses(frame.smiles.tolist())].reset_index(drop=True)  # tox21: 8 do not parse
    return frame.rename(columns={"smiles": "Drug", column: "Y"}), dataset


def features(dataset: str, smiles: list[str]) -> np.ndarray:
    """All rows of a dataset featurized once (every assay and seed indexes into them)."""
    return cached_features(f"moleculenet-{dataset}", smiles, FEATURE_SETS[FEATURES])


def results_dir(booster: str = "lightgbm") -> Path:
    return OUT if booster == "lightgbm" else OUT / booster


def run_one(task: str, seed: int, booster: str = "lightgbm") -> dict:
    train_val, test, X = split(task, seed)
    result = fit_and_score(
        f"tox_{task}",
        "classification",
        "auroc",
        train_val,
        test,
        seed,
        save_model=seed == 1,
        X=X,
        extra_metrics=("auprc",),
        booster=booster,
    )
    result["endpoint"] = task
    result["n_labelled"] = len(train_val) + len(test)
    return result


def split(task: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """(train_val, test, feature rows for train_val then test) of one assay and seed."""
    frame, dataset = load(task)
    X_all = features(dataset, frame.Drug.tolist())
    labelled = np.flatnonzero(frame.Y.notna().to_numpy())
    data = frame.iloc[labelled][["Drug", "Y"]].reset_index(drop=True)
    is_test = scaffold_split(data.Drug.tolist(), seed, frac_valid=TEST_FRACTION)
    order = np.concatenate([np.flatnonzero(~is_test), np.flatnonzero(is_test)])
    train_val = data[~is_test].reset_index(drop=True)
    return train_val, data[is_test].reset_index(drop=True), X_all[labelled][order]


def panel_members(seed: int = 1, booster: str = "lightgbm") -> dict[str, tuple[object, list[str]]]:
    """Panel endpoint name → (the seed's saved model, its training SMILES), for the export."""
    import joblib

    members = {}
    for task in TASKS:
        path = models_dir(booster) / f"tox_{task}_seed{seed}.joblib"
        if not path.exists():
            raise SystemExit(
                f"{path} missing: run benchmarks/tox21.py --seeds {seed} --booster {booster} first"
            )
        name = task if task in CLINTOX else f"Tox21_{task}"
        members[name] = (joblib.load(path), split(task, seed)[0].Drug.tolist())
    return members


def merge(booster: str = "lightgbm") -> None:
    meta = pd.read_csv(shared_data_dir() / "tdc_admet_group" / "admet_ai_admet_metadata.csv")
    meta = meta.set_index("id")
    rows = []
    for task in TASKS:
        runs = [
            json.loads(p.read_text())
            for p in sorted(results_dir(booster).glob(f"{task}_seed*.json"))
        ]
        if not runs:
            continue
        auroc = np.array([r["test"] for r in runs])
        auprc = np.array([r["test_auprc"] for r in runs])
        row = {
            "endpoint": task,
            "seeds": [r["seed"] for r in runs],
            "n_labelled": runs[0]["n_labelled"],
            "auroc_mean": float(auroc.mean()),
            "auroc_sd": float(auroc.std(ddof=1)) if len(runs) > 1 else 0.0,
            "auprc_mean": float(auprc.mean()),
            "auprc_sd": float(auprc.std(ddof=1)) if len(runs) > 1 else 0.0,
            "valid_auroc_mean": float(np.mean([r["valid"] for r in runs])),
        }
        if task in meta.index:
            row["admet_ai_auroc"] = float(meta.loc[task, "AUROC"])
            row["admet_ai_auprc"] = float(meta.loc[task, "AUPRC"])
            row["beats_admet_ai_auroc"] = row["auroc_mean"] >= row["admet_ai_auroc"]
        rows.append(row)
    summary = {
        "assays": len(rows),
        "seeds_per_assay": sorted({len(r["seeds"]) for r in rows}),
        "mean_auroc": float(np.mean([r["auroc_mean"] for r in rows])) if rows else None,
        "mean_auroc_tox21": float(
            np.mean([r["auroc_mean"] for r in rows if r["endpoint"] in TOX21])
        )
        if rows
        else None,
        "beats_admet_ai_auroc": sum(r.get("beats_admet_ai_auroc", False) for r in rows),
        "comparable_to_admet_ai": sum("admet_ai_auroc" in r for r in rows),
    }
    stem = "tox21" if booster == "lightgbm" else f"tox21_{booster}"
    (HERE / "results" / f"{stem}.json").write_text(
        json.dumps({"summary": summary, "assays": rows}, indent=2)
    )
    lines = [
        "# Tox21 and ClinTox — drugloop gbm (the ADMET panel's recipe)",
        "",
        "Command: `.venv/bin/python benchmarks/tox21.py && .venv/bin/python benchmarks/tox21.py "
        "--merge`",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "Split: per seed, Bemis–Murcko scaffolds dealt into a 20% test set (seeds 1–5); "
        "hyperparameters are the TDC recipe's, fixed before these data were looked at. "
        "ADMET-AI: its own test AUROC/AUPRC from `admet_ai_admet_metadata.csv`, on its own "
        "split, so the comparison is indicative.",
        "",
        "| assay | labelled | seeds | AUROC (mean ± sd) | AUPRC (mean ± sd) | valid AUROC | "
        "ADMET-AI AUROC | ADMET-AI AUPRC |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        mark = " ✓" if r.get("beats_admet_ai_auroc") else ""
        ai = f"{r['admet_ai_auroc']:.3f}{mark}" if "admet_ai_auroc" in r else "–"
        ai_pr = f"{r['admet_ai_auprc']:.3f}" if "admet_ai_auprc" in r else "–"
        lines.append(
            f"| {r['endpoint']} | {r['n_labelled']} | {len(r['seeds'])} | "
            f"{r['auroc_mean']:.3f} ± {r['auroc_sd']:.3f} | "
            f"{r['auprc_mean']:.3f} ± {r['auprc_sd']:.3f} | {r['valid_auroc_mean']:.3f} | "
            f"{ai} | {ai_pr} |"
        )
    lines += ["", "✓ = drugloop's mean test AUROC at or above ADMET-AI's."]
    (HERE / "results" / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="*", default=TASKS)
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--merge", action="store_true", help="only merge cached results")
    parser.add_argument("--booster", default="lightgbm", help="gbm booster: lightgbm|catboost|both")
    args = parser.parse_args()
    out = results_dir(args.booster)
    if shared_data_dir() is None:
        print("shared data not found; skipping")
        return
    if not args.merge:
        run_cached(
            out,
            args.tasks,
            args.seeds,
            lambda task, seed: run_one(task, seed, args.booster),
            lambda r: (
                f"{r['endpoint']} seed {r['seed']}: AUROC {r['test']:.3f} "
                f"AUPRC {r['test_auprc']:.3f} ({r['fit_seconds']} s)"
            ),
        )
    merge(args.booster)


if __name__ == "__main__":
    main()
