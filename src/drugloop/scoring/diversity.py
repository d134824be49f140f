"""Diversity filter: a scaffold memory that stops rewarding a chemotype once it is crowded.

Generators (RL especially) collapse onto one good scaffold. As in REINVENT, every molecule
scoring at least ``min_score`` is stored in a bucket keyed by its Bemis–Murcko scaffold (or
generic scaffold, or the exact molecule); once a bucket holds ``bucket_size`` molecules,
further members are penalized. The penalty shapes what the generator is *told*; the objective
value recorded for a molecule is unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold


class DiversityFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["scaffold", "generic_scaffold", "identical"] = "scaffold"
    bucket_size: int = Field(25, ge=1)
    min_score: float = Field(0.4, ge=0, le=1)
    penalty: Literal["binary", "linear"] = "binary"
    _buckets: Counter = PrivateAttr(default_factory=Counter)

    def key(self, smiles: str) -> str | None:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None:
            return None
        if self.type == "identical":
            return Chem.MolToSmiles(mol, isomericSmiles=False)
        try:
            scaffold = MurckoScaffold.GetScaffoldForMol(mol)
            if self.type == "generic_scaffold":
                scaffold = MurckoScaffold.MakeScaffoldGeneric(scaffold)
            return Chem.MolToSmiles(scaffold, isomericSmiles=False)
        except Exception:  # odd valences in generic scaffolds: fall back to the molecule
            return Chem.MolToSmiles(mol, isomericSmiles=False)

    def __call__(self, smiles: Sequence[str], scores: np.ndarray) -> np.ndarray:
        """Penalized copy of ``scores``; molecules above ``min_score`` enter the memory."""
        out = np.asarray(scores, dtype=np.float64).copy()
        for i, (text, score) in enumerate(zip(smiles, out, strict=True)):
            if not np.isfinite(score) or score < self.min_score:
                continue
            key = self.key(text)
            if key is None:
                continue
            count = self._buckets[key]
            if count >= self.bucket_size:
                out[i] = 0.0
            elif self.penalty == "linear":
                out[i] = score * (1.0 - count / self.bucket_size)
            self._buckets[key] += 1
        return out

    @property
    def n_scaffolds(self) -> int:
        return len(self._buckets)
