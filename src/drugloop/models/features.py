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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Avalon import pyAvalonTools
from rdkit.Chem import MACCSkeys, MolSurf, rdFingerprintGenerator, rdMolDescriptors, rdReducedGraphs

from drugloop.chem.features import DESCRIPTOR_NAMES, rdkit_descriptors

RDLogger.DisableLog("rdApp.*")

_MORGAN = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
_MORGAN_2048 = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
_ATOMPAIR = rdFingerprintGenerator.GetAtomPairGenerator(fpSize=1024)
_TORSION = rdFingerprintGenerator.GetTopologicalTorsionGenerator(fpSize=1024)


def morgan_block_and_bits(mol: Chem.Mol) -> tuple[np.ndarray, np.ndarray]:
    """The ``morgan`` block and the on-bits of the 2,048-bit radius-2 fingerprint, in one pass.

    The ADMET panel needs both: features, and neighbours for the applicability domain. A
    fingerprint folds each environment's hash modulo its size, so the 1,024 counts are the
    two halves of the 2,048 counts summed.
    """
    counts = _MORGAN_2048.GetCountFingerprintAsNumPy(mol)
    return (counts[:1024] + counts[1024:]).astype(np.float32), np.flatnonzero(counts)


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


class _PropertyList:
    """RDKit ``Properties`` in their order, the Crippen pair taken from ``_crippen``."""

    def __init__(self, properties: rdMolDescriptors.Properties) -> None:
        self.names = tuple(properties.GetPropertyNames())
        rest = [n for n in self.names if n not in _CRIPPEN_NAMES]
        self._rest = rdMolDescriptors.Properties(rest)

    def values(self, mol: Chem.Mol, crippen: dict[str, float]) -> list[float]:
        rest = iter(self._rest.ComputeProperties(mol))
        return [crippen[n] if n in crippen else next(rest) for n in self.names]


_CRIPPEN_NAMES = ("CrippenClogP", "CrippenMR")
_LOGP_BINS = np.asarray(MolSurf.logpBins)  # RDKit's SlogP_VSA bin edges
_MR_BINS = np.asarray(MolSurf.mrBins)  # and SMR_VSA's


def _crippen(mol: Chem.Mol) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Crippen logP and MR, then the SMR_VSA and SlogP_VSA bins, from one atom typing.

    RDKit types the atoms (~110 SMARTS) once for logP and MR, on a copy with explicit
    hydrogens, and again for the VSA bins, on the molecule itself. A heavy atom's
    contributions are the same either way, so the copy's typing serves all four: about 0.07
    of the ~0.65 CPU-ms per molecule the lean descriptors cost (ZINC molecules). Sums run in
    atom order, as RDKit's do, so every value is bit-identical to RDKit's own
    (``tests/test_models_gbm.py`` compares them).
    """
    contribs = rdMolDescriptors._CalcCrippenContribs(Chem.AddHs(mol))
    logp = np.array([c[0] for c in contribs])
    mr = np.array([c[1] for c in contribs])
    heavy = mol.GetNumAtoms()  # AddHs appends the hydrogens after the molecule's own atoms
    vsa = np.asarray(rdMolDescriptors._CalcLabuteASAContribs(mol)[0])

    def binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
        # bincount adds in atom order, as RDKit does; side="right" is its upper_bound
        at = np.searchsorted(edges, values[:heavy], side="right")
        return np.bincount(at, weights=vsa, minlength=len(edges) + 1)

    totals = {"CrippenClogP": _sum_in_order(logp), "CrippenMR": _sum_in_order(mr)}
    return totals, binned(mr, _MR_BINS), binned(logp, _LOGP_BINS)


def _sum_in_order(values: np.ndarray) -> float:
    """Left-to-right float64 sum, as RDKit's C++ loop (``sum`` compensates from Python 3.12)."""
    return float(np.add.accumulate(values)[-1]) if len(values) else 0.0


def _fast2d(mol: Chem.Mol) -> np.ndarray:
    """Whole-molecule descriptors computed in C++ (~1 ms/mol, vs ~20 ms for all of RDKit's).

    RDKit's Properties (MW, logP, MR, TPSA, H-bond counts, rings, chi/kappa indices, Labute
    ASA…), MQN counts and the PEOE/SMR/SlogP VSA bins: the physchem signal ADMET models need,
    at a cost that keeps the full panel fast.
    """
    return _descriptor_row(mol, _FAST2D_PROPERTIES)


# chi path indices, kappa shape indices and their kin: most of what Properties costs
# (benchmarks/panel_profile.py measures both Properties lists)
_TOPOLOGICAL = ("chi", "kappa", "Phi", "hallKierAlpha")
_PROPERTIES_LEAN = rdMolDescriptors.Properties(
    [n for n in _PROPERTIES.GetPropertyNames() if not n.startswith(_TOPOLOGICAL)]
)
FAST2D_LEAN_NAMES: tuple[str, ...] = tuple(
    n for n in FAST2D_NAMES if not n.startswith(_TOPOLOGICAL)
)
_FAST2D_PROPERTIES = _PropertyList(_PROPERTIES)
_LEAN_PROPERTIES = _PropertyList(_PROPERTIES_LEAN)


def _fast2d_lean(mol: Chem.Mol) -> np.ndarray:
    """``fast2d`` without the chi/kappa indices (the ADMET panel's descriptors)."""
    return _descriptor_row(mol, _LEAN_PROPERTIES)


def _descriptor_row(mol: Chem.Mol, properties: _PropertyList) -> np.ndarray:
    """``properties`` then MQN counts, VSA bins, formal charge and Fsp3; non-finite → NaN."""
    crippen, smr_vsa, slogp_vsa = _crippen(mol)
    values = [
        *properties.values(mol, crippen),
        *rdMolDescriptors.MQNs_(mol),
        *rdMolDescriptors.PEOE_VSA_(mol),
        *smr_vsa,
        *slogp_vsa,
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

    def row(self, mol: Chem.Mol, given: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        """Every block of ``mol``; blocks in ``given`` were already computed by the caller."""
        given = given or {}
        return np.concatenate([given[b] if b in given else BLOCKS[b][1](mol) for b in self.blocks])

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
