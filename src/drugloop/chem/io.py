"""Reading molecules from SMILES, CSV/TSV and SDF files, in batches, with per-record errors.

A bad record never stops a read: it becomes a :class:`RecordError` naming the file, the line
(or SDF record), the input and the reason, and can be written to a rejects report.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rdkit import Chem

from drugloop.chem.molecule import InvalidMoleculeError, Standardizer, parse_smiles

if TYPE_CHECKING:
    import pandas as pd

SMILES_COLUMN_GUESSES = (
    "smiles",
    "SMILES",
    "Smiles",
    "canonical_smiles",
    "Drug",
    "mol",
    "structure",
)


class InputFileError(ValueError):
    """The file as a whole cannot be read (missing, empty, wrong columns)."""


@dataclass(frozen=True)
class RecordError:
    source: str
    record: int  # 1-based line number for text files (header = line 1), record index for SDF
    input: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.record}: {self.reason}: {self.input!r}"


@dataclass
class MoleculeRecord:
    source: str
    record: int
    input: str
    smiles: str  # standardized canonical SMILES
    inchikey: str
    mol: Chem.Mol
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class ReadResult:
    records: list[MoleculeRecord]
    errors: list[RecordError]


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a text file, transparently gunzipping ``.gz``; UTF-8 with BOM tolerated."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


DELIMITERS = (",", "\t", ";", "|")
_QUOTED = re.compile(r'"[^"]*"')


def sniff_delimiter(path: str | Path) -> str:
    """The field delimiter: tab for .tsv/.tab, else the one of ``, tab ; |`` the header uses most.

    Spreadsheets in many locales export "CSV" with semicolons, and none of these characters
    occurs in a SMILES, so the header line decides; a one-column file reads as comma-separated.
    """
    path = Path(path)
    if _base_suffix(path) in (".tsv", ".tab"):
        return "\t"
    try:
        with open_text(path) as handle:
            header = _QUOTED.sub("", handle.readline())
    except (OSError, UnicodeDecodeError, EOFError):
        return ","  # the reader that follows reports the problem with the file
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier (comma first)
    return best if counts[best] else ","


def read_table(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """A CSV/TSV (optionally .gz, UTF-8 with or without BOM) as a DataFrame, delimiter sniffed.

    The one place user tables are opened, so every command accepts the same files. Keyword
    arguments go to :func:`pandas.read_csv`; a file with no header raises
    :class:`InputFileError`.
    """
    import pandas as pd

    sep = sniff_delimiter(path)
    if sep == ";":
        kwargs.setdefault("decimal", ",")
    with open_text(path) as handle:
        try:
            frame = pd.read_csv(handle, sep=sep, **kwargs)
        except pd.errors.EmptyDataError:
            raise InputFileError(f"{path}: empty file (no header)") from None
    if sep == ";":  # text cells (dtype=str) keep "5,3"; read them as the locale wrote them
        for col in frame.select_dtypes(include=["object", "string"]).columns:
            frame[col] = frame[col].map(decimal_comma_to_point)
    return frame


_COMMA_NUMBER = re.compile(r"\s*[<>=~]{0,2}\s*[-+]?\d+,\d+(?:[eE][-+]?\d+)?\s*")


def decimal_comma_to_point(cell: object) -> object:
    """``"5,3"`` → ``"5.3"`` and ``">10,5"`` → ``">10.5"``; any other cell unchanged.

    Used only for semicolon-delimited files, the export format of locales that write decimal
    commas. A cell with a comma in a comma-delimited file stays as written, and the value
    parser refuses it by line rather than guess.
    """
    if isinstance(cell, str) and _COMMA_NUMBER.fullmatch(cell):
        return cell.replace(",", ".")
    return cell


def guess_smiles_column(columns: list[str], source: str) -> str:
    for guess in SMILES_COLUMN_GUESSES:
        if guess in columns:
            return guess
    lowered = {c.lower(): c for c in columns}
    if "smiles" in lowered:
        return lowered["smiles"]
    raise InputFileError(f"{source}: no SMILES column found among {columns}; pass --smiles-col")


def iter_table_rows(path: str | Path) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield (line number, row) from a CSV/TSV; raise :class:`InputFileError` if empty.

    Delimiter as :func:`sniff_delimiter` finds it; in a semicolon file decimal commas become
    points (:func:`decimal_comma_to_point`).
    """
    sep = sniff_delimiter(path)
    cell = decimal_comma_to_point if sep == ";" else (lambda v: v)
    with open_text(path) as handle:
        reader = csv.DictReader(handle, delimiter=sep)
        if not reader.fieldnames:
            raise InputFileError(f"{path}: empty file (no header)")
        for row in reader:
            # reader.line_num is the physical line of the row's end; good enough for messages
            yield reader.line_num, {k: cell(v or "") for k, v in row.items() if k}


