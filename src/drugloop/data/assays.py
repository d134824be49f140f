"""Assay tables: qualified values, units, censoring and replicate aggregation.

Every measurement is stored as a pActivity (−log10 molar), because models learn on a log scale
and potencies from nM and µM assays must be comparable. Censored values (``>10 µM``) are kept
with their qualifier rather than dropped or treated as exact: the qualifier always refers to
the pActivity direction, so an IC50 ``> 10 µM`` is stored as pActivity ``< 5``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.chem.io import (
    InputFileError,
    RecordError,
    guess_smiles_column,
    iter_table_rows,
    table_columns,
)
from drugloop.chem.molecule import InvalidMoleculeError, StandardizedMolecule, Standardizer

MEASUREMENT_COLUMNS: tuple[str, ...] = (
    "source_file",
    "source_row",
    "input_smiles",
    "smiles",
    "inchikey",
    "assay_id",
    "value_raw",
    "unit_raw",
    "qualifier",
    "value",
    "unit",
    "pactivity",
    "replicate",
    "date",
)

AGGREGATE_COLUMNS: tuple[str, ...] = (
    "smiles",
    "inchikey",
    "assay_id",
    "n",
    "n_censored",
    "pactivity",
    "qualifier",
    "spread",
    "conflict",
)


class Qualifier(StrEnum):
    """Relation between the true value and the reported one (in the pActivity direction)."""

    EQ = "="
    LT = "<"
    GT = ">"
    APPROX = "~"


class UnitError(ValueError):
    """A unit string is not one drugloop knows how to convert."""


# ChEMBL exports also use "<<"/">>" ("much less/greater"); they carry the same censoring.
_QUALIFIER_ALIASES: dict[str, Qualifier] = {
    "": Qualifier.EQ,
    "=": Qualifier.EQ,
    "==": Qualifier.EQ,
    "<": Qualifier.LT,
    "<=": Qualifier.LT,
    "≤": Qualifier.LT,
    "<<": Qualifier.LT,
    ">": Qualifier.GT,
    ">=": Qualifier.GT,
    "≥": Qualifier.GT,
    ">>": Qualifier.GT,
    "~": Qualifier.APPROX,
    "≈": Qualifier.APPROX,
}

EXACT_QUALIFIERS = frozenset({Qualifier.EQ.value, Qualifier.APPROX.value})
CENSORED_QUALIFIERS = frozenset({Qualifier.LT.value, Qualifier.GT.value})

# Molar factor of each concentration unit, as a power of ten (exact arithmetic in log space).
_MOLAR_LOG10: dict[str, int] = {"M": 0, "mM": -3, "uM": -6, "nM": -9, "pM": -12}
LOG_UNIT = "pX"
CANONICAL_UNITS: tuple[str, ...] = ("nM", "uM", "mM", "pM", "M", LOG_UNIT)

_UNIT_ALIASES: dict[str, str] = {
    "nm": "nM",
    "nmol/l": "nM",
    "um": "uM",
    "umol/l": "uM",
    "mm": "mM",
    "mmol/l": "mM",
    "pm": "pM",
    "pmol/l": "pM",
    "m": "M",
    "mol/l": "M",
    "molar": "M",
    "px": LOG_UNIT,
    "p": LOG_UNIT,
    "pic50": LOG_UNIT,
    "pki": LOG_UNIT,
    "pkd": LOG_UNIT,
    "pec50": LOG_UNIT,
    "-logm": LOG_UNIT,
    "-log(m)": LOG_UNIT,
    "log": LOG_UNIT,
}
_ACCEPTED_UNITS_TEXT = (
    "nM, uM (µM, μM, um), mM, pM, M (mol/L), and log units pX (p, pIC50, pKi, pKd, pEC50, "
    "-log M, log)"
)

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_QUALIFIED_VALUE = re.compile(r"^(<<|>>|<=|>=|==|=|<|>|~|≈|≤|≥)?\s*(" + _NUMBER + r")$")


def parse_qualifier(text: str | None) -> Qualifier:
    """``"<="``, ``"'>'"`` (ChEMBL quoting), ``"≈"``, empty → a :class:`Qualifier`."""
    key = (text or "").strip().strip("'\"").strip()
    try:
        return _QUALIFIER_ALIASES[key]
    except KeyError:
        known = " ".join(k for k in _QUALIFIER_ALIASES if k)
        raise ValueError(f"unknown qualifier {text!r}; use one of {known} or leave empty") from None


def normalize_unit(text: str) -> str:
    """Map a unit as written in assay files to one of :data:`CANONICAL_UNITS`."""
    if not isinstance(text, str):
        raise UnitError(f"unit {text!r} is not text; accepted units: {_ACCEPTED_UNITS_TEXT}")
    key = text.strip().replace("µ", "u").replace("μ", "u")  # micro sign U+00B5, Greek mu U+03BC
    if key in _MOLAR_LOG10:
        return key
    key = re.sub(r"\s+", "", key.lower())
    if key in _UNIT_ALIASES:
        return _UNIT_ALIASES[key]
    shown = text if text.strip() else "(empty)"
    raise UnitError(f"unknown unit {shown!r}; accepted units: {_ACCEPTED_UNITS_TEXT}")


def is_concentration_unit(unit: str) -> bool:
    """True for molar units, whose qualifiers flip on conversion to pActivity."""
    return normalize_unit(unit) != LOG_UNIT


def to_pactivity(value: float, unit: str) -> float:
    """Convert a value to pActivity = −log10(molar); ``pX`` values pass through unchanged."""
    unit = normalize_unit(unit)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"value {value!r} is not a finite number")
    if unit == LOG_UNIT:
        return value
    if value <= 0:
        raise ValueError(f"non-positive concentration {value:g} {unit} has no pActivity")
    return -(math.log10(value) + _MOLAR_LOG10[unit])


def pactivity_qualifier(qualifier: Qualifier | str, unit: str) -> Qualifier:
    """Qualifier in the pActivity direction: ``>`` on a concentration becomes ``<`` on pX."""
    qualifier = Qualifier(qualifier)
    if not is_concentration_unit(unit):
        return qualifier
    flipped = {Qualifier.LT: Qualifier.GT, Qualifier.GT: Qualifier.LT}
    return flipped.get(qualifier, qualifier)


def parse_qualified_value(text: str | float) -> tuple[Qualifier, float]:
    """``">10"`` → (GT, 10.0); ``"<= 5.2"``, ``"~3"``, ``"1e-6"``, ``" 12 "`` likewise.

    Comma decimals are refused rather than guessed: ``1,5`` could be 1.5 or a thousands
    separator, and a silent misreading would shift a potency by orders of magnitude.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"value {text!r} is not a finite number")
        return Qualifier.EQ, value
    if not isinstance(text, str):
        raise ValueError(f"value {text!r} is not text or a number")
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty value")
    match = _QUALIFIED_VALUE.match(stripped)
    if match is None:
        if "," in stripped and re.search(r"[0-9],[0-9]", stripped):
            raise ValueError(f"value {text!r} has a comma; use '.' as the decimal separator")
        raise ValueError(f"value {text!r} is not a number (optionally prefixed by <, >, ~)")
    value = float(match.group(2))
    if not math.isfinite(value):
        raise ValueError(f"value {text!r} is not a finite number")
    return parse_qualifier(match.group(1)), value


