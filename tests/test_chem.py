from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdkit import Chem
from rdkit.Chem import QED, Descriptors

from drugloop.chem import (
    Featurizer,
    FeaturizerConfig,
    InputFileError,
    InvalidMoleculeError,
    Standardizer,
    StructuralAlerts,
    parse_smiles,
    qed,
    read_molecules,
    sa_score,
    standardize_smiles,
    write_rejects,
)
from drugloop.chem.depict import grid_svg, to_png, to_svg
from drugloop.chem.io import (
    decimal_comma_to_point,
    iter_molecule_batches,
    iter_table_rows,
    read_table,
    rejects_path_for,
    sniff_delimiter,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
DRUGS = [
    ASPIRIN,
    "CC(=O)Nc1ccc(O)cc1",
    "CN1C=NC2=C1C(=O)N(C(=O)N2C)C",
    "Cc1ccc(cc1)-c1cc(nn1-c1ccc(cc1)S(N)(=O)=O)C(F)(F)F",
]


def test_salt_forms_standardize_to_one_parent():
    s = Standardizer()
    forms = ["CC(=O)Oc1ccccc1C(=O)[O-].[Na+]", "CC(=O)Oc1ccccc1C(=O)O.Cl", "OC(=O)c1ccccc1OC(C)=O"]
    parents = {s.standardize(f).smiles for f in forms}
    assert parents == {Chem.MolToSmiles(Chem.MolFromSmiles(ASPIRIN))}
    assert len({s.standardize(f).inchikey for f in forms}) == 1


def test_charges_are_neutralized_but_quaternary_nitrogen_kept():
    s = Standardizer()
    assert s.standardize("C[NH3+]").smiles == "CN"
    assert "+" in s.standardize("C[N+](C)(C)C.[Cl-]").smiles  # cannot be neutralized


def test_tautomer_option_merges_tautomers():
    plain, taut = Standardizer(), Standardizer(canonical_tautomer=True)
    a, b = "Oc1ccccn1", "O=c1cccc[nH]1"  # 2-hydroxypyridine / 2-pyridone
    assert plain.standardize(a).smiles != plain.standardize(b).smiles
    assert taut.standardize(a).smiles == taut.standardize(b).smiles


@pytest.mark.parametrize(
    "bad,reason",
    [
        ("", "empty"),
        ("C1CC", "unparseable"),
        ("c1cccc1", "invalid chemistry"),
        ("C(C)(C)(C)(C)C", "invalid"),
    ],
)
def test_invalid_smiles_have_reasons(bad, reason):
    with pytest.raises(InvalidMoleculeError) as info:
        parse_smiles(bad)
    assert reason in info.value.reason


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(st.text(max_size=40), st.text(alphabet="CNOcn()[]=#123+-@H/\\.%", max_size=30)))
def test_garbage_strings_never_crash_the_standardizer(text):
    try:
        std = Standardizer().standardize(text)
    except InvalidMoleculeError as exc:
        assert exc.reason
    else:  # anything accepted must round-trip to itself
        assert standardize_smiles(std.smiles) == std.smiles


def test_read_csv_collects_per_record_errors(tmp_path):
    path = tmp_path / "mols.csv"
    path.write_text("id,smiles\n1,CCO\n2,not_a_smiles\n3,c1ccccc1\n4,\n5,C1CC\n")
    result = read_molecules(path, smiles_col="smiles")
    assert [r.smiles for r in result.records] == ["CCO", "c1ccccc1"]
    assert [(e.record, e.input) for e in result.errors] == [
        (3, "not_a_smiles"),
        (5, ""),
        (6, "C1CC"),
    ]
    assert all(str(path) in str(e) for e in result.errors)
    rejects = write_rejects(result.errors, rejects_path_for(path))
    assert rejects.name == "mols.rejects.csv" and rejects.read_text().count("\n") == 4


def test_read_wrong_column_and_empty_file(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("name,structure_x\nfoo,CCO\n")
    with pytest.raises(InputFileError, match="no SMILES column"):
        read_molecules(path)
    with pytest.raises(InputFileError, match="not found"):
        read_molecules(path, smiles_col="smiles")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputFileError, match="empty"):
        read_molecules(empty)


