"""Assay data: parsing, units and censoring, replicate aggregation, splits, and the project store."""
