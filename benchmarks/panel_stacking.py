"""Stacking the ADMET panel on the other endpoints' predictions? Validation decides.

ADMET endpoints are related (hERG and BBB follow lipophilicity and basicity, the CYP isoforms
share inhibitors), and the panel computes every endpoint for every molecule anyway, so feeding
each endpoint's model the other endpoints' predictions would cost the panel almost nothing at
predict time (a second stage over numbers it already has). This measures whether it helps.

Auxiliary features, leak-free: for each of the 22 TDC endpoints A, the panel's ``gbm`` recipe is
fitted once on A's train_val (5 scaffold folds, seed 0). A molecule gets A's *out-of-fold*
prediction if it is in A's train_val, else the mean of A's fold members, so no auxiliary value
ever comes from a model that saw that molecule's A label; A's test labels are never used, and
an endpoint never gets its own auxiliary column (21 columns each). The arm ``stacked`` is the
panel's recipe on the ``lean`` features plus these 21 columns, fitted on the same seeded
scaffold folds as ``tdc_admet.py`` (seeds 1-2); its baseline is ``tdc_admet.py``'s own records
for those seeds (``recipe_sweep.py`` refitted them exactly).

The rule, fixed before the run: the panel is stacked only if the mean over the 22 endpoints of
the relative validation change against the baseline (positive = better) is at least +0.5%, the
bar ``recipe_sweep.py`` set. Test scores are recorded beside, and play no part.

    .venv/bin/python benchmarks/panel_stacking.py --aux          # auxiliary columns (once)
    .venv/bin/python benchmarks/panel_stacking.py [--endpoints A B ...] [--seeds 1 2]
    .venv/bin/python benchmarks/panel_stacking.py --merge
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feature_cache import CACHE, cached_features  # noqa: E402
from panel_features import relative_change  # noqa: E402
from tdc_admet import FEATURES  # noqa: E402
from tdc_data import (  # noqa: E402
    ENDPOINTS,
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
OUT = HERE / "results" / "panel_stacking"
BASELINE = HERE / "results" / "tdc_admet"
AUX = CACHE / "panel_stacking"
AUX_SEED = 0
MIN_MEAN_CHANGE = 0.005
warnings.filterwarnings("ignore")


def _canonical(smiles: list[str]) -> list[str]:
    from rdkit import Chem

    out = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        out.append(Chem.MolToSmiles(mol) if mol is not None else s)
    return out


def _molecules(name: str) -> tuple[list[str], np.ndarray]:
    """An endpoint's train_val + test SMILES (the cache's order) and their lean features."""
    train_val, test = load_endpoint(name)
    smiles = train_val.Drug.tolist() + test.Drug.tolist()
    return smiles, cached_features(name, smiles, FEATURE_SETS[FEATURES])


def build_aux() -> None:
    """Write ``.cache/panel_stacking/<endpoint>.npy``: (molecules, 22) auxiliary predictions."""
    AUX.mkdir(parents=True, exist_ok=True)
    names = list(ENDPOINTS)
    molecules = {name: _molecules(name) for name in names}
    keys = {name: _canonical(molecules[name][0]) for name in names}
    columns = {name: np.full((len(keys[name]), len(names)), np.nan) for name in names}
    for j, source in enumerate(names):
        start = time.time()
        task, _ = ENDPOINTS[source]
        train_val, _ = load_endpoint(source)
        n_tv = len(train_val)
        smiles_tv = train_val.Drug.tolist()
        folds = assign_folds(scaffold_groups(smiles_tv), 5, AUX_SEED)
        model = GBMModel(task=task, features=FEATURES, seed=AUX_SEED, n_jobs=2)
        model.fit_features(
            molecules[source][1][:n_tv], train_val.Y.to_numpy(float), smiles_tv, folds=folds
        )
        oof = dict(zip(keys[source][:n_tv], model.oof, strict=True))
        for target in names:
            pred = model.member_predictions(molecules[target][1]).mean(axis=0)
            seen = [oof.get(k) for k in keys[target]]
            columns[target][:, j] = [p if s is None else s for p, s in zip(pred, seen, strict=True)]
        print(f"aux {source}: {time.time() - start:.0f}s", flush=True)
    for j, name in enumerate(names):
        np.save(AUX / f"{name}.npy", np.delete(columns[name], j, axis=1))


def run_one(name: str, seed: int) -> dict:
    """The panel's recipe with the 21 auxiliary columns, on ``tdc_admet.py``'s folds."""
    task, metric_name = ENDPOINTS[name]
    train_val, test = load_endpoint(name)
    n_tv = len(train_val)
    smiles, X = _molecules(name)
    X = np.hstack([X, np.load(AUX / f"{name}.npy").astype(np.float32)])
    y_tv, y_te = train_val.Y.to_numpy(float), test.Y.to_numpy(float)
    folds = assign_folds(scaffold_groups(smiles[:n_tv]), 5, seed)
    model = GBMModel(task=task, features=FEATURES, seed=seed, n_jobs=1)
    model.fit_features(X[:n_tv], y_tv, smiles[:n_tv], folds=folds)
    cpu = time.process_time()
    test_pred = model.member_predictions(X[n_tv:]).mean(axis=0)
    tree_ms = 1000 * (time.process_time() - cpu) / len(test)
    valid_pred = model.oof
    if model.fitted_task == "regression":
        valid_pred, test_pred = model._inverse_y(valid_pred), model._inverse_y(test_pred)
    base = json.loads((BASELINE / f"{name}_seed{seed}.json").read_text())
    return {
        "endpoint": name,
        "seed": seed,
        "metric": metric_name,
        "valid_base": base["valid"],
        "test_base": base["test"],
        "valid_stacked": metric(metric_name, y_tv, valid_pred),
        "test_stacked": metric(metric_name, y_te, test_pred),
        "tree_ms_stacked": tree_ms,
    }


def merge() -> None:
    rows = []
    for name, metric_name, runs in endpoint_runs(OUT):
        row = {"endpoint": name, "metric": metric_name, "seeds": [r["seed"] for r in runs]}
        for key in ("valid_base", "test_base", "valid_stacked", "test_stacked"):
            row[key] = float(np.mean([r[key] for r in runs]))
        row["change"] = relative_change(metric_name, row["valid_stacked"], row["valid_base"])
        rows.append(row)
    mean_change = float(np.mean([r["change"] for r in rows]))
    summary = {
        "endpoints": len(rows),
        "seeds": sorted({s for r in rows for s in r["seeds"]}),
        "mean_relative_valid_change": mean_change,
        "valid_not_worse": sum(r["change"] >= 0 for r in rows),
        "min_mean_change": MIN_MEAN_CHANGE,
        "chosen_on_validation": "stacked" if mean_change >= MIN_MEAN_CHANGE else "base",
    }
    lines = write_summary(
        "panel_stacking",
        "Stacking the ADMET panel on the other endpoints' predictions (validation decides)",
        ".venv/bin/python benchmarks/panel_stacking.py --aux && "
        ".venv/bin/python benchmarks/panel_stacking.py --seeds 1 2 && "
        ".venv/bin/python benchmarks/panel_stacking.py --merge",
        summary,
        rows,
    )
    lines += [
        "",
        "Validation = out-of-fold over train_val (5 scaffold folds per seed, as in tdc_admet.py; "
        "base = its records). Mean over seeds. Change = relative validation change against base, "
        "positive = better. Test scores play no part.",
        "",
        "| endpoint | metric | valid base | valid stacked | change | test base | test stacked |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['endpoint']} | {r['metric']} | {r['valid_base']:.3f} | "
            f"{r['valid_stacked']:.3f} | {100 * r['change']:+.1f}% | {r['test_base']:.3f} | "
            f"{r['test_stacked']:.3f} |"
        )
    (HERE / "results" / "panel_stacking.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    if "--aux" in sys.argv:
        build_aux()
        return
    endpoint_main(__doc__, OUT, run_one, merge, seeds=(1, 2))


if __name__ == "__main__":
    main()
