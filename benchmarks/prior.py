"""The language-model prior as a distribution learner (MOSES-style metrics).

Samples the shipped prior and reports validity, uniqueness (among valid), novelty (valid
unique samples absent from its ZINC250k training corpus) and the Fréchet ChemNet Distance to
the MOSES test set (fcd-torch, which ships its ChemNet weights). Because our prior is trained
on ZINC250k rather than MOSES train, the FCD of ZINC250k molecules themselves against MOSES
test is reported beside it: that is the floor our prior can reach on this metric. The FCD
against the prior's own 2,000 held-out ZINC250k molecules (the split `clm train` makes with
seed 0) is the in-distribution figure, beside the floor of 2,000 training molecules against
the same held-out set. A previous run's JSON (``--previous``) is shown as a row for comparison.

    .venv/bin/python benchmarks/prior.py            # 10,000 samples, 10,000 MOSES test molecules
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem, RDLogger

from drugloop.design.clm import DEFAULT_PRIOR, LanguageModel, read_corpus
from drugloop.paths import shared_data_dir

RESULTS = Path(__file__).resolve().parent / "results"
ANCHORS = {  # MOSES paper (Polykovskiy et al. 2020), CharRNN trained on MOSES train
    "MOSES CharRNN": {"validity": 0.975, "uniqueness@10k": 0.999, "novelty": 0.842, "fcd": 0.073},
}


def _moses_test(n: int, seed: int) -> list[str]:
    path = shared_data_dir() / "moses" / "test.csv.gz"
    with gzip.open(path, "rt") as handle:
        smiles = [line.strip().split(",")[0] for line in handle][1:]
    rng = np.random.default_rng(seed)
    return [smiles[i] for i in rng.choice(len(smiles), size=min(n, len(smiles)), replace=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--reference", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prior", default=str(DEFAULT_PRIOR))
    parser.add_argument("--previous", default=str(RESULTS / "prior_797steps.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    RDLogger.DisableLog("rdApp.*")
    from fcd_torch import FCD

    started = time.time()
    model = LanguageModel.load(args.prior)
    generator = torch.Generator().manual_seed(args.seed)
    samples: list[str] = []
    while len(samples) < args.samples:
        samples += model.sample(min(500, args.samples - len(samples)), generator)
    canonical = []
    for text in samples:
        mol = Chem.MolFromSmiles(text) if text else None
        if mol is not None:
            canonical.append(Chem.MolToSmiles(mol, isomericSmiles=False))
    corpus = read_corpus(shared_data_dir() / "zinc250k" / "zinc250k.smi.gz")
    unique = set(canonical)
    novel = unique - set(corpus)
    test = _moses_test(args.reference, args.seed)
    fcd = FCD(device="cpu", n_jobs=1)
    rng = np.random.default_rng(args.seed)
    zinc_sample = [corpus[i] for i in rng.choice(len(corpus), size=len(test), replace=False)]
    split = list(corpus)
    np.random.default_rng(0).shuffle(split)  # exactly as `clm train --seed 0` splits
    held_out, train = split[:2000], split[2000:]
    train_sample = [train[i] for i in rng.choice(len(train), size=len(held_out), replace=False)]
    result = {
        "benchmark": "prior",
        "prior": Path(args.prior).name,
        "prior_metadata": getattr(model, "metadata", {}),
        "samples": len(samples),
        "validity": len(canonical) / len(samples),
        "uniqueness": len(unique) / max(len(canonical), 1),
        "novelty_vs_zinc250k": len(novel) / max(len(unique), 1),
        "fcd_vs_moses_test": float(fcd(canonical, test)),
        "fcd_zinc250k_vs_moses_test": float(fcd(zinc_sample, test)),
        "fcd_vs_zinc250k_held_out": float(fcd(canonical, held_out)),
        "fcd_zinc250k_train_vs_held_out": float(fcd(train_sample, held_out)),
        "moses_test_molecules_used": len(test),
        "anchors": ANCHORS,
        "seconds": round(time.time() - started, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "prior.json").write_text(json.dumps(result, indent=2, default=str))
    meta = result["prior_metadata"]
    steps = meta.get("total_steps", meta.get("steps", "?"))
    md = [
        "# Language-model prior: distribution learning (MOSES metrics)",
        "",
        f"{result['samples']} samples of `{result['prior']}` (ZINC250k-trained 3×"
        f"{model.network.config['hidden']} GRU, {steps} Adam steps of 128 molecules, held-out "
        f"NLL {meta.get('held_out_nll', float('nan')):.2f} nats/molecule); FCD against "
        f"{len(test)} random MOSES test molecules and against the prior's 2,000 held-out "
        "ZINC250k molecules.",
        "",
        "| model | validity | uniqueness | novelty | FCD/MOSES test | FCD/ZINC held-out |",
        "|---|---|---|---|---|---|",
        _row(f"drugloop prior ({steps} steps)", result),
    ]
    previous = Path(args.previous)
    if previous.exists():
        old = json.loads(previous.read_text())
        old_steps = old.get("prior_metadata", {}).get("steps", "?")
        md.append(_row(f"previous prior ({old_steps} steps, `{previous.name}`)", old))
    md += [
        f"| ZINC250k itself (floor for a ZINC-trained model) | 1 | 1 | 0 | "
        f"{result['fcd_zinc250k_vs_moses_test']:.3f} | "
        f"{result['fcd_zinc250k_train_vs_held_out']:.3f} |",
        "| MOSES CharRNN (published, trained on MOSES) | 0.975 | 0.999 | 0.842 | 0.073 | – |",
        "",
        "Novelty is against ZINC250k. FCD is biased upwards with few molecules: the "
        "ZINC/held-out floor uses 2,000 training molecules, fewer than the prior's valid "
        "samples, so it is an approximate floor, not a strict one.",
    ]
    (RESULTS / "prior.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


def _row(label: str, r: dict) -> str:
    held = r.get("fcd_vs_zinc250k_held_out")
    return (
        f"| {label} | {r['validity']:.3f} | {r['uniqueness']:.3f} | "
        f"{r['novelty_vs_zinc250k']:.3f} | {r['fcd_vs_moses_test']:.3f} | "
        f"{'–' if held is None else f'{held:.3f}'} |"
    )


if __name__ == "__main__":
    main()
