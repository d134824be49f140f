"""The conformal normalizer: fitted on out-of-fold residuals, it keeps coverage level across
distances to the training set, where the fixed ``1 - s + 0.1`` did not."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from drugloop.models.cv_ensemble import difficulty, fit_scale

similarities = arrays(np.float64, st.integers(2, 200), elements=st.floats(0.0, 1.0))


@settings(max_examples=200, deadline=None)
@given(similarities, st.data())
def test_fitted_difficulty_is_positive_and_never_shrinks_with_distance(sim, data):
    residual = data.draw(
        arrays(np.float64, len(sim), elements=st.floats(0.0, 10.0, allow_subnormal=False))
    )
    a, b, floor = fit_scale(residual, sim)
    assert b >= 0 and floor > 0
    grid = np.linspace(0, 1, 11)
    d = difficulty(grid, (a, b, floor))
    assert (d >= floor).all() and (np.diff(d[::-1]) >= -1e-12).all()  # farther: not narrower


def test_fit_scale_recovers_a_linear_error_profile_and_refuses_a_negative_slope():
    s = np.linspace(0.1, 0.9, 50)
    a, b, _ = fit_scale(0.3 + 0.8 * (1 - s), s)
    assert abs(a - 0.3) < 1e-9 and abs(b - 0.8) < 1e-9
    a, b, _ = fit_scale(0.3 + 0.8 * s, s)  # errors *grow* near the training set: no slope
    assert b == 0.0 and abs(a - np.mean(0.3 + 0.8 * s)) < 1e-12


def _tercile_coverage(scale, rng) -> list[float]:
    """Calibrate on one sample, measure 90% coverage per similarity tercile on another."""

    def sample(n):
        s = rng.uniform(0.2, 1.0, n)
        return s, rng.normal(0.0, 0.3 + 0.6 * (1 - s))  # noise floor at s = 1, as in real data

    s_cal, r_cal = sample(4000)
    if scale == "fitted":
        scale = fit_scale(np.abs(r_cal), s_cal)
    scores = np.abs(r_cal) / difficulty(s_cal, scale)
    q = np.quantile(scores, np.ceil(4001 * 0.9) / 4000)
    s_new, r_new = sample(6000)
    covered = np.abs(r_new) <= q * difficulty(s_new, scale)
    edges = np.quantile(s_new, [1 / 3, 2 / 3])
    bins = np.digitize(s_new, edges)
    return [covered[bins == k].mean() for k in range(3)]


def test_fitted_normalizer_keeps_coverage_level_where_the_fixed_one_does_not():
    rng = np.random.default_rng(0)
    fixed = _tercile_coverage(None, rng)
    fitted = _tercile_coverage("fitted", rng)
    assert fixed[2] < 0.85  # most similar third: the fixed normalizer's intervals are too narrow
    assert all(0.87 <= c <= 0.93 for c in fitted)


def test_models_saved_before_the_fitted_normalizer_keep_their_intervals(bundled_data, tmp_path):
    """A pickled model without ``conformal_scale`` (saved by an earlier version) loads and
    still uses the fixed ``1 - s + 0.1`` normalizer its quantile was computed with."""
    import pandas as pd

    from drugloop.models import Model, create_model

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(200)
    y = df["y [pEC50/pKi]"].to_numpy()
    model = create_model("gbm", n_jobs=1).fit(df.smiles[:150].tolist(), y[:150])
    assert model.conformal_scale is not None
    del model.conformal_scale  # what an older pickle looks like
    model.save(tmp_path / "old")
    old = Model.load(tmp_path / "old")
    smiles = df.smiles[150:].tolist()
    pred = old.predict(smiles)
    lo, hi = old.interval(smiles)
    expected_half = old.conformal_q * ((1 - pred.similarity) + 0.1)
    assert np.allclose((hi - lo) / 2, expected_half)
