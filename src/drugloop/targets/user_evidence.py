"""The user's own evidence: gene scores, a differential-expression table or a GWAS hit list.

Bad rows never stop an import: unknown genes and malformed numbers become ``RecordError``s
(file, line, input, reason), duplicates are aggregated (maximum score) and reported.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from drugloop.chem.io import InputFileError, RecordError
from drugloop.targets.data import GeneIndex

GENE_COLS = (
    "gene",
    "symbol",
    "gene_symbol",
    "hgnc_symbol",
    "gene_id",
    "entrez",
    "uniprot",
    "ensembl",
)
SCORE_COLS = ("score", "weight")
LFC_COLS = ("log2fc", "log2foldchange", "logfc", "log2_fold_change")
PADJ_COLS = ("padj", "fdr", "adj_p", "adj.p.val", "qvalue", "q_value")
P_COLS = ("p", "pvalue", "p_value", "pval")
GWAS_P = 5e-8


@dataclass
class UserEvidence:
    """Gene → score in [0, 1] from a user file, with what was read and what was not."""

    source: str
    kind: str  # "score", "differential expression", "gwas"
    scores: pd.Series
    details: dict[str, str] = field(default_factory=dict)
    errors: list[RecordError] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{self.source}: {len(self.scores)} genes read as {self.kind} evidence, "
            f"{len(self.errors)} rows skipped"
        )
        if self.duplicates:
            shown = ", ".join(self.duplicates[:5]) + ("…" if len(self.duplicates) > 5 else "")
            text += f"; {len(self.duplicates)} duplicate genes aggregated (max score): {shown}"
        return text


def _pick(header: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {h.strip().lower(): h for h in header}
    return next((lowered[n] for n in names if n in lowered), None)


def _number(text: str) -> float:
    value = float(text)
    if math.isnan(value):
        raise ValueError("NaN")
    return value


def _de_score(lfc: float, padj: float) -> float:
    """Significance × effect: padj 1e-5 and a 4-fold change both saturate; padj > 0.05 → 0."""
    if padj > 0.05:
        return 0.0
    significance = min(1.0, -math.log10(max(padj, 1e-300)) / 5)
    return significance * min(1.0, abs(lfc) / 2)


def read_user_evidence(path: str | Path, genes: GeneIndex) -> UserEvidence:
    """Read ``gene[,score]``, ``gene,log2fc,padj`` or ``gene,p`` (CSV or TSV, header required)."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: evidence file not found")
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    if not lines:
        raise InputFileError(f"{path}: evidence file is empty")
    delimiter = "\t" if "\t" in lines[0] else ","
    rows = list(csv.reader(lines, delimiter=delimiter))
    header = rows[0]
    gcol = _pick(header, GENE_COLS)
    if gcol is None:
        raise InputFileError(f"{path}: no gene column (expected one of: {', '.join(GENE_COLS)})")
    cols = {
        k: _pick(header, v)
        for k, v in {"score": SCORE_COLS, "lfc": LFC_COLS, "padj": PADJ_COLS, "p": P_COLS}.items()
    }
    if cols["lfc"] and cols["padj"]:
        kind = "differential expression"
    elif cols["score"]:
        kind = "score"
    elif cols["p"]:
        kind = "gwas"
    else:
        kind = "gene list"
    idx = {h: i for i, h in enumerate(header)}
    values: dict[str, list[float]] = {}
    details: dict[str, str] = {}
    errors: list[RecordError] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        raw = delimiter.join(row)
        try:
            cells = {k: row[idx[c]].strip() for k, c in cols.items() if c}
            ident = row[idx[gcol]].strip()
        except IndexError:
            errors.append(RecordError(str(path), line_no, raw, "too few columns"))
            continue
        symbol = genes.to_symbol(ident)
        if symbol is None:
            errors.append(RecordError(str(path), line_no, raw, f"unknown gene {ident!r}"))
            continue
        try:
            score, detail = _score_row(kind, cells)
        except ValueError:
            bad = ", ".join(f"{k}={v!r}" for k, v in cells.items())
            errors.append(RecordError(str(path), line_no, raw, f"malformed number ({bad})"))
            continue
        values.setdefault(symbol, []).append(score)
        details.setdefault(symbol, f"{path.name} line {line_no}: {detail}")
    scores = pd.Series({g: max(v) for g, v in values.items()}, dtype=float)
    if kind == "score" and len(scores) and (scores.max() > 1 or scores.min() < 0):
        scores = scores.rank(pct=True)  # arbitrary-scale scores → percentile in (0, 1]
    duplicates = sorted(g for g, v in values.items() if len(v) > 1)
    return UserEvidence(str(path), kind, scores, details, errors, duplicates)


def _score_row(kind: str, cells: dict[str, str]) -> tuple[float, str]:
    if kind == "differential expression":
        lfc, padj = _number(cells["lfc"]), _number(cells["padj"])
        if not 0 <= padj <= 1:
            raise ValueError(padj)
        return _de_score(lfc, padj), f"log2FC {lfc:g}, padj {padj:.2g}"
    if kind == "score":
        score = _number(cells["score"])
        return score, f"score {score:g}"
    if kind == "gwas":
        p = _number(cells["p"])
        if not 0 < p <= 1:
            raise ValueError(p)
        return min(1.0, -math.log10(p) / -math.log10(GWAS_P)), f"GWAS p = {p:.2g}"
    return 1.0, "listed"
