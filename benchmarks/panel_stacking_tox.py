"""Do the panel's Tox21 and ClinTox predictions help the stacked TDC endpoints? Validation decides.

The shipped panel stacks each TDC endpoint on the other 21 endpoints' predictions
(``panel_stacking.py``, arm ``stacked_single``). The panel also predicts 12 Tox21 assays and
ClinTox for every molecule, so feeding those 13 numbers to the stacked TDC models as well would
cost a panel nothing but reordering. Toxicity assays plausibly inform AMES (SR-p53, SR-ATAD5:
genotoxic stress), DILI (SR-MMP, SR-ARE), LD50 and hERG.

Auxiliary columns, leak-free as in ``panel_stacking.py``: each of the 13 assays is fitted once
with the panel's ``gbm`` recipe on its labelled MoleculeNet compounds (5 scaffold folds, seed
0). A molecule gets the assay's out-of-fold prediction if it is among those compounds, else
the first fold member's (the panel's single-member first stage). No TDC label enters them.

Arm ``stacked_tox``: the shipped ``stacked_single`` inputs (lean features + 21 TDC columns) plus
the 13 assay columns, on ``tdc_admet.py``'s seeded scaffold folds (seeds 1-2), against the
committed ``stacked_single`` validation records of the same folds.

The rule, fixed before the run (2026-12-08, eighth session): the arm becomes the candidate for
the panel only if the mean over the 22 endpoints × seeds 1-2 of the relative validation change
(positive = better) is at least +0.5%, the bar of ``recipe_sweep.py`` and ``panel_stacking.py``.
A candidate then still needs the full protocol (seeds 1-5) and the speed rule (at least 10x
ADMET-AI in ``admet_speed.py``) before it ships. Test scores are recorded beside, and play no
part.

    .venv/bin/python benchmarks/panel_stacking_tox.py --aux
    .venv/bin/python benchmarks/panel_stacking_tox.py [--endpoints A B ...] [--seeds 1 2]
    .venv/bin/python benchmarks/panel_stacking_tox.py --merge
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panel_stacking  # noqa: E402
import tox21  # noqa: E402
from panel_features import fit_on_folds, relative_change  # noqa: E402
from tdc_admet import FEATURES  # noqa: E402
from tdc_data import ENDPOINTS  # noqa: E402

from drugloop.models.cv_ensemble import assign_folds, scaffold_groups  # noqa: E402
from drugloop.models.gbm import GBMModel  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "results" / "panel_stacking_tox"
BASE = panel_stacking.arm_dir("stacked_single")
AUX = panel_stacking.AUX
ARM = "stacked_tox"
MIN_MEAN_CHANGE = 0.005
warnings.filterwarnings("ignore")


def build_aux() -> None:
    """Write ``.cache/panel_stacking/<endpoint>.tox.npy``: the 13 assay columns per endpoint."""
    names = list(ENDPOINTS)
    molecules = {name: panel_stacking._molecules(name) for name in names}
    keys = {name: panel_stacking._canonical(molecules[name][0]) for name in names}
    columns = {name: np.full((len(keys[name]), len(tox21.TASKS)), np.nan) for name in names}
    for j, task in enumerate(tox21.TASKS):
        start = time.time()
        frame, dataset = tox21.load(task)
        X_all = tox21.features(dataset, frame.Drug.tolist())
        labelled = np.flatnonzero(frame.Y.notna().to_numpy())
        smiles = frame.Drug.iloc[labelled].tolist()
        folds = assign_folds(scaffold_groups(smiles), 5, panel_stacking.AUX_SEED)
        model = GBMModel(
            task="classification",
            features=FEATURES,
            seed=panel_stacking.AUX_SEED,
            n_jobs=2,
            kernel_blend=False,
        )
        model.fit_features(
            X_all[labelled], frame.Y.iloc[labelled].to_numpy(float), smiles, folds=folds
        )
        oof = dict(zip(panel_stacking._canonical(smiles), model.oof, strict=True))
        for name in names:
            seen = np.array([oof.get(k, np.nan) for k in keys[name]])
            first = model.member_predictions(molecules[name][1])[0]
            columns[name][:, j] = np.where(np.isnan(seen), first, seen)
        print(f"aux {task}: {time.time() - start:.0f}s", flush=True)
    for name in names:
        np.save(AUX / f"{name}.tox.npy", columns[name])


def run_one(name: str, seed: int) -> dict:
    extra = np.hstack([np.load(AUX / f"{name}.single.npy"), np.load(AUX / f"{name}.tox.npy")])
    fit = fit_on_folds(name, seed, FEATURES, extra=extra)
    base = json.loads((BASE / f"{name}_seed{seed}.json").read_text())
    return {
        "endpoint": name,
        "seed": seed,
        "metric": ENDPOINTS[name][1],
        "valid_base": base["valid_stacked_single"],
        "test_base": base["test_stacked_single"],
        f"valid_{ARM}": fit.valid,
        f"test_{ARM}": fit.test,
        f"tree_ms_{ARM}": fit.tree_ms,
    }


def merge() -> dict:
    rows = [json.loads(p.read_text()) for p in sorted(OUT.glob("*_seed*.json"))]
    changes = [relative_change(r["metric"], r[f"valid_{ARM}"], r["valid_base"]) for r in rows]
    per_endpoint: dict[str, list[float]] = {}
    for r, c in zip(rows, changes, strict=True):
        per_endpoint.setdefault(r["endpoint"], []).append(c)
    mean = float(np.mean(changes)) if changes else float("nan")
    complete = len(rows) == 2 * len(ENDPOINTS)
    summary = {
        "arm": ARM,
        "base": "stacked_single",
        "runs": len(rows),
        "complete": complete,
        "mean_relative_valid_change": mean,
        "better": int(sum(c > 0 for c in changes)),
        "worse": int(sum(c < 0 for c in changes)),
        "rule": f"candidate if mean >= {MIN_MEAN_CHANGE:+.1%} over 22 endpoints x seeds 1-2",
        "candidate": bool(complete and mean >= MIN_MEAN_CHANGE),
        "rows": rows,
    }
    (HERE / "results" / "panel_stacking_tox.json").write_text(json.dumps(summary, indent=1))
    lines = [
        "# Stacking the TDC endpoints on the Tox21/ClinTox predictions too (validation)",
        "",
        "Command: `.venv/bin/python benchmarks/panel_stacking_tox.py --aux && "
        ".venv/bin/python benchmarks/panel_stacking_tox.py && "
        ".venv/bin/python benchmarks/panel_stacking_tox.py --merge`",
        "",
        f"Base: the shipped `stacked_single` recipe on the same folds. Rule: {summary['rule']}. "
        f"Runs: {len(rows)}; mean relative validation change **{mean:+.2%}** "
        f"({summary['better']} better, {summary['worse']} worse): "
        f"{'candidate' if summary['candidate'] else 'not a candidate'}.",
        "",
        "| endpoint | metric | seeds | valid base | valid arm | change | test base | test arm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, cs in per_endpoint.items():
        rs = [r for r in rows if r["endpoint"] == name]
        lines.append(
            f"| {name} | {rs[0]['metric']} | {len(rs)} "
            f"| {np.mean([r['valid_base'] for r in rs]):.3f} "
            f"| {np.mean([r[f'valid_{ARM}'] for r in rs]):.3f} | {np.mean(cs):+.2%} "
            f"| {np.mean([r['test_base'] for r in rs]):.3f} "
            f"| {np.mean([r[f'test_{ARM}'] for r in rs]):.3f} |"
        )
    (HERE / "results" / "panel_stacking_tox.md").write_text("\n".join(lines) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aux", action="store_true")
    parser.add_argument("--merge", action="store_true")
    parser.add_argument("--endpoints", nargs="+", default=list(ENDPOINTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if args.aux:
        build_aux()
    elif args.merge:
        summary = merge()
        print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
    else:
        OUT.mkdir(parents=True, exist_ok=True)
        for name in args.endpoints:
            for seed in args.seeds:
                path = OUT / f"{name}_seed{seed}.json"
                if not path.exists():
                    path.write_text(json.dumps(run_one(name, seed), indent=1))
                    print(f"{name} seed {seed}", flush=True)


if __name__ == "__main__":
    main()
