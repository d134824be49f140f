"""Rich featurization for the tree models: named feature blocks, concatenated.

Gradient-boosted trees on SMILES do best with several complementary views of a molecule:
substructure counts (Morgan, atom pairs, topological torsions, Avalon), pharmacophore graphs
(ErG), MACCS keys and whole-molecule RDKit 2D descriptors. Each block is computed once per
molecule and the concatenation is fixed by a :class:`FeatureSet` that travels with the model.
The ``default`` set is MapLight's recipe (Morgan counts + Avalon counts + ErG + 2D descriptors,
Notwell & Wood 2023) with the 2D descriptors restricted to those RDKit computes in C++
(``fast2d``): the full RDKit descriptor list costs ~20x more per molecule for the panel.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Avalon import pyAvalonTools
from rdkit.Chem import MACCSkeys, rdFingerprintGenerator, rdMolDescriptors, rdReducedGraphs

from drugloop.chem.features import DESCRIPTOR_NAMES, rdkit_descriptors

RDLogger.DisableLog("rdApp.*")

_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
_ATOMPAIR = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=1024)
_TORSION = rdFingerprintGenerator.GetTopologicalTorsionGenerator(fpSize=1024)


def _avalon_counts(mol: Chem.Mol) -> np.ndarray:
    """Avalon counts; a flat conformer spares RDKit the 2D layout it would otherwise compute.

    The Avalon toolkit reads a mol block, and RDKit lays out 2D coordinates for one when the
    molecule has none (~0.12 of ~0.45 CPU-ms per molecule). The counts do not depend on them:
    identical on every TDC ADMET molecule (``tests/test_models_gbm.py`` checks real molecules).
    """
    if not mol.GetNumConformers():
        mol = Chem.Mol(mol)
        mol.AddConformer(Chem.Conformer(mol.GetNumAtoms()), assignId=True)
    fp = pyAvalonTools.GetAvalonCountFP(mol, nBits=1024)
    out = np.zeros(1024, dtype=np.float32)
    for idx, count in fp.GetNonzeroElements().items():
        out[idx] = count
    return out


_PROPERTIES = rdMolDescriptors.Properties()
FAST2D_NAMES: tuple[str, ...] = (
    *_PROPERTIES.GetPropertyNames(),
    *(f"MQN{i}" for i in range(1, 43)),
    *(f"PEOE_VSA{i}" for i in range(1, 15)),
    *(f"SMR_VSA{i}" for i in range(1, 11)),
    *(f"SlogP_VSA{i}" for i in range(1, 13)),
    "FormalCharge",
    "FractionCSP3",
)


def _fast2d(mol: Chem.Mol) -> np.ndarray:
    """Whole-molecule descriptors computed in C++ (~1 ms/mol, vs ~20 ms for all of RDKit's).

    RDKit's Properties (MW, logP, MR, TPSA, H-bond counts, rings, chi/kappa indices, Labute
    ASA…), MQN counts and the PEOE/SMR/SlogP VSA bins: the physchem signal ADMET models need,
    at a cost that keeps the full panel fast.
    """
    return _descriptor_row(mol, _PROPERTIES)


# chi path indices, kappa shape indices and their kin: most of what Properties costs
# (benchmarks/panel_profile.py measures both Properties lists)
_TOPOLOGICAL = ("chi", "kappa", "Phi", "hallKierAlpha")
_PROPERTIES_LEAN = rdMolDescriptors.Properties(
    [n for n in _PROPERTIES.GetPropertyNames() if not n.startswith(_TOPOLOGICAL)]
)
FAST2D_LEAN_NAMES: tuple[str, ...] = tuple(
    n for n in FAST2D_NAMES if not n.startswith(_TOPOLOGICAL)
)


def _fast2d_lean(mol: Chem.Mol) -> np.ndarray:
    """``fast2d`` without the chi/kappa indices (the ADMET panel's descriptors)."""
    return _descriptor_row(mol, _PROPERTIES_LEAN)


def _descriptor_row(mol: Chem.Mol, properties: rdMolDescriptors.Properties) -> np.ndarray:
    """``properties`` then MQN counts, VSA bins, formal charge and Fsp3; non-finite → NaN."""
    values = [
        *properties.ComputeProperties(mol),
        *rdMolDescriptors.MQNs_(mol),
        *rdMolDescriptors.PEOE_VSA_(mol),
        *rdMolDescriptors.SMR_VSA_(mol),
        *rdMolDescriptors.SlogP_VSA_(mol),
        Chem.GetFormalCharge(mol),
        rdMolDescriptors.CalcFractionCSP3(mol),
    ]
    return _finite_row(values)


def _finite_row(values: list[float]) -> np.ndarray:
    row = np.asarray(values, dtype=np.float64)
    row[~np.isfinite(row)] = np.nan
    return np.clip(row, -1e6, 1e6).astype(np.float32)


def _maccs(mol: Chem.Mol) -> np.ndarray:
    return np.array(list(MACCSkeys.GenMACCSKeys(mol)), dtype=np.float32)


BLOCKS: dict[str, tuple[int, Callable[[Chem.Mol], np.ndarray]]] = {
    "morgan": (1024, lambda m: _MORGAN.GetCountFingerprintAsNumPy(m).astype(np.float32)),
    "atompair": (1024, lambda m: _ATOMPAIR.GetCountFingerprintAsNumPy(m).astype(np.float32)),
    "torsion": (1024, lambda m: _TORSION.GetCountFingerprintAsNumPy(m).astype(np.float32)),
    "avalon": (1024, _avalon_counts),
    "erg": (315, lambda m: np.asarray(rdReducedGraphs.GetErGFingerprint(m), dtype=np.float32)),
    "maccs": (167, _maccs),
    "fast2d": (len(FAST2D_NAMES), _fast2d),
    "fast2d_lean": (len(FAST2D_LEAN_NAMES), _fast2d_lean),
    "rdkit2d": (len(DESCRIPTOR_NAMES), rdkit_descriptors),
}

# descriptor names per descriptor block, in column order (fingerprint blocks have none)
DESCRIPTOR_BLOCK_NAMES: dict[str, tuple[str, ...]] = {
    "fast2d": FAST2D_NAMES,
    "fast2d_lean": FAST2D_LEAN_NAMES,
    "rdkit2d": DESCRIPTOR_NAMES,
}

# blocks with no NaN for any parsed molecule (counts and bits); descriptor blocks may hold NaN
NAN_FREE_BLOCKS = frozenset({"morgan", "atompair", "torsion", "avalon", "erg", "maccs"})

FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "default": ("morgan", "avalon", "erg", "fast2d"),
    "maplight": ("morgan", "avalon", "erg", "rdkit2d"),
    "rich": ("morgan", "avalon", "erg", "fast2d", "atompair", "maccs"),
    "morgan": ("morgan",),
    # cheaper candidates for the panel (benchmarks/panel_features.py decides on validation)
    "lean": ("morgan", "avalon", "erg", "fast2d_lean"),
    "lean_ap": ("morgan", "atompair", "erg", "fast2d_lean"),
    # Avalon is the dearest fingerprint left (benchmarks/panel_features_avalon.py)
    "lean_noav": ("morgan", "erg", "fast2d_lean"),
    "lean_tt": ("morgan", "torsion", "erg", "fast2d_lean"),
}