def table_columns(path: str | Path) -> list[str]:
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=sniff_delimiter(path))
        header = next(reader, None)
    if not header:
        raise InputFileError(f"{path}: empty file (no header)")
    return [h.strip() for h in header]


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")  # noqa: SIM115


def _iter_raw(
    path: Path, smiles_col: str | None
) -> Iterator[tuple[int, str, dict[str, str], Chem.Mol | None]]:
    suffix = _base_suffix(path)
    if suffix in (".sdf", ".sd", ".mol"):
        with _open_binary(path) as handle:
            supplier = Chem.ForwardSDMolSupplier(handle, sanitize=False, removeHs=False)
            for index, mol in enumerate(supplier, start=1):
                fields = mol.GetPropsAsDict() if mol is not None else {}
                name = mol.GetProp("_Name") if mol is not None and mol.HasProp("_Name") else ""
                text = name or f"record {index}"
                yield index, text, {k: str(v) for k, v in fields.items()}, mol
        return
    if suffix in (".smi", ".smiles", ".txt", ".ism"):
        with open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                text = line.strip()
                if not text or text.startswith("#"):
                    continue
                parts = text.split()
                if line_no == 1 and parts[0].lower() in ("smiles", "smi"):
                    continue
                extra = {"name": parts[1]} if len(parts) > 1 else {}
                yield line_no, parts[0], extra, None
        return
    columns = table_columns(path)
    column = smiles_col or guess_smiles_column(columns, str(path))
    if column not in columns:
        raise InputFileError(f"{path}: column {column!r} not found; columns are {columns}")
    for line_no, row in iter_table_rows(path):
        yield line_no, row.get(column, ""), row, None


def iter_molecule_batches(
    path: str | Path,
    smiles_col: str | None = None,
    batch_size: int = 10_000,
    standardizer: Standardizer | None = None,
) -> Iterator[ReadResult]:
    """Stream a molecule file as batches of standardized records plus per-record errors."""
    path = Path(path)
    standardizer = standardizer or Standardizer()
    records: list[MoleculeRecord] = []
    errors: list[RecordError] = []
    for record_no, text, fields, sdf_mol in _iter_raw(path, smiles_col):
        try:
            if sdf_mol is not None:
                Chem.SanitizeMol(sdf_mol)
                std = standardizer.standardize_mol(sdf_mol, text)
            elif path.suffix in (".sdf",) or _base_suffix(path) == ".sdf":
                raise InvalidMoleculeError(text, "unreadable SDF record")
            else:
                std = standardizer.standardize_mol(parse_smiles(text), text)
        except InvalidMoleculeError as exc:
            errors.append(RecordError(str(path), record_no, str(text), exc.reason))
        except Exception as exc:  # RDKit sanitization of SDF records
            errors.append(
                RecordError(str(path), record_no, str(text), f"invalid structure ({exc})")
            )
        else:
            records.append(
                MoleculeRecord(
                    str(path), record_no, str(text), std.smiles, std.inchikey, std.mol, fields
                )
            )
        if len(records) + len(errors) >= batch_size:
            yield ReadResult(records, errors)
            records, errors = [], []
    if records or errors:
        yield ReadResult(records, errors)


def read_molecules(
    path: str | Path, smiles_col: str | None = None, standardizer: Standardizer | None = None
) -> ReadResult:
    """Read a whole molecule file (see :func:`iter_molecule_batches`)."""
    result = ReadResult([], [])
    for batch in iter_molecule_batches(path, smiles_col, standardizer=standardizer):
        result.records.extend(batch.records)
        result.errors.extend(batch.errors)
    if not result.records and not result.errors:
        raise InputFileError(f"{path}: no records")
    return result


def rejects_path_for(path: str | Path) -> Path:
    """``data/assay.csv`` → ``data/assay.rejects.csv`` (written next to the input)."""
    path = Path(path)
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".smi", ".sdf", ".txt"):
        name = name.removesuffix(suffix)
    return path.with_name(f"{name}.rejects.csv")


def write_rejects(errors: list[RecordError], path: str | Path) -> Path:
    path = Path(path)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "record", "input", "reason"])
        for err in errors:
            writer.writerow([err.source, err.record, err.input, err.reason])
    return path
