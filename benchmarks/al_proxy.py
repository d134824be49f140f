"""Proxy tasks for choosing the active learner's default (never Enamine 10k itself).

Pools: four MoleculeACE ChEMBL Ki sets (pool = compounds, oracle = pKi, maximize) and 10,000
ZINC250k molecules scored by a docking-like RDKit oracle (size, aromatic rings, H-bonding,
flexibility penalty, polarity window, similarity to a kinase-inhibitor reference) plus
fixed per-molecule noise, as docking scores are rugged. Same protocol
as the benchmark: 1% random init + five 1% batches, top-1% recovery.

    .venv/bin/python benchmarks/al_proxy.py --configs gp_greedy rf_greedy --seeds 0 1 2
    .venv/bin/python benchmarks/al_proxy.py --check   # the chosen default vs the one before it,
                                                      # on seven more ChEMBL sets (after the choice)

Runs are cached per (task, configuration, seed) under results/active_learning/proxy/;
``benchmarks/active_learning.py`` turns them into the "How the default was chosen" table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs
from rdkit.Chem import Crippen, Descriptors, Lipinski, rdFingerprintGenerator, rdMolDescriptors
from scipy.linalg import cho_factor, cho_solve
from scipy.optimize import minimize
from scipy.spatial.distance import cdist

from drugloop.campaign.simulate import SimulationConfig, simulate_campaign
from drugloop.chem.molecule import try_canonical
from drugloop.models import MODELS
from drugloop.models.gp import TanimotoGPModel
from drugloop.paths import shared_data_dir

PARTS = Path(__file__).resolve().parent / "results" / "active_learning" / "proxy"
EXTRA_PARTS = PARTS.parent / "proxy_extra_seeds"  # seeds 3-7: a stability check, not the rule
ACE = ["CHEMBL234_Ki", "CHEMBL214_Ki", "CHEMBL264_Ki"]
# The next seven largest MoleculeACE sets: run only after a default is chosen, as a check that
# the choice carries to potency data it was not picked on (never part of the rule).
CHECK = [
    "CHEMBL204_Ki",
    "CHEMBL237_Ki",
    "CHEMBL236_Ki",
    "CHEMBL219_Ki",
    "CHEMBL239_EC50",
    "CHEMBL228_Ki",
    "CHEMBL2147_Ki",
]
CHECK_PARTS = PARTS.parent / "proxy_check"
CONFIGS: dict[str, dict] = {
    "rf_greedy": {"model": "rf"},
    "gp_greedy": {"model": "gp", "model_params": {"kernel": "tanimoto"}},
    "gp_ap_greedy": {"model": "gp", "model_params": {"atom_pairs": True, "kernel": "tanimoto"}},
    "gprf_greedy": {"model": "gp_rf"},
    "gp_ucb": {
        "model": "gp",
        "model_params": {"kernel": "tanimoto"},
        "acquisition": "ucb",
        "acquisition_params": {"beta": 1.0},
    },
    "gp_thompson": {
        "model": "gp",
        "model_params": {"kernel": "tanimoto"},
        "acquisition": "thompson",
    },
    "gp_ei": {"model": "gp", "model_params": {"kernel": "tanimoto"}, "acquisition": "ei"},
    "gp_greedy_diverse": {
        "model": "gp",
        "model_params": {"kernel": "tanimoto"},
        "batch_strategy": "diverse",
    },
    "mlp_greedy": {"model": "mlp"},
    "lgbm_greedy": {"model": "lgbm"},
}


# Until the 8-seed study the GP default was the count-Tanimoto kernel; those configurations keep
# it so their cached results stay reproducible. MinMax is now the GP default (models/gp.py).
CONFIGS["gp_minmax_greedy"] = {"model": "gp", "model_params": {"kernel": "minmax"}}

_DESCRIPTOR_ROWS: dict[str, np.ndarray] = {}


def physchem(smiles: str) -> np.ndarray:
    """Ten size, lipophilicity, polarity and shape descriptors (what docking scores track)."""
    mol = Chem.MolFromSmiles(smiles)
    return np.array(
        [
            mol.GetNumHeavyAtoms(),
            rdMolDescriptors.CalcExactMolWt(mol),
            Crippen.MolLogP(mol),
            rdMolDescriptors.CalcTPSA(mol),
            rdMolDescriptors.CalcNumHBD(mol),
            rdMolDescriptors.CalcNumHBA(mol),
            rdMolDescriptors.CalcNumRotatableBonds(mol),
            rdMolDescriptors.CalcNumRings(mol),
            rdMolDescriptors.CalcNumAromaticRings(mol),
            rdMolDescriptors.CalcFractionCSP3(mol),
        ],
        dtype=np.float64,
    )


def _descriptor_matrix(smiles: Sequence[str]) -> np.ndarray:
    for smi in smiles:
        if smi not in _DESCRIPTOR_ROWS:
            _DESCRIPTOR_ROWS[smi] = physchem(smi)
    return np.stack([_DESCRIPTOR_ROWS[smi] for smi in smiles])


@MODELS.register("gp_ml")
class MarginalLikelihoodGP(TanimotoGPModel):
    """Proxy-study candidate: count-Tanimoto GP, optionally plus an RBF on physchem descriptors.

    k = a·T(Morgan counts) [+ b·exp(-|d - d'|² / 2ℓ²) on standardized descriptors] + σ²·I, with
    a, (b, ℓ) and σ² fitted each round by maximizing the log marginal likelihood (L-BFGS on log
    parameters, analytic gradients). Without descriptors this is the default GP with its
    signal and noise variances fitted continuously instead of the noise picked from a grid.
    """

    name = "gp_ml"

    def __init__(self, descriptors: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.descriptors = descriptors
        self.theta: np.ndarray | None = None

    def _parts(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        X = TanimotoGPModel.features(self, smiles)
        if not self.descriptors:
            return X, None
        return X, (_descriptor_matrix(smiles) - self.d_mean) / self.d_std

    def _gram(self, theta: np.ndarray, T: np.ndarray, D2: np.ndarray | None) -> list[np.ndarray]:
        """The kernel's parts, each already scaled: a·T and (if descriptors) b·RBF."""
        parts = [np.exp(theta[0]) * T]
        if D2 is not None:
            parts.append(np.exp(theta[1]) * np.exp(-0.5 * D2 / np.exp(2 * theta[2])))
        return parts

    def _neg_lml(self, theta, T, D2, z):
        parts = self._gram(theta, T, D2)
        noise = np.exp(theta[-1])
        K = sum(parts) + noise * np.eye(len(z))
        try:
            factor = cho_factor(K, lower=True)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve(factor, z)
        lml = -0.5 * z @ alpha - np.log(np.diag(factor[0])).sum()
        W = np.outer(alpha, alpha) - cho_solve(factor, np.eye(len(z)))
        grads = [0.5 * np.sum(W * parts[0])]
        if D2 is not None:
            grads.append(0.5 * np.sum(W * parts[1]))
            grads.append(0.5 * np.sum(W * parts[1] * D2 / np.exp(2 * theta[2])))
        grads.append(0.5 * noise * np.trace(W))
        return -lml, -np.array(grads)

    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None:
        rows = self._subset(y)
        smiles = [smiles[i] for i in rows]
        y = y[rows]
        self.y_mean, self.y_std = float(y.mean()), float(y.std() or 1.0)
        z = (y - self.y_mean) / self.y_std
        D2 = None
        if self.descriptors:
            d = _descriptor_matrix(smiles)
            self.d_mean, self.d_std = d.mean(axis=0), d.std(axis=0)
            self.d_std[self.d_std == 0] = 1.0
        X, d = self._parts(smiles)
        T = self._kernel(X, X)
        if d is not None:
            D2 = cdist(d, d, "sqeuclidean")
        theta0 = (
            [np.log(0.5), np.log(0.5), np.log(3.0), np.log(0.1)]
            if d is not None
            else [
                0.0,
                np.log(0.1),
            ]
        )
        bounds = [(np.log(1e-3), np.log(20.0))] * (3 if d is not None else 1) + [
            (np.log(1e-4), np.log(2.0))
        ]
        if d is not None:
            bounds[2] = (np.log(0.3), np.log(30.0))
        res = minimize(
            self._neg_lml,
            np.array(theta0),
            args=(T, D2, z),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 100},
        )
        self.theta = res.x
        self.noise = float(np.exp(self.theta[-1]))
        K = sum(self._gram(self.theta, T, D2)) + self.noise * np.eye(len(z))
        self._factor = cho_factor(K, lower=True)
        self._alpha = cho_solve(self._factor, z)
        self._X, self._d = X, d

    def params(self) -> dict[str, Any]:
        theta = None if self.theta is None else np.exp(self.theta).round(4).tolist()
        return {**super().params(), "descriptors": self.descriptors, "theta": theta}

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        X, d = self._parts(smiles)
        means, stds = [], []
        for start in range(0, len(X), 4096):
            T = self._kernel(X[start : start + 4096], self._X)
            D2 = None if d is None else cdist(d[start : start + 4096], self._d, "sqeuclidean")
            Ks = sum(self._gram(self.theta, T, D2))
            prior_var = np.exp(self.theta[0]) + (np.exp(self.theta[1]) if d is not None else 0.0)
            v = cho_solve(self._factor, Ks.T)
            var = np.clip(prior_var - np.einsum("ij,ji->i", Ks, v), 1e-12, None)
            means.append(self.y_mean + self.y_std * (Ks @ self._alpha))
            stds.append(self.y_std * np.sqrt(var))
        return np.concatenate(means), np.concatenate(stds)


CONFIGS["gp_ml_greedy"] = {"model": "gp_ml", "model_params": {"kernel": "tanimoto"}}
CONFIGS["gp_physchem_greedy"] = {
    "model": "gp_ml",
    "model_params": {"descriptors": True, "kernel": "tanimoto"},
}
# After MinMax became the default: its two best-ranked companions (physchem RBF, atom pairs)
# put on the MinMax kernel, to see whether the gains add up.
CONFIGS["gp_minmax_physchem_greedy"] = {
    "model": "gp_ml",
    "model_params": {"descriptors": True, "kernel": "minmax"},
}
CONFIGS["gp_minmax_ap_greedy"] = {
    "model": "gp",
    "model_params": {"atom_pairs": True, "kernel": "minmax"},
}


@MODELS.register("gp_lgbm_rank")
class GPLightGBMRank(TanimotoGPModel):
    """Proxy-study candidate: rank average of the default GP and LightGBM on physchem descriptors.

    Two model families that err differently (similarity smoothing vs. descriptor rules); rank
    averaging needs no common scale. The mean is the averaged rank fraction (greedy uses only
    that); the std is the GP's, rescaled to the rank scale by the spread of the two means.
    """

    name = "gp_lgbm_rank"

    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None:
        from lightgbm import LGBMRegressor

        super()._fit(smiles, y)
        self.booster = LGBMRegressor(
            n_estimators=300,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=5,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            n_jobs=1,
            random_state=self.seed,
            verbose=-1,
        ).fit(_descriptor_matrix(smiles), y)

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        from scipy.stats import rankdata

        gp_mean, gp_std = super()._predict_mean_std(smiles)
        gbm_mean = self.booster.predict(_descriptor_matrix(smiles))
        mean = 0.5 * (rankdata(gp_mean) + rankdata(gbm_mean)) / len(smiles)
        scale = mean.std() / (gp_mean.std() or 1.0)
        return mean, gp_std * scale


CONFIGS["gp_lgbm_rank_greedy"] = {"model": "gp_lgbm_rank", "model_params": {"kernel": "tanimoto"}}


@MODELS.register("gp_warped")
class WarpedTargetGP(TanimotoGPModel):
    """Proxy-study candidate: the default GP fitted on transformed targets (order unchanged).

    ``warp="clip"`` floors targets at their median, so the fit spends its capacity on telling
    good compounds apart rather than modelling the poor half; ``warp="copula"`` maps ranks to
    normal quantiles, removing skew and outliers (a Gaussian likelihood then fits better).
    Greedy acquisition reads only the ranking of the posterior mean, so no back-transform.
    """

    name = "gp_warped"

    def __init__(self, warp: str = "clip", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warp = warp

    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None:
        from scipy.stats import norm, rankdata

        if self.warp == "clip":
            y = np.maximum(y, np.median(y))
        else:
            y = norm.ppf(rankdata(y) / (len(y) + 1))
        super()._fit(smiles, y)


CONFIGS["gp_minmax_clip_greedy"] = {"model": "gp_warped", "model_params": {"warp": "clip"}}
CONFIGS["gp_minmax_copula_greedy"] = {"model": "gp_warped", "model_params": {"warp": "copula"}}
CONFIGS["gp_minmax_r3_greedy"] = {"model": "gp", "model_params": {"radius": 3}}


# The size mean was first written here as a proxy-study candidate and moved into the library GP
# (``mean="size"``) when the 8-seed rule picked it; the configurations pin the mean explicitly so
# their cached results stay reproducible.
CONFIGS["gp_minmax_sizemean_greedy"] = {"model": "gp", "model_params": {"mean": "size"}}
CHECK_CONFIGS = ("gp_minmax_sizemean_greedy", "gp_minmax_greedy")  # current, previous default
for _config in CONFIGS.values():  # every earlier GP configuration ran with the constant mean
    if _config["model"] in ("gp", "gp_ml", "gp_warped", "gp_lgbm_rank"):
        _config.setdefault("model_params", {}).setdefault("mean", "constant")

REFERENCE = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"  # imatinib


def docking_like(smiles: str) -> float:
    """A cheap, size-dominated score with shape terms, like docking scores (higher = better)."""
    mol = Chem.MolFromSmiles(smiles)
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    sim = DataStructs.TanimotoSimilarity(
        gen.GetFingerprint(mol), gen.GetFingerprint(Chem.MolFromSmiles(REFERENCE))
    )
    tpsa = rdMolDescriptors.CalcTPSA(mol)
    return (
        0.2 * mol.GetNumHeavyAtoms()
        + 0.6 * rdMolDescriptors.CalcNumAromaticRings(mol)
        + 0.25 * min(Lipinski.NumHDonors(mol), 3)
        + 0.1 * min(Lipinski.NumHAcceptors(mol), 8)
        - 0.3 * Descriptors.NumRotatableBonds(mol)
        - 0.0005 * (tpsa - 80) ** 2
        + 4.0 * sim
    )


def load_task(name: str) -> tuple[list[str], dict[str, float]]:
    root = shared_data_dir()
    if name.startswith("CHEMBL"):
        frame = pd.read_csv(root / "moleculeace" / f"{name}.csv.gz")
        pool = frame["smiles"].tolist()
        values = frame["y"].to_numpy(dtype=float)
    else:
        with gzip.open(root / "zinc250k" / "zinc250k.smi.gz", "rt") as handle:
            lines = [line.split()[0] for line in handle if line.strip()]
        pool = [lines[i] for i in np.random.default_rng(123).choice(len(lines), 10000, False)]
        signal = np.array([docking_like(s) for s in pool])
        # docking is rugged: per-molecule deterministic "pose noise" (0.6 × signal sd)
        noise = np.random.default_rng(7).standard_normal(len(pool))
        values = signal + 0.6 * signal.std() * noise
    oracle = {}
    for smi, value in zip(pool, values, strict=True):
        key = try_canonical(smi)
        if key is not None:
            oracle[key] = float(value)
    return pool, oracle


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS))
    parser.add_argument("--tasks", nargs="+", default=[*ACE, "zinc10k_docklike"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--parts-dir", type=Path, default=PARTS, help="where per-run JSONs go (a side study)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="the current and previous default on the CHECK sets, seeds 0-4, into CHECK_PARTS",
    )
    args = parser.parse_args()
    if args.check:
        args.configs, args.tasks = list(CHECK_CONFIGS), CHECK
        args.seeds, args.parts_dir = [0, 1, 2, 3, 4], CHECK_PARTS
    args.parts_dir.mkdir(parents=True, exist_ok=True)
    for task in args.tasks:
        pool, oracle = load_task(task)
        for name in args.configs:
            for seed in args.seeds:
                path = args.parts_dir / f"{task}__{name}__seed{seed}.json"
                if path.exists():
                    continue
                started = time.perf_counter()
                result = simulate_campaign(
                    pool, oracle, SimulationConfig(seed=seed, **CONFIGS[name])
                ).to_dict()
                result["wall_seconds"] = round(time.perf_counter() - started, 1)
                path.write_text(json.dumps(result))
                print(
                    f"{task} {name} seed {seed}: {result['final_fraction_top_found']:.3f} "
                    f"({result['wall_seconds']} s)",
                    flush=True,
                )


def table(parts: Path = PARTS) -> pd.DataFrame:
    rows = []
    for path in parts.glob("*.json"):
        task, name, seed = path.stem.split("__")
        data = json.loads(path.read_text())
        rows.append(
            {
                "task": task,
                "config": name,
                "seed": int(seed[4:]),
                "fraction": data["final_fraction_top_found"],
                "s": data["wall_seconds"],
            }
        )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    main()
