"""gbm family: regression, classification, censored regression, calibration, CLI contracts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from drugloop.models import Model, create_model
from drugloop.models.workflow import parse_target

FAST = {"n_folds": 3, "max_rounds": 120, "n_jobs": 1}


def _train_command(data, target: str, out) -> list[str]:
    """`drugloop model train` exactly as the issue's CLI contract spells it."""
    return ["model", "train", str(data), "--smiles-col", "smiles", "--target-col", target,
            "--out", str(out)]  # fmt: skip


@pytest.fixture(scope="module")
def pim1(bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    df = df.rename(columns={"y [pEC50/pKi]": "pki"})
    return df[df.split == "train"].head(300), df[df.split == "test"].head(120)


@pytest.fixture(scope="module")
def regressor(pim1):
    train, _ = pim1
    return create_model("gbm", **FAST).fit(train.smiles.tolist(), train.pki.to_numpy())


def test_gbm_regression_learns_and_intervals_cover(regressor, pim1):
    _, test = pim1
    pred = regressor.predict(test.smiles.tolist())
    y = test.pki.to_numpy()
    rmse = float(np.sqrt(np.mean((pred.mean - y) ** 2)))
    assert rmse < 0.75 * y.std()
    lo, hi = regressor.interval(test.smiles.tolist())
    coverage = np.mean((y >= lo) & (y <= hi))
    assert 0.75 <= coverage <= 1.0  # 90% target; 120 test molecules leave sampling slack
    assert np.allclose(hi - lo, 2 * 1.6449 * pred.std, rtol=1e-3)
    assert regressor.fitted_task == "regression" and pred.in_domain.dtype == bool


def test_gbm_classification_gives_calibrated_probabilities(pim1, tmp_path):
    from sklearn.metrics import roc_auc_score

    train, test = pim1
    y_train = (train.pki > 7).astype(int).to_numpy()
    model = create_model("gbm", **FAST).fit(train.smiles.tolist(), y_train)
    assert model.fitted_task == "classification"  # auto-detected from 0/1 targets
    p = model.predict(test.smiles.tolist()).mean
    y = (test.pki > 7).astype(int).to_numpy()
    assert ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(y, p) > 0.75
    assert abs(p.mean() - y.mean()) < 0.15  # probabilities on the right scale
    from drugloop.models.workflow import evaluate_table  # a classifier is scored on labels only

    test[["smiles", "pki"]].to_csv(tmp_path / "pki.csv", index=False)
    with pytest.raises(ValueError, match=r"classifier, but column 'pki' holds values other"):
        evaluate_table(model, tmp_path / "pki.csv", "smiles", "pki")


def test_censored_values_inform_training(pim1):
    """Potent compounds reported only as '> 7' must be predicted above the bound, not at it."""
    train, _ = pim1
    train = train.head(200)
    y = train.pki.to_numpy().copy()
    potent = y > 7.5
    y_cens = np.where(potent, 7.0, y)
    censor = np.where(potent, 1, 0)
    smiles = train.smiles.tolist()
    with_bounds = create_model("gbm", **FAST).fit(smiles, y_cens, censor=censor)
    as_exact = create_model("gbm", **FAST).fit(smiles, y_cens)
    assert with_bounds.oof[potent].mean() > as_exact.oof[potent].mean()
    # trained targets of censored rows never violate their bound
    potent_smiles = [smiles[i] for i in np.flatnonzero(potent)]
    assert (with_bounds.predict(potent_smiles).mean > 6.5).mean() > 0.8


@given(st.floats(allow_nan=False, allow_infinity=False, width=32), st.sampled_from(["", "<", ">"]))
def test_parse_target_round_trips(value, op):
    parsed, censor = parse_target(f"{op}{value!r}")
    assert parsed == pytest.approx(value)
    assert censor == {"": 0, "<": -1, ">": 1}[op]


def test_parse_target_rejects_words():
    with pytest.raises(ValueError):
        parse_target("about ten")


def test_outcome_words_train_a_classifier_but_not_a_potency_column(tmp_path, pim1):
    """Active/Inactive columns become 1/0; in a pKi column "inactive" is a named bad row."""
    from drugloop.models.workflow import read_training_table

    train, test = pim1
    words = np.where(train.pki > train.pki.median(), "Active", "inactive").astype(object)
    words[5] = "n.d."  # not measured: skipped as an empty target
    frame = pd.DataFrame({"smiles": train.smiles, "outcome": words})
    frame.to_csv(tmp_path / "words.csv", index=False)
    table = read_training_table(tmp_path / "words.csv", "smiles", "outcome")
    expected = (train.pki > train.pki.median()).astype(float).to_numpy()
    assert np.array_equal(table.y, np.delete(expected, 5))
    assert table.skipped == ["line 7: empty target"]

    potency = train[["smiles", "pki"]].astype(str).head(40)
    potency.loc[potency.index[2], "pki"] = "inactive"
    potency.to_csv(tmp_path / "potency.csv", index=False)
    table = read_training_table(tmp_path / "potency.csv", "smiles", "pki")
    assert (
        len(table.y) == 39
        and "line 4: target value 'inactive' is not a number" in (table.skipped[0])
    )
    # the same table as a decimal-comma spreadsheet export (';' fields, '7,25', '>8,5')
    potency.loc[potency.index[0], "pki"] = ">8.5"
    potency.to_csv(tmp_path / "p.csv", index=False)
    comma = read_training_table(tmp_path / "p.csv", "smiles", "pki")
    semi = potency.apply(lambda col: col.str.replace(".", ",", regex=False))
    semi["smiles"] = potency.smiles
    semi.to_csv(tmp_path / "p_semi.csv", sep=";", index=False)
    table = read_training_table(tmp_path / "p_semi.csv", "smiles", "pki")
    assert np.array_equal(table.y, comma.y) and np.array_equal(table.censor, comma.censor)
    assert table.censor[0] == 1 and table.skipped == comma.skipped

    runner = CliRunner()
    from drugloop.cli.main import app

    res = runner.invoke(
        app,
        _train_command(tmp_path / "words.csv", "outcome", tmp_path / "m"),
    )
    assert res.exit_code == 0, res.output
    labels = np.where(test.pki > train.pki.median(), "active", "inactive")
    pd.DataFrame({"smiles": test.smiles, "outcome": labels}).to_csv(tmp_path / "t.csv", index=False)
    res = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            str(tmp_path / "m"),
            str(tmp_path / "t.csv"),
            "--smiles-col",
            "smiles",
            "--target-col",
            "outcome",
            "--out",
            str(tmp_path / "metrics.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["auroc"] > 0.75
    # threshold metrics at P = 0.5, as sklearn defines them on the written predictions
    from sklearn.metrics import matthews_corrcoef

    from drugloop.models.workflow import predict_table

    p = predict_table(Model.load(tmp_path / "m"), tmp_path / "t.csv", "smiles").prediction
    y = (labels == "active").astype(int)
    assert metrics["mcc"] == pytest.approx(matthews_corrcoef(y, p >= 0.5)) and metrics["mcc"] > 0.3
    assert 0.6 < metrics["balanced_accuracy"] <= 1 and 0 < metrics["f1"] <= 1


def test_no_usable_rows_says_why(tmp_path):
    from drugloop.models.workflow import read_training_table

    pd.DataFrame({"smiles": ["CCO", "c1ccccc1"], "y": ["10 uM", "7,5"]}).to_csv(
        tmp_path / "bad.csv", index=False
    )
    with pytest.raises(ValueError, match=r"line 2: .*'10 uM'.*line 3: .*decimal separator"):
        read_training_table(tmp_path / "bad.csv", "smiles", "y")


@pytest.mark.parametrize("cells", [["1"] * 20, [">10"] * 20, ["active"] * 20])
def test_a_target_with_one_value_is_refused_by_name(tmp_path, pim1, cells):
    """All-active screens or all-">10 µM" series give nothing to learn; say so, fit nothing."""
    from drugloop.models.workflow import train_from_table, train_multitask_from_table

    data = pd.DataFrame({"smiles": pim1[0].smiles.head(20), "y": cells, "z": range(20)})
    data.to_csv(tmp_path / "one.csv", index=False)
    with pytest.raises(ValueError, match=r"one\.csv: column 'y' has one value"):
        train_from_table(tmp_path / "one.csv", "smiles", "y")
    with pytest.raises(ValueError, match=r"column 'y' has one value"):  # checked per endpoint
        train_multitask_from_table(tmp_path / "one.csv", "smiles", ["z", "y"])


def test_cli_train_predict_evaluate_keep_rows(tmp_path, pim1):
    from drugloop.cli.main import app

    train, test = pim1
    data = train.head(150)[["smiles", "pki"]].astype(str)
    data.loc[data.index[0], "pki"] = ">8"
    data.loc[data.index[1], "smiles"] = "C1CC"  # unparseable: skipped with its line named
    data.to_csv(tmp_path / "train.csv", index=False)
    inp = pd.concat(
        [test.head(3), pd.DataFrame({"smiles": ["not_a_smiles"], "pki": [6.0]}), test.iloc[3:8]]
    )
    inp.to_csv(tmp_path / "test.csv", index=False)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            *_train_command(tmp_path / "train.csv", "pki", tmp_path / "m"),
            "--project",
            str(tmp_path / "p.db"),
        ],
    )
    assert res.exit_code == 0, res.output
    from drugloop.data.store import ProjectStore

    with ProjectStore(str(tmp_path / "p.db")) as store:
        registered = store.predictions_frame()
    assert len(registered) == 149 and registered.model_name.str.startswith("model:").all()
    assert "1 censored" in res.output and "line 3" in res.output
    rejects = pd.read_csv(tmp_path / "m" / "rejects.csv")  # every skipped row, with its cells
    assert rejects[["record", "reason"]].values.tolist() == [[3, "invalid SMILES 'C1CC'"]]
    assert rejects.input[0].startswith("C1CC | ")
    res = runner.invoke(
        app,
        [
            "model",
            "predict",
            str(tmp_path / "m"),
            str(tmp_path / "test.csv"),
            "--smiles-col",
            "smiles",
            "--out",
            str(tmp_path / "out.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns[:4]) == ["smiles", "prediction", "uncertainty", "in_domain"]
    assert out.smiles.tolist() == inp.smiles.tolist()  # no shifted or dropped rows
    assert np.isnan(out.prediction[3]) and "invalid SMILES" in out.error[3]
    assert out.prediction.drop(index=3).notna().all()
    valid = out.drop(index=3)  # the conformal interval brackets each prediction
    assert ((valid.lower_90 < valid.prediction) & (valid.prediction < valid.upper_90)).all()
    assert np.isnan(out.lower_90[3]) and np.isnan(out.upper_90[3])
    res = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            str(tmp_path / "m"),
            str(tmp_path / "test.csv"),
            "--smiles-col",
            "smiles",
            "--target-col",
            "pki",
            "--out",
            str(tmp_path / "metrics.json"),
        ],
    )
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["n"] == 8 and metrics["skipped_rows"] == 1 and "rmse" in metrics
    report = pd.read_csv(metrics["rejects_report"])
    assert report.record.tolist() == [5] and report.input[0] == "not_a_smiles | 6.0"
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert len(card["training_data_sha256"]) == 64 and "cv_rmse" in card["metrics"]
    assert card["versions"]["lightgbm"]


def test_corrupted_and_incompatible_models_give_clear_errors(tmp_path, regressor):
    regressor.save(tmp_path / "m")
    assert isinstance(Model.load(tmp_path / "m"), Model)
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    card["versions"]["lightgbm"] = "1.0.0"
    (tmp_path / "m" / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(ValueError, match="lightgbm 1.0.0"):
        Model.load(tmp_path / "m")
    regressor.save(tmp_path / "c")
    (tmp_path / "c" / "model.joblib").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="corrupted or incompatible"):
        Model.load(tmp_path / "c")


@given(
    st.lists(
        st.sampled_from(["Active", "inactive", "TRUE", "false", "yes", "No", "", "NA", "n.d."]),
        min_size=1,
        max_size=30,
    )
)
def test_outcome_word_columns_map_to_labels_and_missing(cells):
    """Any mix of outcome words becomes 1/0 with missing markers kept empty, row for row."""
    from drugloop.models.workflow import _label_column

    mapped = _label_column(cells)
    assert len(mapped) == len(cells)
    if all(c.strip().lower() in ("", "na", "n.d.") for c in cells):
        assert mapped == cells  # nothing measured: left for the row parser to report
        return
    for cell, out in zip(cells, mapped, strict=True):
        low = cell.strip().lower()
        expected = "1" if low in ("active", "true", "yes") else "0" if low else ""
        assert out == ("" if low in ("", "na", "n.d.") else expected)


@given(
    st.lists(
        st.floats(allow_nan=False, allow_infinity=False, width=32).filter(
            lambda v: v not in (0.0, 1.0)  # a column of only 0/1 and words is a label column
        ),
        min_size=1,
    )
)
def test_numeric_columns_pass_through_unchanged(values):
    from drugloop.models.workflow import _label_column

    cells = [repr(v) for v in values] + ["inactive"]  # a word in a numeric column stays a word
    assert _label_column(cells) == cells


def test_parallel_featurization_matches_serial_row_for_row(bundled_data, monkeypatch):
    """Forked workers give the same matrix, validity and order as one process, bad rows kept."""
    from drugloop.models import features

    smiles = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").smiles.tolist()
    smiles = smiles[:300] + ["not a molecule", ""] + smiles[300:398]
    monkeypatch.setattr(features, "PARALLEL_MIN", 50)  # fork even for this small input
    feature_set = features.FeatureSet()
    X1, valid1 = feature_set.transform(smiles, n_jobs=1)
    X2, valid2 = feature_set.transform(smiles, n_jobs=2)
    assert valid1.tolist() == valid2.tolist() and valid1.sum() == len(smiles) - 2
    assert np.array_equal(X1, X2, equal_nan=True)
    assert np.isnan(X2[300]).all() and not np.isnan(X2[302]).all()


def test_lean_descriptors_are_fast2d_without_the_topological_indices(bundled_data):
    """``fast2d_lean`` gives the same values as ``fast2d`` for every column it keeps."""
    from drugloop.models import features

    smiles = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").smiles[:40]
    full = features.block_matrix("fast2d", smiles.tolist())
    lean = features.block_matrix("fast2d_lean", smiles.tolist())
    kept = [features.FAST2D_NAMES.index(n) for n in features.FAST2D_LEAN_NAMES]
    dropped = set(features.FAST2D_NAMES) - set(features.FAST2D_LEAN_NAMES)
    assert {"chi0v", "chi4n", "kappa3", "Phi"} <= dropped and "tpsa" not in dropped
    assert np.array_equal(full[:, kept], lean, equal_nan=True)
    assert features.FeatureSet.named("lean").n_features == (
        features.FeatureSet().n_features - len(dropped)
    )


def test_avalon_counts_do_not_depend_on_the_2d_layout(bundled_data):
    """The flat-conformer shortcut gives RDKit's own Avalon counts, stereocentres included."""
    from rdkit import Chem
    from rdkit.Avalon import pyAvalonTools

    from drugloop.models import features

    smiles = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").smiles[:60].tolist()
    smiles += ["C[C@H](N)C(=O)O", "C/C=C/C(=O)O", "F[C@@H](Cl)Br", "[2H]C([2H])([2H])O"]
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    assert any(Chem.FindMolChiralCenters(m) for m in mols)
    for mol in mols:
        counts = pyAvalonTools.GetAvalonCountFP(mol, nBits=1024).GetNonzeroElements()
        expected = np.zeros(1024, dtype=np.float32)
        expected[list(counts)] = list(counts.values())
        assert np.array_equal(features._avalon_counts(mol), expected)
        assert mol.GetNumConformers() == 0  # the caller's molecule is left as it was


def test_shared_crippen_typing_gives_rdkits_own_descriptor_values(bundled_data):
    """logP, MR and the SlogP/SMR VSA bins from one Crippen typing equal RDKit's functions."""
    from rdkit import Chem
    from rdkit.Chem import rdMolDescriptors as rd

    from drugloop.models import features

    smiles = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").smiles[:80].tolist()
    smiles += ["[Na+].CC(=O)[O-]", "[2H]C([2H])([2H])O", "C[N+](C)(C)CCO", "O=S(=O)(O)O", "[Cl-]"]
    for smi in smiles:
        mol = Chem.MolFromSmiles(smi)
        for block, properties in (
            ("fast2d", features._PROPERTIES),
            ("fast2d_lean", features._PROPERTIES_LEAN),
        ):
            expected = features._finite_row(
                [
                    *properties.ComputeProperties(mol),
                    *rd.MQNs_(mol),
                    *rd.PEOE_VSA_(mol),
                    *rd.SMR_VSA_(mol),
                    *rd.SlogP_VSA_(mol),
                    Chem.GetFormalCharge(mol),
                    rd.CalcFractionCSP3(mol),
                ]
            )
            got = features.BLOCKS[block][1](Chem.Mol(mol))
            assert np.array_equal(got, expected, equal_nan=True), (smi, block)


def test_one_morgan_pass_gives_the_block_and_the_neighbour_bits(bundled_data):
    """The folded 1,024 counts are the ``morgan`` block; the on-bits are the 2,048-bit FP's."""
    from rdkit import Chem

    from drugloop.models import features
    from drugloop.models.admet import _fp_generator

    smiles = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").smiles[:80].tolist()
    for smi in [*smiles, "[Na+].CC(=O)[O-]", "C"]:
        mol = Chem.MolFromSmiles(smi)
        block, bits = features.morgan_block_and_bits(mol)
        assert np.array_equal(block, features.BLOCKS["morgan"][1](mol))
        assert np.array_equal(bits, np.flatnonzero(_fp_generator().GetFingerprintAsNumPy(mol)))


def test_column_names_match_ignoring_case_and_spaces_unless_ambiguous(tmp_path, pim1):
    from drugloop.models.workflow import read_training_table

    train, _ = pim1
    frame = train[["smiles", "pki"]].head(20).rename(columns={"smiles": " SMILES ", "pki": "pKi"})
    frame.to_csv(tmp_path / "a.csv", index=False)
    table = read_training_table(tmp_path / "a.csv", "smiles", "pki")
    assert table.smiles == train.smiles.head(20).tolist()
    frame["Smiles"] = frame[" SMILES "]  # two candidates: refuse rather than pick one
    frame.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValueError, match=r"no SMILES column 'smiles'; columns are:  SMILES , pKi"):
        read_training_table(tmp_path / "b.csv", "smiles", "pki")


