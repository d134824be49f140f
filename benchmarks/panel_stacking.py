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

A stacked panel predicts every TDC endpoint twice (the first stage feeds the second), about
2.1x the TDC trees. ``stacked_single`` (added after ``stacked`` passed, rule fixed before its
run) is the cheaper form: the first stage predicts a molecule outside A's train_val with one
fold member (the first) instead of the mean of five, which is what an out-of-fold value is
anyway; it qualifies by the same +0.5% bar and, being cheaper, is preferred if it does.
``--protocol`` then runs the chosen arm (from ``results/panel_stacking.json``) through
``tdc_admet.py``'s full protocol (seeds 1-5, test scores, coverage) into
``results/tdc_admet_stacked.{json,md}``, beside ADMET-AI and the leaderboard as usual.

    .venv/bin/python benchmarks/panel_stacking.py --aux          # auxiliary columns (once)
    .venv/bin/python benchmarks/panel_stacking.py [--endpoints A B ...] [--seeds 1 2]
    .venv/bin/python benchmarks/panel_stacking.py --arm stacked_single --seeds 1 2
    .venv/bin/python benchmarks/panel_stacking.py --merge
    .venv/bin/python benchmarks/panel_stacking.py --protocol [--arm A] [--seeds 1 2 3 4 5]
    .venv/bin/python benchmarks/panel_stacking.py --protocol --merge
    .venv/bin/python benchmarks/panel_stacking.py --export DIR   # the stacked panel (after --aux);
    #   DIR = data/admet writes the shipped panel
"""

from __future__ import annotations

import functools
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from feature_cache import CACHE, cached_features  # noqa: E402
from panel_features import fit_on_folds, relative_change  # noqa: E402
from tdc_admet import FEATURES  # noqa: E402
from tdc_data import (  # noqa: E402
    ENDPOINTS,
    describe_valid,
    endpoint_runs,
    load_endpoint,
    run_cached,
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


ARMS = {"stacked": "", "stacked_single": ".single"}  # arm -> its auxiliary file's suffix
PROTOCOL = HERE / "results" / "tdc_admet_stacked"


def arm_dir(arm: str) -> Path:
    return OUT if arm == "stacked" else OUT / arm


def build_aux() -> None:
    """Write ``.cache/panel_stacking/<endpoint>{,.single}.npy``: the 21 auxiliary columns.

    Also ``<endpoint>.feeder.joblib``: the first fold member, which a stacked panel ships as
    its first stage (``stacked_single`` columns come from it for molecules outside train_val).
    """
    import joblib

    AUX.mkdir(parents=True, exist_ok=True)
    names = list(ENDPOINTS)
    molecules = {name: _molecules(name) for name in names}
    keys = {name: _canonical(molecules[name][0]) for name in names}
    columns = {
        (name, arm): np.full((len(keys[name]), len(names)), np.nan)
        for name in names
        for arm in ARMS
    }
    for j, source in enumerate(names):
        start = time.time()
        task, _ = ENDPOINTS[source]
        train_val, _ = load_endpoint(source)
        n_tv = len(train_val)
        smiles_tv = train_val.Drug.tolist()
        folds = assign_folds(scaffold_groups(smiles_tv), 5, AUX_SEED)
        model = GBMModel(task=task, features=FEATURES, seed=AUX_SEED, n_jobs=2, kernel_blend=False)
        model.fit_features(
            molecules[source][1][:n_tv], train_val.Y.to_numpy(float), smiles_tv, folds=folds
        )
        oof = dict(zip(keys[source][:n_tv], model.oof, strict=True))
        joblib.dump(model.members[0], AUX / f"{source}.feeder.joblib")  # a panel's first stage
        for target in names:
            members = model.member_predictions(molecules[target][1])
            seen = np.array([oof.get(k, np.nan) for k in keys[target]])
            unseen = {"stacked": members.mean(axis=0), "stacked_single": members[0]}
            for arm in ARMS:
                columns[target, arm][:, j] = np.where(np.isnan(seen), unseen[arm], seen)
        print(f"aux {source}: {time.time() - start:.0f}s", flush=True)
    for j, name in enumerate(names):
        for arm, suffix in ARMS.items():
            np.save(AUX / f"{name}{suffix}.npy", np.delete(columns[name, arm], j, axis=1))


def stacked_features(name: str, arm: str) -> tuple[list[str], np.ndarray]:
    """The lean features of ``name``'s train_val + test with the arm's 21 auxiliary columns."""
    smiles, X = _molecules(name)
    aux = np.load(AUX / f"{name}{ARMS[arm]}.npy").astype(np.float32)
    return smiles, np.hstack([X, aux])


def run_one(name: str, seed: int, arm: str = "stacked") -> dict:
    """The panel's recipe with the 21 auxiliary columns, on ``tdc_admet.py``'s folds."""
    fit = fit_on_folds(name, seed, FEATURES, extra=np.load(AUX / f"{name}{ARMS[arm]}.npy"))
    base = json.loads((BASELINE / f"{name}_seed{seed}.json").read_text())
    return {
        "endpoint": name,
        "seed": seed,
        "metric": ENDPOINTS[name][1],
        "valid_base": base["valid"],
        "test_base": base["test"],
        f"valid_{arm}": fit.valid,
        f"test_{arm}": fit.test,
        f"tree_ms_{arm}": fit.tree_ms,
    }


def run_protocol(name: str, seed: int, arm: str) -> dict:
    """``tdc_admet.py``'s record (test, valid, coverage) for the stacked recipe."""
    import tdc_admet

    task, metric_name = ENDPOINTS[name]
    train_val, test = load_endpoint(name)
    _, X = stacked_features(name, arm)
    return tdc_admet.fit_and_score(
        name, task, metric_name, train_val, test, seed, save_model=False, X=X
    )


