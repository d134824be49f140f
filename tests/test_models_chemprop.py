"""Chemprop D-MPNN family on small real data: conformal intervals, Platt probabilities,
censored targets, applicability domain, save/load. Few epochs on CPU, so accuracy is not the
point; the calibration machinery is."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drugloop.models import Model, create_model

FAST = {"n_members": 3, "epochs": 4, "hidden": 64, "batch_size": 32}


@pytest.fixture(scope="module")
def pim1(bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    df = df.rename(columns={"y [pEC50/pKi]": "pki"})
    return df[df.split == "train"].head(150), df[df.split == "test"].head(120)


@pytest.fixture(scope="module")
def regressor(pim1):
    train, _ = pim1
    return create_model("chemprop", **FAST).fit(train.smiles.tolist(), train.pki.to_numpy())


def test_chemprop_regression_has_conformal_intervals_and_domain(regressor, pim1, tmp_path):
    _, test = pim1
    smiles, y = test.smiles.tolist(), test.pki.to_numpy()
    pred = regressor.predict([*smiles, "not_a_smiles"])
    assert np.isfinite(pred.mean[:-1]).all() and np.isnan(pred.mean[-1])
    assert (pred.std[:-1] > 0).all() and np.isnan(pred.std[-1])
    assert pred.in_domain.dtype == bool and not pred.in_domain[-1]
    assert ((pred.similarity >= 0) & (pred.similarity <= 1)).all()
    lo, hi = regressor.interval(smiles)
    assert np.allclose(hi - lo, 2 * 1.6449 * pred.std[:-1], rtol=1e-3)
    coverage = np.mean((y >= lo) & (y <= hi))
    assert 0.75 <= coverage <= 1.0  # 90% target; 120 test molecules leave sampling slack
    # farther from the training set: never a narrower interval (wider when the out-of-fold
    # errors grew with distance; the fitted normalizer may find they did not)
    order = np.argsort(pred.similarity[:-1])
    assert (np.diff(pred.std[:-1][order]) <= 1e-12).all()
    assert regressor.conformal_scale is not None and regressor.conformal_scale[1] >= 0
    # every training molecule has an out-of-fold prediction (the calibration set)
    assert np.isfinite(regressor.oof).all() and len(regressor.members) == 3
    regressor.save(tmp_path / "cp")
    again = Model.load(tmp_path / "cp").predict(smiles)
    assert np.allclose(again.mean, pred.mean[:-1], atol=1e-5)
    assert np.allclose(again.std, pred.std[:-1])


def test_chemprop_classification_gives_platt_probabilities(pim1):
    train, test = pim1
    y = (train.pki > 7).astype(int).to_numpy()
    model = create_model("chemprop", **FAST).fit(train.smiles.tolist(), y)
    assert model.fitted_task == "classification" and model.platt != (1.0, 0.0)
    p = model.predict(test.smiles.tolist()).mean
    assert ((p > 0) & (p < 1)).all()
    assert abs(p.mean() - y.mean()) < 0.2  # calibrated to the base rate, not stuck at 0.5
    with pytest.raises(ValueError, match="regression"):
        model.interval(test.smiles.tolist()[:2])


def test_chemprop_censored_values_inform_training(pim1):
    """Potent compounds reported only as '> 5' (a loose bound) are not pulled onto 5."""
    train, _ = pim1
    smiles = train.smiles.tolist()
    y = train.pki.to_numpy()
    potent = y > 7.5
    y_cens = np.where(potent, 5.0, y)
    params = {**FAST, "n_members": 2}
    with_bounds = create_model("chemprop", **params).fit(smiles, y_cens, censor=potent.astype(int))
    as_exact = create_model("chemprop", **params).fit(smiles, y_cens)
    assert with_bounds.oof[potent].mean() > as_exact.oof[potent].mean() + 0.1
