"""Proxy tasks for choosing the active learner's default (never Enamine 10k itself).

Pools: four MoleculeACE ChEMBL Ki sets (pool = compounds, oracle = pKi, maximize) and 10,000
ZINC250k molecules scored by a docking-like RDKit oracle (size, aromatic rings, H-bonding,
flexibility penalty, polarity window, similarity to a kinase-inhibitor reference) plus
fixed per-molecule noise, as docking scores are rugged. Same protocol
as the benchmark: 1% random init + five 1% batches, top-1% recovery.

    .venv/bin/python benchmarks/al_proxy.py --configs gp_greedy rf_greedy --seeds 0 1 2

Runs are cached per (task, configuration, seed) under results/active_learning/proxy/;
``benchmarks/active_learning.py`` turns them into the "How the default was chosen" table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, DataStructs
from rdkit.Chem import Descriptors, Lipinski, rdFingerprintGenerator, rdMolDescriptors

from drugloop.campaign.simulate import SimulationConfig, simulate_campaign
from drugloop.chem.molecule import try_canonical
from drugloop.models import MODELS
from drugloop.models.gp import TanimotoGPModel
from drugloop.paths import shared_data_dir

PARTS = Path(__file__).resolve().parent / "results" / "active_learning" / "proxy"
ACE = ["CHEMBL234_Ki", "CHEMBL214_Ki", "CHEMBL264_Ki", "CHEMBL204_Ki"]
CONFIGS: dict[str, dict] = {
    "rf_greedy": {"model": "rf"},
    "gp_greedy": {"model": "gp"},
    "gp_ap_greedy": {"model": "gp", "model_params": {"atom_pairs": True}},
    "gprf_greedy": {"model": "gp_rf"},
    "gp_ucb": {"model": "gp", "acquisition": "ucb", "acquisition_params": {"beta": 1.0}},
    "gp_thompson": {"model": "gp", "acquisition": "thompson"},
    "gp_ei": {"model": "gp", "acquisition": "ei"},
    "gp_greedy_diverse": {"model": "gp", "batch_strategy": "diverse"},
    "mlp_greedy": {"model": "mlp"},
    "lgbm_greedy": {"model": "lgbm"},
}


def minmax_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """MinMax similarity of count vectors, Σmin / Σmax, via thresholded binary products.

    For integer counts, Σ_i min(a_i, b_i) = Σ_t (a ≥ t)·(b ≥ t), so the kernel (Tanimoto on the
    unary expansion of the counts, hence positive definite) is a few matrix products; levels
    t ≥ 2 only involve the few bits that ever count that high.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    shared = np.zeros((len(a), len(b)), dtype=np.float64)
    t = 1
    cols = np.flatnonzero((a.max(axis=0, initial=0) >= 1) & (b.max(axis=0, initial=0) >= 1))
    while len(cols):
        at = (a[:, cols] >= t).astype(np.float32)
        bt = (b[:, cols] >= t).astype(np.float32)
        shared += at @ bt.T
        t += 1
        cols = cols[(a[:, cols].max(axis=0) >= t) & (b[:, cols].max(axis=0) >= t)]
    total = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - shared
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, shared / total, 0.0)


@MODELS.register("gp_minmax")
class MinMaxGPModel(TanimotoGPModel):
    """Proxy-study candidate: the default GP with the MinMax kernel on the same Morgan counts."""

    name = "gp_minmax"

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return minmax_kernel(a, b)


CONFIGS["gp_minmax_greedy"] = {"model": "gp_minmax"}
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
    args = parser.parse_args()
    PARTS.mkdir(parents=True, exist_ok=True)
    for task in args.tasks:
        pool, oracle = load_task(task)
        for name in args.configs:
            for seed in args.seeds:
                path = PARTS / f"{task}__{name}__seed{seed}.json"
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


def table() -> pd.DataFrame:
    rows = []
    for path in PARTS.glob("*.json"):
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