@pytest.mark.parametrize("booster", ["catboost", "both"])
def test_catboost_and_paired_boosters_learn_and_round_trip(booster, pim1, tmp_path):
    train, test = pim1
    model = create_model("gbm", booster=booster, **FAST)
    model.fit(train.smiles.tolist(), train.pki.to_numpy())
    pred = model.predict(test.smiles.tolist())
    y = test.pki.to_numpy()
    assert float(np.sqrt(np.mean((pred.mean - y) ** 2))) < 0.8 * y.std()
    if booster == "both":  # each member is a (LightGBM, CatBoost) pair, outputs averaged
        assert all(isinstance(m, tuple) and len(m) == 2 for m in model.members)
    # members share one CatBoost Pool; each converting the array itself gives the same outputs
    X, _ = model.feature_set.transform(test.smiles.tolist())
    unshared = np.stack([model._raw_member(m, X) for m in model.members])
    assert np.allclose(model.member_predictions(X), unshared, atol=1e-9)
    model.save(tmp_path / "m")
    loaded = Model.load(tmp_path / "m")
    assert loaded.params()["booster"] == booster
    assert np.allclose(loaded.predict(test.smiles.tolist()).mean, pred.mean)


def test_unknown_booster_is_refused():
    with pytest.raises(ValueError, match="booster"):
        create_model("gbm", booster="xgboost")


