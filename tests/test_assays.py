"""Assay parsing: units, qualifiers and censoring, per-row rejects, replicate aggregation."""

from __future__ import annotations

import csv
import gzip
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem

from drugloop.chem.io import InputFileError, RecordError
from drugloop.data.assays import (
    Qualifier,
    UnitError,
    aggregate_replicates,
    censored_mask,
    normalize_unit,
    pactivity_qualifier,
    parse_qualified_value,
    parse_qualifier,
    read_assay_table,
    to_pactivity,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
ASPIRIN_SODIUM = "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]"
CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
PARACETAMOL = "CC(=O)Nc1ccc(O)cc1"
IMATINIB = "Cc1ccc(NC(=O)c2ccc(CN3CCN(C)CC3)cc2)cc1Nc1nccc(-c2cccnc2)n1"

SMILES_ALPHABET = "CNOSPFIcnos()[]=#-+@/\\%.0123456789Hl*:"

MICRO_SIGN = "\u00b5"  # µ
GREEK_MU = "\u03bc"  # μ

MEASUREMENT_COLUMNS = [
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
]


def write_table(path: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def canonical(smiles: str) -> str:
    return Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


# --- units -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nM", "nM"),
        ("nm", "nM"),
        (" NM ", "nM"),
        ("uM", "uM"),
        ("um", "uM"),
        (MICRO_SIGN + "M", "uM"),
        (GREEK_MU + "M", "uM"),
        ("mM", "mM"),
        ("pM", "pM"),
        ("M", "M"),
        ("mol/L", "M"),
        ("pX", "pX"),
        ("p", "pX"),
        ("pIC50", "pX"),
        ("pKi", "pX"),
        ("PKD", "pX"),
        ("pEC50", "pX"),
        ("-log M", "pX"),
        ("log", "pX"),
    ],
)
def test_normalize_unit_accepts_common_spellings(text: str, expected: str) -> None:
    assert normalize_unit(text) == expected


def test_both_micro_signs_are_distinct_code_points_and_both_accepted() -> None:
    assert MICRO_SIGN != GREEK_MU
    assert normalize_unit(MICRO_SIGN + "M") == normalize_unit(GREEK_MU + "M") == "uM"
    assert to_pactivity(2.0, MICRO_SIGN + "M") == to_pactivity(2.0, GREEK_MU + "M")


@pytest.mark.parametrize("text", ["furlongs", "", "ug/mL", "%", "nM/s"])
def test_unknown_unit_names_itself_and_the_accepted_units(text: str) -> None:
    with pytest.raises(UnitError) as info:
        normalize_unit(text)
    message = str(info.value)
    assert (text or "(empty)") in message
    assert "nM" in message and "pKi" in message
    assert isinstance(info.value, ValueError)


def test_concentrations_agree_across_units() -> None:
    one_micromolar = [(1.0, "uM"), (1000.0, "nM"), (1e-3, "mM"), (1e6, "pM"), (1e-6, "M")]
    values = [to_pactivity(v, u) for v, u in one_micromolar]
    assert np.allclose(values, 6.0)
    assert to_pactivity(10.0, "nM") == pytest.approx(8.0)
    assert to_pactivity(7.3, "pKi") == 7.3  # log units pass through


@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf])
def test_to_pactivity_rejects_non_positive_and_non_finite(value: float) -> None:
    with pytest.raises(ValueError, match="non-positive|finite"):
        to_pactivity(value, "nM")


@settings(max_examples=60, deadline=None)
@given(st.floats(min_value=-3, max_value=15, allow_nan=False))
def test_to_pactivity_round_trips_with_ten_to_minus_p(p: float) -> None:
    assert to_pactivity(10**-p, "M") == pytest.approx(p, abs=1e-9)
    assert to_pactivity(10 ** (9 - p), "nM") == pytest.approx(p, abs=1e-9)
    assert to_pactivity(p, "pX") == p


@settings(max_examples=40, deadline=None)
@given(
    st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
    st.floats(min_value=1.0001, max_value=100),
)
def test_higher_concentration_means_lower_pactivity(value: float, factor: float) -> None:
    assert to_pactivity(value * factor, "uM") < to_pactivity(value, "uM")


