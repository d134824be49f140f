"""Pools of millions: streamed featurization into a memory-mapped cache, chunked scoring.

A pool file is read in chunks (never whole), each chunk's SMILES are fingerprinted in parallel
worker processes, and the Morgan count fingerprints (clipped to 255, uint8) go to a numpy
memmap on disk next to a list of the valid SMILES. Invalid SMILES are skipped and counted, and
the row map keeps every fingerprint aligned with its SMILES. Re-scoring the same pool next
round reads the cache (keyed by the file's path, size, mtime and the fingerprint settings).
Scoring walks the memmap chunk by chunk and keeps only a running top-k, so memory stays
bounded by the chunk size whatever the pool size; with ``ray_address`` the chunks are scored
by Ray workers instead.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.campaign.acquisition import acquisition_scores
from drugloop.chem.io import InputFileError, open_text, sniff_delimiter

CHUNK = 50_000


def _fingerprint_chunk(smiles: list[str], radius: int, n_bits: int) -> tuple[np.ndarray, list[int]]:
    """Count fingerprints of the parseable SMILES (uint8) and the positions that parsed."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import rdFingerprintGenerator

    RDLogger.DisableLog("rdApp.*")
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    rows, ok = [], []
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
        if mol is None:
            continue
        rows.append(np.minimum(gen.GetCountFingerprintAsNumPy(mol), 255).astype(np.uint8))
        ok.append(i)
    X = np.stack(rows) if rows else np.zeros((0, n_bits), dtype=np.uint8)
    return X, ok


def iter_smiles_chunks(
    path: str | Path, smiles_col: str = "smiles", chunk_size: int = CHUNK
) -> Iterator[list[str]]:
    """Stream a CSV/TSV/SMI(.gz) pool file in chunks of SMILES strings."""
    path = Path(path)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".smi", ".txt")):
        with open_text(path) as handle:
            chunk: list[str] = []
            for line in handle:
                if line.strip():
                    chunk.append(line.split()[0])
                if len(chunk) == chunk_size:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
        return
    sep = sniff_delimiter(path)
    with open_text(path) as handle:
        reader = pd.read_csv(handle, sep=sep, chunksize=chunk_size, dtype=str)
        for frame in reader:
            columns = {c.lower(): c for c in frame.columns}
            if smiles_col.lower() not in columns:
                raise InputFileError(
                    f"{path}: column {smiles_col!r} not found; columns are {list(frame.columns)}"
                )
            yield frame[columns[smiles_col.lower()]].fillna("").tolist()


def _count_rows(path: Path, smiles_col: str) -> int:
    return sum(len(c) for c in iter_smiles_chunks(path, smiles_col, 200_000))


@dataclass
class PoolCache:
    """Featurized pool on disk: ``X`` (memmap, uint8 counts) row i ↔ ``smiles[i]``."""

    directory: Path
    n_valid: int
    n_invalid: int
    n_bits: int
    radius: int

    @property
    def X(self) -> np.ndarray:
        return np.memmap(
            self.directory / "fingerprints.u8",
            dtype=np.uint8,
            mode="r",
            shape=(max(self.n_valid, 1), self.n_bits),
        )[: self.n_valid]

    @property
    def smiles(self) -> list[str]:
        return (self.directory / "smiles.txt").read_text().splitlines()