def test_cli_booster_and_features_options_are_recorded_and_refused_for_other_models(tmp_path, pim1):
    from drugloop.cli.main import app

    train, _ = pim1
    train.head(120)[["smiles", "pki"]].to_csv(tmp_path / "train.csv", index=False)
    base = _train_command(tmp_path / "train.csv", "pki", tmp_path / "m")
    res = CliRunner().invoke(app, [*base, "--booster", "catboost"])
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert card["params"]["booster"] == "catboost" and card["versions"]["catboost"]
    res = CliRunner().invoke(app, [*base, "--model", "rf", "--booster", "both"])
    assert res.exit_code != 0 and "--booster applies to the gbm model" in res.output
    res = CliRunner().invoke(app, [*base, "--features", "lean"])
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert "fast2d_lean" in card["params"]["features"]
    res = CliRunner().invoke(app, [*base, "--features", "ecfp9"])
    assert res.exit_code != 0 and "unknown feature set 'ecfp9'" in res.output
    res = CliRunner().invoke(app, [*base, "--model", "rf", "--features", "lean"])
    assert res.exit_code != 0 and "--features applies to the gbm model" in res.output
    res = CliRunner().invoke(app, [*base, "--no-kernel-blend"])
    assert res.exit_code == 0 and "Tanimoto-kernel SVR" not in res.output, res.output
    card = json.loads((tmp_path / "m" / "model_card.json").read_text())
    assert card["params"]["kernel_blend"] == "off"
    res = CliRunner().invoke(app, [*base, "--model", "rf", "--kernel-blend"])
    assert res.exit_code != 0 and "--kernel-blend applies to the gbm model" in res.output