def export_stacked(out: Path, seed: int = 1) -> None:
    """Write the stacked panel to ``out``: the feeders, the seed's stacked TDC models and the
    shipped recipe's Tox21/ClinTox models (their seed-1 fits, refitted here if not cached)."""
    import joblib
    import tox21

    from drugloop.models.admet import export_panel

    names = list(ENDPOINTS)
    models, train_smiles, stacks = {}, {}, {}
    for name in names:
        path = AUX / f"{name}.stacked_seed{seed}.joblib"
        task, _ = ENDPOINTS[name]
        train_val, _ = load_endpoint(name)
        smiles_tv = train_val.Drug.tolist()
        if not path.exists():  # as tdc_admet.fit_and_score fits it
            _, X = stacked_features(name, "stacked_single")
            model = GBMModel(task=task, features=FEATURES, seed=seed, n_jobs=1, kernel_blend=False)
            folds = assign_folds(scaffold_groups(smiles_tv), 5, seed)
            model.fit_features(
                X[: len(train_val)], train_val.Y.to_numpy(float), smiles_tv, folds=folds
            )
            joblib.dump(model, path)
            print(f"stacked {name} seed {seed}", flush=True)
        models[name], train_smiles[name] = joblib.load(path), smiles_tv
        stacks[name] = [n for n in names if n != name]  # the auxiliary columns' order
    for task in tox21.TASKS:
        if not (tox21.models_dir() / f"tox_{task}_seed{seed}.joblib").exists():
            tox21.run_one(task, seed)  # saves the seed-1 model; the records stay as they are
    for name, (model, smiles) in tox21.panel_members(seed).items():
        models[name], train_smiles[name] = model, smiles
    feeders = {name: joblib.load(AUX / f"{name}.feeder.joblib") for name in names}
    print(f"stacked panel written to {export_panel(models, train_smiles, out, feeders, stacks)}")
    check_export(out, models, feeders, stacks)


def _feeder_output(est: object, X: np.ndarray) -> np.ndarray:
    """A feeder's raw output as ``build_aux`` computed it (probability for a classifier)."""
    from drugloop.models.gbm import iterations

    if hasattr(est, "predict_proba"):
        return est.predict_proba(X, num_iteration=iterations(est))[:, 1]
    return est.predict(X, num_iteration=iterations(est))


def check_export(out: Path, models: dict, feeders: dict, stacks: dict, n: int = 200) -> None:
    """The exported panel must predict each stacked endpoint as its model does on the features
    plus the feeders' outputs (first ``n`` test molecules of each endpoint)."""
    from drugloop.models.admet import BY_NAME, AdmetPanel

    panel = AdmetPanel(out, n_jobs=1)
    for name, stack in stacks.items():
        smiles = load_endpoint(name)[1].Drug.tolist()[:n]
        model = models[name]
        X, _ = model.feature_set.transform(smiles)
        fed = np.column_stack([_feeder_output(feeders[f], X) for f in stack])
        expected, _ = model.predict_features(np.hstack([X, fed]), model._similarity(smiles))
        got = panel.predict(smiles)[BY_NAME[name].column].to_numpy(float)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=name)
    print(f"export check: {len(stacks)} stacked endpoints predict as their models")


