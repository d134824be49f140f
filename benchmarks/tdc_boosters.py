"""LightGBM, CatBoost or both per fold member? Decided on TDC validation folds only.

MapLight, the strongest fingerprint method on the TDC ADMET leaderboard, boosts with CatBoost;
drugloop's ``gbm`` used LightGBM. This benchmark fits both on the same features and the same
seeded scaffold folds as ``benchmarks/tdc_admet.py`` (22 endpoints, seeds 1–5) and scores
three arms: ``lightgbm``, ``catboost`` and ``both`` (each member's two outputs averaged, which
is what ``GBMModel(booster="both")`` predicts). The paired model's full ``tdc_admet`` record
(test score, 90% coverage) goes to ``results/tdc_boosters/both/`` and its seed-1 models to
``.cache/tdc_models_both/``, so adopting it needs no refit; ``--merge`` also writes that
recipe's full TDC table (beside ADMET-AI and the leaderboard) to ``results/tdc_admet_both.md``.

The rule, fixed before the run: ``both`` becomes the default booster if its out-of-fold
validation score (mean over seeds) beats ``lightgbm``'s on a majority of the 22 endpoints;
otherwise ``catboost`` if it does; otherwise ``lightgbm`` stays. Test scores are written beside
the validation scores but play no part in the choice. (CatBoost settings — depth 6, rate 0.05,
feature fraction 0.2, 64 borders, early stopping as for LightGBM — were fixed by analogy with
the LightGBM recipe, not tuned.)

    .venv/bin/python benchmarks/tdc_boosters.py [--endpoints A B ...] [--seeds 1 2 3 4 5]
    .venv/bin/python benchmarks/tdc_boosters.py --merge
"""

from __future__ import annotations

import copy
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tdc_admet  # noqa: E402
from feature_cache import cached_features  # noqa: E402
from tdc_admet import save, score_model  # noqa: E402
from tdc_data import (  # noqa: E402
    ENDPOINTS,
    LOWER_IS_BETTER,
    endpoint_main,
    endpoint_runs,
    load_endpoint,
    metric,
    write_summary,
)

from drugloop.models.cv_ensemble import assign_folds, scaffold_groups  # noqa: E402
from drugloop.models.features import FEATURE_SETS  # noqa: E402
from drugloop.models.gbm import GBMModel  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "tdc_boosters"
PAIRED = OUT / "both"  # full tdc_admet-style records of the paired model
PAIRED_MODELS = HERE / ".cache" / "tdc_models_both"
ARMS = ("lightgbm", "catboost", "both")
FEATURES = "default"
warnings.filterwarnings("ignore")


def run_one(name: str, seed: int) -> dict:
    """Fit each booster on the same folds; score OOF (validation) and test for the three arms."""
    task, metric_name = ENDPOINTS[name]
    train_val, test = load_endpoint(name)
    X = cached_features(name, train_val.Drug.tolist() + test.Drug.tolist(), FEATURE_SETS[FEATURES])
    n_tv = len(train_val)
    y_tv, y_te = train_val.Y.to_numpy(float), test.Y.to_numpy(float)
    folds = assign_folds(scaffold_groups(train_val.Drug.tolist()), 5, seed)
    oof, pred, seconds, models = {}, {}, {}, {}
    for booster in ("lightgbm", "catboost"):
        start = time.time()
        model = GBMModel(
            task=task, features=FEATURES, seed=seed, n_jobs=1, booster=booster, kernel_blend=False
        )
        model.fit_features(X[:n_tv], y_tv, train_val.Drug.tolist(), folds=folds)
        oof[booster] = model.oof  # transformed scale (log for skewed targets)
        pred[booster] = model.member_predictions(X[n_tv:]).mean(axis=0)
        seconds[booster] = round(time.time() - start, 1)
        models[booster] = model
    both = paired(models["lightgbm"], models["catboost"], y_tv, folds, train_val.Drug.tolist())
    record = score_model(name, metric_name, both, y_tv, test, X[n_tv:], seed)
    record["fit_seconds"] = round(seconds["lightgbm"] + seconds["catboost"], 1)
    PAIRED.mkdir(parents=True, exist_ok=True)
    (PAIRED / f"{name}_seed{seed}.json").write_text(json.dumps(record, indent=2))
    if seed == 1:  # the panel ships seed-1 models
        save(both, name, seed, PAIRED_MODELS)
    oof["both"] = (oof["lightgbm"] + oof["catboost"]) / 2
    pred["both"] = (pred["lightgbm"] + pred["catboost"]) / 2
    result = {"endpoint": name, "seed": seed, "metric": metric_name, "seconds": seconds}
    for arm in ARMS:
        valid_pred, test_pred = oof[arm], pred[arm]
        if task == "regression":
            valid_pred, test_pred = model._inverse_y(valid_pred), model._inverse_y(test_pred)
        result[f"valid_{arm}"] = metric(metric_name, y_tv, valid_pred)
        result[f"test_{arm}"] = metric(metric_name, y_te, test_pred)
    return result