def test_potencies_in_nm_are_modelled_on_the_pki_scale(pim1, regressor, tmp_path):
    """IC50/Ki in nM span decades: trained on nM, the model must rank and predict like pKi.

    Under ``log1p(y / median)`` 1 vs 10 nM would differ by less than 10 vs 100 µM; on the plain
    log scale they differ equally, so predictions mapped to pKi match the pKi model's.
    """
    from drugloop.models.cv_ensemble import log_scale_for

    train, test = pim1
    nm = train["exp_mean [nM]"].to_numpy()
    scale = log_scale_for(nm)
    assert scale < np.percentile(nm, 1)  # the plain logarithm for a concentration column
    clearance = np.array([3.0, 5, 8, 12, 20, 30, 45, 70, 100, 150])
    assert log_scale_for(clearance) == pytest.approx(np.median(clearance))  # < 3 decades
    model = create_model("gbm", **FAST).fit(train.smiles.tolist(), nm)
    assert model.log_scale == pytest.approx(scale)
    as_pki = 9.0 - np.log10(model.predict(test.smiles.tolist()).mean)
    reference = regressor.predict(test.smiles.tolist()).mean
    assert np.mean(np.abs(as_pki - reference)) < 0.15
    assert np.corrcoef(as_pki, reference)[0, 1] > 0.95
    # evaluate's coverage is that of the model's own (asymmetric, log-scale) interval
    from drugloop.models.workflow import evaluate_table

    pred = model.predict(test.smiles.tolist())
    lo, hi = model.interval(test.smiles.tolist())
    around = model.interval_around(pred.mean, pred.similarity)
    assert np.allclose(around, (lo, hi), rtol=1e-6)
    assert (hi - pred.mean > pred.mean - lo).all()  # wider above: a log scale
    test[["smiles", "exp_mean [nM]"]].to_csv(tmp_path / "test_nm.csv", index=False)
    metrics = evaluate_table(model, tmp_path / "test_nm.csv", "smiles", "exp_mean [nM]")
    y = test["exp_mean [nM]"].to_numpy()
    assert metrics["coverage_90"] == pytest.approx(np.mean((y >= lo) & (y <= hi)))
    from drugloop.models.workflow import predict_table  # and `model predict` writes that interval

    table = predict_table(model, tmp_path / "test_nm.csv", "smiles")
    assert np.allclose(table[["lower_90", "upper_90"]].to_numpy().T, (lo, hi), rtol=1e-6)


