"""Multi-task D-MPNN on real overlapping assays: kappa (CHEMBL237) and delta (CHEMBL236) opioid
receptor Ki from MoleculeACE, where most compounds were measured on both. Few epochs on CPU:
the masking, per-endpoint calibration and domain are the point, not accuracy."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from drugloop.models.multitask import MultiTaskChempropModel

FAST = {"n_members": 3, "epochs": 4, "hidden": 64, "batch_size": 32}
Y_COL = "y [pEC50/pKi]"


@pytest.fixture(scope="module")
def opioid(shared_data):
    """Kappa and delta pKi on the union of compounds (NaN where an assay did not measure)."""
    root = shared_data / "moleculeace"
    frames = {}
    for name, chembl in (("kappa", "CHEMBL237_Ki"), ("delta", "CHEMBL236_Ki")):
        df = pd.read_csv(root / f"{chembl}.csv.gz")
        frames[name] = df.set_index("smiles")[Y_COL]
    table = pd.DataFrame(frames)  # outer join on SMILES
    both = table.dropna()
    only_kappa = table[table["delta"].isna()]
    rng = np.random.default_rng(0)
    train = pd.concat([both.iloc[:160], only_kappa.iloc[:80]])
    test = both.iloc[160:260]
    return train.iloc[rng.permutation(len(train))], test


@pytest.fixture(scope="module")
def fitted(opioid):
    train, _ = opioid
    return MultiTaskChempropModel(**FAST).fit(train.index.tolist(), train[["kappa", "delta"]])


def test_multitask_masks_missing_labels_and_calibrates_each_endpoint(fitted, opioid, tmp_path):
    train, test = opioid
    assert fitted.tasks == ["kappa", "delta"] and fitted.fitted_task == "regression"
    # every molecule gets an out-of-fold prediction for every endpoint, labelled or not
    assert fitted.oof.shape == (len(train), 2) and np.isfinite(fitted.oof).all()
    assert len(fitted.conformal_qs) == 2 and all(q > 0 for q in fitted.conformal_qs)
    smiles = [*test.index, "not_a_smiles"]
    preds = fitted.predict(smiles)
    for name in ("kappa", "delta"):
        p = preds[name]
        assert np.isfinite(p.mean[:-1]).all() and np.isnan(p.mean[-1]) and np.isnan(p.std[-1])
        assert (p.std[:-1] > 0).all() and not p.in_domain[-1]
        err = np.abs(p.mean[:-1] - test[name].to_numpy())
        assert np.mean(err <= 1.6449 * p.std[:-1]) >= 0.7  # 90% intervals; small-sample slack
    # the domain is per endpoint: delta was labelled on fewer compounds, so it is never closer
    assert (preds["delta"].similarity <= preds["kappa"].similarity + 1e-12).all()
    frame = fitted.predict_frame(smiles)
    assert list(frame.columns) == [
        "smiles",
        "kappa",
        "kappa_uncertainty",
        "kappa_in_domain",
        "kappa_lower_90",
        "kappa_upper_90",
        "delta",
        "delta_uncertainty",
        "delta_in_domain",
        "delta_lower_90",
        "delta_upper_90",
    ]
    assert np.isnan(frame.kappa_lower_90.iloc[-1])  # the unparseable row has no interval
    fitted.save(tmp_path / "mt")
    again = MultiTaskChempropModel.load(tmp_path / "mt").predict(list(test.index))
    assert np.allclose(again["delta"].mean, preds["delta"].mean[:-1], atol=1e-5)


def test_multitask_predictions_track_each_endpoint_separately(fitted, opioid):
    """The two heads are not one number twice: each ranks its own assay better than the
    other head does, on compounds with both measurements."""
    _, test = opioid
    preds = fitted.predict(list(test.index))
    kappa_gap = test["kappa"] - test["delta"]
    predicted_gap = preds["kappa"].mean - preds["delta"].mean
    assert np.corrcoef(kappa_gap, predicted_gap)[0, 1] > 0


def test_multitask_classification_gets_platt_per_endpoint(opioid):
    train, _ = opioid
    Y = (train[["kappa", "delta"]] > 8).astype(float).where(train[["kappa", "delta"]].notna())
    model = MultiTaskChempropModel(**{**FAST, "n_members": 2}).fit(train.index.tolist(), Y)
    assert model.fitted_task == "classification" and len(model.platts) == 2
    p = model.predict(list(train.index[:20]))["delta"].mean
    assert ((p > 0) & (p < 1)).all()


def test_multitask_rejects_bad_tables_with_clear_errors(opioid):
    train, _ = opioid
    smiles = train.index.tolist()
    Y = train[["kappa", "delta"]].to_numpy()
    model = MultiTaskChempropModel(**FAST)
    mixed = np.column_stack([Y[:, 0], (Y[:, 0] > 8).astype(float)])
    with pytest.raises(ValueError, match="mix regression and classification"):
        model.fit(smiles, mixed, tasks=["kappa", "kappa_active"])
    sparse = Y.copy()
    sparse[:, 1] = np.nan
    sparse[:3, 1] = 7.0
    with pytest.raises(ValueError, match="'delta' has 3 labels"):
        model.fit(smiles, sparse, tasks=["kappa", "delta"])
    empty = Y.copy()
    empty[7] = np.nan
    with pytest.raises(ValueError, match="molecule 8 .* has no label"):
        model.fit(smiles, empty, tasks=["kappa", "delta"])
    with pytest.raises(ValueError, match="molecule 2 is not a valid SMILES"):
        model.fit([smiles[0], "C1CC", *smiles[2:]], Y, tasks=["kappa", "delta"])


def test_cli_trains_predicts_and_evaluates_a_multitask_model(opioid, tmp_path):
    """Several --target-col give one multi-task model; empty cells are "not measured", '>x'
    cells are bounds, and bad rows are skipped by line, never shifted."""
    from typer.testing import CliRunner

    from drugloop.cli.main import app

    train, test = opioid
    table = train.head(60).reset_index().rename(columns={"index": "smiles"})
    table = table.astype({"kappa": object, "delta": object})
    table.loc[table["delta"].isna(), "delta"] = ""
    table.loc[0, "kappa"] = ">9"
    table.loc[1, "smiles"] = "C1CC"  # unclosed ring
    table.loc[2, "delta"] = "7,2"  # comma decimal: refused, not guessed
    table.loc[5, "delta"] = "n.d."  # not measured, as an empty cell
    table.to_csv(tmp_path / "train.csv", index=False)
    runner = CliRunner()

    def run(*args, code=0):
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, result.output
        return result

    model_dir = str(tmp_path / "mt")
    db = str(tmp_path / "p.db")
    trained = run("model", "train", str(tmp_path / "train.csv"), "--target-col", "kappa",
                  "--target-col", "delta", "--out", model_dir, "--project", db)  # fmt: skip
    assert "2 rows skipped" in trained.output and "line 3: invalid SMILES" in trained.output
    assert "line 4: target value '7,2' has a comma" in trained.output
    from drugloop.data.store import ProjectStore

    with ProjectStore(db) as store:  # one registry entry per endpoint, OOF for every compound
        registered = store.predictions_frame()
    assert registered.groupby("model_name").size().tolist() == [58, 58]
    card = json.loads((tmp_path / "mt" / "model_card.json").read_text())
    assert len(card["training_data_sha256"]) == 64 and card["params"]["tasks"] == ["kappa", "delta"]
    run("model", "train", str(tmp_path / "train.csv"), "--target-col", "kappa", "--target-col",
        "delta", "--model", "gbm", "--out", model_dir, code=2)  # fmt: skip
    pd.DataFrame({"smiles": [test.index[0], "xx", test.index[1]]}).to_csv(
        tmp_path / "in.csv", index=False
    )
    run("model", "predict", model_dir, str(tmp_path / "in.csv"), "--out", str(tmp_path / "o.csv"))
    out = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)
    assert out["smiles"].tolist() == [test.index[0], "xx", test.index[1]]
    assert out["error"].tolist() == ["", "invalid SMILES 'xx'", ""]
    assert out["kappa"][1] == "" and float(out["delta"][2]) > 0
    labelled = test.head(40).reset_index().rename(columns={"index": "smiles"})
    labelled.to_csv(tmp_path / "test.csv", index=False)
    run("model", "evaluate", model_dir, str(tmp_path / "test.csv"), "--target-col", "kappa",
        "--target-col", "delta", "--out", str(tmp_path / "m.json"))  # fmt: skip
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["kappa"]["n"] == 40 and metrics["delta"]["n"] == 40
    assert np.isfinite(metrics["delta"]["rmse"])
    for name in ("kappa", "delta"):  # each endpoint's own conformal interval is scored
        assert 0.6 <= metrics[name]["coverage_90"] <= 1.0
        assert "spearman_uncertainty_error" in metrics[name]


def test_potency_columns_in_nm_get_a_log_scale_per_endpoint(opioid, fitted):
    """Two Ki columns in nM: each endpoint is fitted on its own plain-log scale, so the model
    is as accurate as the pKi model; NaN (not measured) stays NaN through the transform."""
    train, test = opioid
    nm = 10 ** (9 - train[["kappa", "delta"]])
    model = MultiTaskChempropModel(**FAST).fit(train.index.tolist(), nm)
    assert all(s is not None and s < np.nanpercentile(nm[c], 1) for s, c in zip(
        model.log_scales, nm.columns, strict=True))  # fmt: skip
    assert np.isfinite(model.oof).all()
    preds, reference = model.predict(test.index.tolist()), fitted.predict(test.index.tolist())
    for name in ("kappa", "delta"):  # raw nM fits were 0.6 pKi units worse here
        y = test[name].to_numpy()
        rmse_nm = np.sqrt(np.mean((9 - np.log10(preds[name].mean) - y) ** 2))
        rmse_pki = np.sqrt(np.mean((reference[name].mean - y) ** 2))
        assert abs(rmse_nm - rmse_pki) < 0.1
        p = preds[name]  # the conformal interval, built on the log scale: wider above
        assert (p.lower < p.mean).all() and (p.upper - p.mean > p.mean - p.lower).all()
    frame = model.predict_frame(test.index.tolist())
    assert np.allclose(frame.kappa_upper_90, preds["kappa"].upper)
    cv_on_scale = model.model_scale(0, nm["kappa"].to_numpy())
    assert np.isnan(cv_on_scale).sum() == nm["kappa"].isna().sum()
    assert np.allclose(model.from_model_scale(0, cv_on_scale), nm["kappa"], equal_nan=True)
