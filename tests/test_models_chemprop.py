"""Chemprop D-MPNN family on tiny real data: trains, predicts with spread, saves and loads."""

from __future__ import annotations

import numpy as np
import pandas as pd

from drugloop.models import Model, create_model


def test_chemprop_family_round_trip(tmp_path, bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(80)
    smiles, y = df.smiles.tolist(), df["y [pEC50/pKi]"].to_numpy()
    model = create_model("chemprop", n_members=2, epochs=2, hidden=64).fit(smiles[:60], y[:60])
    pred = model.predict(smiles[60:] + ["not_a_smiles"])
    assert np.isfinite(pred.mean[:-1]).all() and np.isnan(pred.mean[-1])
    assert (pred.std[:-1] > 0).all()  # two differently seeded members disagree
    assert model.fitted_task == "regression"
    model.save(tmp_path / "cp")
    again = Model.load(tmp_path / "cp").predict(smiles[60:])
    assert np.allclose(again.mean, pred.mean[:-1], atol=1e-5)