_CELLS = st.one_of(
    st.sampled_from(DRUGS),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.4g}"),
    st.text(alphabet="abcXYZ_- ()[]=#@+", max_size=12),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    delimiter=st.sampled_from([",", "\t", ";", "|"]),
    suffix=st.sampled_from([".csv", ".txt", ".csv.gz"]),
    n_cols=st.integers(2, 5),
    rows=st.lists(st.lists(_CELLS, min_size=5, max_size=5), min_size=1, max_size=6),
)
def test_delimiter_is_sniffed_from_the_header(tmp_path, delimiter, suffix, n_cols, rows):
    """Whatever the delimiter, every reader gets the same columns and cells back."""
    header = [f"col{i}" for i in range(n_cols)]
    rows = [r[:n_cols] for r in rows]
    text = "\n".join(delimiter.join(r) for r in [header, *rows]) + "\n"
    path = tmp_path / f"t{suffix}"
    if suffix.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    assert sniff_delimiter(path) == delimiter
    parsed = [[row[c] for c in header] for _, row in iter_table_rows(path)]
    assert parsed == [[decimal_comma_to_point(c) for c in r] for r in rows]
    frame = read_table(path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == header and frame.to_numpy().tolist() == parsed


def test_decimal_commas_are_read_only_in_semicolon_files(tmp_path):
    assert [decimal_comma_to_point(c) for c in ["5,3", " >10,25 ", "1,2,3", "CC(C)O", "5.3"]] == [
        "5.3",
        " >10.25 ",
        "1,2,3",
        "CC(C)O",
        "5.3",
    ]
    semi, comma = tmp_path / "a.csv", tmp_path / "b.csv"
    semi.write_text("smiles;pic50;note\nCCO;5,3;a,b\n")
    comma.write_text('smiles,pic50\nCCO,"5,3"\n')
    assert read_table(semi).pic50.tolist() == [5.3]
    assert read_table(semi, dtype=str).to_numpy().tolist() == [["CCO", "5.3", "a,b"]]
    assert read_table(comma, dtype=str).pic50.tolist() == ["5,3"]  # left to the value parser
    one_column = tmp_path / "c.csv"
    one_column.write_text("smiles\nCCO\n")
    assert sniff_delimiter(one_column) == "," and read_table(one_column).smiles.tolist() == ["CCO"]


def test_read_smi_and_sdf(tmp_path):
    smi = tmp_path / "m.smi"
    smi.write_text("\n".join(f"{s} drug{i}" for i, s in enumerate(DRUGS)) + "\nXYZ bad\n")
    result = read_molecules(smi)
    assert len(result.records) == 4 and result.records[0].fields["name"] == "drug0"
    assert result.errors[0].record == 5
    sdf = tmp_path / "m.sdf"
    writer = Chem.SDWriter(str(sdf))
    for s in DRUGS:
        writer.write(Chem.MolFromSmiles(s))
    writer.close()
    assert [r.smiles for r in read_molecules(sdf).records] == [r.smiles for r in result.records]


def test_batches_stream_a_real_library(enamine_pool):
    with gzip.open(enamine_pool, "rt") as handle:
        n_lines = sum(1 for _ in handle) - 1
    batches = list(iter_molecule_batches(enamine_pool, "smiles", batch_size=4000))
    assert len(batches) == 3
    assert sum(len(b.records) + len(b.errors) for b in batches) == n_lines


def test_fingerprints_match_rdkit_and_cache():
    f = Featurizer(FeaturizerConfig("morgan", radius=2, n_bits=1024))
    X = f.transform(DRUGS + ["garbage"])
    assert X.shape == (5, 1024) and f.last_invalid == [4] and X[4].sum() == 0
    from rdkit.Chem import rdFingerprintGenerator

    ref = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024).GetFingerprint(
        Chem.MolFromSmiles(DRUGS[3])
    )
    assert set(np.flatnonzero(X[3])) == set(ref.GetOnBits())
    assert f.featurize_one(DRUGS[0]) is f.featurize_one(DRUGS[0])  # served from cache
    counts = Featurizer(FeaturizerConfig("morgan_count", 2, 1024)).transform(DRUGS)
    assert (counts >= X[:4]).all() and counts.max() > 1


def test_descriptors():
    X = Featurizer(FeaturizerConfig("rdkit2d")).transform([ASPIRIN])
    from drugloop.chem.features import DESCRIPTOR_NAMES

    mw = X[0, DESCRIPTOR_NAMES.index("MolWt")]
    assert mw == pytest.approx(Descriptors.MolWt(Chem.MolFromSmiles(ASPIRIN)), rel=1e-4)


def test_qed_sa_and_alerts():
    aspirin = parse_smiles(ASPIRIN)
    assert qed(aspirin) == pytest.approx(QED.qed(aspirin))
    assert sa_score(aspirin) < 3  # a simple, easily made molecule (the scale starts at 1)
    taxol = parse_smiles(
        "CC1=C2C(C(=O)C3(C(CC4C(C3C(C(C2(C)C)(CC1OC(=O)C(C(C5=CC=CC=C5)NC(=O)C6=CC=CC=C6)O)O)"
        "OC(=O)C7=CC=CC=C7)(CO4)OC(=O)C)O)C)OC(=O)C"
    )
    assert sa_score(taxol) > sa_score(aspirin) + 2
    alerts = StructuralAlerts()
    quinone = alerts.match(parse_smiles("O=C1C=CC(=O)C=C1"))
    assert {a.catalog for a in quinone} >= {"PAINS"} and alerts.has_alert(
        parse_smiles("O=C1C=CC(=O)C=C1")
    )
    assert alerts.match(parse_smiles("CC(=O)Nc1ccc(O)cc1")) == [] or all(
        a.catalog != "PAINS" for a in alerts.match(parse_smiles("CC(=O)Nc1ccc(O)cc1"))
    )
    with pytest.raises(ValueError, match="unknown alert catalogs"):
        StructuralAlerts(("PAINS", "FOO"))


def test_depiction(tmp_path):
    svg = to_svg(parse_smiles(ASPIRIN), legend="aspirin")
    assert svg.startswith("<?xml") and svg.rstrip().endswith("</svg>")
    assert len(svg) > len(to_svg(parse_smiles(ASPIRIN)))  # the legend is drawn
    png = to_png(parse_smiles(ASPIRIN), tmp_path / "a.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in grid_svg([parse_smiles(s) for s in DRUGS], legends=["a", "b", "c", "d"])