@pytest.mark.parametrize("family", ["gbm", "chemprop", "multitask"])
def test_unknown_log_transform_is_refused(family):
    from drugloop.models.multitask import MultiTaskChempropModel

    def make(**kw):
        return MultiTaskChempropModel(**kw) if family == "multitask" else create_model(family, **kw)

    with pytest.raises(ValueError, match="log_transform"):
        make(log_transform="log10")
    assert make(log_transform="never").log_transform == "never"


def test_regression_blends_a_tanimoto_svr_where_its_out_of_fold_rows_say_so(regressor, pim1):
    """On activity data the SVR earns a weight; predictions are exactly the blend of the trees
    and the SVR's sum over Tanimoto similarities, and the OOF error drops against the trees."""
    from drugloop.chem.features import bit_vectors, tanimoto_matrix

    train, test = pim1
    kernel = regressor.kernel
    assert kernel is not None and kernel.weight > 0
    assert regressor.params()["kernel_blend"] == {"weight": kernel.weight, "C": kernel.C}
    trees = create_model("gbm", kernel_blend=False, **FAST).fit(
        train.smiles.tolist(), train.pki.to_numpy()
    )
    assert trees.kernel is None and trees.params()["kernel_blend"] == "off"
    smiles = test.smiles.tolist()
    X, _ = trees.feature_set.transform(smiles)
    tree_mean = trees.member_predictions(X).mean(axis=0)
    K = tanimoto_matrix(bit_vectors(smiles), bit_vectors(train.smiles.tolist()))
    expected = (1 - kernel.weight) * tree_mean + kernel.weight * (
        K @ kernel.coef + kernel.intercept
    )
    pred = regressor.predict(smiles)
    assert np.allclose(pred.mean, expected, atol=1e-9)
    assert np.array_equal(pred.similarity, K.max(axis=1))  # the domain column, same pass
    # the OOF rows behind the card's metrics and the conformal intervals are nested: each
    # fold blended with the weight chosen on the other folds, so the choice cannot flatter them
    from drugloop.models.cv_ensemble import assign_folds, scaffold_groups
    from drugloop.models.kernel import nested_blend_oof, svm_fits

    folds = assign_folds(scaffold_groups(train.smiles.tolist()), 3, 0)
    train_fps = bit_vectors(train.smiles.tolist())
    fits = svm_fits(tanimoto_matrix(train_fps, train_fps), train.pki.to_numpy(), folds)
    nested = nested_blend_oof(trees.oof, fits, train.pki.to_numpy(), folds)
    assert np.allclose(regressor.oof, nested)
    assert not np.allclose(regressor.oof, trees.oof)
    with pytest.raises(ValueError, match="predict from SMILES"):
        regressor.predict_features(X, np.ones(len(smiles)))


