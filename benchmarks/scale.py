"""Scale benchmark: seconds per 1 million pool molecules for featurize + predict + acquire.

The pool is MOSES train (1,584,663 SMILES, /work/shared/data/moses/train.csv.gz), streamed in
chunks into a memory-mapped fingerprint cache with both cores, then scored chunk by chunk by
the default campaign model (trained on 1,000 random pool molecules, as after a first round) with
UCB, keeping a running top-1000. Peak resident memory is reported to show it stays bounded.

    .venv/bin/python benchmarks/scale.py                 # full MOSES train
    .venv/bin/python benchmarks/scale.py --limit 200000  # a quicker part
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from rdkit import Chem
from rdkit.Chem import Crippen

from drugloop.campaign.pool import featurize_pool, iter_smiles_chunks, score_pool
from drugloop.campaign.simulate import SimulationConfig
from drugloop.models import create_model
from drugloop.paths import shared_data_dir

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use only the first N SMILES")
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--cache-dir", type=Path, default=None)
    args = parser.parse_args()
    source = shared_data_dir() / "moses" / "train.csv.gz"
    work = Path(tempfile.mkdtemp(prefix="drugloop_scale_"))
    pool_path = source
    if args.limit:
        pool_path = work / "pool.smi"
        with open(pool_path, "w") as out:
            chunks = iter_smiles_chunks(source, "SMILES", 100_000)
            for smi in itertools.islice(itertools.chain.from_iterable(chunks), args.limit):
                out.write(smi + "\n")
    cache_root = args.cache_dir or work / "cache"
    defaults = SimulationConfig()
    t0 = time.perf_counter()
    cache = featurize_pool(pool_path, cache_root, smiles_col="SMILES", n_jobs=2)
    t_feat = time.perf_counter() - t0

    rng = np.random.default_rng(0)
    smiles = cache.smiles
    train = [smiles[i] for i in rng.choice(len(smiles), args.n_train, replace=False)]
    y = np.array([Crippen.MolLogP(Chem.MolFromSmiles(s)) for s in train])  # stand-in assay
    t1 = time.perf_counter()
    model = create_model(defaults.model, **defaults.model_params).fit(train, y)
    t_fit = time.perf_counter() - t1
    t2 = time.perf_counter()
    top = score_pool(model, cache, k=1000, acquisition="ucb")
    t_score = time.perf_counter() - t2
    n = cache.n_valid + cache.n_invalid
    per_million = 1e6 / n
    summary = {
        "benchmark": "scale",
        "pool": str(source.name) + (f" (first {args.limit})" if args.limit else ""),
        "n_smiles": n,
        "n_valid": cache.n_valid,
        "n_invalid": cache.n_invalid,
        "model": defaults.model,
        "n_train": args.n_train,
        "acquisition": "ucb, running top-1000",
        "seconds": {
            "featurize": round(t_feat, 1),
            "fit": round(t_fit, 1),
            "predict_acquire": round(t_score, 1),
        },
        "seconds_per_million": {
            "featurize": round(t_feat * per_million, 1),
            "predict_acquire": round(t_score * per_million, 1),
            "total": round((t_feat + t_score) * per_million, 1),
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cache_mb": round((cache.directory / "fingerprints.u8").stat().st_size / 2**20, 1),
        "cores": 2,
        "machine": f"{platform.machine()}, {platform.python_version()}, shared 2-core VM",
        "load_average_1_5_15min_at_end": [round(x, 2) for x in os.getloadavg()],
        "best_utility": float(top.utility[0]),
    }
    name = "scale" if not args.limit else f"scale_{args.limit}"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(summary, indent=2))
    s = summary["seconds_per_million"]
    limit_flag = f" --limit {args.limit}" if args.limit else ""
    (RESULTS / f"{name}.md").write_text(
        "# Scale — seconds per 1 million pool molecules (2 cores)\n\n"
        "| pool | molecules | featurize | predict + acquire | total | peak RSS |\n"
        "|---|---|---|---|---|---|\n"
        f"| {summary['pool']} | {n:,} | {s['featurize']} s | {s['predict_acquire']} s | "
        f"{s['total']} s | {summary['peak_rss_mb']} MB |\n\n"
        f"Model: {defaults.model} trained on {args.n_train}; reproduce: "
        f"`.venv/bin/python benchmarks/scale.py{limit_flag}`\n\n"
        "Peak RSS counts the memory-mapped fingerprint pages the process touched (file-backed, "
        "reclaimable by the OS); the cache itself is on disk.\n"
    )
    print(json.dumps(summary, indent=2))
    if args.cache_dir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