def paired(
    lightgbm: GBMModel, catboost: GBMModel, y: np.ndarray, folds: np.ndarray, smiles: list[str]
) -> GBMModel:
    """The ``booster="both"`` model of two fits on the same folds and seeds (no refit).

    Its members are the (LightGBM, CatBoost) pairs, its OOF the pairs' mean, calibrated anew:
    exactly what ``GBMModel(booster="both").fit_features`` would fit.
    """
    both = copy.copy(lightgbm)
    both.booster = "both"
    both.members = list(zip(lightgbm.members, catboost.members, strict=True))
    oof = (lightgbm.oof + catboost.oof) / 2
    both._calibrate(y, both._transform_y(y), oof, folds, smiles)
    return both


def better(metric_name: str, a: float, b: float) -> bool:
    return a < b if metric_name in LOWER_IS_BETTER else a > b


def merge() -> None:
    rows = []
    for name, metric_name, runs in endpoint_runs(OUT):
        row = {"endpoint": name, "metric": metric_name, "seeds": [r["seed"] for r in runs]}
        for split in ("valid", "test"):
            for arm in ARMS:
                row[f"{split}_{arm}"] = float(np.mean([r[f"{split}_{arm}"] for r in runs]))
        for arm in ("lightgbm", "catboost"):
            row[f"seconds_{arm}"] = float(np.mean([r["seconds"][arm] for r in runs]))
        rows.append(row)
    wins = {
        split: {
            arm: sum(better(r["metric"], r[f"{split}_{arm}"], r[f"{split}_lightgbm"]) for r in rows)
            for arm in ("catboost", "both")
        }
        for split in ("valid", "test")
    }
    majority = len(ENDPOINTS) // 2 + 1
    choice = next((a for a in ("both", "catboost") if wins["valid"][a] >= majority), "lightgbm")
    summary = {
        "endpoints": len(rows),
        "complete": len(rows) == len(ENDPOINTS) and all(len(r["seeds"]) == 5 for r in rows),
        "valid_wins_over_lightgbm": wins["valid"],
        "test_wins_over_lightgbm": wins["test"],
        "majority_needed": majority,
        "chosen_on_validation": choice,
    }
    lines = write_summary(
        "tdc_boosters",
        "Boosters on TDC ADMET: LightGBM, CatBoost, or both per member (validation decides)",
        ".venv/bin/python benchmarks/tdc_boosters.py && "
        ".venv/bin/python benchmarks/tdc_boosters.py --merge",
        summary,
        rows,
    )
    lines += [
        "",
        "Validation = out-of-fold over train_val (5 scaffold folds per seed); the choice uses "
        "validation only. Mean over seeds; seconds = one fit of the 5-member ensemble, one thread.",
        "",
        "| endpoint | metric | valid LightGBM | valid CatBoost | valid both | test LightGBM "
        "| test CatBoost | test both | s LightGBM | s CatBoost |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [f"{r[f'{s}_{a}']:.3f}" for s in ("valid", "test") for a in ARMS]
        lines.append(
            f"| {r['endpoint']} | {r['metric']} | "
            + " | ".join(cells)
            + f" | {r['seconds_lightgbm']:.0f} | {r['seconds_catboost']:.0f} |"
        )
    (HERE / "results" / "tdc_boosters.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    # the paired recipe's full table, as tdc_admet.py would write it (beside ADMET-AI etc.)
    tdc_admet.merge(PAIRED, "tdc_admet_both", " (booster: both — LightGBM + CatBoost per member)")


def main() -> None:
    endpoint_main(__doc__, OUT, run_one, merge)


if __name__ == "__main__":
    main()