# Words a results file uses for a yes/no outcome (PubChem "Active"/"Inactive", True/False, ...).
BINARY_LABELS: dict[str, int] = {
    **dict.fromkeys(("1", "1.0", "true", "yes", "y", "active", "positive", "pos"), 1),
    **dict.fromkeys(("0", "0.0", "false", "no", "n", "inactive", "negative", "neg"), 0),
}
# Cells that mean "not measured" rather than a value.
MISSING_VALUES = frozenset(("", "na", "n/a", "nan", "none", "null", "nd", "n.d.", "not tested"))


def parse_binary_label(text: str) -> int | None:
    """1/0 for an outcome word or digit (case-insensitive); None if ``text`` is not one."""
    return BINARY_LABELS.get(text.strip().lower())


def is_missing_value(text: str) -> bool:
    """True for an empty cell or a "not measured" marker such as NA or n.d."""
    return text.strip().lower() in MISSING_VALUES


@dataclass
class AssayReadResult:
    """Accepted measurements (one row per accepted input row) and the rejected rows."""

    measurements: pd.DataFrame
    rejects: list[RecordError] = field(default_factory=list)
    source: str = ""
    n_rows: int = 0


@dataclass(frozen=True)
class _Columns:
    smiles: str
    value: str
    unit: str | None
    qualifier: str | None
    assay: str | None
    replicate: str | None
    date: str | None


