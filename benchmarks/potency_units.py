"""Potencies in nM: does ``gbm``'s target transform model them as well as pKi? Validation decides.

A chemist's export often holds IC50/Ki in nM, not pIC50, and ``drugloop model train`` is called
on such a column without flags. ``gbm`` fits a skewed non-negative target as ``log1p(y / s)``.
The previous rule took ``s`` = the median, which suits clearance or half-life but squeezes the
potent end of a potency column: with a median of 43 nM, 1 and 10 nM differ by 0.19 on that
scale, 1 and 10 µM by 2.3. The new rule (``drugloop.models.gbm.log_scale_for``) keeps the
median for targets spanning less than three decades between their 5th and 95th percentiles (every
TDC ADMET regression endpoint: at most 128x) and otherwise takes ``s`` = a tenth of the 1st
percentile, which is the plain logarithm, i.e. the pKi scale.

Data: the 20 MoleculeACE targets, trained on their train split from the ``exp_mean [nM]``
column, as a user would. Arms: ``median`` (the previous rule), ``decades`` (the new rule), and
``pki`` (trained on the ``y [pEC50/pKi]`` column: the reference a transform can at best match).

Validation = the model's own out-of-fold predictions over the train split (5 scaffold folds),
mapped back to nM and then to pKi (9 - log10 nM), RMSE against the train split's pKi. Test
(the MoleculeACE test split, same units) is recorded beside and plays no part.

The rule, fixed before the run: ``decades`` is adopted only if its mean validation RMSE over
the 20 targets is lower than ``median``'s and it is lower on at least 11 of the 20 targets.

    .venv/bin/python benchmarks/potency_units.py [--targets CHEMBL214_Ki ...]
    .venv/bin/python benchmarks/potency_units.py --merge
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.models.gbm import GBMModel
from drugloop.paths import shared_data_dir

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "potency_units"
NM, PKI = "exp_mean [nM]", "y [pEC50/pKi]"
ARMS = ("median", "decades", "pki")
MIN_WINS = 11
warnings.filterwarnings("ignore")


class PreviousRule(GBMModel):
    """``gbm`` with the previous scale: ``s`` = the median of the positive targets."""

    def _fit_log_scale(self, y: np.ndarray) -> None:
        super()._fit_log_scale(y)
        if self.log_scale is not None:
            positive = y[y > 0]
            self.log_scale = float(np.median(positive)) if len(positive) else 1.0


def _pki_from_nm(nm: np.ndarray) -> np.ndarray:
    return 9.0 - np.log10(np.maximum(nm, 1e-6))


def run_arm(arm: str, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    cls = PreviousRule if arm == "median" else GBMModel
    model = cls(task="regression", n_jobs=2, seed=0)
    column = PKI if arm == "pki" else NM
    start = time.process_time()
    model.fit(train.smiles.tolist(), train[column].to_numpy())
    oof = model._inverse_y(model.oof)
    pred = model.predict(test.smiles.tolist()).mean
    if arm != "pki":
        oof, pred = _pki_from_nm(oof), _pki_from_nm(pred)
    y_train, y_test = _pki_from_nm(train[NM].to_numpy()), _pki_from_nm(test[NM].to_numpy())
    return {
        "valid_rmse": float(np.sqrt(np.mean((oof - y_train) ** 2))),
        "test_rmse": float(np.sqrt(np.mean((pred - y_test) ** 2))),
        "log_scale": model.log_scale,
        "cpu_s": time.process_time() - start,
    }


def run_target(path: Path) -> dict:
    df = pd.read_csv(path)
    train, test = df[df.split == "train"], df[df.split == "test"]
    record = {"target": path.name.split(".")[0], "n_train": len(train), "n_test": len(test)}
    record.update({arm: run_arm(arm, train, test) for arm in ARMS})
    return record


def merge() -> None:
    records = [json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))]
    valid = {arm: np.array([r[arm]["valid_rmse"] for r in records]) for arm in ARMS}
    test = {arm: np.array([r[arm]["test_rmse"] for r in records]) for arm in ARMS}
    wins = int((valid["decades"] < valid["median"]).sum())
    adopted = len(records) == 20 and valid["decades"].mean() < valid["median"].mean()
    adopted = bool(adopted and wins >= MIN_WINS)
    summary = {
        "targets": len(records),
        "mean_valid_rmse": {arm: float(v.mean()) for arm, v in valid.items()},
        "mean_test_rmse": {arm: float(v.mean()) for arm, v in test.items()},
        "decades_valid_wins_over_median": wins,
        "rule": f"adopt decades if mean valid RMSE < median's and wins >= {MIN_WINS} of 20",
        "decades_adopted": adopted,
    }
    (HERE / "results" / "potency_units.json").write_text(
        json.dumps({"summary": summary, "records": records}, indent=1)
    )
    lines = [
        "# Potencies in nM: the target transform of `gbm` (validation decides)",
        "",
        "Command: `.venv/bin/python benchmarks/potency_units.py && "
        ".venv/bin/python benchmarks/potency_units.py --merge`",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "RMSE in pKi units (9 - log10 nM). Validation = out-of-fold over the train split (5 "
        "scaffold folds); test = the MoleculeACE test split, recorded beside, no part in the "
        "choice. `median` and `decades` train on `exp_mean [nM]`; `pki` trains on the pKi "
        "column (the reference).",
        "",
        "| target | n train | valid median | valid decades | valid pki "
        "| test median | test decades | test pki |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        cells = [f"{r[a][k]:.3f}" for k in ("valid_rmse", "test_rmse") for a in ARMS]
        lines.append(f"| {r['target']} | {r['n_train']} | " + " | ".join(cells) + " |")
    means = [f"{valid[a].mean():.3f}" for a in ARMS] + [f"{test[a].mean():.3f}" for a in ARMS]
    lines.append("| **mean** | | " + " | ".join(means) + " |")
    (HERE / "results" / "potency_units.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", nargs="*")
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    if args.merge:
        merge()
        return
    OUT.mkdir(parents=True, exist_ok=True)
    data = shared_data_dir() / "moleculeace"
    paths = sorted(p for p in data.glob("CHEMBL*.csv.gz"))
    if args.targets:
        paths = [p for p in paths if p.name.split(".")[0] in args.targets]
    for path in paths:
        out = OUT / f"{path.name.split('.')[0]}.json"
        if out.exists():
            continue
        record = run_target(path)
        out.write_text(json.dumps(record, indent=1))
        print(record["target"], {a: round(record[a]["valid_rmse"], 3) for a in ARMS}, flush=True)


if __name__ == "__main__":
    main()