def merge() -> None:
    by_arm = {arm: {n: runs for n, _, runs in endpoint_runs(arm_dir(arm))} for arm in ARMS}
    arms = [arm for arm in ARMS if by_arm[arm]]
    rows = []
    for name, metric_name, runs in endpoint_runs(OUT):
        row = {"endpoint": name, "metric": metric_name, "seeds": [r["seed"] for r in runs]}
        for key in ("valid_base", "test_base"):
            row[key] = float(np.mean([r[key] for r in runs]))
        for arm in arms:
            arm_runs = by_arm[arm].get(name, [])
            for key in ("valid", "test"):
                row[f"{key}_{arm}"] = float(np.mean([r[f"{key}_{arm}"] for r in arm_runs]))
            row[f"change_{arm}"] = relative_change(
                metric_name, row[f"valid_{arm}"], row["valid_base"]
            )
        rows.append(row)
    mean_change = {arm: float(np.mean([r[f"change_{arm}"] for r in rows])) for arm in arms}
    passing = [arm for arm in arms if mean_change[arm] >= MIN_MEAN_CHANGE]
    summary = {
        "endpoints": len(rows),
        "seeds": sorted({s for r in rows for s in r["seeds"]}),
        "mean_relative_valid_change": mean_change,
        "valid_not_worse": {arm: sum(r[f"change_{arm}"] >= 0 for r in rows) for arm in arms},
        "min_mean_change": MIN_MEAN_CHANGE,
        "passing": passing,
        "chosen_on_validation": passing[-1] if passing else "base",  # the cheapest
    }
    lines = write_summary(
        "panel_stacking",
        "Stacking the ADMET panel on the other endpoints' predictions (validation decides)",
        ".venv/bin/python benchmarks/panel_stacking.py --aux && "
        ".venv/bin/python benchmarks/panel_stacking.py --seeds 1 2 && "
        ".venv/bin/python benchmarks/panel_stacking.py --arm stacked_single --seeds 1 2 && "
        ".venv/bin/python benchmarks/panel_stacking.py --merge",
        summary,
        rows,
    )
    columns = [
        "valid base",
        *(f"valid {a}" for a in arms),
        *(f"change {a}" for a in arms),
        "test base",
        *(f"test {a}" for a in arms),
    ]
    lines += [
        "",
        "Validation = out-of-fold over train_val (5 scaffold folds per seed, as in tdc_admet.py; "
        "base = its records). Mean over seeds. Change = relative validation change against base, "
        "positive = better. Test scores play no part.",
        "",
        "| endpoint | metric | " + " | ".join(columns) + " |",
        "|---|---|" + "---|" * len(columns),
    ]
    for r in rows:
        cells = [
            f"{r['valid_base']:.3f}",
            *(f"{r[f'valid_{a}']:.3f}" for a in arms),
            *(f"{100 * r[f'change_{a}']:+.1f}%" for a in arms),
            f"{r['test_base']:.3f}",
            *(f"{r[f'test_{a}']:.3f}" for a in arms),
        ]
        lines.append(f"| {r['endpoint']} | {r['metric']} | " + " | ".join(cells) + " |")
    (HERE / "results" / "panel_stacking.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aux", action="store_true")
    parser.add_argument("--protocol", action="store_true")
    parser.add_argument("--arm", choices=list(ARMS), help="default: stacked; --protocol: chosen")
    parser.add_argument("--endpoints", nargs="*", default=list(ENDPOINTS))
    parser.add_argument("--seeds", nargs="*", type=int)
    parser.add_argument("--merge", action="store_true")
    parser.add_argument("--export", type=Path, help="write the stacked panel to this directory")
    args = parser.parse_args()
    if args.protocol and args.arm is None:  # the arm chosen on validation (results/*.json)
        args.arm = json.loads((HERE / "results" / "panel_stacking.json").read_text())["summary"][
            "chosen_on_validation"
        ]
    args.arm = args.arm or "stacked"
    if args.aux:
        build_aux()
    elif args.export:
        export_stacked(args.export)
    elif args.protocol and args.merge:
        import tdc_admet

        tdc_admet.merge(
            PROTOCOL,
            "tdc_admet_stacked",
            f" stacked on the other endpoints' predictions ({args.arm})",
            command=".venv/bin/python benchmarks/panel_stacking.py --protocol && "
            ".venv/bin/python benchmarks/panel_stacking.py --protocol --merge",
        )
    elif args.protocol:
        run = functools.partial(run_protocol, arm=args.arm)
        run_cached(PROTOCOL, args.endpoints, args.seeds or [1, 2, 3, 4, 5], run, describe_valid)
    elif args.merge:
        merge()
    else:
        run = functools.partial(run_one, arm=args.arm)
        run_cached(arm_dir(args.arm), args.endpoints, args.seeds or [1, 2], run, describe_valid)


if __name__ == "__main__":
    main()