def _resolve_columns(
    path: Path,
    smiles_col: str | None,
    value_col: str,
    unit_col: str | None,
    default_unit: str | None,
    optional: dict[str, str | None],
) -> _Columns:
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    try:
        columns = table_columns(path)
    except InputFileError:
        raise InputFileError(f"{path}: no rows (the file is empty)") from None

    def require(name: str, role: str) -> str:
        if name not in columns:
            raise InputFileError(f"{path}: {role} column {name!r} not found; columns are {columns}")
        return name

    smiles = (
        require(smiles_col, "SMILES") if smiles_col else guess_smiles_column(columns, str(path))
    )
    value = require(value_col, "value")
    if unit_col and unit_col in columns:
        unit = unit_col
    elif default_unit is not None:
        unit = None
    else:
        missing = f"unit column {unit_col!r} not found" if unit_col else "no unit column named"
        raise InputFileError(f"{path}: {missing} and no default unit given; columns are {columns}")
    named = {role: require(name, role) if name else None for role, name in optional.items()}
    return _Columns(smiles=smiles, value=value, unit=unit, **named)


def _cell(row: dict[str, str], column: str | None) -> str | None:
    if column is None:
        return None
    text = (row.get(column) or "").strip()
    return text or None


class _RowParser:
    """Turns one table row into a measurement dict or a list of problems."""

    def __init__(
        self,
        columns: _Columns,
        default_unit: str | None,
        default_assay: str,
        standardizer: Standardizer,
    ) -> None:
        self.columns = columns
        self.default_unit = default_unit
        self.default_assay = default_assay
        self.standardizer = standardizer
        self._structures: dict[str, StandardizedMolecule | str] = {}

    def structure(self, text: str) -> StandardizedMolecule | str:
        """Standardized molecule, or the reason it is invalid (cached: replicates repeat)."""
        if text not in self._structures:
            try:
                self._structures[text] = self.standardizer.standardize(text)
            except InvalidMoleculeError as exc:
                self._structures[text] = f"invalid SMILES ({exc.reason})"
            except Exception as exc:  # defensive: RDKit can raise odd types on odd input
                self._structures[text] = f"invalid SMILES ({exc.__class__.__name__})"
        return self._structures[text]

    def parse(self, row: dict[str, str]) -> tuple[dict[str, object] | None, list[str]]:
        cols = self.columns
        problems: list[str] = []
        input_smiles = row.get(cols.smiles) or ""
        structure = self.structure(input_smiles)
        if isinstance(structure, str):
            problems.append(structure)

        value_raw = row.get(cols.value) or ""
        try:
            inline, value = parse_qualified_value(value_raw)
        except ValueError as exc:
            inline, value = Qualifier.EQ, math.nan
            problems.append(f"bad value: {exc}")

        unit_raw = _cell(row, cols.unit) or self.default_unit or ""
        try:
            unit = normalize_unit(unit_raw)
        except UnitError as exc:
            unit = None
            problems.append(str(exc))

        qualifier = inline
        column_qualifier = _cell(row, cols.qualifier)
        if column_qualifier is not None and inline is Qualifier.EQ:
            try:
                qualifier = parse_qualifier(column_qualifier)
            except ValueError as exc:
                problems.append(str(exc))

        pactivity = math.nan
        if unit is not None and math.isfinite(value):
            try:
                pactivity = to_pactivity(value, unit)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            return None, problems

        assert isinstance(structure, StandardizedMolecule) and unit is not None
        return {
            "input_smiles": input_smiles,
            "smiles": structure.smiles,
            "inchikey": structure.inchikey,
            "assay_id": _cell(row, cols.assay) or self.default_assay,
            "value_raw": value_raw,
            "unit_raw": unit_raw,
            "qualifier": pactivity_qualifier(qualifier, unit).value,
            "value": value,
            "unit": unit,
            "pactivity": pactivity,
            "replicate": _cell(row, cols.replicate),
            "date": _cell(row, cols.date),
        }, []