# --- qualified values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "qualifier", "value"),
    [
        (">10", Qualifier.GT, 10.0),
        ("<= 5.2", Qualifier.LT, 5.2),
        (">=0.5", Qualifier.GT, 0.5),
        ("~3", Qualifier.APPROX, 3.0),
        ("≈ 3", Qualifier.APPROX, 3.0),
        ("=7", Qualifier.EQ, 7.0),
        ("==7", Qualifier.EQ, 7.0),
        ("1e-6", Qualifier.EQ, 1e-6),
        (" 12 ", Qualifier.EQ, 12.0),
        (".5", Qualifier.EQ, 0.5),
        ("<1E3", Qualifier.LT, 1000.0),
    ],
)
def test_parse_qualified_value(text: str, qualifier: Qualifier, value: float) -> None:
    assert parse_qualified_value(text) == (qualifier, value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1,5", "comma"),
        ("> 1,000", "comma"),
        ("NaN", "not a number"),
        ("inf", "not a number"),
        ("1e999", "finite"),
        ("", "empty"),
        ("   ", "empty"),
        ("inactive", "not a number"),
        (">", "not a number"),
        ("1.2.3", "not a number"),
        ("10 nM", "not a number"),
    ],
)
def test_parse_qualified_value_refuses_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_qualified_value(text)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=20))
def test_parse_qualified_value_only_ever_raises_value_error(text: str) -> None:
    try:
        qualifier, value = parse_qualified_value(text)
    except ValueError:
        return
    assert isinstance(qualifier, Qualifier)
    assert math.isfinite(value)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["", "=", "<", "<=", ">", ">=", "~"]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", " "]),
)
def test_parse_qualified_value_round_trips_written_values(prefix: str, value: float, gap: str):
    qualifier, parsed = parse_qualified_value(f"{prefix}{gap}{value!r}")
    assert parsed == value
    assert qualifier == parse_qualifier(prefix)


def test_parse_qualifier_accepts_chembl_quoting_and_refuses_junk() -> None:
    assert parse_qualifier("'>'") is Qualifier.GT
    assert parse_qualifier(None) is Qualifier.EQ
    with pytest.raises(ValueError, match="unknown qualifier"):
        parse_qualifier("about")


# --- censoring direction ---------------------------------------------------------------------


def test_concentration_qualifiers_flip_but_log_units_do_not() -> None:
    assert pactivity_qualifier(Qualifier.GT, "uM") is Qualifier.LT
    assert pactivity_qualifier(Qualifier.LT, "nM") is Qualifier.GT
    assert pactivity_qualifier(Qualifier.EQ, "nM") is Qualifier.EQ
    assert pactivity_qualifier(Qualifier.APPROX, "nM") is Qualifier.APPROX
    assert pactivity_qualifier(Qualifier.GT, "pKi") is Qualifier.GT
    assert pactivity_qualifier(Qualifier.LT, "pX") is Qualifier.LT


def test_read_table_stores_censoring_in_pactivity_direction(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "ic50.csv",
        ["smiles", "value", "unit"],
        [
            [ASPIRIN, ">10", MICRO_SIGN + "M"],  # IC50 above 10 µM → pActivity below 5
            [CAFFEINE, "<1", "nM"],  # IC50 below 1 nM → pActivity above 9
            [IBUPROFEN, ">6", "pKi"],  # already a pActivity: unchanged
            [PARACETAMOL, "~250", "nM"],
        ],
    )
    m = read_assay_table(path).measurements.set_index("input_smiles")
    assert m.loc[ASPIRIN, "qualifier"] == "<"
    assert m.loc[ASPIRIN, "pactivity"] == pytest.approx(5.0)
    assert m.loc[CAFFEINE, "qualifier"] == ">"
    assert m.loc[CAFFEINE, "pactivity"] == pytest.approx(9.0)
    assert m.loc[IBUPROFEN, "qualifier"] == ">"
    assert m.loc[IBUPROFEN, "pactivity"] == pytest.approx(6.0)
    assert m.loc[PARACETAMOL, "qualifier"] == "~"
    assert m.loc[PARACETAMOL, "pactivity"] == pytest.approx(-math.log10(250e-9))


