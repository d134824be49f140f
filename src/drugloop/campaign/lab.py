"""Lab exchange: order files out (CSV + SDF with registration ids), results files in.

Results are validated against what was ordered: unknown ids, compounds never ordered in this
campaign, bad units and non-numeric values become rejects naming the line; a row whose status is
``failed`` records a failed synthesis, not a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rdkit import Chem

from drugloop.chem.io import InputFileError, RecordError, iter_table_rows, table_columns
from drugloop.chem.molecule import inchikey, parse_smiles
from drugloop.data.assays import (
    UnitError,
    normalize_unit,
    pactivity_qualifier,
    parse_qualified_value,
    parse_qualifier,
    to_pactivity,
)

FAILED_STATUSES = {"failed", "fail", "not made", "synthesis failed", "no compound"}
PLAUSIBLE_PACTIVITY = (1.0, 14.0)  # outside this, a unit mix-up is far likelier than a result


def plate_map(n: int, plate_size: int = 96, prefix: str = "P") -> pd.DataFrame:
    """Plate and well per compound, filled row-major (A01, A02, … H12 for 96 wells)."""
    if plate_size not in (96, 384):
        raise ValueError("plate_size must be 96 or 384")
    n_rows, n_cols = (8, 12) if plate_size == 96 else (16, 24)
    wells = [f"{chr(65 + r)}{c + 1:02d}" for r in range(n_rows) for c in range(n_cols)]
    return pd.DataFrame(
        {
            "plate": [f"{prefix}{i // plate_size + 1:03d}" for i in range(n)],
            "well": [wells[i % plate_size] for i in range(n)],
        }
    )


def write_order(orders: pd.DataFrame, path_stem: Path) -> tuple[Path, Path]:
    """Write ``<stem>.csv`` and ``<stem>.sdf``; each molecule named by its registration id."""
    path_stem.parent.mkdir(parents=True, exist_ok=True)
    csv_path, sdf_path = path_stem.with_suffix(".csv"), path_stem.with_suffix(".sdf")
    orders.to_csv(csv_path, index=False)
    writer = Chem.SDWriter(str(sdf_path))
    for row in orders.itertuples(index=False):
        mol = Chem.MolFromSmiles(row.smiles)
        mol.SetProp("_Name", row.reg_id)
        for column in orders.columns:
            mol.SetProp(column, str(getattr(row, column)))
        writer.write(mol)
    writer.close()
    return csv_path, sdf_path


@dataclass
class ParsedResults:
    measurements: pd.DataFrame  # store measurement columns
    failed: list[str]  # reg ids whose synthesis failed
    rejects: list[RecordError]
    n_rows: int


def parse_results(
    path: str | Path,
    ordered: dict[str, str],
    assay_id: str,
    known_ids: set[str] | None = None,
    reg_id_col: str = "reg_id",
    value_col: str = "value",
    unit_col: str = "unit",
    qualifier_col: str = "qualifier",
    status_col: str = "status",
    default_unit: str = "nM",
    replicate_col: str = "replicate",
) -> ParsedResults:
    """Parse a lab results file; ``ordered`` maps the campaign's ordered reg ids to SMILES.

    ``known_ids`` (all registered ids) lets the rejects tell a typo from a compound that exists
    but was never ordered in this campaign.
    """
    columns = table_columns(path)
    for required in (reg_id_col, value_col):
        if required not in columns:
            raise InputFileError(f"{path}: column {required!r} not found; columns are {columns}")
    rows, failed, rejects, n_rows = [], [], [], 0
    seen: dict[tuple[str, str, str], int] = {}
    for line, row in iter_table_rows(path):
        n_rows += 1
        reg_id = (row.get(reg_id_col) or "").strip()
        raw_value = (row.get(value_col) or "").strip()

        def reject(reason: str, line: int = line, text: str = f"{reg_id},{raw_value}") -> None:
            rejects.append(RecordError(str(path), line, text, reason))

        if reg_id not in ordered:
            known = known_ids is None or reg_id in known_ids
            reject(
                "compound was never ordered in this campaign"
                if reg_id and known
                else "unknown registration id"
            )
            continue
        status = (row.get(status_col) or "").strip().lower()
        if status in FAILED_STATUSES:
            failed.append(reg_id)
            continue
        try:
            qualifier, value = parse_qualified_value(raw_value)
            if (row.get(qualifier_col) or "").strip():
                qualifier = parse_qualifier(row[qualifier_col])
            unit = normalize_unit(row.get(unit_col) or default_unit)
            pact = to_pactivity(value, unit)
        except (ValueError, UnitError) as exc:
            reject(str(exc))
            continue
        low, high = PLAUSIBLE_PACTIVITY
        if not low <= pact <= high:
            reject(f"implausible value {raw_value} {unit} (p{pact:.1f}): wrong unit?")
            continue
        key = (reg_id, raw_value, (row.get(replicate_col) or "").strip())
        if key in seen:
            reject(
                f"duplicate of line {seen[key]} (same id and value; mark re-tests in "
                f"a {replicate_col!r} column)"
            )
            continue
        seen[key] = line
        smiles = ordered[reg_id]
        rows.append(
            {
                "source_file": str(path),
                "source_row": line,
                "input_smiles": reg_id,
                "smiles": smiles,
                "inchikey": inchikey(parse_smiles(smiles)),
                "assay_id": assay_id,
                "value_raw": raw_value,
                "unit_raw": row.get(unit_col) or default_unit,
                "qualifier": pactivity_qualifier(qualifier, unit).value,
                "value": value,
                "unit": unit,
                "pactivity": pact,
                "replicate": row.get(replicate_col) or None,
                "date": row.get("date") or None,
            }
        )
    if n_rows == 0:
        raise InputFileError(f"{path}: no rows")
    return ParsedResults(pd.DataFrame(rows), failed, rejects, n_rows)
