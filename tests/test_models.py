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


def test_gp_size_mean_carries_a_size_trend_beyond_the_training_sizes(pim1):
    """A target that grows with size (as docking scores do): trained on the smaller molecules,
    the size-mean GP ranks the larger unseen ones by size, the constant-mean GP much less so."""
    from rdkit import Chem
    from scipy.stats import spearmanr

    train, test = pim1
    smiles = pd.concat([train, test]).smiles.tolist()
    heavy = np.array([Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in smiles], dtype=float)
    order = np.argsort(heavy, kind="stable")
    small, large = order[: len(order) // 2], order[len(order) // 2 :]
    fit_on = [smiles[i] for i in small]
    scored = [smiles[i] for i in large]
    sized = create_model("gp").fit(fit_on, heavy[small])
    flat = create_model("gp", mean="constant").fit(fit_on, heavy[small])
    assert sized.params()["mean"] == "size" and flat.params()["mean"] == "constant"
    assert sized.beta[1] > 0  # bigger molecules, higher target
    rho_sized = spearmanr(sized.predict(scored).mean, heavy[large]).statistic
    rho_flat = spearmanr(flat.predict(scored).mean, heavy[large]).statistic
    assert rho_sized > 0.8 and rho_sized > rho_flat + 0.1
    err_sized = np.abs(sized.predict(scored).mean - heavy[large]).mean()
    err_flat = np.abs(flat.predict(scored).mean - heavy[large]).mean()
    assert err_sized < 0.5 * err_flat
    with pytest.raises(ValueError, match="unknown GP mean"):
        create_model("gp", mean="quadratic")
    before = flat.predict(scored).mean
    del flat.mean, flat.beta  # as a GP saved before the size mean existed
    assert flat.params()["mean"] == "constant"
    assert np.array_equal(flat.predict(scored).mean, before)
