"""LightGBM on rich features: a cross-validated ensemble with conformal uncertainty.

Why this design:

* **Ensemble = CV folds.** ``n_folds`` members are trained on scaffold-grouped folds, each
  early-stopped on its own held-out fold. Every training molecule then has an out-of-fold
  (OOF) prediction from a member that never saw it — the raw material for calibration; the
  prediction is the members' mean.
* **Conformal regression intervals.** Normalized split-conformal on OOF residuals: the score
  is ``|y - oof| / d`` with difficulty ``d = 1 - nearest-neighbour Tanimoto + 0.1`` (for OOF
  rows measured against the *other* folds, so it reflects the distance a new molecule will
  have). The ``1 - alpha`` quantile of the scores turns each prediction's difficulty into an
  interval half-width; ``std`` reports it as a Gaussian-equivalent σ (half-width / z).
  With a single validation fold (``folds`` of 0 and -1) this is plain split-conformal.
* **Calibrated probabilities.** Classifiers get Platt scaling fitted on the OOF logits, which
  keeps the ranking (AUROC/AUPRC) intact.
* **Censored regression.** Values reported only as bounds (``>10 µM`` = pIC50 ``< 5``) are
  trained by iterative imputation within bounds: a first fit uses the bound itself; then each
  censored target is replaced by its OOF prediction whenever that prediction lies on the
  allowed side of the bound (else the bound is kept), and the ensemble is refitted; three
  fits in all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from scipy.stats import norm

from drugloop.models.base import MODELS, Model
from drugloop.models.features import FeatureSet

MIN_ROUNDS = 100
Task = Literal["auto", "regression", "classification"]


def detect_task(y: np.ndarray) -> str:
    """Binary 0/1 targets are classification; anything else is regression."""
    values = np.unique(y[np.isfinite(y)])
    return "classification" if len(values) <= 2 and set(values) <= {0.0, 1.0} else "regression"


def scaffold_groups(smiles: Sequence[str]) -> np.ndarray:
    """Integer Bemis–Murcko scaffold id per molecule (acyclic molecules share one group)."""
    from rdkit import Chem
    from rdkit.Chem.Scaffolds import MurckoScaffold

    ids: dict[str, int] = {}
    out = np.zeros(len(smiles), dtype=np.int64)
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        key = MurckoScaffold.MurckoScaffoldSmiles(mol=mol) if mol is not None else smi
        out[i] = ids.setdefault(key, len(ids))
    return out


def assign_folds(groups: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Scaffold groups shuffled then dealt greedily into folds of near-equal size."""
    rng = np.random.default_rng(seed)
    unique, counts = np.unique(groups, return_counts=True)
    order = rng.permutation(len(unique))
    # large scaffolds first so the folds balance; ties broken by the random order
    order = order[np.argsort(-counts[order], kind="stable")]
    sizes = np.zeros(n_folds)
    fold_of_group = {}
    for g in order:
        k = int(np.argmin(sizes))
        fold_of_group[unique[g]] = k
        sizes[k] += counts[g]
    return np.array([fold_of_group[g] for g in groups])


