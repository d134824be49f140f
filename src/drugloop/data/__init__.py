"""Assay data: parsing, units, censoring, replicate aggregation, splits and the project store."""

from drugloop.data.assays import (
    AssayReadResult,
    Qualifier,
    UnitError,
    aggregate_replicates,
    normalize_unit,
    parse_qualified_value,
    read_assay_table,
    to_pactivity,
)
from drugloop.data.splits import SplitIndices, make_split

__all__ = [
    "AssayReadResult",
    "Qualifier",
    "SplitIndices",
    "UnitError",
    "aggregate_replicates",
    "make_split",
    "normalize_unit",
    "parse_qualified_value",
    "read_assay_table",
    "to_pactivity",
]
