"""Validation-only study: one early-stopped GBM or a 5-fold scaffold-CV ensemble on large sets?

The TDC recipe used to fit a single LightGBM member for endpoints with 2,000+ training
compounds (early-stopped on the seed's validation split) and a 5-member scaffold-CV ensemble
below that; ``drugloop model train`` always fits the ensemble. This study asks which is
better for the large sets without touching a test set (the ensemble was, so ``tdc_admet.py``
now uses it at every size): per seed, the seed's TDC validation split is held out;
recipe ``single`` trains on the rest with an inner 12.5% scaffold split for early stopping,
recipe ``cv5`` trains the 5-fold scaffold ensemble on the same rest; both are scored on the
held-out validation split with the endpoint's official metric.

    .venv/bin/python benchmarks/large_set_ensemble.py [--seeds 1 2 3] [--endpoints ...]

Per-(endpoint, seed) results are cached in ``results/large_set_ensemble/``; the summary goes to
``results/large_set_ensemble.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feature_cache import cached_features  # noqa: E402
from tdc_admet import FEATURES, N_JOBS  # noqa: E402
from tdc_data import ENDPOINTS, LOWER_IS_BETTER, load_endpoint, metric, scaffold_split, tdc_dir  # noqa: E402

from drugloop.models.cv_ensemble import assign_folds, scaffold_groups  # noqa: E402
from drugloop.models.features import FEATURE_SETS  # noqa: E402
from drugloop.models.gbm import GBMModel  # noqa: E402

HERE = Path(__file__).resolve().parent
LARGE = 2000  # the size from which the old TDC recipe fitted a single member
OUT = HERE / "results" / "large_set_ensemble"


def large_endpoints() -> list[str]:
    return [name for name in ENDPOINTS if len(load_endpoint(name)[0]) >= LARGE]


def run_one(name: str, seed: int) -> dict:
    task, metric_name = ENDPOINTS[name]
    train_val, test = load_endpoint(name)
    smiles = train_val.Drug.tolist()
    # the same rows and cache key as tdc_admet.py, so no featurization is repeated
    X = cached_features(name, smiles + test.Drug.tolist(), FEATURE_SETS[FEATURES])[: len(smiles)]
    y = train_val.Y.to_numpy(float)
    held_out = scaffold_split(smiles, seed)  # the seed's TDC validation split
    rest = np.flatnonzero(~held_out)
    rest_smiles = [smiles[i] for i in rest]
    folds = {
        "single": np.where(scaffold_split(rest_smiles, seed + 100), 0, -1),
        "cv5": assign_folds(scaffold_groups(rest_smiles), 5, seed),
    }
    out = {"endpoint": name, "seed": seed, "metric": metric_name, "n_rest": len(rest)}
    held = [smiles[i] for i in np.flatnonzero(held_out)]
    for recipe, recipe_folds in folds.items():
        start = time.time()
        model = GBMModel(task=task, features=FEATURES, seed=seed, n_jobs=N_JOBS, kernel_blend=False)
        model.fit_features(X[rest], y[rest], rest_smiles, folds=recipe_folds)
        mean, _ = model.predict_features(X[held_out], model._similarity(held))
        out[recipe] = metric(metric_name, y[held_out], mean)
        out[f"{recipe}_seconds"] = round(time.time() - start, 1)
    return out


def summarize() -> None:
    rows = []
    for name in ENDPOINTS:
        runs = [json.loads(p.read_text()) for p in sorted(OUT.glob(f"{name}_seed*.json"))]
        if not runs:
            continue
        lower = runs[0]["metric"] in LOWER_IS_BETTER
        single = np.array([r["single"] for r in runs])
        cv5 = np.array([r["cv5"] for r in runs])
        gain = (single - cv5) if lower else (cv5 - single)
        rows.append(
            {
                "endpoint": name,
                "metric": runs[0]["metric"],
                "seeds": [r["seed"] for r in runs],
                "single": float(single.mean()),
                "cv5": float(cv5.mean()),
                "cv5_better_by": float(gain.mean()),
                "cv5_wins": int((gain > 0).sum()),
                "seconds_single": float(np.mean([r["single_seconds"] for r in runs])),
                "seconds_cv5": float(np.mean([r["cv5_seconds"] for r in runs])),
            }
        )
    summary = {
        "endpoints": len(rows),
        "cv5_better_on": sum(r["cv5_better_by"] > 0 for r in rows),
    }
    (HERE / "results" / "large_set_ensemble.json").write_text(
        json.dumps({"summary": summary, "rows": rows}, indent=2)
    )
    lines = [
        "# Large TDC sets: single early-stopped GBM vs 5-fold scaffold-CV ensemble (validation)",
        "",
        "Command: `.venv/bin/python benchmarks/large_set_ensemble.py`. Scored on each seed's "
        "TDC validation split only; no test set is used.",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "| endpoint | metric | seeds | single | cv5 | cv5 better by | cv5 wins | "
        "fit s (single / cv5) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['metric']} | {len(r['seeds'])} | {r['single']:.3f} | "
            f"{r['cv5']:.3f} | {r['cv5_better_by']:+.3f} | {r['cv5_wins']}/{len(r['seeds'])} | "
            f"{r['seconds_single']:.0f} / {r['seconds_cv5']:.0f} |"
        )
    (HERE / "results" / "large_set_ensemble.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--endpoints", nargs="*")
    args = parser.parse_args()
    if tdc_dir() is None:
        print("shared data not found; skipping")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for name in args.endpoints or large_endpoints():
            path = OUT / f"{name}_seed{seed}.json"
            if path.exists():
                continue
            result = run_one(name, seed)
            path.write_text(json.dumps(result, indent=2))
            print(f"{name} seed {seed}: single {result['single']:.3f} cv5 {result['cv5']:.3f}")
    summarize()


if __name__ == "__main__":
    main()
