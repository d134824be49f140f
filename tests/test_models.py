from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drugloop.models import MODELS, Model, NotFittedError, create_model


@pytest.fixture(scope="module")
def pim1(bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    return df[df.split == "train"], df[df.split == "test"]


@pytest.mark.parametrize("name", ["rf", "lgbm"])
def test_models_learn_real_activity_data(name, pim1):
    train, test = pim1
    model = create_model(name).fit(train.smiles.tolist(), train["y [pEC50/pKi]"].to_numpy())
    pred = model.predict(test.smiles.tolist())
    y = test["y [pEC50/pKi]"].to_numpy()
    rmse = float(np.sqrt(np.mean((pred.mean - y) ** 2)))
    assert rmse < 0.8 * y.std()  # clearly better than predicting the mean
    assert (pred.std > 0).all() and pred.in_domain.dtype == bool
    errors = np.abs(pred.mean - y)
    assert np.corrcoef(errors, pred.std)[0, 1] > 0.05  # uncertainty carries signal


def test_applicability_domain_flags_foreign_chemistry(pim1):
    train, _ = pim1
    model = create_model("rf", n_estimators=50).fit(
        train.smiles.tolist()[:300], train["y [pEC50/pKi]"].to_numpy()[:300]
    )
    pred = model.predict(
        [train.smiles.iloc[0], "CCCCCCCCCCCCCCCC(=O)O", "O=C(O)CC(O)(CC(=O)O)C(=O)O"]
    )
    assert pred.in_domain.tolist() == [True, False, False]
    assert pred.similarity[0] == pytest.approx(1.0)


def test_save_load_round_trip(tmp_path, pim1):
    train, test = pim1
    model = create_model("rf", n_estimators=30).fit(
        train.smiles.tolist()[:200], train["y [pEC50/pKi]"].to_numpy()[:200]
    )
    model.save(tmp_path / "m")
    loaded = Model.load(tmp_path / "m")
    smiles = test.smiles.tolist()[:20]
    assert np.allclose(loaded.predict(smiles).mean, model.predict(smiles).mean)
    assert (tmp_path / "m" / "model_card.json").exists()
    assert loaded.card.n_train == 200 and len(loaded.card.training_data_sha256) == 64


def test_errors():
    with pytest.raises(NotFittedError):
        create_model("rf").predict(["CCO"])
    with pytest.raises(ValueError, match="2 molecules but 1"):
        create_model("rf").fit(["CCO", "CCN"], [1.0])
    with pytest.raises(KeyError, match="known: " + ", ".join(MODELS.names())):
        create_model("nope")
    assert {"rf", "lgbm", "gbm", "chemprop", "gp", "mlp"} <= set(MODELS.names())


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.int64, (3, 12), elements=st.integers(0, 6)),
    arrays(np.int64, (4, 12), elements=st.integers(0, 6)),
)
def test_minmax_kernel_is_sum_min_over_sum_max(a, b):
    """The thresholded-product MinMax kernel equals the definition on integer counts."""
    from drugloop.models.gp import minmax_kernel

    got = minmax_kernel(a, b)
    for i in range(len(a)):
        for j in range(len(b)):
            top = np.maximum(a[i], b[j]).sum()
            want = np.minimum(a[i], b[j]).sum() / top if top else 0.0
            assert got[i, j] == pytest.approx(want)


def test_minmax_kernel_reduces_to_tanimoto_on_bits_and_gp_defaults_to_it(pim1):
    from drugloop.models.gp import minmax_kernel, tanimoto_kernel

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(6, 64))
    assert np.allclose(minmax_kernel(bits, bits), tanimoto_kernel(bits, bits))
    train, test = pim1
    y = train["y [pEC50/pKi]"].to_numpy()
    gp = create_model("gp").fit(train.smiles.tolist(), y)
    assert gp.params()["kernel"] == "minmax"
    pred = gp.predict(test.smiles.tolist()).mean
    truth = test["y [pEC50/pKi]"].to_numpy()
    assert np.sqrt(np.mean((pred - truth) ** 2)) < 0.8 * truth.std()
    with pytest.raises(ValueError, match="unknown GP kernel"):
        create_model("gp", kernel="cosine")