def test_qualifier_column_applies_unless_the_value_has_its_own(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "chembl.csv",
        ["Smiles", "Standard Value", "Standard Units", "Standard Relation"],
        [
            [ASPIRIN, "100", "nM", "'>'"],  # column qualifier used: > 100 nM → pAct < 7
            [CAFFEINE, "<100", "nM", "'>'"],  # inline "<" wins over the column
            [IBUPROFEN, "100", "nM", ""],  # empty relation → exact
        ],
    )
    result = read_assay_table(
        path,
        value_col="Standard Value",
        unit_col="Standard Units",
        qualifier_col="Standard Relation",
    )
    m = result.measurements.set_index("input_smiles")
    assert m.loc[ASPIRIN, "qualifier"] == "<"
    assert m.loc[CAFFEINE, "qualifier"] == ">"
    assert m.loc[IBUPROFEN, "qualifier"] == "="
    assert result.rejects == []


# --- reading tables --------------------------------------------------------------------------


def test_read_table_columns_lines_and_standardization(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "assay.csv",
        ["smiles", "value", "unit", "target", "rep", "day"],
        [
            [ASPIRIN_SODIUM, "50", "nM", "PIM1", "r1", "2021-03-04"],
            [IMATINIB, "7.5", "pIC50", "", "", ""],
        ],
    )
    result = read_assay_table(
        path, assay_col="target", replicate_col="rep", date_col="day", default_assay="unknown"
    )
    m = result.measurements
    assert list(m.columns) == MEASUREMENT_COLUMNS
    assert (result.source, result.n_rows, result.rejects) == (str(path), 2, [])
    first, second = m.iloc[0], m.iloc[1]
    assert list(m["source_row"]) == [2, 3]  # header is line 1
    assert first["source_file"] == str(path)
    assert first["input_smiles"] == ASPIRIN_SODIUM
    assert first["smiles"] == canonical(ASPIRIN)  # salt stripped, neutralized
    assert first["inchikey"] == Chem.MolToInchiKey(Chem.MolFromSmiles(ASPIRIN))
    assert (first["assay_id"], first["replicate"], first["date"]) == ("PIM1", "r1", "2021-03-04")
    assert (first["value_raw"], first["unit_raw"], first["value"], first["unit"]) == (
        "50",
        "nM",
        50.0,
        "nM",
    )
    assert first["pactivity"] == pytest.approx(-math.log10(50e-9))
    assert second["assay_id"] == "unknown"
    assert second["replicate"] is None and second["date"] is None
    assert (second["unit"], second["pactivity"]) == ("pX", 7.5)


def test_every_reject_reason_names_file_line_and_input(tmp_path: Path) -> None:
    rows = [
        [ASPIRIN, "10", "nM"],  # line 2: ok
        ["C1CC", "10", "nM"],  # line 3: unclosed ring
        ["not a smiles", "10", "nM"],  # line 4: unparseable
        [CAFFEINE, "12", "furlongs"],  # line 5: unknown unit
        [IBUPROFEN, "active", "nM"],  # line 6: non-numeric value
        [PARACETAMOL, "", "nM"],  # line 7: empty value
        [IMATINIB, "0", "uM"],  # line 8: non-positive concentration
        [ASPIRIN, "10", "nM"],  # line 9: exact duplicate of line 2
        [ASPIRIN, "12", "nM"],  # line 10: a replicate, kept
        [CAFFEINE, "-3", "nM"],  # line 11: negative concentration
        ["", "5", "nM"],  # line 12: empty SMILES
    ]
    path = write_table(tmp_path / "bad.csv", ["smiles", "value", "unit"], rows)
    result = read_assay_table(path)
    by_line = {err.record: err for err in result.rejects}
    expected = {
        3: "invalid SMILES",
        4: "invalid SMILES",
        5: "unknown unit 'furlongs'",
        6: "not a number",
        7: "empty value",
        8: "non-positive concentration",
        9: "duplicate of line 2",
        11: "non-positive concentration",
        12: "invalid SMILES",
    }
    assert set(by_line) == set(expected)
    for line, reason in expected.items():
        err = by_line[line]
        assert isinstance(err, RecordError)
        assert err.source == str(path)
        assert err.input == rows[line - 2][0]
        assert reason in err.reason, (line, err.reason)
        assert f"{path}:{line}:" in str(err)
    assert list(result.measurements["source_row"]) == [2, 10]
    assert result.n_rows == len(rows)


