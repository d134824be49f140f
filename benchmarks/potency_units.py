"""Potencies in nM: does ``gbm``'s target transform model them as well as pKi? Validation decides.

A chemist's export often holds IC50/Ki in nM, not pIC50, and ``drugloop model train`` is called
on such a column without flags. ``gbm`` fits a skewed non-negative target as ``log1p(y / s)``.
The previous rule took ``s`` = the median, which suits clearance or half-life but squeezes the
potent end of a potency column: with a median of 43 nM, 1 and 10 nM differ by 0.19 on that
scale, 1 and 10 µM by 2.3. The new rule (``drugloop.models.cv_ensemble.log_scale_for``) keeps the
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
(Result: adopted, 20 of 20.)

``--model chemprop`` (added after that result; rule fixed before its run): the same transform
now lives in the shared CV-ensemble base, so single-task ``chemprop``, which fitted raw values
before, gets it too. Arms ``none`` (raw nM, the previous behaviour) and ``decades``; a D-MPNN
ensemble costs minutes per set on 2 CPU cores, so only the four smallest sets (by train size:
CHEMBL2047_EC50, CHEMBL1871_Ki, CHEMBL4203_Ki, CHEMBL2034_Ki). Chemprop keeps the transform
only if its mean validation RMSE there is lower than ``none``'s and it wins on at least 3 of 4.

    .venv/bin/python benchmarks/potency_units.py [--targets CHEMBL214_Ki ...]
    .venv/bin/python benchmarks/potency_units.py --merge
    .venv/bin/python benchmarks/potency_units.py --model chemprop [--merge]
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
NM, PKI = "exp_mean [nM]", "y [pEC50/pKi]"
SETUPS = {  # model -> (results name, arms, baseline arm, targets (None: all 20), wins needed)
    "gbm": ("potency_units", ("median", "decades", "pki"), "median", None, 11),
    "chemprop": (
        "potency_units_chemprop",
        ("none", "decades"),
        "none",
        ("CHEMBL2047_EC50", "CHEMBL1871_Ki", "CHEMBL4203_Ki", "CHEMBL2034_Ki"),
        3,
    ),
}
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


def _model(name: str, arm: str):
    if name == "chemprop":
        from drugloop.models.chemprop_model import ChempropModel

        mode = "never" if arm == "none" else "auto"
        return ChempropModel(task="regression", seed=0, log_transform=mode)
    cls = PreviousRule if arm == "median" else GBMModel
    return cls(task="regression", n_jobs=2, seed=0)


def run_arm(name: str, arm: str, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    model = _model(name, arm)
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


def run_target(name: str, path: Path) -> dict:
    df = pd.read_csv(path)
    train, test = df[df.split == "train"], df[df.split == "test"]
    record = {"target": path.name.split(".")[0], "n_train": len(train), "n_test": len(test)}
    record.update({arm: run_arm(name, arm, train, test) for arm in SETUPS[name][1]})
    return record


def merge(name: str) -> None:
    result, arms, baseline, targets, min_wins = SETUPS[name]
    records = [
        json.loads(p.read_text()) for p in sorted((HERE / "results" / result).glob("*.json"))
    ]
    valid = {arm: np.array([r[arm]["valid_rmse"] for r in records]) for arm in arms}
    test = {arm: np.array([r[arm]["test_rmse"] for r in records]) for arm in arms}
    wins = int((valid["decades"] < valid[baseline]).sum())
    complete = len(records) == (len(targets) if targets else 20)
    adopted = bool(
        complete and valid["decades"].mean() < valid[baseline].mean() and wins >= min_wins
    )
    summary = {
        "model": name,
        "targets": len(records),
        "mean_valid_rmse": {arm: float(v.mean()) for arm, v in valid.items()},
        "mean_test_rmse": {arm: float(v.mean()) for arm, v in test.items()},
        f"decades_valid_wins_over_{baseline}": wins,
        "rule": f"adopt decades if mean valid RMSE < {baseline}'s and wins >= {min_wins} of "
        f"{len(targets) if targets else 20}",
        "decades_adopted": adopted,
    }
    (HERE / "results" / f"{result}.json").write_text(
        json.dumps({"summary": summary, "records": records}, indent=1)
    )
    flag = "" if name == "gbm" else " --model chemprop"
    lines = [
        f"# Potencies in nM: the target transform of `{name}` (validation decides)",
        "",
        f"Command: `.venv/bin/python benchmarks/potency_units.py{flag} && "
        f".venv/bin/python benchmarks/potency_units.py{flag} --merge`",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "RMSE in pKi units (9 - log10 nM). Validation = out-of-fold over the train split (5 "
        "scaffold folds); test = the MoleculeACE test split, recorded beside, no part in the "
        "choice. "
        + (
            "Every arm but `pki` trains on `exp_mean [nM]`; `pki` trains on the pKi column "
            "(the reference)."
            if "pki" in arms
            else "Both arms train on `exp_mean [nM]`."
        ),
        "",
        "| target | n train | "
        + " | ".join(f"{k} {a}" for k in ("valid", "test") for a in arms)
        + " |",
        "|---|---|" + "---|" * (2 * len(arms)),
    ]
    for r in records:
        cells = [f"{r[a][k]:.3f}" for k in ("valid_rmse", "test_rmse") for a in arms]
        lines.append(f"| {r['target']} | {r['n_train']} | " + " | ".join(cells) + " |")
    means = [f"{valid[a].mean():.3f}" for a in arms] + [f"{test[a].mean():.3f}" for a in arms]
    lines.append("| **mean** | | " + " | ".join(means) + " |")
    (HERE / "results" / f"{result}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", nargs="*")
    parser.add_argument("--merge", action="store_true")
    parser.add_argument("--model", choices=tuple(SETUPS), default="gbm")
    args = parser.parse_args()
    if args.merge:
        merge(args.model)
        return
    result, arms, _, targets, _ = SETUPS[args.model]
    out_dir = HERE / "results" / result
    out_dir.mkdir(parents=True, exist_ok=True)
    data = shared_data_dir() / "moleculeace"
    paths = sorted(p for p in data.glob("CHEMBL*.csv.gz"))
    wanted = args.targets or targets
    if wanted:
        paths = [p for p in paths if p.name.split(".")[0] in wanted]
    for path in paths:
        out = out_dir / f"{path.name.split('.')[0]}.json"
        if out.exists():
            continue
        record = run_target(args.model, path)
        out.write_text(json.dumps(record, indent=1))
        print(record["target"], {a: round(record[a]["valid_rmse"], 3) for a in arms}, flush=True)


if __name__ == "__main__":
    main()