def _duplicate_key(record: dict[str, object]) -> tuple:
    return tuple(
        record[k] for k in ("smiles", "assay_id", "qualifier", "value", "unit", "replicate", "date")
    )


def read_assay_table(
    path: str | Path,
    *,
    smiles_col: str | None = None,
    value_col: str = "value",
    unit_col: str | None = "unit",
    default_unit: str | None = None,
    qualifier_col: str | None = None,
    assay_col: str | None = None,
    default_assay: str = "assay",
    replicate_col: str | None = None,
    date_col: str | None = None,
    standardizer: Standardizer | None = None,
) -> AssayReadResult:
    """Read a CSV/TSV (optionally gzipped) of measurements into standardized pActivities.

    Bad rows (invalid SMILES, unknown unit, non-numeric value, non-positive concentration,
    exact duplicate of an earlier row) become :class:`RecordError` rejects naming the file and
    line; the rest of the file still imports. Whole-file problems (missing file or column, no
    rows) raise :class:`InputFileError`. A unit cell left empty falls back to ``default_unit``;
    an empty assay cell to ``default_assay``.
    """
    path = Path(path)
    source = str(path)
    if default_unit is not None:
        normalize_unit(default_unit)  # a bad default is a caller error: fail before reading
    columns = _resolve_columns(
        path,
        smiles_col,
        value_col,
        unit_col,
        default_unit,
        {
            "qualifier": qualifier_col,
            "assay": assay_col,
            "replicate": replicate_col,
            "date": date_col,
        },
    )
    parser = _RowParser(columns, default_unit, default_assay, standardizer or Standardizer())
    records: list[dict[str, object]] = []
    rejects: list[RecordError] = []
    first_seen: dict[tuple, int] = {}
    n_rows = 0
    for line, raw_row in iter_table_rows(path):
        n_rows += 1
        row = {key.strip(): value for key, value in raw_row.items()}
        input_smiles = row.get(columns.smiles) or ""
        record, problems = parser.parse(row)
        if record is None:
            rejects.append(RecordError(source, line, input_smiles, "; ".join(problems)))
            continue
        key = _duplicate_key(record)
        if key in first_seen:
            reason = f"exact duplicate of line {first_seen[key]}"
            rejects.append(RecordError(source, line, input_smiles, reason))
            continue
        first_seen[key] = line
        records.append({"source_file": source, "source_row": line, **record})
    if n_rows == 0:
        raise InputFileError(f"{path}: no rows (header only)")
    return AssayReadResult(_measurement_frame(records), rejects, source, n_rows)


def _measurement_frame(records: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=list(MEASUREMENT_COLUMNS))
    frame["source_row"] = frame["source_row"].astype(np.int64)
    for column in ("value", "pactivity"):
        frame[column] = frame[column].astype(np.float64)
    for column in ("replicate", "date"):
        frame[column] = frame[column].astype(object)
        frame.loc[frame[column].isna(), column] = None
    return frame


