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
scores are recorded beside, and play no part. Later rounds (``panel_features_avalon.py``)
reuse this machinery with their own :class:`Round`: the panel's set of the day as baseline.

    .venv/bin/python benchmarks/panel_features.py [--endpoints A B ...] [--seeds 1 2]
    .venv/bin/python benchmarks/panel_features.py --merge
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
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
MIN_MEAN_CHANGE = -0.0025
warnings.filterwarnings("ignore")


@dataclass(frozen=True)
class Round:
    """One comparison: candidate feature sets against the panel's set of the day."""

    name: str  # results/<name>/ (records) and results/<name>.{json,md}
    title: str
    baseline: str  # the feature set the candidates must not fall behind
    candidates: tuple[str, ...]

    @property
    def out(self) -> Path:
        return HERE / "results" / self.name

    @property
    def baseline_records(self) -> Path:
        """The baseline's ``tdc_admet.py`` records (seeds 1–2), copied when the round began."""
        return self.out / self.baseline

    @property
    def command(self) -> str:
        script = f".venv/bin/python benchmarks/{self.name}.py"
        return f"{script} --seeds 1 2 && {script} --merge"


CHI_KAPPA = Round(
    "panel_features",
    "Cheaper features for the ADMET panel (validation decides)",
    "default",
    ("lean", "lean_ap"),
)


@dataclass(frozen=True)
class FoldFit:
    """One recipe fitted on ``tdc_admet.py``'s seeded scaffold folds of an endpoint."""

    valid: float  # out-of-fold over train_val, the endpoint's metric
    test: float
    fit_seconds: float
    tree_ms: float  # CPU-ms per molecule to predict the test set with the fitted members


def fit_on_folds(
    name: str, seed: int, features: str, extra: np.ndarray | None = None, **gbm_kwargs
) -> FoldFit:
    """The panel's ``gbm`` recipe (or a variant) with ``features``, as ``tdc_admet.py`` fits it.

    ``extra``: columns appended to the features (train_val rows, then test rows).
    """
    task, metric_name = ENDPOINTS[name]
    train_val, test = load_endpoint(name)
    n_tv = len(train_val)
    y_tv, y_te = train_val.Y.to_numpy(float), test.Y.to_numpy(float)
    folds = assign_folds(scaffold_groups(train_val.Drug.tolist()), 5, seed)
    X = cached_features(name, train_val.Drug.tolist() + test.Drug.tolist(), FEATURE_SETS[features])
    if extra is not None:
        X = np.hstack([X, extra.astype(np.float32)])
    start = time.time()
    model = GBMModel(
        task=task, features=features, seed=seed, n_jobs=1, kernel_blend=False, **gbm_kwargs
    )
    model.fit_features(X[:n_tv], y_tv, train_val.Drug.tolist(), folds=folds)
    cpu = time.process_time()
    test_pred = model.member_predictions(X[n_tv:]).mean(axis=0)
    tree_ms = 1000 * (time.process_time() - cpu) / len(test)
    fit_seconds = time.time() - start
    valid_pred = model.oof
    if model.fitted_task == "regression":
        valid_pred, test_pred = model._inverse_y(valid_pred), model._inverse_y(test_pred)
    return FoldFit(
        metric(metric_name, y_tv, valid_pred),
        metric(metric_name, y_te, test_pred),
        fit_seconds,
        tree_ms,
    )


def run_one(round_: Round, name: str, seed: int) -> dict:
    """Each candidate set on the baseline recipe's folds: OOF validation and test scores."""
    result = {"endpoint": name, "seed": seed, "metric": ENDPOINTS[name][1]}
    for arm in round_.candidates:
        fit = fit_on_folds(name, seed, arm)
        result[f"valid_{arm}"] = fit.valid
        result[f"test_{arm}"] = fit.test
        result[f"seconds_{arm}"] = round(fit.fit_seconds, 1)
    return result


def featurize_ms(arms: Sequence[str], n: int = 2000) -> dict[str, float]:
    """CPU-ms per molecule of each feature set on ``n`` ZINC250k molecules, one process."""
    smiles = zinc_smiles(n, skip=1)
    out = {}
    for arm in arms:
        feature_set = FeatureSet.named(arm)
        start = time.process_time()
        feature_set._transform_serial(smiles)
        out[arm] = 1000 * (time.process_time() - start) / n
    return out


def relative_change(metric_name: str, candidate: float, baseline: float) -> float:
    """Sign-adjusted relative change: positive when the candidate is better."""
    change = (candidate - baseline) / abs(baseline)
    return -change if metric_name in LOWER_IS_BETTER else change


def merge(round_: Round) -> None:
    base, arms = round_.baseline, round_.candidates
    rows = []
    for name, metric_name, runs in endpoint_runs(round_.out):
        seeds = [r["seed"] for r in runs]
        records = [round_.baseline_records / f"{name}_seed{s}.json" for s in seeds]
        baselines = [json.loads(path.read_text()) for path in records]
        row = {"endpoint": name, "metric": metric_name, "seeds": seeds}
        row[f"valid_{base}"] = float(np.mean([d["valid"] for d in baselines]))
        row[f"test_{base}"] = float(np.mean([d["test"] for d in baselines]))
        for arm in arms:
            for split in ("valid", "test"):
                row[f"{split}_{arm}"] = float(np.mean([r[f"{split}_{arm}"] for r in runs]))
            row[f"change_{arm}"] = relative_change(
                metric_name, row[f"valid_{arm}"], row[f"valid_{base}"]
            )
        rows.append(row)
    ms = featurize_ms((base, *arms))
    mean_change = {arm: float(np.mean([r[f"change_{arm}"] for r in rows])) for arm in arms}
    acceptable = [arm for arm in arms if mean_change[arm] >= MIN_MEAN_CHANGE]
    summary = {
        "endpoints": len(rows),
        "seeds": sorted({s for r in rows for s in r["seeds"]}),
        "baseline": base,
        "featurize_cpu_ms_per_molecule": {k: round(v, 3) for k, v in ms.items()},
        "mean_relative_valid_change": mean_change,
        "valid_not_worse": {arm: sum(r[f"change_{arm}"] >= 0 for r in rows) for arm in arms},
        "threshold": MIN_MEAN_CHANGE,
        "chosen_on_validation": min(acceptable, key=ms.get) if acceptable else base,
    }
    lines = write_summary(round_.name, round_.title, round_.command, summary, rows)
    columns = [
        *(f"valid {a}" for a in (base, *arms)),
        *(f"change {a}" for a in arms),
        *(f"test {a}" for a in (base, *arms)),
    ]
    lines += [
        "",
        "Validation = out-of-fold over train_val (5 scaffold folds per seed, as in tdc_admet.py; "
        f"the {base} set's scores are that benchmark's records). Mean over seeds. Change = "
        f"relative validation change against {base}, positive = better. Test scores play no part.",
        "",
        "| endpoint | metric | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for r in rows:
        cells = [
            *(f"{r[f'valid_{a}']:.3f}" for a in (base, *arms)),
            *(f"{100 * r[f'change_{a}']:+.1f}%" for a in arms),
            *(f"{r[f'test_{a}']:.3f}" for a in (base, *arms)),
        ]
        lines.append(f"| {r['endpoint']} | {r['metric']} | " + " | ".join(cells) + " |")
    (HERE / "results" / f"{round_.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(round_: Round = CHI_KAPPA, doc: str = __doc__) -> None:
    endpoint_main(doc, round_.out, partial(run_one, round_), partial(merge, round_), seeds=(1, 2))


if __name__ == "__main__":
    main()
