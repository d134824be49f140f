"""Tanimoto-kernel support-vector models on the CV ensemble's folds, and blending them in.

Why: on activity data a support-vector machine on Morgan bits is the strongest classic method
(MoleculeACE's best of 24 on most targets), and it sees molecules as their neighbours do, where
trees see counted features. Its kernel is the Tanimoto similarity that the applicability
domain computes anyway, so at predict time it costs a dot product.

One SVM is fitted per CV fold, so its out-of-fold outputs line up with the trees' and the
blend weight is chosen on the same out-of-fold rows; the fold models' mean is one linear
function over the training molecules, ``K(x, train) @ coef + intercept``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

C_GRID = (1.0, 10.0)
WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75)


def tanimoto_kernel(query_fps: Sequence, train_fps: Sequence) -> np.ndarray:
    """(queries, train) Tanimoto matrix; an unparseable molecule (None) is similar to nothing."""
    from rdkit import DataStructs

    empty = DataStructs.ExplicitBitVect(2048)  # RDKit crashes on None in the bulk list
    train = [fp if fp is not None else empty for fp in train_fps]
    out = np.zeros((len(query_fps), len(train)))
    for i, fp in enumerate(query_fps):
        if fp is not None:
            out[i] = DataStructs.BulkTanimotoSimilarity(fp, train)
    return out


def fold_svm(
    K: np.ndarray, target: np.ndarray, folds: np.ndarray, task: str, C: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Out-of-fold outputs and the fold models' mean as ``(coef, intercept)`` over train.

    ``K`` is the (train, train) kernel. Regression fits the z-scored target (so one C means
    the same on every scale) and answers on ``target``'s scale; classification answers SVC
    decision values. Rows with fold -1 are always in training.
    """
    from sklearn.svm import SVC, SVR

    n = len(target)
    oof, coef, intercept = np.full(n, np.nan), np.zeros(n), 0.0
    ks = np.unique(folds[folds >= 0])
    for k in ks:
        train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        mu, sd = 0.0, 1.0
        if task == "classification":
            model = SVC(C=C, kernel="precomputed")
        else:
            mu, sd = float(target[train].mean()), float(target[train].std()) or 1.0
            model = SVR(C=C, kernel="precomputed")
        model.fit(K[np.ix_(train, train)], (target[train] - mu) / sd)
        support, dual = train[model.support_], model.dual_coef_[0] * sd
        b = float(model.intercept_[0]) * sd + mu
        oof[held] = K[np.ix_(held, support)] @ dual + b
        coef[support] += dual / len(ks)
        intercept += b / len(ks)
    return oof, coef, intercept


@dataclass
class KernelBlend:
    """``(1 - weight) * trees + weight * (K(x, train) @ coef + intercept)`` on the model scale."""

    weight: float
    C: float
    coef: np.ndarray
    intercept: float

    def blend(self, trees: np.ndarray, K: np.ndarray) -> np.ndarray:
        return (1 - self.weight) * trees + self.weight * (K @ self.coef + self.intercept)


def svm_fits(
    K: np.ndarray, target: np.ndarray, folds: np.ndarray, task: str = "regression"
) -> dict[float, tuple[np.ndarray, np.ndarray, float]]:
    """``fold_svm`` fits for every C of the grid."""
    return {C: fold_svm(K, target, folds, task, C) for C in C_GRID}


def choose_blend(
    trees_oof: np.ndarray, fits: dict, target: np.ndarray, rows: np.ndarray
) -> tuple[float, float]:
    """The (C, weight) with the lowest squared error of the blended OOF outputs on ``rows``.

    Weight 0 (the trees alone) wins ties, so the SVM must earn its place.
    """
    best, choice = np.inf, (C_GRID[0], 0.0)
    for weight in WEIGHT_GRID:
        for C in C_GRID if weight else C_GRID[:1]:
            blended = (1 - weight) * trees_oof[rows] + weight * fits[C][0][rows]
            error = float(np.mean((blended - target[rows]) ** 2))
            if error < best - 1e-12:
                best, choice = error, (C, weight)
    return choice


def nested_blend_oof(
    trees_oof: np.ndarray, fits: dict, target: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """Blended OOF outputs where each fold's rows use the choice made on the other folds:
    a validation score that choosing (C, weight) cannot flatter."""
    out = np.full(len(target), np.nan)
    for k in np.unique(folds[folds >= 0]):
        others, held = np.flatnonzero((folds != k) & (folds >= 0)), np.flatnonzero(folds == k)
        C, weight = choose_blend(trees_oof, fits, target, others)
        out[held] = (1 - weight) * trees_oof[held] + weight * fits[C][0][held]
    return out


def fitted_blend(trees_oof: np.ndarray, fits: dict, target: np.ndarray) -> KernelBlend:
    """The blend chosen on all OOF rows (weight 0 when the trees alone are best)."""
    rows = np.flatnonzero(np.isfinite(trees_oof))
    C, weight = choose_blend(trees_oof, fits, target, rows)
    _, coef, intercept = fits[C]
    return KernelBlend(weight, C, coef, intercept)
