"""Streamed pools: memmap fingerprint cache (invalid SMILES skipped, rows aligned), chunked
top-k scoring equal to scoring everything at once, and the same scoring on a local Ray cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from drugloop.campaign.pool import featurize_pool, score_pool
from drugloop.chem.features import Featurizer, FeaturizerConfig
from drugloop.models import create_model
from drugloop.models import gp as _gp  # noqa: F401


@pytest.fixture(scope="module")
def pool_file(tmp_path_factory, enamine_pool):
    smiles = pd.read_csv(enamine_pool)["smiles"].tolist()[:1200]
    smiles[5], smiles[700] = "not_a_smiles", "C1CC"  # invalid rows must not shift others
    path = tmp_path_factory.mktemp("pool") / "pool.csv"
    pd.DataFrame({"smiles": smiles}).to_csv(path, index=False)
    return path, smiles


@pytest.fixture(scope="module")
def cached(pool_file, tmp_path_factory):
    path, _ = pool_file
    return featurize_pool(path, tmp_path_factory.mktemp("cache"), chunk_size=500, n_jobs=2)


def test_cache_skips_invalid_and_keeps_rows_aligned(pool_file, cached, tmp_path):
    _, smiles = pool_file
    assert (cached.n_valid, cached.n_invalid) == (1198, 2)
    kept = cached.smiles
    assert "not_a_smiles" not in kept and kept[5] == smiles[6] and kept[-1] == smiles[-1]
    direct = Featurizer(FeaturizerConfig("morgan_count", 2, 2048)).transform(kept[::97])
    assert np.array_equal(np.minimum(direct, 255), np.asarray(cached.X[::97], dtype=np.float32))
    again = featurize_pool(pool_file[0], cached.directory.parent)  # cache hit: same directory
    assert again.directory == cached.directory


def test_chunked_top_k_equals_scoring_everything(cached):
    smiles = cached.smiles
    rng = np.random.default_rng(0)
    train = rng.choice(len(smiles), 60, replace=False)
    y = np.array([len(smiles[i]) for i in train], dtype=float)  # a real, learnable property
    model = create_model("gp").fit([smiles[i] for i in train], y)
    best = score_pool(model, cached, k=25, acquisition="ucb", chunk_size=111)
    mean, std = model.predict_features(np.asarray(cached.X, dtype=np.float32))
    expected = np.argsort(-(mean + 2.0 * std), kind="stable")[:25]
    assert np.array_equal(best.indices, expected)
    exclude = np.zeros(cached.n_valid, dtype=bool)
    exclude[expected[:5]] = True
    assert not set(score_pool(model, cached, 25, "ucb", exclude=exclude).indices) & set(
        expected[:5]
    )


@pytest.mark.slow
def test_ray_local_cluster_gives_the_same_ranking(cached):
    ray = pytest.importorskip("ray")
    smiles = cached.smiles
    model = create_model("gp").fit(smiles[:40], np.arange(40, dtype=float))
    local = score_pool(model, cached, k=10, chunk_size=600)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = score_pool(model, cached, k=10, chunk_size=600, ray_address="auto")
    finally:
        ray.shutdown()
    assert np.array_equal(local.indices, remote.indices)
    assert np.allclose(local.utility, remote.utility)
