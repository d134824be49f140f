"""Parsing, standardization and identity of molecules.

Every structure entering drugloop goes through :class:`Standardizer` so that one compound has
one canonical SMILES and one InChIKey, whatever salt form or charge state it arrived in.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem, RDLogger
from rdkit.Chem.MolStandardize import rdMolStandardize

RDLogger.DisableLog("rdApp.*")  # we report parse failures ourselves, per record


class InvalidMoleculeError(ValueError):
    """A structure could not be parsed or standardized; ``reason`` says why."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{reason}: {text!r}")
        self.text = text
        self.reason = reason


def parse_smiles(smiles: object) -> Chem.Mol:
    """Parse a SMILES string, raising :class:`InvalidMoleculeError` with a reason on failure."""
    if not isinstance(smiles, str):
        raise InvalidMoleculeError(str(smiles), "SMILES is not text")
    text = smiles.strip()
    if not text:
        raise InvalidMoleculeError(smiles, "empty SMILES")
    if any(ch.isspace() for ch in text):
        text = text.split()[0]  # "CCO ethanol" style lines: keep the structure token
    mol = Chem.MolFromSmiles(text, sanitize=False)
    if mol is None:
        raise InvalidMoleculeError(smiles, "unparseable SMILES")
    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # RDKit raises several sanitization exception types
        raise InvalidMoleculeError(
            smiles, f"invalid chemistry ({exc.__class__.__name__})"
        ) from None
    if mol.GetNumAtoms() == 0:
        raise InvalidMoleculeError(smiles, "no atoms")
    return mol


def invalid_smiles_message(smiles: object) -> str:
    """The error cell of an output row whose SMILES did not parse (one wording everywhere)."""
    if not isinstance(smiles, str) or not smiles.strip():
        return "empty SMILES"
    return f"invalid SMILES {smiles!r}"


def canonical_smiles(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol)


def inchikey(mol: Chem.Mol) -> str:
    return Chem.MolToInchiKey(mol) or ""


@dataclass(frozen=True)
class StandardizedMolecule:
    """A standardized structure with its identity keys."""

    mol: Chem.Mol
    smiles: str
    inchikey: str


class Standardizer:
    """Salt stripping, neutralization and (optionally) tautomer canonicalization.

    Follows the ChEMBL-style order: cleanup → keep the largest organic fragment → neutralize →
    (tautomer) → canonical SMILES. Tautomer canonicalization is off by default because it is
    slow and can move stereo; turn it on when registering structures from mixed sources.
    """

    def __init__(self, canonical_tautomer: bool = False, max_heavy_atoms: int = 200) -> None:
        self.canonical_tautomer = canonical_tautomer
        self.max_heavy_atoms = max_heavy_atoms
        self._parent = rdMolStandardize.LargestFragmentChooser(preferOrganic=True)
        self._uncharger = rdMolStandardize.Uncharger(canonicalOrder=True)
        self._tautomers = rdMolStandardize.TautomerEnumerator() if canonical_tautomer else None

    def standardize_mol(self, mol: Chem.Mol, text: str = "") -> StandardizedMolecule:
        try:
            clean = rdMolStandardize.Cleanup(mol)
            clean = self._parent.choose(clean)
            clean = self._uncharger.uncharge(clean)
            if self._tautomers is not None:
                clean = self._tautomers.Canonicalize(clean)
            Chem.SanitizeMol(clean)
        except Exception as exc:  # RDKit standardizer raises assorted C++ exception types
            raise InvalidMoleculeError(text, f"standardization failed ({exc})") from None
        if clean.GetNumHeavyAtoms() == 0:
            raise InvalidMoleculeError(text, "no heavy atoms after salt stripping")
        if clean.GetNumHeavyAtoms() > self.max_heavy_atoms:
            raise InvalidMoleculeError(text, f"more than {self.max_heavy_atoms} heavy atoms")
        smiles = Chem.MolToSmiles(clean)
        return StandardizedMolecule(mol=clean, smiles=smiles, inchikey=inchikey(clean))

    def standardize(self, smiles: str) -> StandardizedMolecule:
        return self.standardize_mol(parse_smiles(smiles), text=str(smiles))

    def __call__(self, smiles: str) -> StandardizedMolecule:
        return self.standardize(smiles)


@lru_cache(maxsize=200_000)
def standardize_smiles(smiles: str, canonical_tautomer: bool = False) -> str:
    """Standardized canonical SMILES (cached); raises :class:`InvalidMoleculeError`."""
    return _standardizer(canonical_tautomer).standardize(smiles).smiles


@lru_cache(maxsize=2)
def _standardizer(canonical_tautomer: bool) -> Standardizer:
    return Standardizer(canonical_tautomer=canonical_tautomer)


def try_canonical(smiles: str) -> str | None:
    """Canonical SMILES without standardization, or None if unparseable (for hot loops)."""
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles else None
    return Chem.MolToSmiles(mol) if mol is not None else None
