"""The shipped ADMET panel: 35 endpoints (22 TDC ADMET, 12 Tox21, ClinTox), offline, with units
and uncertainty.

Each endpoint is a LightGBM ensemble of the ``gbm`` recipe (Morgan + Avalon counts, ErG, lean
fast 2D descriptors) trained on the TDC ADMET Benchmark Group ``train_val`` data (never the test
sets; Tox21/ClinTox on their seed-1 scaffold-split training parts), stored as plain LightGBM
model text plus its calibration (Platt scaling for classifiers, split-conformal quantile for
regressors) in ``data/admet/panel.json.xz``. The 22 TDC endpoints are stacked
(``benchmarks/panel_stacking.py``): a first stage of one LightGBM model per TDC endpoint runs
first and each endpoint also reads the other 21 first-stage outputs. Features are computed once
per molecule and shared by all models; nearest-neighbour similarities come from one exact
Tanimoto pass against the union of the training sets, whose fingerprints ship packed
(``train_fps.npz``) so that loading parses no SMILES. Worker processes each featurize a chunk
and run its trees, compiled to native code when ``drugloop admet compile`` has run."""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import lzma
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.chem.molecule import invalid_smiles_message
from drugloop.models.compiled_trees import (
    CompiledTrees,
    cache_root,
    compile_boosters,
    file_digest,
    remapped_model,
)
from drugloop.models.cv_ensemble import apply_platt, conformal_mean_std, difficulty
from drugloop.models.features import FeatureSet, can_fork, default_jobs, morgan_block_and_bits
from drugloop.models.gbm import catboost_pool, is_lightgbm, iterations


@dataclass(frozen=True)
class Endpoint:
    name: str  # TDC dataset name
    column: str  # output column
    task: str  # regression | classification
    units: str
    meaning: str


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "Caco2_Wang",
        "caco2",
        "regression",
        "log10(Papp / cm/s)",
        "Caco-2 cell permeability (intestinal absorption proxy); higher = more permeable",
    ),
    Endpoint(
        "HIA_Hou",
        "hia",
        "classification",
        "P(absorbed)",
        "probability of good human intestinal absorption",
    ),
    Endpoint(
        "Pgp_Broccatelli",
        "pgp_inhibitor",
        "classification",
        "P(inhibitor)",
        "probability of inhibiting P-glycoprotein efflux",
    ),
    Endpoint(
        "Bioavailability_Ma",
        "bioavailability",
        "classification",
        "P(F >= 20%)",
        "probability of oral bioavailability of at least 20%",
    ),
    Endpoint(
        "Lipophilicity_AstraZeneca",
        "logd74",
        "regression",
        "log D (pH 7.4)",
        "octanol/water distribution coefficient at pH 7.4",
    ),
    Endpoint(
        "Solubility_AqSolDB", "solubility", "regression", "log10(mol/L)", "aqueous solubility"
    ),
    Endpoint(
        "BBB_Martins",
        "bbb",
        "classification",
        "P(penetrant)",
        "probability of crossing the blood-brain barrier",
    ),
    Endpoint("PPBR_AZ", "ppbr", "regression", "% bound", "human plasma protein binding rate"),
    Endpoint(
        "VDss_Lombardo",
        "vdss",
        "regression",
        "L/kg",
        "volume of distribution at steady state (human)",
    ),
    Endpoint(
        "CYP2C9_Veith",
        "cyp2c9_inhibitor",
        "classification",
        "P(inhibitor)",
        "probability of inhibiting CYP2C9",
    ),
    Endpoint(
        "CYP2D6_Veith",
        "cyp2d6_inhibitor",
        "classification",
        "P(inhibitor)",
        "probability of inhibiting CYP2D6",
    ),
    Endpoint(
        "CYP3A4_Veith",
        "cyp3a4_inhibitor",
        "classification",
        "P(inhibitor)",
        "probability of inhibiting CYP3A4",
    ),
    Endpoint(
        "CYP2C9_Substrate_CarbonMangels",
        "cyp2c9_substrate",
        "classification",
        "P(substrate)",
        "probability of being a CYP2C9 substrate",
    ),
    Endpoint(
        "CYP2D6_Substrate_CarbonMangels",
        "cyp2d6_substrate",
        "classification",
        "P(substrate)",
        "probability of being a CYP2D6 substrate",
    ),
    Endpoint(
        "CYP3A4_Substrate_CarbonMangels",
        "cyp3a4_substrate",
        "classification",
        "P(substrate)",
        "probability of being a CYP3A4 substrate",
    ),
    Endpoint("Half_Life_Obach", "half_life", "regression", "h", "human elimination half-life"),
    Endpoint(
        "Clearance_Hepatocyte_AZ",
        "clearance_hepatocyte",
        "regression",
        "uL/min/10^6 cells",
        "intrinsic clearance in human hepatocytes",
    ),
    Endpoint(
        "Clearance_Microsome_AZ",
        "clearance_microsome",
        "regression",
        "uL/min/mg",
        "intrinsic clearance in human liver microsomes",
    ),
    Endpoint(
        "LD50_Zhu",
        "ld50",
        "regression",
        "-log10(mol/kg)",
        "rat acute oral toxicity; higher = more toxic",
    ),
    Endpoint(
        "hERG",
        "herg",
        "classification",
        "P(blocker)",
        "probability of blocking the hERG channel (cardiotoxicity risk)",
    ),
    Endpoint(
        "AMES",
        "ames",
        "classification",
        "P(mutagenic)",
        "probability of a positive Ames mutagenicity test",
    ),
    Endpoint(
        "DILI", "dili", "classification", "P(DILI)", "probability of drug-induced liver injury"
    ),
    *(
        Endpoint(
            f"Tox21_{assay}",
            "tox21_" + assay.lower().replace("-", "_"),
            "classification",
            "P(active)",
            f"probability of activity in the Tox21 {target} assay",
        )
        for assay, target in (
            ("NR-AR", "androgen receptor (full length)"),
            ("NR-AR-LBD", "androgen receptor ligand-binding domain"),
            ("NR-AhR", "aryl hydrocarbon receptor"),
            ("NR-Aromatase", "aromatase inhibition"),
            ("NR-ER", "estrogen receptor alpha (full length)"),
            ("NR-ER-LBD", "estrogen receptor ligand-binding domain"),
            ("NR-PPAR-gamma", "PPAR-gamma"),
            ("SR-ARE", "antioxidant response element (oxidative stress)"),
            ("SR-ATAD5", "ATAD5 (genotoxicity)"),
            ("SR-HSE", "heat shock response"),
            ("SR-MMP", "mitochondrial membrane potential disruption"),
            ("SR-p53", "p53 (DNA damage response)"),
        )
    ),
    Endpoint(
        "ClinTox",
        "clintox",
        "classification",
        "P(toxic in trials)",
        "probability of failing clinical trials for toxicity (ClinTox CT_TOX)",
    ),
)
BY_NAME = {e.name: e for e in ENDPOINTS}

