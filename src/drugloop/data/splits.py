"""Train/valid/test splits: random, scaffold, time and fingerprint-cluster.

A random split overstates how well a model extrapolates to new chemistry; scaffold and cluster
splits keep related compounds on one side, and a time split mimics prospective use. All
splitters return sorted, disjoint index arrays covering every row.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rdkit import DataStructs
from rdkit.Chem.Scaffolds import MurckoScaffold
from rdkit.ML.Cluster import Butina

from drugloop.chem.features import bit_vectors
from drugloop.chem.molecule import InvalidMoleculeError, parse_smiles

Sizes = tuple[float, float, float]
DEFAULT_SIZES: Sizes = (0.8, 0.1, 0.1)


@dataclass
class SplitIndices:
    """Row indices of each set (sorted int arrays, disjoint, together covering all rows)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def sizes(self) -> tuple[int, int, int]:
        return len(self.train), len(self.valid), len(self.test)


def _check_sizes(sizes: Sequence[float]) -> Sizes:
    if len(sizes) != 3 or any(not math.isfinite(s) or s < 0 for s in sizes):
        raise ValueError(f"sizes must be three non-negative fractions, got {tuple(sizes)}")
    if abs(sum(sizes) - 1.0) > 1e-6:
        raise ValueError(f"sizes must sum to 1, got {tuple(sizes)} (sum {sum(sizes):g})")
    return float(sizes[0]), float(sizes[1]), float(sizes[2])


def _as_split(train: Sequence[int], valid: Sequence[int], test: Sequence[int]) -> SplitIndices:
    def arr(indices: Sequence[int]) -> np.ndarray:
        return np.sort(np.asarray(indices, dtype=np.int64))

    return SplitIndices(arr(train), arr(valid), arr(test))


def _cut_ordered(order: np.ndarray, sizes: Sizes) -> SplitIndices:
    """First ``sizes[0]`` of an ordering to train, the next ``sizes[1]`` to valid, rest test."""
    n = len(order)
    train_end = int(sizes[0] * n)
    valid_end = int((sizes[0] + sizes[1]) * n)
    return _as_split(order[:train_end], order[train_end:valid_end], order[valid_end:])


def random_split(n: int, sizes: Sequence[float] = DEFAULT_SIZES, seed: int = 0) -> SplitIndices:
    """Shuffle ``range(n)`` and cut it by ``sizes``."""
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    return _cut_ordered(order, _check_sizes(sizes))


def assign_groups(
    groups: Sequence[Sequence[int]],
    n: int,
    sizes: Sequence[float] = DEFAULT_SIZES,
    seed: int = 0,
    balanced: bool = True,
) -> SplitIndices:
    """Put whole groups into train/valid/test, filling train first (chemprop's scheme).

    Balanced: groups too big for half of the valid or test target go first (shuffled) so
    that they land in train, then the small groups in random order; this keeps valid/test
    from being dominated by one big group. Unbalanced: largest groups first.
    """
    frac = _check_sizes(sizes)
    train_target, valid_target, test_target = (f * n for f in frac)
    ordered = [list(g) for g in groups]
    if balanced:
        rng = np.random.default_rng(seed)
        is_big = [len(g) > valid_target / 2 or len(g) > test_target / 2 for g in ordered]
        big = [g for g, flag in zip(ordered, is_big, strict=True) if flag]
        small = [g for g, flag in zip(ordered, is_big, strict=True) if not flag]
        ordered = [big[i] for i in rng.permutation(len(big))]
        ordered += [small[i] for i in rng.permutation(len(small))]
    else:
        ordered.sort(key=len, reverse=True)
    train: list[int] = []
    valid: list[int] = []
    test: list[int] = []
    for group in ordered:
        if len(train) + len(group) <= train_target:
            train.extend(group)
        elif len(valid) + len(group) <= valid_target:
            valid.extend(group)
        else:
            test.extend(group)
    return _as_split(train, valid, test)


