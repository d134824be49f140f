"""The shipped ADMET panel: offline predictions, one row per input, units for every column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drugloop.models.admet import ENDPOINTS, AdmetPanel, columns_frame

DRUGS = {
    "caffeine": "Cn1c(=O)c2c(ncn2C)n(C)c1=O",
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "terfenadine": "CC(C)(C)c1ccc(cc1)C(O)CCCN1CCC(CC1)C(O)(c1ccccc1)c1ccccc1",
    "metformin": "CN(C)C(=N)N=C(N)N",
}


@pytest.fixture(scope="module")
def panel():
    return AdmetPanel()


def test_panel_predicts_every_endpoint_and_keeps_bad_rows(panel):
    smiles = [DRUGS["caffeine"], "not a molecule", DRUGS["aspirin"]]
    out = panel.predict(smiles)
    assert out.smiles.tolist() == smiles and len(out) == 3
    assert len(panel.endpoints) == 22
    for e in ENDPOINTS:
        assert out[e.column].notna().tolist() == [True, False, True]
        assert (out[f"{e.column}_uncertainty"].dropna() >= 0).all()
        if e.task == "classification":
            assert out[e.column].dropna().between(0, 1).all()
    assert "invalid SMILES" in out.error[1]


def test_panel_orders_known_drugs_sensibly(panel):
    out = panel.predict(list(DRUGS.values())).set_index(pd.Index(list(DRUGS)))
    # terfenadine is a textbook hERG blocker; metformin and aspirin are not
    assert out.loc["terfenadine", "herg"] > out.loc["metformin", "herg"]
    assert out.loc["terfenadine", "herg"] > out.loc["aspirin", "herg"]
    # lipophilicity: terfenadine (log D ~ 5) far above metformin (very polar)
    assert out.loc["terfenadine", "logd74"] > out.loc["metformin", "logd74"] + 1
    assert np.isfinite(out.nearest_train_similarity).all()


def test_every_output_column_is_documented(panel):
    out = panel.predict([DRUGS["caffeine"]])
    documented = set(columns_frame().column)
    assert set(out.columns) == documented
    assert (columns_frame().meaning.str.len() > 5).all()


def test_admet_cli(tmp_path):
    from drugloop.cli.main import app

    pd.DataFrame({"mol": [DRUGS["caffeine"], "C1CC", DRUGS["aspirin"]]}).to_csv(
        tmp_path / "in.csv", index=False
    )
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "admet",
            "predict",
            str(tmp_path / "in.csv"),
            "--smiles-col",
            "mol",
            "--out",
            str(tmp_path / "out.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert len(out) == 3 and out.herg.isna().tolist() == [False, True, False]
    res = runner.invoke(
        app,
        [
            "admet",
            "predict",
            str(tmp_path / "in.csv"),
            "--smiles-col",
            "nope",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 2 and "'nope'" in res.output and "columns are: mol" in res.output
    res = runner.invoke(app, ["admet", "columns"])
    assert res.exit_code == 0 and "log10(mol/L)" in res.output


REFERENCE = Path(__file__).parent / "data" / "admet_panel_reference.csv"


@pytest.mark.parametrize(("n_jobs", "chunk_size"), [(1, 250), (2, 8)])
def test_panel_reproduces_reference_predictions(n_jobs, chunk_size):
    """The fast path (packed training fingerprints, worker processes, sparse LightGBM input)
    reproduces what the original one-process panel predicted for 44 molecules, invalid ones
    included; the TDC benchmark figures describe exactly these predictions."""
    text = pd.read_csv(REFERENCE, usecols=["smiles", "error"], keep_default_na=False)
    expected = pd.read_csv(REFERENCE)
    out = AdmetPanel(n_jobs=n_jobs, chunk_size=chunk_size).predict(text.smiles.tolist())
    assert list(out.columns) == list(expected.columns)
    assert out.error.tolist() == text.error.tolist()
    assert out.in_domain.astype("float").equals(expected.in_domain.astype("float"))
    numeric = [c for c in expected.columns if c not in ("smiles", "error", "in_domain")]
    np.testing.assert_allclose(
        out[numeric].to_numpy(float), expected[numeric].to_numpy(float), rtol=1e-9, atol=1e-12
    )


def test_shipped_training_fingerprints_match_the_smiles(panel):
    from drugloop.models.admet import _read_smiles, _sha256, pack_fingerprints, panel_dir

    with np.load(panel_dir() / "train_fps.npz") as packed:
        assert str(packed["smiles_sha256"]) == _sha256(panel_dir() / "train_smiles.smi.gz")
        indptr, bits = packed["indptr"], packed["bits"]
    smiles = _read_smiles(panel_dir() / "train_smiles.smi.gz")
    assert len(indptr) == len(smiles) + 1
    head_ptr, head_bits = pack_fingerprints(smiles[:300])
    assert np.array_equal(head_ptr, indptr[:301])
    assert np.array_equal(head_bits, bits[: indptr[300]])