# Physchem columns beside the endpoints (as ADMET-AI and SwissADME report them), read from the
# descriptor features the panel computes anyway: (column, RDKit Properties name, units, meaning)
PHYSCHEM: tuple[tuple[str, str, str, str], ...] = (
    ("molecular_weight", "amw", "g/mol", "average molecular weight"),
    ("clogp", "CrippenClogP", "log units", "calculated logP (Wildman-Crippen), not measured"),
    ("tpsa", "tpsa", "Å²", "topological polar surface area (N, O)"),
    ("hbd", "NumHBD", "count", "hydrogen-bond donors"),
    ("hba", "NumHBA", "count", "hydrogen-bond acceptors"),
    ("rotatable_bonds", "NumRotatableBonds", "count", "rotatable bonds"),
    ("stereo_centers", "NumAtomStereoCenters", "count", "tetrahedral stereocentres"),
)
# derived from four of the sources, so it has no RDKit name of its own
RO5 = ("ro5_violations", "", "count", "Lipinski rule-of-5 violations (MW, cLogP, NH+OH, N+O)")
PHYSCHEM_SOURCES = (*(source for _, source, _, _ in PHYSCHEM), "lipinskiHBD", "lipinskiHBA")
Chunk = tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]


def physchem_columns(values: np.ndarray) -> dict[str, object]:
    """Output columns from (molecules, ``PHYSCHEM_SOURCES``) values; NaN rows stay empty.

    The features are float32, so values are rounded to what their definitions resolve and
    counts are integers (nullable: an unparseable molecule has none).
    """
    columns: dict[str, object] = {}
    for j, (name, _, units, _) in enumerate(PHYSCHEM):
        column = values[:, j].astype(np.float64)
        columns[name] = _counts(column) if units == "count" else np.round(column, 3)
    mw, clogp = values[:, 0], values[:, 1]
    nh_oh, n_o = values[:, len(PHYSCHEM)], values[:, len(PHYSCHEM) + 1]
    violations = (mw > 500).astype(float) + (clogp > 5) + (nh_oh > 5) + (n_o > 10)
    columns[RO5[0]] = _counts(np.where(np.isnan(mw), np.nan, violations))
    return columns


def _counts(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.where(np.isnan(values), None, np.round(values)), dtype="Int64")


