"""Acquisition functions, batch strategies and Pareto ranking on real molecules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import DataStructs

from drugloop.campaign.acquisition import ACQUISITIONS, acquisition_scores
from drugloop.campaign.batch import pareto_rank, select_batch
from drugloop.chem.features import bit_vectors
from drugloop.cli.main import app
from drugloop.models import create_model
from drugloop.models import gp as _gp  # noqa: F401


@pytest.fixture(scope="module")
def pim1(bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    return df["smiles"].tolist()[:400], df["y [pEC50/pKi]"].to_numpy()[:400]


def test_acquisitions_order_sensibly():
    mean = np.array([1.0, 2.0, 2.0, 0.0])
    std = np.array([0.1, 0.1, 1.0, 3.0])
    for name in ("ei", "pi"):
        u = acquisition_scores(name, mean, std, best=2.0)
        assert u[2] > u[1] > u[0]  # same mean, more uncertainty helps; higher mean helps
    ei = acquisition_scores("ei", mean, std, best=2.0)
    assert (ei >= 0).all() and ei[3] > ei[0]
    ucb = acquisition_scores("ucb", mean, std, beta=2.0)
    assert np.argmax(ucb) == 3
    a = acquisition_scores("thompson", mean, std, rng=np.random.default_rng(1))
    b = acquisition_scores("thompson", mean, std, rng=np.random.default_rng(1))
    assert np.array_equal(a, b) and not np.array_equal(a, mean)
    assert {"greedy", "ucb", "ei", "pi", "thompson", "random"} <= set(ACQUISITIONS.names())


def _max_pair_sim(smiles):
    fps = bit_vectors(smiles)
    return max(max(DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])) for i in range(1, len(fps)))


def test_diverse_and_penalized_batches_avoid_near_duplicates(pim1):
    smiles, y = pim1
    # utility = the true activity: a top-k batch is a cluster of close analogues
    top = select_batch("topk", y, smiles, 12)
    diverse = select_batch("diverse", y, smiles, 12, max_similarity=0.6)
    penalized = select_batch("penalized", y, smiles, 12, strength=1.0)
    assert len(set(diverse)) == 12 and len(set(penalized)) == 12
    assert (
        _max_pair_sim([smiles[i] for i in diverse]) <= 0.6 < _max_pair_sim([smiles[i] for i in top])
    )
    assert _max_pair_sim([smiles[i] for i in penalized]) < _max_pair_sim([smiles[i] for i in top])
    assert y[diverse].mean() > np.median(y)  # still good compounds


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=30))
def test_pareto_rank_matches_definition(points):
    obj = np.array(points, dtype=float)
    rank = pareto_rank(obj)
    for i, p in enumerate(obj):
        dominated = any(np.all(q >= p) and np.any(q > p) for q in obj)
        assert (rank[i] == 0) == (not dominated)
        for j, q in enumerate(obj):  # a dominating point is always on an earlier front
            if np.all(q >= p) and np.any(q > p):
                assert rank[j] < rank[i]


def test_gp_uncertainty_grows_away_from_data(pim1):
    smiles, y = pim1
    order = np.random.default_rng(0).permutation(len(smiles))
    train, test = order[:300], order[300:]
    model = create_model("gp").fit([smiles[i] for i in train], y[train])
    near = model.predict([smiles[i] for i in train[:50]])
    far = model.predict(["CCCCCCCCCCO", "OC(=O)CCC(=O)O", "c1ccc2ccccc2c1"])
    assert near.std.mean() < far.std.mean()
    held = model.predict([smiles[i] for i in test])
    assert np.corrcoef(held.mean, y[test])[0, 1] > 0.5


def test_cli_simulate_with_new_options(tmp_path, enamine_pool, enamine_scores):
    import json

    from typer.testing import CliRunner

    pool = pd.read_csv(enamine_pool).head(400)
    pool_path, scores_path = tmp_path / "pool.csv", tmp_path / "scores.csv"
    pool.to_csv(pool_path, index=False)
    pd.read_csv(enamine_scores).to_csv(scores_path, index=False)
    out = tmp_path / "sim.json"
    result = CliRunner().invoke(
        app,
        [
            "campaign",
            "simulate",
            "--pool",
            str(pool_path),
            "--oracle",
            str(scores_path),
            "--minimize",
            "--init-frac",
            "0.05",
            "--batch-frac",
            "0.05",
            "--rounds",
            "2",
            "--model",
            "gp",
            "--acquisition",
            "ei",
            "--batch-strategy",
            "diverse",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["config"]["batch_strategy"] == "diverse" and data["config"]["acquisition"] == "ei"
    assert [r["n_tested"] for r in data["rounds"]] == [20, 40, 60]
    bad = CliRunner().invoke(
        app,
        [
            "campaign",
            "simulate",
            "--pool",
            str(pool_path),
            "--oracle",
            str(scores_path),
            "--batch-strategy",
            "nonsense",
            "--out",
            str(out),
        ],
    )
    assert bad.exit_code == 2 and "nonsense" in bad.output and "Traceback" not in bad.output
