"""Molecules: parsing, standardization, featurization, properties, alerts and depiction."""

from drugloop.chem.features import Featurizer, FeaturizerConfig, bit_vectors, max_tanimoto
from drugloop.chem.io import (
    InputFileError,
    MoleculeRecord,
    ReadResult,
    RecordError,
    iter_molecule_batches,
    read_molecules,
    write_rejects,
)
from drugloop.chem.molecule import (
    InvalidMoleculeError,
    StandardizedMolecule,
    Standardizer,
    canonical_smiles,
    inchikey,
    parse_smiles,
    standardize_smiles,
)
from drugloop.chem.properties import Alert, StructuralAlerts, default_alerts, qed, sa_score

__all__ = [
    "Alert",
    "Featurizer",
    "FeaturizerConfig",
    "InputFileError",
    "InvalidMoleculeError",
    "MoleculeRecord",
    "ReadResult",
    "RecordError",
    "StandardizedMolecule",
    "Standardizer",
    "StructuralAlerts",
    "bit_vectors",
    "canonical_smiles",
    "default_alerts",
    "inchikey",
    "iter_molecule_batches",
    "max_tanimoto",
    "parse_smiles",
    "qed",
    "read_molecules",
    "sa_score",
    "standardize_smiles",
    "write_rejects",
]