def physchem_values(smiles: Sequence[str]) -> np.ndarray:
    """``PHYSCHEM_SOURCES`` per molecule, for panels whose features lack those descriptors."""
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors

    properties = rdMolDescriptors.Properties(list(PHYSCHEM_SOURCES))
    out = np.full((len(smiles), len(PHYSCHEM_SOURCES)), np.nan)
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
        if mol is not None:
            out[i] = properties.ComputeProperties(mol)
    return out


ALPHA = 0.1
FORMAT = 2  # 2: members may carry a CatBoost model beside (or instead of) the LightGBM one
STACKED_FORMAT = 3  # 3: a first stage of feeders whose outputs some endpoints take as features
READABLE_FORMATS = (1, 2, 3)
PANEL_FILE = "panel.json.xz"


def panel_dir() -> Path:
    from drugloop.paths import data_dir

    return data_dir() / "admet"


def columns_frame() -> pd.DataFrame:
    """Output columns of ``drugloop admet predict`` with units and meaning."""
    rows = [
        {"column": "smiles", "units": "", "meaning": "input SMILES, verbatim"},
        {"column": "error", "units": "", "meaning": "why a row has no predictions (else empty)"},
        {
            "column": "nearest_train_similarity",
            "units": "Tanimoto",
            "meaning": "max Morgan Tanimoto to any panel training molecule",
        },
        {
            "column": "in_domain",
            "units": "bool",
            "meaning": "nearest_train_similarity >= 0.35 (else treat predictions with caution)",
        },
    ]
    for e in ENDPOINTS:
        rows.append({"column": e.column, "units": e.units, "meaning": e.meaning})
        unc = (
            "half-width of the 90% conformal interval / 1.645 (σ-equivalent)"
            if e.task == "regression"
            else "Bernoulli std of the outcome, sqrt(p(1-p))"
        )
        rows.append({"column": f"{e.column}_uncertainty", "units": e.units, "meaning": unc})
    for name, _, units, meaning in (*PHYSCHEM, RO5):
        rows.append({"column": name, "units": units, "meaning": meaning})
    return pd.DataFrame(rows)


# -- building the panel from trained gbm models ------------------------------------------------
def export_panel(
    models: dict[str, object],
    train_smiles: dict[str, Sequence[str]],
    out: Path | None = None,
    feeders: dict[str, object] | None = None,
    stacks: dict[str, Sequence[str]] | None = None,
) -> Path:
    """Write fitted ``GBMModel``s (one per endpoint) as a version-independent panel file.

    A stacked panel (``benchmarks/panel_stacking.py``) adds ``feeders``: one fitted LightGBM
    estimator per name, run first; ``stacks[endpoint]`` names the feeders whose raw outputs,
    in that order, follow the features as the endpoint model's last columns.
    """
    blended = [name for name, model in models.items() if getattr(model, "kernel", None)]
    if blended:  # checked before anything is written
        raise ValueError(f"{blended[0]}: the panel file has no place for a blended SVR")
    out = out or panel_dir()
    out.mkdir(parents=True, exist_ok=True)
    feeders, stacks = feeders or {}, stacks or {}
    union: dict[str, int] = {}
    payload: dict[str, object] = {
        "format": STACKED_FORMAT if feeders else FORMAT,
        "features": None,
        "endpoints": {},
    }
    if feeders:
        payload["feeders"] = {name: _serialized_members([est]) for name, est in feeders.items()}
    for name, model in models.items():
        idx = [union.setdefault(s, len(union)) for s in train_smiles[name]]
        payload["features"] = list(model.feature_set.blocks)
        payload["endpoints"][name] = {
            "task": model.fitted_task,
            **_serialized_members(model.members),
            "platt": list(model.platt),
            "conformal_q": model.conformal_q,
            "conformal_scale": getattr(model, "conformal_scale", None),
            "log_scale": model.log_scale,
            "train_index": idx,
        }
        if name in stacks:
            unknown = [f for f in stacks[name] if f not in feeders]
            if unknown or "catboost" in payload["endpoints"][name]:
                raise ValueError(f"{name}: stacked on unknown feeders {unknown} or with CatBoost")
            payload["endpoints"][name]["stack"] = list(stacks[name])
    # xz: the model text compresses to 17 MB where gzip leaves 22 (about 1 s more to load)
    with lzma.open(out / PANEL_FILE, "wt", preset=9) as fh:
        json.dump(payload, fh)
    (out / "panel.json.gz").unlink(missing_ok=True)  # the earlier format
    # gzip without a timestamp: an unchanged training set re-exports to identical bytes
    smiles_gz = gzip.compress(("\n".join(union) + "\n").encode(), mtime=0)
    smiles_path = out / "train_smiles.smi.gz"
    if not smiles_path.exists() or smiles_path.read_bytes() != smiles_gz:
        smiles_path.write_bytes(smiles_gz)
    write_train_fingerprints(out)
    return out