def featurize_pool(
    path: str | Path,
    cache_root: str | Path,
    smiles_col: str = "smiles",
    radius: int = 2,
    n_bits: int = 2048,
    chunk_size: int = CHUNK,
    n_jobs: int = 2,
    progress: Callable[[int], None] | None = None,
) -> PoolCache:
    """Fingerprint a pool file into a memmap cache (or reuse the cache if it is current)."""
    from joblib import Parallel, delayed

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such pool file")
    stat = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{radius}|{n_bits}".encode()
    ).hexdigest()[:16]
    directory = Path(cache_root) / f"{path.name}.{key}"
    meta_path = directory / "meta.json"
    if meta_path.exists():
        return PoolCache(directory=directory, **json.loads(meta_path.read_text()))
    directory.mkdir(parents=True, exist_ok=True)
    n_rows = _count_rows(path, smiles_col)
    X = np.memmap(
        directory / "fingerprints.u8", dtype=np.uint8, mode="w+", shape=(max(n_rows, 1), n_bits)
    )
    n_valid = n_invalid = 0
    pieces = max(1, n_jobs * 4)
    with (
        open(directory / "smiles.txt", "w") as out,
        Parallel(n_jobs=n_jobs, backend="loky") as parallel,
    ):
        for chunk in iter_smiles_chunks(path, smiles_col, chunk_size):
            step = -(-len(chunk) // pieces)
            parts = [chunk[i : i + step] for i in range(0, len(chunk), step)]
            results = parallel(delayed(_fingerprint_chunk)(p, radius, n_bits) for p in parts)
            for part, (rows, ok) in zip(parts, results, strict=True):
                X[n_valid : n_valid + len(rows)] = rows
                out.writelines(part[i] + "\n" for i in ok)
                n_valid += len(rows)
                n_invalid += len(part) - len(ok)
            if progress is not None:
                progress(len(chunk))
    X.flush()
    del X
    meta = {"n_valid": n_valid, "n_invalid": n_invalid, "n_bits": n_bits, "radius": radius}
    meta_path.write_text(json.dumps(meta))
    return PoolCache(directory=directory, **meta)


@dataclass
class PoolScores:
    indices: np.ndarray  # rows of the pool cache, best first
    utility: np.ndarray
    mean: np.ndarray
    std: np.ndarray


def _score_rows(model, X: np.ndarray, acquisition: str, params: dict) -> tuple[np.ndarray, ...]:
    if hasattr(model, "features_from_counts"):
        features = model.features_from_counts(X)
    else:
        features = X.astype(np.float32)
    if hasattr(model, "predict_features"):
        mean, std = model.predict_features(features)
    else:  # tree ensembles on Morgan counts: spread over trees / members
        members = model.forest.estimators_ if hasattr(model, "forest") else model.members
        preds = np.stack([m.predict(features) for m in members])
        mean, std = preds.mean(axis=0), preds.std(axis=0)
    return acquisition_scores(acquisition, mean, std, **params), mean, std


def _merge_top(best: PoolScores | None, new: PoolScores, k: int) -> PoolScores:
    if best is not None:
        new = PoolScores(
            *(
                np.concatenate([a, b])
                for a, b in zip(
                    (best.indices, best.utility, best.mean, best.std),
                    (new.indices, new.utility, new.mean, new.std),
                    strict=True,
                )
            )
        )
    keep = np.argsort(-new.utility, kind="stable")[:k]
    return PoolScores(new.indices[keep], new.utility[keep], new.mean[keep], new.std[keep])


def _score_chunk(
    model,
    cache: PoolCache,
    start: int,
    stop: int,
    acquisition: str,
    params: dict,
    k: int,
    exclude: np.ndarray | None,
) -> PoolScores:
    X = np.asarray(cache.X[start:stop])
    utility, mean, std = _score_rows(model, X, acquisition, params)
    if exclude is not None:
        utility = np.where(exclude[start:stop], -np.inf, utility)
    idx = np.arange(start, stop)
    return _merge_top(None, PoolScores(idx, utility, mean, std), k)


def score_pool(
    model,
    cache: PoolCache,
    k: int,
    acquisition: str = "greedy",
    acquisition_params: dict | None = None,
    exclude: np.ndarray | None = None,
    chunk_size: int = 20_000,
    ray_address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> PoolScores:
    """Top-``k`` pool rows by acquisition utility; the model needs ``predict_features``."""
    params = acquisition_params or {}
    bounds = [(s, min(s + chunk_size, cache.n_valid)) for s in range(0, cache.n_valid, chunk_size)]
    if ray_address is not None:
        return _score_pool_ray(model, cache, k, acquisition, params, exclude, bounds, ray_address)
    best = None
    for start, stop in bounds:
        best = _merge_top(
            best, _score_chunk(model, cache, start, stop, acquisition, params, k, exclude), k
        )
        if progress is not None:
            progress(stop - start)
    return best or PoolScores(*(np.array([]) for _ in range(4)))


def _score_pool_ray(model, cache, k, acquisition, params, exclude, bounds, address) -> PoolScores:
    """Same as the local loop, each chunk a Ray task reading the shared memmap."""
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=None if address == "local" else address,
            num_cpus=os.cpu_count() if address == "local" else None,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    try:
        remote = ray.remote(_score_chunk)
        model_ref = ray.put(model)
        exclude_ref = ray.put(exclude)
        futures = [
            remote.remote(model_ref, cache, s, e, acquisition, params, k, exclude_ref)
            for s, e in bounds
        ]
        best = None
        for part in ray.get(futures):
            best = _merge_top(best, part, k)
        return best or PoolScores(*(np.array([]) for _ in range(4)))
    finally:
        if started_here:
            ray.shutdown()