def test_classifiers_and_large_sets_keep_the_trees_alone(pim1, monkeypatch):
    import drugloop.models.gbm as gbm

    train, _ = pim1
    y = train.pki.to_numpy()
    clf = create_model("gbm", task="classification", **FAST).fit(train.smiles.tolist(), y > 7)
    assert clf.kernel is None
    monkeypatch.setattr(gbm, "MAX_KERNEL_TRAIN", len(y) - 1)
    assert create_model("gbm", **FAST).fit(train.smiles.tolist(), y).kernel is None


def test_fold_svm_is_the_mean_of_its_fold_models(pim1):
    """The shipped linear function equals averaging the per-fold sklearn SVRs' predictions."""
    from sklearn.svm import SVR

    from drugloop.chem.features import bit_vectors
    from drugloop.models.kernel import fold_svm, tanimoto_kernel

    train, test = pim1
    fps = bit_vectors(train.smiles.tolist())
    K = tanimoto_kernel(fps, fps)
    K_test = tanimoto_kernel(bit_vectors(test.smiles.tolist()) + [None], fps)
    y = train.pki.to_numpy()
    folds = np.arange(len(y)) % 3
    oof, coef, intercept = fold_svm(K, y, folds, "regression", 10.0)
    mean = np.zeros(len(K_test))
    for k in range(3):
        rows = folds != k
        mu, sd = y[rows].mean(), y[rows].std()
        svr = SVR(C=10.0, kernel="precomputed").fit(K[np.ix_(rows, rows)], (y[rows] - mu) / sd)
        mean += (svr.predict(K_test[:, rows]) * sd + mu) / 3
        held = folds == k
        assert np.allclose(oof[held], svr.predict(K[np.ix_(held, rows)]) * sd + mu)
    assert np.allclose(K_test @ coef + intercept, mean)
    assert not K_test[-1].any()  # an unparseable molecule is similar to nothing
