"""Acquisition functions and batch selection: which candidates to make next.

Utilities are always "higher is better"; a minimized objective (e.g. docking score) is negated
before the model ever sees it, so every function here stays direction-free.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from drugloop.registry import Registry

AcquisitionFn = Callable[..., np.ndarray]
ACQUISITIONS: Registry[np.ndarray] = Registry("acquisition function")


@ACQUISITIONS.register("greedy")
def greedy(mean: np.ndarray, std: np.ndarray, **_: object) -> np.ndarray:
    """Exploit: the predicted value itself."""
    return np.asarray(mean, dtype=float)


@ACQUISITIONS.register("ucb")
def upper_confidence_bound(
    mean: np.ndarray, std: np.ndarray, beta: float = 2.0, **_: object
) -> np.ndarray:
    """Optimism under uncertainty: mean + beta·std (beta = 2 as in MolPAL)."""
    return np.asarray(mean, dtype=float) + beta * np.asarray(std, dtype=float)


@ACQUISITIONS.register("ei")
def expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float = 0.0, xi: float = 0.01, **_: object
) -> np.ndarray:
    """Expected improvement over the best measured value (``xi`` = exploration margin)."""
    from scipy.stats import norm

    mean, std = np.asarray(mean, dtype=float), np.maximum(np.asarray(std, dtype=float), 1e-9)
    z = (mean - best - xi) / std
    return (mean - best - xi) * norm.cdf(z) + std * norm.pdf(z)


@ACQUISITIONS.register("pi")
def probability_of_improvement(
    mean: np.ndarray, std: np.ndarray, best: float = 0.0, xi: float = 0.01, **_: object
) -> np.ndarray:
    """Probability that a candidate beats the best measured value by ``xi``."""
    from scipy.stats import norm

    mean, std = np.asarray(mean, dtype=float), np.maximum(np.asarray(std, dtype=float), 1e-9)
    return norm.cdf((mean - best - xi) / std)


@ACQUISITIONS.register("thompson")
def thompson(
    mean: np.ndarray, std: np.ndarray, rng: np.random.Generator | None = None, **_: object
) -> np.ndarray:
    """One draw from each candidate's (independent Gaussian) posterior; top-k of the draw."""
    rng = rng if rng is not None else np.random.default_rng()
    mean = np.asarray(mean, dtype=float)
    return mean + np.asarray(std, dtype=float) * rng.standard_normal(len(mean))


@ACQUISITIONS.register("random")
def random_utility(
    mean: np.ndarray, std: np.ndarray, rng: np.random.Generator | None = None, **_: object
) -> np.ndarray:
    """Baseline: ignore the model (what a campaign without AI would do)."""
    rng = rng if rng is not None else np.random.default_rng()
    return rng.random(len(mean))


def acquisition_scores(
    name: str, mean: np.ndarray, std: np.ndarray, **params: object
) -> np.ndarray:
    return ACQUISITIONS.get(name)(mean, std, **params)


def select_top(utility: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` highest utilities (ties broken by index), skipping excluded rows."""
    utility = np.asarray(utility, dtype=float).copy()
    utility[~np.isfinite(utility)] = -np.inf
    if exclude is not None:
        utility[exclude] = -np.inf
    available = int(np.isfinite(utility).sum())
    k = min(k, available)
    if k <= 0:
        return np.array([], dtype=int)
    top = np.argpartition(-utility, k - 1)[:k]
    return top[np.lexsort((top, -utility[top]))]