def _serialized_members(members: Sequence[object]) -> dict[str, list]:
    """LightGBM model text and CatBoost binaries (base64) per member, with tree counts.

    A member is one booster or a (LightGBM, CatBoost) pair (``GBMModel(booster="both")``); an
    empty string marks a member without that booster.
    """
    import base64

    out: dict[str, list] = {"boosters": [], "iterations": [], "catboost": [], "cb_iterations": []}
    for member in members:
        parts = member if isinstance(member, tuple) else (member,)
        lgbm = next((m for m in parts if is_lightgbm(m)), None)
        cat = next((m for m in parts if not is_lightgbm(m)), None)
        out["boosters"].append(lgbm.booster_.model_to_string() if lgbm is not None else "")
        out["iterations"].append(iterations(lgbm) if lgbm is not None else 0)
        blob, trees = b"", 0
        if cat is not None:  # ship only the trees it predicts with
            trees = iterations(cat)
            used = cat.copy()
            used.shrink(ntree_end=trees)
            blob = used._serialize_model()
        out["catboost"].append(base64.b64encode(blob).decode())
        out["cb_iterations"].append(trees)
    if not any(out["catboost"]):
        del out["catboost"], out["cb_iterations"]
    return out


def write_train_fingerprints(directory: Path) -> Path:
    """Ship the training fingerprints packed, so loading the panel parses no SMILES.

    Left untouched when it already matches the SMILES file (a zip stores write times, so
    rewriting would change the committed file for nothing).
    """
    smiles_path = directory / "train_smiles.smi.gz"
    path = directory / "train_fps.npz"
    digest = _sha256(smiles_path)
    with contextlib.suppress(ValueError):  # corrupted: rewrite it
        if _current_fingerprints(path, digest) is not None:
            return path
    indptr, bits = pack_fingerprints(_read_smiles(smiles_path))
    np.savez_compressed(path, indptr=indptr, bits=bits, smiles_sha256=digest)
    return path


def _read_smiles(path: Path) -> list[str]:
    with gzip.open(path, "rt") as fh:
        return [line.strip() for line in fh if line.strip()]


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- nearest neighbours to the training sets ------------------------------------------------------
FP_BITS = 2048
_DENSE_BITS = 64  # the most common bits go through a dense product, the rest through bincount


def _fp_generator():
    """Morgan radius 2, 2048 bits: the fingerprint ``drugloop.chem.features.bit_vectors`` uses."""
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=FP_BITS)


def pack_fingerprints(smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """On-bits of each molecule as CSR arrays (indptr, uint16 bits); no bits if unparseable."""
    from rdkit import Chem

    gen = _fp_generator()
    rows = []
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi) if smi else None
        rows.append(list(gen.GetFingerprint(mol).GetOnBits()) if mol is not None else [])
    return _csr_rows(rows)


def _csr_rows(rows: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rows], out=indptr[1:])
    bits = np.fromiter((b for r in rows for b in r), dtype=np.uint16, count=int(indptr[-1]))
    return indptr, bits