def _groups_from_labels(labels: Sequence) -> list[list[int]]:
    """Indices grouped by label, groups in order of first appearance."""
    groups: dict[object, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(label, []).append(index)
    return list(groups.values())


def murcko_scaffold(smiles: str, generic: bool = False) -> str:
    """Bemis–Murcko scaffold SMILES ('' for acyclic molecules); raises on invalid SMILES."""
    mol = parse_smiles(smiles)
    core = MurckoScaffold.GetScaffoldForMol(mol)
    if generic:
        core = MurckoScaffold.MakeScaffoldGeneric(core)
    return MurckoScaffold.MurckoScaffoldSmiles(mol=core, includeChirality=False)


def _scaffolds(smiles: Sequence[str], generic: bool) -> list[str]:
    out = []
    for index, smi in enumerate(smiles):
        try:
            out.append(murcko_scaffold(smi, generic=generic))
        except InvalidMoleculeError as exc:
            raise ValueError(f"SMILES at index {index} is invalid: {exc}") from None
    return out


def scaffold_split(
    smiles: Sequence[str],
    sizes: Sequence[float] = DEFAULT_SIZES,
    seed: int = 0,
    balanced: bool = True,
    generic: bool = False,
) -> SplitIndices:
    """Bemis–Murcko scaffold split: compounds sharing a scaffold never cross sets.

    Scaffolds keep atom and bond types by default (as chemprop does); ``generic=True``
    reduces them to carbon frameworks, which merges more series and makes a harsher split.
    All acyclic molecules share the empty scaffold and therefore one set.
    """
    groups = _groups_from_labels(_scaffolds(smiles, generic))
    return assign_groups(groups, len(smiles), sizes, seed, balanced)


def _parse_date(value: object, index: int) -> pd.Timestamp:
    if isinstance(value, (dt.date, np.datetime64, pd.Timestamp)):
        stamp = pd.Timestamp(value)
    else:
        text = "" if value is None else str(value).strip()
        try:
            stamp = pd.Timestamp(text) if text else pd.NaT
        except (ValueError, TypeError, OverflowError):
            stamp = pd.NaT
    if pd.isna(stamp):
        raise ValueError(f"date at index {index} cannot be parsed: {value!r}")
    return stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo is not None else stamp


def time_split(dates: Sequence, sizes: Sequence[float] = DEFAULT_SIZES) -> SplitIndices:
    """Oldest compounds to train, newest to test (ties keep input order).

    Dates may be date/datetime objects or text pandas can parse (``2021-03-04``, ``2021``);
    time zones are compared in UTC.
    """
    stamps = [_parse_date(value, index) for index, value in enumerate(dates)]
    order = np.array(sorted(range(len(stamps)), key=stamps.__getitem__), dtype=np.int64)
    return _cut_ordered(order, _check_sizes(sizes))


def _fingerprints(smiles: Sequence[str]) -> list:
    fps = bit_vectors(smiles)
    for index, fp in enumerate(fps):
        if fp is None:
            raise ValueError(f"SMILES at index {index} is invalid: {smiles[index]!r}")
    return fps


def butina_clusters(fps: Sequence, cutoff: float = 0.6) -> list[list[int]]:
    """Taylor–Butina clusters at a Tanimoto *distance* cutoff (O(n²) memory and time)."""
    distances: list[float] = []
    for i in range(1, len(fps)):
        similarities = DataStructs.BulkTanimotoSimilarity(fps[i], fps[:i])
        distances.extend(1.0 - s for s in similarities)
    clusters = Butina.ClusterData(distances, len(fps), cutoff, isDistData=True)
    return [list(c) for c in clusters]


def kmeans_clusters(fps: Sequence, n_clusters: int, seed: int = 0) -> list[list[int]]:
    """k-means on the fingerprint bits (scales to large sets where Butina's n² does not).

    Runs single-threaded: on a busy machine (or under pytest-xdist) scikit-learn's OpenMP
    threads spin against each other and were measured 5-15x slower than one thread.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    matrix = np.zeros((len(fps), fps[0].GetNumBits()), dtype=np.float32)
    for row, fp in enumerate(fps):
        DataStructs.ConvertToNumpyArray(fp, matrix[row])
    with threadpool_limits(limits=1):
        labels = KMeans(n_clusters=n_clusters, random_state=seed, n_init=3).fit_predict(matrix)
    return _groups_from_labels(labels)


def cluster_split(
    smiles: Sequence[str],
    sizes: Sequence[float] = DEFAULT_SIZES,
    seed: int = 0,
    method: str = "butina",
    cutoff: float = 0.6,
    n_clusters: int | None = None,
) -> SplitIndices:
    """Cluster Morgan fingerprints (Butina or k-means) and put whole clusters in one set.

    ``cutoff`` is the Butina Tanimoto distance; ``n_clusters`` (k-means) defaults to
    about √n, small enough that clusters hold related series, big enough to fill valid/test.
    """
    n = len(smiles)
    if n == 0:
        return assign_groups([], 0, sizes, seed)
    fps = _fingerprints(smiles)
    if method == "butina":
        if not 0.0 <= cutoff <= 1.0:
            raise ValueError(f"Butina cutoff is a Tanimoto distance in [0, 1], got {cutoff}")
        groups = butina_clusters(fps, cutoff)
    elif method == "kmeans":
        k = n_clusters if n_clusters is not None else max(1, round(math.sqrt(n)))
        if not 1 <= k <= n:
            raise ValueError(f"n_clusters must be between 1 and {n}, got {k}")
        groups = kmeans_clusters(fps, k, seed)
    else:
        raise ValueError(f"unknown cluster method {method!r}; choose 'butina' or 'kmeans'")
    return assign_groups(groups, n, sizes, seed, balanced=True)


def _random(smiles=None, dates=None, sizes=DEFAULT_SIZES, seed=0, n=None, **kw) -> SplitIndices:
    if n is None:
        source = smiles if smiles is not None else dates
        if source is None:
            raise ValueError("random split needs smiles, dates or n to know how many rows")
        n = len(source)
    return random_split(n, sizes, seed, **kw)


def _scaffold(smiles=None, dates=None, sizes=DEFAULT_SIZES, seed=0, **kw) -> SplitIndices:
    return scaffold_split(_need(smiles, "smiles", "scaffold"), sizes, seed, **kw)


def _time(smiles=None, dates=None, sizes=DEFAULT_SIZES, seed=0, **kw) -> SplitIndices:
    return time_split(_need(dates, "dates", "time"), sizes, **kw)


def _cluster(smiles=None, dates=None, sizes=DEFAULT_SIZES, seed=0, **kw) -> SplitIndices:
    return cluster_split(_need(smiles, "smiles", "cluster"), sizes, seed, **kw)


def _need(values: Sequence | None, what: str, kind: str) -> Sequence:
    if values is None:
        raise ValueError(f"a {kind} split needs {what}")
    return values


SPLITTERS: dict[str, Callable[..., SplitIndices]] = {
    "random": _random,
    "scaffold": _scaffold,
    "time": _time,
    "cluster": _cluster,
}


def make_split(
    kind: str,
    smiles: Sequence[str] | None = None,
    dates: Sequence | None = None,
    sizes: Sequence[float] = DEFAULT_SIZES,
    seed: int = 0,
    **kw: object,
) -> SplitIndices:
    """Dispatch to a splitter by name (``random``, ``scaffold``, ``time``, ``cluster``)."""
    try:
        splitter = SPLITTERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown split kind {kind!r}; choose one of {', '.join(SPLITTERS)}"
        ) from None
    return splitter(smiles=smiles, dates=dates, sizes=sizes, seed=seed, **kw)