def test_duplicates_compare_standardized_structures_and_all_fields(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "dups.csv",
        ["smiles", "value", "unit", "assay", "rep", "date"],
        [
            [ASPIRIN, "10", "nM", "A", "1", "2020-01-01"],
            [ASPIRIN_SODIUM, "10", "nM", "A", "1", "2020-01-01"],  # same parent → duplicate
            [ASPIRIN, "10", "nM", "B", "1", "2020-01-01"],  # other assay
            [ASPIRIN, "10", "nM", "A", "2", "2020-01-01"],  # other replicate
            [ASPIRIN, "10", "nM", "A", "1", "2020-01-02"],  # other date
            [ASPIRIN, ">10", "nM", "A", "1", "2020-01-01"],  # other qualifier
            [ASPIRIN, "10", "uM", "A", "1", "2020-01-01"],  # other unit
        ],
    )
    result = read_assay_table(path, assay_col="assay", replicate_col="rep", date_col="date")
    assert [(e.record, e.reason) for e in result.rejects] == [(3, "exact duplicate of line 2")]
    assert len(result.measurements) == 6


def test_replicate_values_are_kept_not_rejected(tmp_path: Path) -> None:
    path = write_table(
        tmp_path / "reps.csv",
        ["smiles", "value", "unit"],
        [[CAFFEINE, "10", "uM"], [CAFFEINE, "20", "uM"], [CAFFEINE, "15", "uM"]],
    )
    result = read_assay_table(path)
    assert result.rejects == []
    assert sorted(result.measurements["value"]) == [10.0, 15.0, 20.0]
    assert result.measurements["smiles"].nunique() == 1


def test_default_unit_when_the_file_has_no_unit_column(tmp_path: Path) -> None:
    path = write_table(tmp_path / "ki.csv", ["SMILES", "Ki"], [[CAFFEINE, "100"], [ASPIRIN, "1"]])
    m = read_assay_table(path, value_col="Ki", default_unit="nM").measurements
    assert list(m["unit"]) == ["nM", "nM"]
    assert list(m["pactivity"]) == pytest.approx([7.0, 9.0])
    with pytest.raises(UnitError, match="parsecs"):
        read_assay_table(path, value_col="Ki", default_unit="parsecs")


def test_empty_unit_cell_falls_back_to_default_unit_or_is_rejected(tmp_path: Path) -> None:
    path = write_table(tmp_path / "u.csv", ["smiles", "value", "unit"], [[ASPIRIN, "5", ""]])
    assert read_assay_table(path, default_unit="uM").measurements["unit"].tolist() == ["uM"]
    rejects = read_assay_table(path, default_unit=None).rejects
    assert len(rejects) == 1 and "unknown unit" in rejects[0].reason


def test_tsv_and_gzip_tables(tmp_path: Path) -> None:
    rows = [[CAFFEINE, "3.5", "uM"], [IMATINIB, "<1", "nM"]]
    tsv = write_table(tmp_path / "a.tsv", ["smiles", "value", "unit"], rows, delimiter="\t")
    gz = write_table(tmp_path / "a.csv.gz", ["smiles", "value", "unit"], rows)
    a, b = read_assay_table(tsv).measurements, read_assay_table(gz).measurements
    assert list(a["smiles"]) == list(b["smiles"]) == [canonical(CAFFEINE), canonical(IMATINIB)]
    assert list(a["pactivity"]) == list(b["pactivity"])