@dataclass(frozen=True)
class FeatureSet:
    """An ordered list of block names; its string form is saved with each model."""

    blocks: tuple[str, ...] = FEATURE_SETS["default"]

    @classmethod
    def named(cls, name: str) -> FeatureSet:
        if name not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {name!r}; known: {', '.join(FEATURE_SETS)}")
        return cls(FEATURE_SETS[name])

    @property
    def n_features(self) -> int:
        return sum(BLOCKS[b][0] for b in self.blocks)

    def never_nan(self) -> np.ndarray:
        """Per column: True where no parsed molecule can give NaN (``NAN_FREE_BLOCKS``)."""
        return np.concatenate(
            [np.full(BLOCKS[b][0], b in NAN_FREE_BLOCKS, dtype=bool) for b in self.blocks]
        )

    def row(self, mol: Chem.Mol) -> np.ndarray:
        return np.concatenate([BLOCKS[b][1](mol) for b in self.blocks])

    def descriptor_index(self, name: str) -> int:
        """Column of RDKit descriptor ``name`` (e.g. ``"tpsa"``) in this set's rows."""
        offset = 0
        for block in self.blocks:
            names = DESCRIPTOR_BLOCK_NAMES.get(block, ())
            if name in names:
                return offset + names.index(name)
            offset += BLOCKS[block][0]
        raise KeyError(f"feature set {self} has no descriptor {name!r}")

    def transform(
        self, smiles: Sequence[str], n_jobs: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Feature matrix and a validity mask (unparseable SMILES give an all-NaN row).

        From ``PARALLEL_MIN`` molecules on, chunks are featurized in ``n_jobs`` forked worker
        processes (default: every CPU this process may use; Linux only, and not from inside a
        pool worker): RDKit holds the GIL, so processes are the way to use both cores.
        """
        smiles = list(smiles)
        jobs = n_jobs or default_jobs()
        if jobs < 2 or len(smiles) < PARALLEL_MIN or not can_fork():
            return self._transform_serial(smiles)
        size = -(-len(smiles) // (4 * jobs))  # 4 chunks per worker balance uneven molecules
        chunks = [(self, smiles[i : i + size]) for i in range(0, len(smiles), size)]
        with mp.get_context("fork").Pool(min(jobs, len(chunks))) as pool:
            parts = pool.map(_transform_chunk, chunks)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _transform_serial(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        out = np.full((len(smiles), self.n_features), np.nan, dtype=np.float32)
        valid = np.zeros(len(smiles), dtype=bool)
        for i, smi in enumerate(smiles):
            mol = Chem.MolFromSmiles(smi) if isinstance(smi, str) and smi else None
            if mol is None or mol.GetNumAtoms() == 0:
                continue
            out[i] = self.row(mol)
            valid[i] = True
        return out, valid


PARALLEL_MIN = 2000  # below this many molecules forking workers costs more than it saves


def default_jobs() -> int:
    """Worker processes for featurization: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def can_fork() -> bool:
    # fork only on Linux (macOS forbids forking after some system libraries start threads), and
    # never from a pool worker: daemonic processes may not have children
    return sys.platform.startswith("linux") and not mp.current_process().daemon


def _transform_chunk(args: tuple[FeatureSet, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    feature_set, smiles = args
    return feature_set._transform_serial(smiles)


def block_matrix(block: str, smiles: Sequence[str]) -> np.ndarray:
    """One block for many SMILES (NaN rows for unparseable ones); used by the benchmark cache."""
    return FeatureSet((block,)).transform(smiles)[0]