class NeighbourIndex:
    """Exact max Tanimoto of query fingerprints to each of several reference sets, in one pass.

    ``members`` marks which sets (columns) each reference molecule is in. References are
    grouped by that signature (contiguous columns), so one ``maximum.reduceat`` over the
    (query x reference) similarity block gives the per-group maxima and each set takes the
    max over its groups; fewer distinct signatures make that step cheaper. Shared-bit counts
    come from a dense product over the most frequent bits plus a ``bincount`` over the rest:
    the counts (and the float32 division) are the same numbers a sparse product gives, at a
    third of the cost.
    """

    def __init__(self, indptr: np.ndarray, bits: np.ndarray, members: np.ndarray) -> None:
        from scipy import sparse

        n_ref = len(indptr) - 1
        signatures, group = np.unique(members, axis=0, return_inverse=True)
        order = np.argsort(group.reshape(-1), kind="stable")
        self.groups = signatures  # (n_groups, n_sets) bool
        self.starts = np.flatnonzero(np.r_[True, np.diff(group.reshape(-1)[order]) != 0])
        refs = sparse.csr_matrix(
            (np.ones(len(bits), dtype=np.float32), bits.astype(np.int32), indptr),
            shape=(n_ref, FP_BITS),
        )[order]
        self.ref_counts = np.diff(refs.indptr).astype(np.float32)
        by_bit = refs.T.tocsr()  # bit -> the references that have it
        self.dense_bits = np.argsort(-np.diff(by_bit.indptr), kind="stable")[:_DENSE_BITS]
        self.is_dense = np.zeros(FP_BITS, dtype=bool)
        self.is_dense[self.dense_bits] = True
        self.dense = by_bit[self.dense_bits].toarray()  # (dense bits, n_ref) float32
        self.bit_ptr, self.bit_refs = by_bit.indptr, by_bit.indices.astype(np.int64)
        self.n_ref = n_ref

    def max_similarity(self, rows: Sequence[np.ndarray], batch: int = 128) -> np.ndarray:
        """(n_query, n_sets) nearest-neighbour Tanimoto; ``rows`` are on-bit arrays."""
        out = np.zeros((len(rows), self.groups.shape[1]))
        # work buffers reused across batches: fresh multi-MB arrays cost page faults each time
        shared = np.empty((min(batch, len(rows)), self.n_ref), dtype=np.float32)
        union = np.empty_like(shared)
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            best = self._group_max(chunk, shared[: len(chunk)], union[: len(chunk)])
            for j in range(self.groups.shape[1]):
                out[start : start + len(chunk), j] = best[:, self.groups[:, j]].max(axis=1)
        return out

    def _group_max(
        self, rows: Sequence[np.ndarray], shared: np.ndarray, union: np.ndarray
    ) -> np.ndarray:
        n = len(rows)
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        query = np.zeros((n, FP_BITS), dtype=np.float32)
        query[np.repeat(np.arange(n), lengths), np.concatenate([*rows, np.zeros(0, np.int64)])] = 1
        np.matmul(query[:, self.dense_bits], self.dense, out=shared)
        for i, row in enumerate(rows):
            sparse_bits = row[~self.is_dense[row]]
            if len(sparse_bits):
                refs = [self.bit_refs[self.bit_ptr[b] : self.bit_ptr[b + 1]] for b in sparse_bits]
                shared[i] += np.bincount(np.concatenate(refs), minlength=self.n_ref)
        np.add.outer(lengths.astype(np.float32), self.ref_counts, out=union)
        union -= shared
        np.maximum(union, 1, out=union)  # 0 only when both are empty; then shared is 0 too
        sim = np.divide(shared, union, out=shared)
        return np.maximum.reduceat(sim, self.starts, axis=1)