@MODELS.register("gbm")
class GBMModel(Model):
    """LightGBM ensemble on rich features (the default for activity and ADMET)."""

    name = "gbm"
    supports_censoring = True

    def __init__(
        self,
        task: Task = "auto",
        features: str = "default",
        n_folds: int = 5,
        learning_rate: float = 0.08,
        num_leaves: int = 31,
        max_rounds: int = 1000,
        colsample: float = 0.2,
        alpha: float = 0.1,
        log_transform: str = "auto",
        n_jobs: int = 2,
        seed: int = 0,
        domain_threshold: float = 0.35,
    ) -> None:
        super().__init__(domain_threshold=domain_threshold)
        self.task = task
        self.features = features
        self.feature_set = FeatureSet.named(features)
        self.n_folds = n_folds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_rounds = max_rounds
        self.colsample = colsample
        self.alpha = alpha
        self.log_transform = log_transform
        self.n_jobs = n_jobs
        self.seed = seed
        self.members: list = []
        self.fitted_task = ""
        self.log_scale: float | None = None
        self.platt: tuple[float, float] = (1.0, 0.0)
        self.conformal_q = 1.0
        self.oof: np.ndarray | None = None

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "task": self.fitted_task or self.task,
            "features": "+".join(self.feature_set.blocks),
            "n_folds": self.n_folds,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "max_rounds": self.max_rounds,
            "colsample": self.colsample,
            "alpha": self.alpha,
            "log_scale": self.log_scale,
        }

    # -- training -----------------------------------------------------------------------------
    def _lgb_params(self, n: int) -> dict[str, Any]:
        return {
            "n_estimators": self.max_rounds,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": max(5, min(20, n // 50)),
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": self.colsample,
            "reg_lambda": 1.0,
            "max_bin": 63,
            "n_jobs": self.n_jobs,
            "verbose": -1,
        }

    def _fit(self, smiles: Sequence[str], y: np.ndarray, censor: np.ndarray | None = None) -> None:
        X, valid = self.feature_set.transform(smiles)
        if not valid.all():
            bad = int(np.flatnonzero(~valid)[0])
            raise ValueError(f"training molecule {bad + 1} is not a valid SMILES: {smiles[bad]!r}")
        self.fit_features(X, y, smiles, censor)

    def fit_features(
        self,
        X: np.ndarray,
        y: np.ndarray,
        smiles: Sequence[str],
        censor: np.ndarray | None = None,
        folds: np.ndarray | None = None,
    ) -> GBMModel:
        """Fit on a precomputed feature matrix (benchmarks reuse cached features)."""
        self.fitted_task = detect_task(y) if self.task == "auto" else self.task
        if self.fitted_task == "classification" and not set(np.unique(y)) <= {0.0, 1.0}:
            raise ValueError("classification targets must be 0/1")
        if folds is None:
            folds = assign_folds(scaffold_groups(smiles), self.n_folds, self.seed)
        target = self._transform_y(y, fit=True)
        censor = np.zeros(len(y), dtype=np.int8) if censor is None else np.asarray(censor)
        rounds = 3 if self.fitted_task == "regression" and censor.any() else 1
        work = target.copy()
        for _ in range(rounds):
            oof = self._fit_members(X, work, folds)
            # censored targets move to the OOF prediction when it respects the bound
            up = (censor > 0) & (oof > target)
            down = (censor < 0) & (oof < target)
            work = np.where(up | down, oof, target)
        self.oof = oof
        cal = np.isfinite(oof)
        from drugloop.chem.features import bit_vectors

        self._train_fps = [fp for fp in bit_vectors(smiles) if fp is not None]
        if self.fitted_task == "classification":
            self._fit_platt(oof[cal], y[cal])
        else:
            self._fit_conformal(work, oof, folds, smiles)
        return self

    def _fit_members(self, X: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """One member per fold id >= 0 (rows with fold -1 are always in training)."""
        import lightgbm as lgb

        oof = np.full(len(y), np.nan)
        self.members = []
        for k in np.unique(folds[folds >= 0]):
            train, held = folds != k, folds == k
            params = self._lgb_params(int(train.sum()))
            if self.fitted_task == "classification":
                est = lgb.LGBMClassifier(**params, random_state=self.seed + int(k))
                stop_metric = "binary_logloss"
            else:
                est = lgb.LGBMRegressor(**params, random_state=self.seed + int(k))
                stop_metric = "l2"
            est.fit(
                X[train],
                y[train],
                eval_X=(X[held],),
                eval_y=(y[held],),
                eval_metric=stop_metric,
                callbacks=[lgb.early_stopping(100, first_metric_only=True, verbose=False)],
            )
            self.members.append(est)
            oof[held] = self._raw_member(est, X[held])
        return oof

    def _raw_member(self, est: Any, X: np.ndarray) -> np.ndarray:
        # small validation folds stop too early on noise: use at least MIN_ROUNDS trees
        it = max(est.best_iteration_ or 0, min(MIN_ROUNDS, est.booster_.current_iteration()))
        if self.fitted_task == "classification":
            return est.predict_proba(X, num_iteration=it)[:, 1]
        return est.predict(X, num_iteration=it)

    def _transform_y(self, y: np.ndarray, fit: bool = False) -> np.ndarray:
        """Heavy-tailed non-negative targets (clearance, half-life) are fitted on a log scale."""
        if fit:
            self.log_scale = None
            skewed = self.fitted_task == "regression" and (y >= 0).all() and _skew(y) > 2.0
            if self.log_transform == "always" or (self.log_transform == "auto" and skewed):
                positive = y[y > 0]
                self.log_scale = float(np.median(positive)) if len(positive) else 1.0
        return y if self.log_scale is None else np.log1p(y / self.log_scale)

    def _inverse_y(self, t: np.ndarray) -> np.ndarray:
        return t if self.log_scale is None else np.expm1(t) * self.log_scale

    def _fit_platt(self, oof: np.ndarray, y: np.ndarray) -> None:
        self.platt = fit_platt(oof, y)

    def _fit_conformal(
        self, y: np.ndarray, oof: np.ndarray, folds: np.ndarray, smiles: Sequence[str]
    ) -> None:
        self.conformal_q = conformal_quantile(y, oof, folds, smiles, self.alpha)

    @staticmethod
    def _difficulty(similarity: np.ndarray, spread: np.ndarray) -> np.ndarray:
        return (1.0 - similarity) + 0.1 + spread

    # -- prediction ---------------------------------------------------------------------------
    def member_predictions(self, X: np.ndarray) -> np.ndarray:
        return np.stack([self._raw_member(m, X) for m in self.members])

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        X, valid = self.feature_set.transform(smiles)
        mean, std = self.predict_features(X, self._similarity(smiles))
        mean[~valid] = np.nan
        std[~valid] = np.nan
        return mean, std

    def _similarity(self, smiles: Sequence[str]) -> np.ndarray:
        from drugloop.chem.features import bit_vectors, max_tanimoto

        return max_tanimoto(bit_vectors(smiles), self._train_fps or [])

    def predict_features(
        self, X: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and uncertainty from a feature matrix and nearest-neighbour similarities."""
        preds = self.member_predictions(X)
        if self.fitted_task == "classification":
            a, b = self.platt
            probs = 1.0 / (1.0 + np.exp(-(a * _logit(preds) + b)))
            return probs.mean(axis=0), probs.std(axis=0)
        half_width = self.conformal_q * self._difficulty(similarity, np.zeros(len(similarity)))
        z = norm.ppf(1 - self.alpha / 2)
        mean = preds.mean(axis=0)
        if self.log_scale is None:
            return mean, half_width / z
        # intervals on the log scale mapped back: report half the interval width / z
        lo, hi = self._inverse_y(mean - half_width), self._inverse_y(mean + half_width)
        return self._inverse_y(mean), (hi - lo) / (2 * z)

    def interval(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The conformal ``1 - alpha`` prediction interval (regression only)."""
        if self.fitted_task != "regression":
            raise ValueError("intervals are for regression models; classifiers give P(class 1)")
        X, _ = self.feature_set.transform(smiles)
        return self.interval_features(X, self._similarity(smiles))

    def interval_features(
        self, X: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        mean = self.member_predictions(X).mean(axis=0)
        half = self.conformal_q * self._difficulty(similarity, np.zeros(len(similarity)))
        return self._inverse_y(mean - half), self._inverse_y(mean + half)


def fit_platt(oof: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling (slope, intercept on the logit) of out-of-fold probabilities."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return (1.0, 0.0)
    lr = LogisticRegression(C=100.0).fit(_logit(oof).reshape(-1, 1), y)
    return (float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def conformal_quantile(
    y: np.ndarray, oof: np.ndarray, folds: np.ndarray, smiles: Sequence[str], alpha: float
) -> float:
    """Split-conformal quantile of |y - oof| / difficulty over the out-of-fold rows.

    The difficulty of an out-of-fold molecule uses its similarity to the *other* folds (the
    member that predicted it was trained on those), so it matches what a new molecule sees.
    """
    from drugloop.chem.features import bit_vectors, max_tanimoto

    fps = bit_vectors(smiles)
    cal = np.flatnonzero(np.isfinite(oof))
    sim = np.zeros(len(smiles))
    for k in np.unique(folds[cal]):
        held = np.flatnonzero(folds == k)
        others = [fps[i] for i in np.flatnonzero(folds != k)]
        sim[held] = max_tanimoto([fps[i] for i in held], others)
    scores = np.abs(y[cal] - oof[cal]) / GBMModel._difficulty(sim[cal], np.zeros(len(cal)))
    n = len(scores)
    level = min(1.0, np.ceil((n + 1) * (1 - alpha)) / n)
    return float(np.quantile(scores, level))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _skew(y: np.ndarray) -> float:
    sd = y.std()
    return float(np.mean((y - y.mean()) ** 3) / sd**3) if sd > 0 else 0.0