def censored_mask(frame: pd.DataFrame) -> pd.Series:
    """True where the pActivity is a bound (``<`` or ``>``) rather than a measured value."""
    return frame["qualifier"].isin(CENSORED_QUALIFIERS)


def _aggregate_group(qualifiers: np.ndarray, values: np.ndarray, threshold: float) -> dict:
    exact = values[np.isin(qualifiers, list(EXACT_QUALIFIERS))]
    upper = values[qualifiers == Qualifier.LT.value]  # pActivity < bound
    lower = values[qualifiers == Qualifier.GT.value]  # pActivity > bound
    tightest_upper = upper.min() if upper.size else math.inf
    tightest_lower = lower.max() if lower.size else -math.inf
    spread = float(exact.max() - exact.min()) if exact.size else math.nan
    if exact.size:
        contradicts = bool((exact > tightest_upper).any() or (exact < tightest_lower).any())
        conflict = contradicts or spread > threshold
        return dict(
            pactivity=float(np.median(exact)), qualifier="=", spread=spread, conflict=conflict
        )
    if upper.size and lower.size:
        # Bracketed (lower < p < upper): report the midpoint as approximate; crossed bounds
        # (p > 7 and p < 5) cannot both hold.
        return dict(
            pactivity=float((tightest_lower + tightest_upper) / 2),
            qualifier="~",
            spread=spread,
            conflict=bool(tightest_lower > tightest_upper),
        )
    if upper.size:
        return dict(pactivity=float(tightest_upper), qualifier="<", spread=spread, conflict=False)
    return dict(pactivity=float(tightest_lower), qualifier=">", spread=spread, conflict=False)


def aggregate_replicates(
    measurements: pd.DataFrame, conflict_threshold: float = 1.0
) -> pd.DataFrame:
    """One row per (compound, assay) from replicate measurements.

    Rules, all in pActivity units (``~`` counts as exact; bounds are inclusive):

    - any exact values → their median (qualifier ``=``); ``spread`` = max − min of them;
      ``conflict`` if the spread exceeds ``conflict_threshold`` or an exact value lies beyond
      a censored bound of the same group (exact 7.0 with ``< 5``).
    - only ``<`` bounds → the smallest upper bound (the most informative one, implied by all);
      only ``>`` bounds → the largest lower bound.
    - both ``<`` and ``>`` bounds, no exact → midpoint of the tightest bounds with ``~``;
      ``conflict`` when the bounds cross (``> 7`` and ``< 5``).
    - ``spread`` is NaN when a group has no exact value.
    """
    missing = {"smiles", "inchikey", "assay_id", "qualifier", "pactivity"} - set(measurements)
    if missing:
        raise ValueError(f"measurements lack columns {sorted(missing)}")
    unknown = set(measurements["qualifier"]) - EXACT_QUALIFIERS - CENSORED_QUALIFIERS
    if unknown:
        raise ValueError(f"unknown qualifiers {sorted(map(str, unknown))}; expected = < > ~")
    rows = []
    for (smiles, assay_id), group in measurements.groupby(["smiles", "assay_id"], sort=False):
        qualifiers = group["qualifier"].to_numpy(dtype=object)
        values = group["pactivity"].to_numpy(dtype=np.float64)
        rows.append(
            {
                "smiles": smiles,
                "inchikey": group["inchikey"].iloc[0],
                "assay_id": assay_id,
                "n": len(group),
                "n_censored": int(np.isin(qualifiers, list(CENSORED_QUALIFIERS)).sum()),
                **_aggregate_group(qualifiers, values, conflict_threshold),
            }
        )
    frame = pd.DataFrame.from_records(rows, columns=list(AGGREGATE_COLUMNS))
    return frame.astype(
        {
            "n": np.int64,
            "n_censored": np.int64,
            "pactivity": np.float64,
            "spread": np.float64,
            "conflict": bool,
        }
    )