# -- prediction -----------------------------------------------------------------------------------
def _read_panel(path: Path, digest: str) -> dict:
    """The panel file's JSON, decompressed once per panel file into the user cache.

    The shipped file is xz (20 MB instead of 26 as gzip), which costs ~1.1 s to decompress on
    every load, a third of what a small ``drugloop admet predict`` takes; the cached plain JSON
    (~80 MB) reads in ~0.2 s. The cache is named by the file's SHA-256 and written atomically; if
    it cannot be written or read the panel file is read directly.
    """
    cached = cache_root() / "admet-panel" / f"{digest[:16]}.json"
    with contextlib.suppress(OSError, ValueError):  # unreadable or corrupt: decompress again
        return json.loads(cached.read_bytes())
    opener = lzma.open if path.suffix == ".xz" else gzip.open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
        payload = json.loads(raw)
    except (OSError, lzma.LZMAError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: corrupted ADMET panel ({exc})") from None
    partial = cached.with_name(f"{cached.name}.{os.getpid()}.part")
    with contextlib.suppress(OSError):  # a read-only or full cache only costs the decompression
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial.write_bytes(raw)
            os.replace(partial, cached)
        finally:
            partial.unlink(missing_ok=True)  # nothing left behind by a failed write
    return payload


def _load_catboost(blob: str) -> object | None:
    if not blob:
        return None
    import base64

    from catboost import CatBoost

    return CatBoost().load_model(blob=base64.b64decode(blob))


def _catboost_output(model, pool, trees: int, task: str, threads: int) -> np.ndarray:
    """P(class 1) or the regression value, from the first ``trees`` trees."""
    kind = "Probability" if task == "classification" else "RawFormulaVal"
    out = model.predict(pool, prediction_type=kind, ntree_end=trees, thread_count=threads or -1)
    return out[:, 1] if out.ndim == 2 else out


_WORKER: AdmetPanel | None = None  # set in forked prediction workers


def _init_worker(panel: AdmetPanel) -> None:
    from threadpoolctl import threadpool_limits

    global _WORKER
    _WORKER = panel
    threadpool_limits(1)  # one BLAS thread per worker process: the workers fill the cores


def _worker_chunk(smiles: list[str]) -> Chunk:
    assert _WORKER is not None
    return _WORKER._predict_chunk(smiles, threads=1)


def _featurize(
    smiles: Sequence[str], feature_set: FeatureSet, index: NeighbourIndex
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, validity and per-endpoint similarities, parsing each SMILES once."""
    from rdkit import Chem

    X = np.full((len(smiles), feature_set.n_features), np.nan, dtype=np.float32)
    valid = np.zeros(len(smiles), dtype=bool)
    rows: list[np.ndarray] = []
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
        if mol is None:
            rows.append(np.zeros(0, dtype=np.int64))
            continue
        morgan, bits = morgan_block_and_bits(mol)  # the neighbour bits are _fp_generator's
        rows.append(bits.astype(np.int64))
        if mol.GetNumAtoms() > 0:
            X[i] = feature_set.row(mol, {"morgan": morgan})
            valid[i] = True
    return X, valid, index.max_similarity(rows)


class AdmetPanel:
    """All endpoints (22 TDC, 12 Tox21, ClinTox); ``predict(smiles)`` gives one row per input.

    ``n_jobs`` worker processes (forked; default: all available CPUs) each featurize a chunk of
    at most ``chunk_size`` molecules, find their nearest training neighbours and run the trees
    on it (LightGBM, one thread, from a sparse matrix: most count features are zero). Workers
    do all the work so that no third process competes for the cores and evicts their caches;
    inputs too small to split run in-process, the trees then on all cores.

    If the trees were compiled for this panel file (``compile_panel``, ``drugloop admet
    compile``) they run as native code instead, with the same outputs; ``compiled=False``
    keeps LightGBM.
    """

    def __init__(
        self,
        directory: Path | None = None,
        n_jobs: int | None = None,
        chunk_size: int = 1000,
        compiled: bool = True,
    ) -> None:
        directory = directory or panel_dir()
        path = directory / PANEL_FILE
        if not path.exists() and (directory / "panel.json.gz").exists():
            path = directory / "panel.json.gz"  # panels exported before the switch to xz
        if not path.exists():
            raise FileNotFoundError(f"{path}: ADMET panel not found (reinstall drugloop)")
        digest = file_digest(path)
        payload = _read_panel(path, digest)
        if payload.get("format") not in READABLE_FORMATS:
            raise ValueError(
                f"{path}: panel format {payload.get('format')}, expected one of {READABLE_FORMATS}"
            )
        self.feature_set = FeatureSet(tuple(payload["features"]))
        self.specs = payload["endpoints"]
        self._feeder_specs = payload.get("feeders", {})
        self.catboosts = {
            name: [_load_catboost(b) for b in spec.get("catboost", [])]
            for name, spec in self.specs.items()
        }
        self.has_catboost = any(c is not None for cats in self.catboosts.values() for c in cats)
        self.n_jobs = n_jobs or default_jobs()
        self.chunk_size = chunk_size
        self.directory, self.digest = directory, digest
        self.compiled = (
            CompiledTrees.load(compiled_dir(self.digest), self.digest)
            if compiled and not self.has_catboost
            else None
        )
        if self.compiled is None:  # LightGBM predicts: parse now, so forked workers inherit them
            _ = self.boosters, self.feeders
        indptr, bits = _train_fingerprints(directory)
        # per-endpoint similarity scales only the regression intervals; the domain flag reads
        # the whole training set (the last column), so classifiers need no column of their own
        regression = [
            e.name for e in self.endpoints if self.specs[e.name]["task"] != "classification"
        ]
        self.similarity_column = {name: j for j, name in enumerate(regression)}
        members = np.zeros((len(indptr) - 1, len(regression) + 1), dtype=bool)
        for name, j in self.similarity_column.items():
            members[np.asarray(self.specs[name]["train_index"]), j] = True
        members[:, -1] = True
        self.neighbours = NeighbourIndex(indptr, bits, members)

    @functools.cached_property
    def boosters(self) -> dict[str, list]:
        """LightGBM members per endpoint; parsed only when needed (compiled trees skip them)."""
        import lightgbm as lgb

        return {
            name: [lgb.Booster(model_str=s) if s else None for s in spec["boosters"]]
            for name, spec in self.specs.items()
        }

    @functools.cached_property
    def feeders(self) -> dict[str, tuple]:
        """First-stage boosters (and their iteration counts) the stacked endpoints read."""
        import lightgbm as lgb

        return {
            name: (lgb.Booster(model_str=spec["boosters"][0]), spec["iterations"][0])
            for name, spec in self._feeder_specs.items()
        }

    @property
    def endpoints(self) -> list[Endpoint]:
        return [e for e in ENDPOINTS if e.name in self.specs]

    def _predict_chunk(self, smiles: Sequence[str], threads: int) -> Chunk:
        """(validity, similarities, raw tree outputs, physchem) for one chunk of molecules."""
        X, valid, sims = _featurize(smiles, self.feature_set, self.neighbours)
        return valid, sims, self._raw_predictions(X, threads), self._physchem(X, smiles)

    def _physchem(self, X: np.ndarray, smiles: Sequence[str]) -> np.ndarray:
        """The physchem sources, read from the descriptor features already computed."""
        try:
            return X[:, [self.feature_set.descriptor_index(d) for d in PHYSCHEM_SOURCES]]
        except KeyError:  # a panel built on features without these descriptors
            return physchem_values(smiles)

    def _raw_predictions(self, X: np.ndarray, threads: int) -> dict[str, np.ndarray]:
        """(members, molecules) tree outputs per endpoint, before calibration.

        A member with both boosters gives the mean of the two, as ``GBMModel`` does.
        """
        from scipy import sparse

        if self.compiled is not None:
            return self._compiled_predictions(X, self.compiled)
        X_sparse = sparse.csr_matrix(X)  # NaNs stay explicit; LightGBM skips zeros either way
        pool = catboost_pool(X) if self.has_catboost else None
        fed = {
            name: booster.predict(X_sparse, num_iteration=it, num_threads=threads)
            for name, (booster, it) in self.feeders.items()
        }
        out = {}
        for name, boosters in self.boosters.items():
            spec = self.specs[name]
            inputs = X_sparse
            if "stack" in spec:  # the first stage's outputs follow the features
                stage = np.column_stack([fed[f] for f in spec["stack"]])
                inputs = sparse.hstack([X_sparse, sparse.csr_matrix(stage)], format="csr")
            cats = self.catboosts.get(name) or [None] * len(boosters)
            cb_its = spec.get("cb_iterations", [0] * len(boosters))
            rows = []
            for b, it, cat, cb_it in zip(boosters, spec["iterations"], cats, cb_its, strict=True):
                parts = []
                if b is not None:
                    parts.append(b.predict(inputs, num_iteration=it, num_threads=threads))
                if cat is not None:
                    parts.append(_catboost_output(cat, pool, cb_it, spec["task"], threads))
                rows.append(np.mean(parts, axis=0))
            out[name] = np.stack(rows)
        return out

    def _compiled_predictions(self, X: np.ndarray, trees: CompiledTrees) -> dict[str, np.ndarray]:
        """``_raw_predictions`` from the compiled trees (LightGBM members only)."""
        matrix = trees.matrix(X)
        fed = {name: trees.predict(f"feeder:{name}", matrix) for name in self._feeder_specs}
        stacked = matrix  # every stacked model was compiled to read one first-stage layout
        if trees.stack_layout:
            stage = np.column_stack([fed[f] for f in trees.stack_layout])
            stacked = trees.matrix(np.hstack([X, stage]), extra_explicit=stage.shape[1])
        out = {}
        for name, spec in self.specs.items():
            inputs = stacked if "stack" in spec else matrix
            out[name] = np.stack(
                [trees.predict(f"{name}/{i}", inputs) for i in range(len(spec["boosters"]))]
            )
        return out

    def check_compiled(self, trees: CompiledTrees, n: int = 400) -> None:
        """Raise unless ``trees`` give exactly LightGBM's outputs on ``n`` training molecules."""
        smiles = _read_smiles(self.directory / "train_smiles.smi.gz")
        sample = smiles[:: max(1, len(smiles) // n)]
        X, valid, _ = _featurize(sample, self.feature_set, self.neighbours)
        X = X[valid]
        compiled, saved = self._compiled_predictions(X, trees), self.compiled
        try:
            self.compiled = None
            reference = self._raw_predictions(X, 0)
        finally:
            self.compiled = saved
        for name, values in reference.items():
            if not np.array_equal(values, compiled[name]):
                worst = float(np.nanmax(np.abs(values - compiled[name])))
                raise RuntimeError(f"compiled {name} differs from LightGBM (up to {worst:.3g})")

    def _chunk_predictions(self, smiles: list[str]) -> Iterator[Chunk]:
        """(validity, similarities, raw predictions, physchem) per chunk, in input order.

        Chunks come in a multiple of the worker count so the cores finish together, and are
        as large as ``chunk_size`` allows: each LightGBM call has a fixed cost (175 calls per
        chunk), 13% of the tree time at 250 rows and 2% at 1,000.
        """
        jobs = self.n_jobs
        smallest = min(self.chunk_size, 250)  # below this, forking costs more than it saves
        if jobs < 2 or len(smiles) < 2 * smallest or not can_fork():
            from threadpoolctl import threadpool_limits

            with threadpool_limits(1):  # idle BLAS threads would spin through the small products
                X, valid, sims = _featurize(smiles, self.feature_set, self.neighbours)
            yield valid, sims, self._raw_predictions(X, 0), self._physchem(X, smiles)
            return
        n_chunks = jobs * -(-len(smiles) // (jobs * self.chunk_size))
        size = -(-len(smiles) // n_chunks)
        chunks = [smiles[i : i + size] for i in range(0, len(smiles), size)]
        ctx = mp.get_context("fork")  # workers inherit the boosters and index without pickling
        with ctx.Pool(min(jobs, len(chunks)), _init_worker, (self,)) as pool:
            yield from pool.imap(_worker_chunk, chunks)

    def predict(self, smiles: Sequence[str], domain_threshold: float = 0.35) -> pd.DataFrame:
        smiles = list(smiles)
        parts = list(self._chunk_predictions(smiles))
        valid = np.concatenate([p[0] for p in parts])
        sims = np.concatenate([p[1] for p in parts])
        raw = {name: np.concatenate([p[2][name] for p in parts], axis=1) for name in self.specs}
        out = pd.DataFrame({"smiles": smiles})
        out["error"] = [
            "" if v else invalid_smiles_message(s) for s, v in zip(smiles, valid, strict=True)
        ]
        nearest = sims[:, -1]
        out["nearest_train_similarity"] = np.where(valid, nearest, np.nan)
        in_domain = pd.array(nearest >= domain_threshold, dtype="boolean")
        in_domain[~valid] = pd.NA
        out["in_domain"] = in_domain
        columns = {}
        for e in self.endpoints:
            spec = self.specs[e.name]
            preds = raw[e.name]
            if spec["task"] == "classification":
                mean = apply_platt(preds, tuple(spec["platt"])).mean(axis=0)
                unc = np.sqrt(mean * (1 - mean))
            else:
                scale = spec.get("conformal_scale")  # absent in panels of format 1
                similarity = sims[:, self.similarity_column[e.name]]
                half = spec["conformal_q"] * difficulty(similarity, tuple(scale) if scale else None)
                mean, unc = conformal_mean_std(preds.mean(axis=0), half, spec["log_scale"], ALPHA)
            columns[e.column] = np.where(valid, mean, np.nan)
            columns[f"{e.column}_uncertainty"] = np.where(valid, unc, np.nan)
        physchem = np.concatenate([p[3] for p in parts])
        columns.update(physchem_columns(np.where(valid[:, None], physchem, np.nan)))
        return pd.concat([out, pd.DataFrame(columns)], axis=1)


def compiled_dir(digest: str) -> Path:
    """Where the trees compiled for the panel file with this SHA-256 live."""
    return cache_root() / "admet-compiled" / digest[:16]


def compile_panel(
    panel: AdmetPanel | None = None, on_done: Callable[[], None] | None = None
) -> Path:
    """Compile every LightGBM booster of ``panel`` (default: the shipped one) to native code.

    ``on_done`` is called once per booster compiled (``n_boosters`` of them), for progress.
    """
    panel = panel or AdmetPanel(compiled=False)
    if panel.has_catboost:
        raise ValueError("panels with CatBoost members are not compiled")
    models = {
        f"feeder:{name}": b.model_to_string(num_iteration=it)
        for name, (b, it) in panel.feeders.items()
    }
    layout = tuple(panel.feeders)  # every stacked model reads the first stage in this order
    n_features = panel.feature_set.n_features
    for name, boosters in panel.boosters.items():
        stack = panel.specs[name].get("stack", [])
        mapping = {n_features + k: n_features + layout.index(f) for k, f in enumerate(stack)}
        for i, (b, it) in enumerate(zip(boosters, panel.specs[name]["iterations"], strict=True)):
            text = b.model_to_string(num_iteration=it)
            if stack:
                text = remapped_model(text, mapping, n_features + len(layout))
            models[f"{name}/{i}"] = text
    return compile_boosters(
        models,
        panel.feature_set.never_nan(),
        compiled_dir(panel.digest),
        panel.digest,
        panel.check_compiled,
        jobs=panel.n_jobs,
        on_done=on_done,
        stack_layout=layout,
    )


def n_boosters(panel: AdmetPanel) -> int:
    return len(panel.feeders) + sum(len(b) for b in panel.boosters.values())


def _train_fingerprints(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Packed training fingerprints; recomputed from the SMILES if missing or out of date."""
    smiles_path = directory / "train_smiles.smi.gz"
    packed = _current_fingerprints(directory / "train_fps.npz", _sha256(smiles_path))
    return packed if packed is not None else pack_fingerprints(_read_smiles(smiles_path))


def _current_fingerprints(path: Path, digest: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(indptr, bits) from ``path`` if it was packed from the SMILES file with this SHA-256;
    None if absent or out of date; ValueError if it cannot be read."""
    if not path.exists():
        return None
    try:
        with np.load(path) as packed:
            if str(packed["smiles_sha256"]) != digest:
                return None
            return packed["indptr"], packed["bits"]
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path}: corrupted training fingerprints ({exc})") from None