def test_semicolon_export_with_decimal_commas_reads_like_the_csv(tmp_path: Path) -> None:
    """A spreadsheet export from a decimal-comma locale: ';' fields, '3,5' values, BOM."""
    rows = [[CAFFEINE, "3.5", "uM"], [IMATINIB, "<1.25", "nM"]]
    comma = write_table(tmp_path / "a.csv", ["smiles", "value", "unit"], rows)
    semi = tmp_path / "b.csv"
    semi.write_text(
        "smiles;value;unit\n" + "".join(f"{s};{v.replace('.', ',')};{u}\n" for s, v, u in rows),
        encoding="utf-8-sig",
    )
    a, b = read_assay_table(comma).measurements, read_assay_table(semi).measurements
    assert list(b["smiles"]) == list(a["smiles"])
    assert list(b["pactivity"]) == list(a["pactivity"]) and list(b["qualifier"]) == ["=", ">"]


def test_decimal_commas_in_a_comma_file_are_refused_by_line(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(f'smiles,value,unit\n{CAFFEINE},"3,5",uM\n')
    result = read_assay_table(path)
    assert result.measurements.empty and "decimal separator" in result.rejects[0].reason


def test_all_rows_rejected_gives_an_empty_frame_with_the_columns(tmp_path: Path) -> None:
    path = write_table(tmp_path / "x.csv", ["smiles", "value", "unit"], [["xyz", "1", "nM"]])
    result = read_assay_table(path)
    assert result.measurements.empty
    assert list(result.measurements.columns) == MEASUREMENT_COLUMNS
    assert len(result.rejects) == 1


# --- whole-file errors -----------------------------------------------------------------------


def test_missing_columns_raise_input_file_error_naming_file_and_columns(tmp_path: Path) -> None:
    path = write_table(tmp_path / "cols.csv", ["smiles", "ic50", "units"], [[ASPIRIN, "1", "nM"]])
    with pytest.raises(InputFileError, match=r"cols\.csv.*'value'.*\['smiles', 'ic50', 'units'\]"):
        read_assay_table(path, unit_col="units")
    with pytest.raises(InputFileError, match=r"cols\.csv.*unit column 'unit'.*'units'"):
        read_assay_table(path, value_col="ic50")
    with pytest.raises(InputFileError, match=r"cols\.csv: no unit column named"):
        read_assay_table(path, value_col="ic50", unit_col=None)
    with pytest.raises(InputFileError, match=r"SMILES column 'structure'"):
        read_assay_table(path, smiles_col="structure", value_col="ic50", unit_col="units")
    with pytest.raises(InputFileError, match=r"assay column 'target'"):
        read_assay_table(path, value_col="ic50", unit_col="units", assay_col="target")


def test_no_guessable_smiles_column(tmp_path: Path) -> None:
    path = write_table(tmp_path / "nosmi.csv", ["compound", "value", "unit"], [["a", "1", "nM"]])
    with pytest.raises(InputFileError, match="no SMILES column"):
        read_assay_table(path)


@pytest.mark.parametrize("content", ["", "smiles,value,unit\n"])
def test_empty_files_raise_no_rows(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(InputFileError, match=r"empty\.csv.*no rows"):
        read_assay_table(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        read_assay_table(tmp_path / "nope.csv")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.one_of(st.text(max_size=30), st.text(alphabet=SMILES_ALPHABET, max_size=30)))
def test_any_text_in_the_smiles_column_is_a_row_or_a_reject(tmp_path: Path, text: str) -> None:
    path = write_table(tmp_path / "fuzz.csv", ["smiles", "value", "unit"], [[text, "5", "nM"]])
    result = read_assay_table(path)
    assert result.n_rows == 1
    assert len(result.measurements) + len(result.rejects) == 1
    if result.rejects:
        assert result.rejects[0].reason.startswith("invalid SMILES")
        assert result.rejects[0].input == text
    else:
        assert Chem.MolFromSmiles(result.measurements["smiles"].iloc[0]) is not None


def test_real_chembl_ki_values_convert_like_the_published_pki(bundled_data: Path, tmp_path: Path):
    """MoleculeACE publishes both Ki [nM] and pKi for PIM1; our conversion must agree."""
    source = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz", nrows=300)
    path = tmp_path / "pim1.csv"
    source.rename(columns={"exp_mean [nM]": "ki"}).to_csv(path, index=False)
    result = read_assay_table(path, value_col="ki", default_unit="nM")
    assert result.rejects == []
    assert len(result.measurements) == 300
    assert np.allclose(result.measurements["pactivity"], source["y [pEC50/pKi]"], atol=1e-6)
    aggregated = aggregate_replicates(result.measurements)
    assert aggregated["n"].sum() == 300
    assert len(aggregated) == result.measurements["smiles"].nunique()


# --- replicate aggregation -------------------------------------------------------------------


def measurements(rows: list[tuple[str, str, str, str]], tmp_path: Path) -> pd.DataFrame:
    """(smiles, value, unit, assay) rows → measurement frame via the real reader."""
    path = write_table(tmp_path / "m.csv", ["smiles", "value", "unit", "assay"], list(rows))
    result = read_assay_table(path, assay_col="assay")
    assert result.rejects == []
    return result.measurements


def one_group(frame: pd.DataFrame, **kw) -> pd.Series:
    aggregated = aggregate_replicates(frame, **kw)
    assert len(aggregated) == 1
    return aggregated.iloc[0]


def test_aggregate_columns_and_median_of_exact_values(tmp_path: Path) -> None:
    frame = measurements(
        [(CAFFEINE, "10", "nM", "A"), (CAFFEINE, "100", "nM", "A"), (CAFFEINE, "1000", "nM", "A")],
        tmp_path,
    )
    aggregated = aggregate_replicates(frame, conflict_threshold=3.0)
    assert list(aggregated.columns) == [
        "smiles",
        "inchikey",
        "assay_id",
        "n",
        "n_censored",
        "pactivity",
        "qualifier",
        "spread",
        "conflict",
    ]
    row = aggregated.iloc[0]
    assert (row["smiles"], row["assay_id"], row["n"], row["n_censored"]) == (
        canonical(CAFFEINE),
        "A",
        3,
        0,
    )
    assert row["pactivity"] == pytest.approx(7.0)  # median of 8, 7, 6
    assert row["spread"] == pytest.approx(2.0)
    assert row["qualifier"] == "=" and not row["conflict"]
    assert one_group(frame, conflict_threshold=1.0)["conflict"]  # spread 2 > 1 log unit


def test_all_censored_keeps_the_most_informative_bound(tmp_path: Path) -> None:
    upper = measurements([(ASPIRIN, ">10", "uM", "A"), (ASPIRIN, ">100", "uM", "A")], tmp_path)
    row = one_group(upper)  # pAct < 5 and pAct < 4 → pAct < 4
    assert (row["qualifier"], row["n_censored"], row["conflict"]) == ("<", 2, False)
    assert row["pactivity"] == pytest.approx(4.0)
    assert math.isnan(row["spread"])
    lower = measurements([(ASPIRIN, ">6", "pKi", "A"), (ASPIRIN, ">8", "pKi", "A")], tmp_path)
    row = one_group(lower)  # pAct > 6 and pAct > 8 → pAct > 8
    assert (row["qualifier"], row["pactivity"]) == (">", pytest.approx(8.0))


def test_mixed_exact_and_censored_uses_exact_and_flags_contradictions(tmp_path: Path) -> None:
    consistent = measurements(
        [(IBUPROFEN, "4.5", "pX", "A"), (IBUPROFEN, "<5", "pX", "A")], tmp_path
    )
    row = one_group(consistent)
    assert (row["qualifier"], row["pactivity"], row["n"], row["n_censored"]) == ("=", 4.5, 2, 1)
    assert not row["conflict"]
    clash = measurements([(IBUPROFEN, "7.0", "pX", "A"), (IBUPROFEN, "<5", "pX", "A")], tmp_path)
    row = one_group(clash)
    assert row["pactivity"] == 7.0 and row["conflict"]
    # IC50 "> 10 µM" (pAct < 5) but also measured at 5 µM (pAct 5.3): contradiction
    flipped = measurements([(IBUPROFEN, ">10", "uM", "A"), (IBUPROFEN, "5", "uM", "A")], tmp_path)
    assert one_group(flipped)["conflict"]


def test_median_resists_an_outlier_and_the_outlier_is_flagged(tmp_path: Path) -> None:
    values = ["6.0", "6.1", "6.2", "9.0"]
    frame = measurements([(ASPIRIN, v, "pKi", "A") for v in values], tmp_path)
    row = one_group(frame)
    assert row["pactivity"] == pytest.approx(6.15)  # the mean would be 6.825
    assert row["spread"] == pytest.approx(3.0) and row["conflict"]


def test_exact_value_below_a_lower_bound_is_a_conflict(tmp_path: Path) -> None:
    # Ki "< 1 nM" (pAct > 9) but also measured at 1 µM (pAct 6)
    frame = measurements([(CAFFEINE, "<1", "nM", "A"), (CAFFEINE, "1", "uM", "A")], tmp_path)
    row = one_group(frame)
    assert row["pactivity"] == pytest.approx(6.0) and row["conflict"]
    assert row["n_censored"] == 1


def test_approximate_values_count_as_exact(tmp_path: Path) -> None:
    frame = measurements(
        [(PARACETAMOL, "~6", "pX", "A"), (PARACETAMOL, "6.4", "pX", "A")], tmp_path
    )
    row = one_group(frame)
    assert row["pactivity"] == pytest.approx(6.2)
    assert row["n_censored"] == 0
    assert row["spread"] == pytest.approx(0.4)


def test_bracketing_and_crossed_bounds(tmp_path: Path) -> None:
    bracket = measurements([(CAFFEINE, ">5", "pX", "A"), (CAFFEINE, "<7", "pX", "A")], tmp_path)
    row = one_group(bracket)
    assert (row["qualifier"], row["pactivity"], row["conflict"]) == ("~", 6.0, False)
    crossed = measurements([(CAFFEINE, ">7", "pX", "A"), (CAFFEINE, "<5", "pX", "A")], tmp_path)
    assert one_group(crossed)["conflict"]


def test_groups_are_per_compound_and_assay(tmp_path: Path) -> None:
    frame = measurements(
        [
            (CAFFEINE, "6", "pX", "A"),
            (CAFFEINE, "8", "pX", "B"),
            (ASPIRIN_SODIUM, "5", "pX", "A"),
            (ASPIRIN, "5.5", "pX", "A"),  # same parent as the salt
        ],
        tmp_path,
    )
    aggregated = aggregate_replicates(frame).set_index(["smiles", "assay_id"])
    assert len(aggregated) == 3
    assert aggregated.loc[(canonical(CAFFEINE), "B"), "pactivity"] == 8.0
    assert aggregated.loc[(canonical(ASPIRIN), "A"), "n"] == 2
    assert censored_mask(frame).sum() == 0


def test_censored_mask(tmp_path: Path) -> None:
    frame = measurements(
        [(CAFFEINE, ">6", "pX", "A"), (ASPIRIN, "6", "pX", "A"), (IBUPROFEN, "<1", "nM", "A")],
        tmp_path,
    )
    assert censored_mask(frame).tolist() == [True, False, True]


def test_aggregate_refuses_frames_without_the_needed_columns() -> None:
    with pytest.raises(ValueError, match="pactivity"):
        aggregate_replicates(pd.DataFrame({"smiles": [], "inchikey": [], "assay_id": []}))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([ASPIRIN, CAFFEINE]),
            st.sampled_from(["=", "<", ">", "~"]),
            st.floats(min_value=2, max_value=11, allow_nan=False),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_aggregation_properties(rows: list[tuple[str, str, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["smiles", "qualifier", "pactivity"])
    frame["inchikey"] = frame["smiles"]
    frame["assay_id"] = "A"
    aggregated = aggregate_replicates(frame)
    assert aggregated["n"].sum() == len(frame)
    for _, row in aggregated.iterrows():
        group = frame[frame["smiles"] == row["smiles"]]
        exact = group[group["qualifier"].isin(["=", "~"])]["pactivity"]
        assert row["n_censored"] == len(group) - len(exact)
        if len(exact):
            assert exact.min() <= row["pactivity"] <= exact.max()
            assert row["spread"] == pytest.approx(exact.max() - exact.min())
        else:
            assert group["pactivity"].min() <= row["pactivity"] <= group["pactivity"].max()
