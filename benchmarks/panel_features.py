"""Cheaper features for the ADMET panel? Decided on TDC validation folds and measured speed.

The panel's time goes mostly to featurization, and most of that to RDKit's chi path and
kappa shape indices (~0.8 of ~3.9 CPU-ms per molecule) and Avalon counts (~0.5). This
benchmark fits the default ``gbm`` (LightGBM members, the panel's recipe) with cheaper feature
sets on the same seeded scaffold folds as ``benchmarks/tdc_admet.py`` and compares their
out-of-fold validation scores with the default set's (read from that benchmark's records,
same folds and seeds; copied to ``results/panel_features/default/`` so the comparison stays
reproducible if the panel's recipe changes):

* ``lean``: the default blocks with ``fast2d_lean`` (no chi/kappa/Phi/hallKierAlpha);
* ``lean_ap``: ``lean`` with atom-pair counts in place of Avalon counts.

The rule, fixed before the run: a candidate is acceptable if the mean over the 22 endpoints
of its relative validation change against the default (sign-adjusted: positive = better;
mean over the seeds run) is at least −0.25%; the fastest acceptable candidate (featurization
CPU-ms per molecule on 2,000 ZINC250k molecules, one process) would become the panel's
feature set, and the panel then needs refitting, re-benchmarking and a new speed run. Test
scores are recorded beside, and play no part.

    .venv/bin/python benchmarks/panel_features.py [--endpoints A B ...] [--seeds 1 2]
    .venv/bin/python benchmarks/panel_features.py --merge
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feature_cache import cached_features  # noqa: E402
from tdc_data import (  # noqa: E402
    ENDPOINTS,
    LOWER_IS_BETTER,
    endpoint_main,
    endpoint_runs,
    load_endpoint,
    metric,
    write_summary,
)
from zinc_sample import zinc_smiles  # noqa: E402

from drugloop.models.cv_ensemble import assign_folds, scaffold_groups  # noqa: E402
from drugloop.models.features import FEATURE_SETS, FeatureSet  # noqa: E402
from drugloop.models.gbm import GBMModel  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "panel_features"
DEFAULT_RECORDS = OUT / "default"  # tdc_admet.py's records of the default set, seeds 1–2
CANDIDATES = ("lean", "lean_ap")
MIN_MEAN_CHANGE = -0.0025
warnings.filterwarnings("ignore")


def run_one(name: str, seed: int) -> dict:
    """Each candidate set on the default recipe's folds: OOF validation and test scores."""
    task, metric_name = ENDPOINTS[name]
    train_val, test = load_endpoint(name)
    smiles = train_val.Drug.tolist() + test.Drug.tolist()
    n_tv = len(train_val)
    y_tv, y_te = train_val.Y.to_numpy(float), test.Y.to_numpy(float)
    folds = assign_folds(scaffold_groups(train_val.Drug.tolist()), 5, seed)
    result = {"endpoint": name, "seed": seed, "metric": metric_name}
    for arm in CANDIDATES:
        X = cached_features(name, smiles, FEATURE_SETS[arm])
        start = time.time()
        model = GBMModel(task=task, features=arm, seed=seed, n_jobs=1)
        model.fit_features(X[:n_tv], y_tv, train_val.Drug.tolist(), folds=folds)
        valid_pred = model.oof
        test_pred = model.member_predictions(X[n_tv:]).mean(axis=0)
        if model.fitted_task == "regression":
            valid_pred, test_pred = model._inverse_y(valid_pred), model._inverse_y(test_pred)
        result[f"valid_{arm}"] = metric(metric_name, y_tv, valid_pred)
        result[f"test_{arm}"] = metric(metric_name, y_te, test_pred)
        result[f"seconds_{arm}"] = round(time.time() - start, 1)
    return result


def featurize_ms(n: int = 2000) -> dict[str, float]:
    """CPU-ms per molecule of each feature set on ``n`` ZINC250k molecules, one process."""
    smiles = zinc_smiles(n, skip=1)
    out = {}
    for arm in ("default", *CANDIDATES):
        feature_set = FeatureSet.named(arm)
        start = time.process_time()
        feature_set._transform_serial(smiles)
        out[arm] = 1000 * (time.process_time() - start) / n
    return out


def relative_change(metric_name: str, candidate: float, default: float) -> float:
    """Sign-adjusted relative change: positive when the candidate is better."""
    change = (candidate - default) / abs(default)
    return -change if metric_name in LOWER_IS_BETTER else change


def merge() -> None:
    rows = []
    for name, metric_name, runs in endpoint_runs(OUT):
        seeds = [r["seed"] for r in runs]
        records = [DEFAULT_RECORDS / f"{name}_seed{s}.json" for s in seeds]
        defaults = [json.loads(path.read_text()) for path in records]
        row = {"endpoint": name, "metric": metric_name, "seeds": seeds}
        row["valid_default"] = float(np.mean([d["valid"] for d in defaults]))
        row["test_default"] = float(np.mean([d["test"] for d in defaults]))
        for arm in CANDIDATES:
            for split in ("valid", "test"):
                row[f"{split}_{arm}"] = float(np.mean([r[f"{split}_{arm}"] for r in runs]))
            row[f"change_{arm}"] = relative_change(
                metric_name, row[f"valid_{arm}"], row["valid_default"]
            )
        rows.append(row)
    ms = featurize_ms()
    mean_change = {arm: float(np.mean([r[f"change_{arm}"] for r in rows])) for arm in CANDIDATES}
    acceptable = [arm for arm in CANDIDATES if mean_change[arm] >= MIN_MEAN_CHANGE]
    summary = {
        "endpoints": len(rows),
        "seeds": sorted({s for r in rows for s in r["seeds"]}),
        "featurize_cpu_ms_per_molecule": {k: round(v, 3) for k, v in ms.items()},
        "mean_relative_valid_change": mean_change,
        "valid_not_worse": {arm: sum(r[f"change_{arm}"] >= 0 for r in rows) for arm in CANDIDATES},
        "threshold": MIN_MEAN_CHANGE,
        "chosen_on_validation": min(acceptable, key=ms.get) if acceptable else "default",
    }
    lines = write_summary(
        "panel_features",
        "Cheaper features for the ADMET panel (validation decides)",
        ".venv/bin/python benchmarks/panel_features.py --seeds 1 2 && "
        ".venv/bin/python benchmarks/panel_features.py --merge",
        summary,
        rows,
    )
    lines += [
        "",
        "Validation = out-of-fold over train_val (5 scaffold folds per seed, as in tdc_admet.py; "
        "the default's scores are that benchmark's records). Mean over seeds. Change = relative "
        "validation change against the default, positive = better. Test scores play no part.",
        "",
        "| endpoint | metric | valid default | valid lean | valid lean_ap | change lean "
        "| change lean_ap | test default | test lean | test lean_ap |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['metric']} | {r['valid_default']:.3f} | "
            f"{r['valid_lean']:.3f} | {r['valid_lean_ap']:.3f} | {100 * r['change_lean']:+.1f}% | "
            f"{100 * r['change_lean_ap']:+.1f}% | {r['test_default']:.3f} | {r['test_lean']:.3f} | "
            f"{r['test_lean_ap']:.3f} |"
        )
    (HERE / "results" / "panel_features.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    endpoint_main(__doc__, OUT, run_one, merge, seeds=(1, 2))


if __name__ == "__main__":
    main()
