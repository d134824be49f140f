"""Splits: disjoint and complete, groups (scaffolds, clusters) never cross, time order kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem, DataStructs
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.ML.Cluster import Butina

from drugloop.chem.features import bit_vectors, max_tanimoto
from drugloop.data.splits import (
    SplitIndices,
    assign_groups,
    cluster_split,
    kmeans_clusters,
    make_split,
    random_split,
    scaffold_split,
    time_split,
)


@pytest.fixture(scope="module")
def pim1_smiles(bundled_data: Path) -> list[str]:
    frame = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz", nrows=400)
    return frame["smiles"].tolist()


def assert_partition(split: SplitIndices, n: int) -> None:
    parts = [split.train, split.valid, split.test]
    for part in parts:
        assert part.dtype.kind == "i"
        assert np.all(np.diff(part) > 0)  # sorted, no repeats
    combined = np.concatenate(parts)
    assert len(combined) == n
    assert set(combined.tolist()) == set(range(n))


def set_of(split: SplitIndices) -> dict[int, str]:
    return {int(i): name for name in ("train", "valid", "test") for i in getattr(split, name)}


def assert_groups_not_split(split: SplitIndices, labels: list) -> None:
    where = set_of(split)
    seen: dict[object, str] = {}
    for index, label in enumerate(labels):
        assert seen.setdefault(label, where[index]) == where[index], f"group {label!r} crosses sets"


def mean_test_to_train_similarity(smiles: list[str], split: SplitIndices) -> float:
    fps = bit_vectors(smiles)
    test = [fps[i] for i in split.test]
    train = [fps[i] for i in split.train]
    return float(max_tanimoto(test, train).mean())


# --- random ----------------------------------------------------------------------------------


def test_random_split_sizes_and_seeds() -> None:
    split = random_split(1000, (0.8, 0.1, 0.1), seed=3)
    assert_partition(split, 1000)
    assert split.sizes() == (800, 100, 100)
    again = random_split(1000, (0.8, 0.1, 0.1), seed=3)
    other = random_split(1000, (0.8, 0.1, 0.1), seed=4)
    assert np.array_equal(split.test, again.test)
    assert not np.array_equal(split.test, other.test)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=300),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=0, max_value=1),
    st.integers(min_value=0, max_value=2**31),
)
def test_random_split_partitions_any_n(n: int, a: float, b: float, seed: int) -> None:
    train, valid = min(a, b), abs(a - b)
    sizes = (train, valid, 1.0 - train - valid)
    split = random_split(n, sizes, seed)
    assert_partition(split, n)
    assert abs(len(split.train) - sizes[0] * n) <= 1


@pytest.mark.parametrize(
    "sizes", [(0.8, 0.1), (0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (0.8, 0.2, 0.0001)]
)
def test_bad_sizes_are_refused(sizes) -> None:
    with pytest.raises(ValueError, match="sizes"):
        random_split(10, sizes)


# --- group assignment ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=40),
    st.booleans(),
    st.integers(min_value=0, max_value=1000),
)
def test_assign_groups_never_splits_a_group(group_sizes: list[int], balanced: bool, seed: int):
    groups, labels, start = [], [], 0
    for label, size in enumerate(group_sizes):
        groups.append(list(range(start, start + size)))
        labels.extend([label] * size)
        start += size
    split = assign_groups(groups, start, (0.8, 0.1, 0.1), seed, balanced)
    assert_partition(split, start)
    assert_groups_not_split(split, labels)
    assert len(split.train) <= 0.8 * start  # train is never overfilled


# --- scaffold --------------------------------------------------------------------------------


@pytest.mark.parametrize("balanced", [True, False])
def test_scaffold_split_keeps_scaffolds_together(pim1_smiles: list[str], balanced: bool) -> None:
    split = scaffold_split(pim1_smiles, seed=0, balanced=balanced)
    assert_partition(split, len(pim1_smiles))
    scaffolds = [MurckoScaffold.MurckoScaffoldSmiles(smi) for smi in pim1_smiles]
    assert len(set(scaffolds)) > 20  # a real test: many distinct series
    assert_groups_not_split(split, scaffolds)
    assert all(len(part) > 0 for part in (split.train, split.valid, split.test))
    # the largest series is too big for valid/test and goes to train
    largest = max(set(scaffolds), key=scaffolds.count)
    assert {set_of(split)[i] for i, s in enumerate(scaffolds) if s == largest} == {"train"}


def test_generic_scaffolds_merge_series(pim1_smiles: list[str]) -> None:
    split = scaffold_split(pim1_smiles, generic=True)
    generic = [
        Chem.MolToSmiles(
            MurckoScaffold.MakeScaffoldGeneric(
                MurckoScaffold.GetScaffoldForMol(Chem.MolFromSmiles(smi))
            )
        )
        for smi in pim1_smiles
    ]
    assert_partition(split, len(pim1_smiles))
    assert_groups_not_split(split, generic)


def test_scaffold_split_seed_changes_small_scaffold_placement(pim1_smiles: list[str]) -> None:
    a, b = scaffold_split(pim1_smiles, seed=0), scaffold_split(pim1_smiles, seed=1)
    assert not np.array_equal(a.test, b.test)
    assert np.array_equal(a.test, scaffold_split(pim1_smiles, seed=0).test)


def test_scaffold_split_is_harder_than_random(pim1_smiles: list[str]) -> None:
    scaffold = mean_test_to_train_similarity(pim1_smiles, scaffold_split(pim1_smiles))
    randomly = mean_test_to_train_similarity(pim1_smiles, random_split(len(pim1_smiles)))
    assert scaffold < randomly


def test_acyclic_molecules_share_one_scaffold() -> None:
    smiles = ["CCO", "CCCCN", "CC(=O)O", "c1ccccc1O", "c1ccccc1N", "C1CCCCC1"] * 3
    split = scaffold_split(smiles, sizes=(0.5, 0.25, 0.25))
    acyclic = [i for i, smi in enumerate(smiles) if smi.startswith("C") and "1" not in smi]
    assert len({set_of(split)[i] for i in acyclic}) == 1


def test_invalid_smiles_names_its_index() -> None:
    with pytest.raises(ValueError, match="index 1"):
        scaffold_split(["c1ccccc1", "C1CC", "CCO"])
    with pytest.raises(ValueError, match="index 2"):
        cluster_split(["c1ccccc1", "CCO", "not smiles"])


# --- cluster ---------------------------------------------------------------------------------


def test_butina_split_keeps_rdkit_butina_clusters_together(pim1_smiles: list[str]) -> None:
    smiles = pim1_smiles[:200]
    split = cluster_split(smiles, method="butina", cutoff=0.6)
    assert_partition(split, len(smiles))
    fps = bit_vectors(smiles)
    distances = [
        1.0 - s
        for i in range(1, len(fps))
        for s in DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])
    ]
    clusters = Butina.ClusterData(distances, len(fps), 0.6, isDistData=True)
    assert 5 < len(clusters) < len(smiles)
    labels = [0] * len(smiles)
    for label, members in enumerate(clusters):
        for index in members:
            labels[index] = label
    assert_groups_not_split(split, labels)


def test_kmeans_split_keeps_clusters_together(pim1_smiles: list[str]) -> None:
    split = cluster_split(pim1_smiles, method="kmeans", n_clusters=15, seed=2)
    assert_partition(split, len(pim1_smiles))
    clusters = kmeans_clusters(bit_vectors(pim1_smiles), 15, seed=2)
    assert len(clusters) == 15
    labels = [0] * len(pim1_smiles)
    for label, members in enumerate(clusters):
        for index in members:
            labels[index] = label
    assert_groups_not_split(split, labels)


@pytest.mark.parametrize("method", ["butina", "kmeans"])
def test_cluster_split_test_set_is_dissimilar_to_train(pim1_smiles: list[str], method: str):
    cluster = mean_test_to_train_similarity(pim1_smiles, cluster_split(pim1_smiles, method=method))
    randomly = mean_test_to_train_similarity(pim1_smiles, random_split(len(pim1_smiles)))
    assert cluster < randomly - 0.1


def test_cluster_split_argument_errors(pim1_smiles: list[str]) -> None:
    with pytest.raises(ValueError, match="cluster method"):
        cluster_split(pim1_smiles[:10], method="spectral")
    with pytest.raises(ValueError, match="cutoff"):
        cluster_split(pim1_smiles[:10], cutoff=1.5)
    with pytest.raises(ValueError, match="n_clusters"):
        cluster_split(pim1_smiles[:10], method="kmeans", n_clusters=11)


# --- time ------------------------------------------------------------------------------------


def test_time_split_puts_oldest_in_train_and_newest_in_test() -> None:
    rng = np.random.default_rng(0)
    days = rng.permutation(100)
    dates = [(dt.date(2020, 1, 1) + dt.timedelta(days=int(d))).isoformat() for d in days]
    split = time_split(dates)
    assert_partition(split, 100)
    assert split.sizes() == (80, 10, 10)
    assert days[split.train].max() < days[split.valid].min()
    assert days[split.valid].max() < days[split.test].min()


def test_time_split_mixed_date_types_and_timezones() -> None:
    dates = [
        "2021-06-01",
        dt.datetime(2019, 5, 1),
        "2020",
        pd.Timestamp("2022-01-01T00:30:00+02:00"),  # 2021-12-31 22:30 UTC
        np.datetime64("2021-12-31T23:00"),
    ]
    split = time_split(dates, sizes=(0.6, 0.2, 0.2))
    assert split.train.tolist() == [0, 1, 2]
    assert split.valid.tolist() == [3]
    assert split.test.tolist() == [4]


def test_time_split_ties_keep_input_order() -> None:
    split = time_split(["2020-01-01"] * 10, sizes=(0.5, 0.3, 0.2))
    assert split.train.tolist() == [0, 1, 2, 3, 4]
    assert split.test.tolist() == [8, 9]


@pytest.mark.parametrize("bad", ["not a date", "", None, float("nan"), "2020-13-45"])
def test_unparseable_date_names_its_index(bad) -> None:
    with pytest.raises(ValueError, match="index 2"):
        time_split(["2020-01-01", "2020-02-01", bad, "2020-03-01"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.datetimes(min_value=dt.datetime(1990, 1, 1)), min_size=1, max_size=60))
def test_time_split_order_property(dates: list[dt.datetime]) -> None:
    split = time_split(dates)
    assert_partition(split, len(dates))
    stamps = np.array(dates, dtype="datetime64[us]")
    for earlier, later in ((split.train, split.valid), (split.valid, split.test)):
        if len(earlier) and len(later):
            assert stamps[earlier].max() <= stamps[later].min()


# --- dispatcher ------------------------------------------------------------------------------


def test_make_split_dispatches(pim1_smiles: list[str]) -> None:
    smiles = pim1_smiles[:120]
    dates = [f"20{10 + i % 12}-01-01" for i in range(len(smiles))]
    for kind in ("random", "scaffold", "cluster", "time"):
        split = make_split(kind, smiles=smiles, dates=dates, seed=1)
        assert_partition(split, len(smiles))
    assert np.array_equal(
        make_split("scaffold", smiles=smiles, seed=1).test, scaffold_split(smiles, seed=1).test
    )
    kmeans = make_split("cluster", smiles=smiles, method="kmeans", n_clusters=8)
    assert_partition(kmeans, len(smiles))
    assert make_split("random", n=10).sizes() == (8, 1, 1)


def test_make_split_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown split kind 'stratified'.*scaffold"):
        make_split("stratified", smiles=["CCO"])
    with pytest.raises(ValueError, match="needs smiles"):
        make_split("scaffold", dates=["2020"])
    with pytest.raises(ValueError, match="needs dates"):
        make_split("time", smiles=["CCO"])
