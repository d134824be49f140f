"""Molecular featurization: Morgan bit/count fingerprints and RDKit 2D descriptors.

Featurizers turn SMILES into dense numpy matrices (rows = molecules) and cache rows by
canonical SMILES, so that a campaign re-scoring the same pool does not recompute them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import Descriptors, rdFingerprintGenerator

from drugloop.chem.molecule import InvalidMoleculeError, parse_smiles

FeatureKind = Literal["morgan", "morgan_count", "rdkit2d"]

DESCRIPTOR_NAMES: tuple[str, ...] = tuple(name for name, _ in Descriptors.descList)


@dataclass(frozen=True)
class FeaturizerConfig:
    kind: FeatureKind = "morgan_count"
    radius: int = 2
    n_bits: int = 2048

    def key(self) -> str:
        return f"{self.kind}-r{self.radius}-{self.n_bits}" if self.kind != "rdkit2d" else "rdkit2d"


def _morgan_generator(radius: int, n_bits: int):
    return rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)


def morgan_fingerprint(
    mol: Chem.Mol, radius: int = 2, n_bits: int = 2048, counts: bool = False
) -> np.ndarray:
    gen = _morgan_generator(radius, n_bits)
    if counts:
        return gen.GetCountFingerprintAsNumPy(mol).astype(np.float32)
    return gen.GetFingerprintAsNumPy(mol).astype(np.uint8)


def rdkit_descriptors(mol: Chem.Mol) -> np.ndarray:
    """All RDKit 2D descriptors; non-finite values (e.g. Ipc overflow) become NaN."""
    values = Descriptors.CalcMolDescriptors(mol, missingVal=np.nan, silent=True)
    row = np.array([values.get(name, np.nan) for name in DESCRIPTOR_NAMES], dtype=np.float64)
    row[~np.isfinite(row)] = np.nan
    return np.clip(row, -1e6, 1e6).astype(np.float32)


class Featurizer:
    """SMILES → feature matrix with a per-canonical-SMILES row cache.

    Unparseable SMILES give a row of NaN (descriptors) or zeros (fingerprints) and are listed
    in ``last_invalid`` so callers can report them rather than silently scoring garbage.
    """

    def __init__(self, config: FeaturizerConfig | None = None, cache_size: int = 500_000) -> None:
        self.config = config or FeaturizerConfig()
        self.cache_size = cache_size
        self._cache: dict[str, np.ndarray] = {}
        self._gen = (
            _morgan_generator(self.config.radius, self.config.n_bits)
            if self.config.kind != "rdkit2d"
            else None
        )
        self.last_invalid: list[int] = []

    @property
    def n_features(self) -> int:
        return len(DESCRIPTOR_NAMES) if self.config.kind == "rdkit2d" else self.config.n_bits

    @property
    def dtype(self) -> type:
        return np.uint8 if self.config.kind == "morgan" else np.float32

    def _row(self, mol: Chem.Mol) -> np.ndarray:
        if self.config.kind == "rdkit2d":
            return rdkit_descriptors(mol)
        if self.config.kind == "morgan":
            return self._gen.GetFingerprintAsNumPy(mol).astype(np.uint8)
        return self._gen.GetCountFingerprintAsNumPy(mol).astype(np.float32)

    def featurize_one(self, smiles: str) -> np.ndarray | None:
        row = self._cache.get(smiles)
        if row is not None:
            return row
        try:
            mol = parse_smiles(smiles)
        except InvalidMoleculeError:
            return None
        row = self._row(mol)
        if len(self._cache) < self.cache_size:
            self._cache[smiles] = row
        return row

    def transform(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(smiles), self.n_features), dtype=self.dtype)
        if self.config.kind == "rdkit2d":
            out[:] = np.nan
        self.last_invalid = []
        for i, smi in enumerate(smiles):
            row = self.featurize_one(smi)
            if row is None:
                self.last_invalid.append(i)
            else:
                out[i] = row
        return out

    __call__ = transform


def bit_vectors(smiles: Iterable[str], radius: int = 2, n_bits: int = 2048) -> list:
    """RDKit ExplicitBitVects (for fast BulkTanimotoSimilarity); None for unparseable input."""
    gen = _morgan_generator(radius, n_bits)
    out = []
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi) if smi else None
        out.append(gen.GetFingerprint(mol) if mol is not None else None)
    return out


def max_tanimoto(query_fps: Sequence, reference_fps: Sequence) -> np.ndarray:
    """For each query fingerprint, the highest Tanimoto similarity to any reference."""
    refs = [fp for fp in reference_fps if fp is not None]
    out = np.zeros(len(query_fps), dtype=np.float64)
    if not refs:
        return out
    for i, fp in enumerate(query_fps):
        if fp is not None:
            out[i] = max(DataStructs.BulkTanimotoSimilarity(fp, refs))
    return out


def tanimoto_matrix(fps_a: Sequence, fps_b: Sequence) -> np.ndarray:
    return np.array([DataStructs.BulkTanimotoSimilarity(fp, list(fps_b)) for fp in fps_a])
