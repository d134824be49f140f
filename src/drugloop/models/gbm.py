"""Gradient-boosted trees on rich features: a cross-validated ensemble with conformal uncertainty.

The ensemble, its OOF predictions, conformal intervals and Platt calibration follow
:mod:`drugloop.models.cv_ensemble`. What is particular to the trees:

* **Boosters.** ``booster="lightgbm"`` (default), ``"catboost"`` (oblivious trees, MapLight's
  choice), or ``"both"``: each fold member is a LightGBM and a CatBoost model fitted on the same
  rows, their raw outputs averaged (two tree families err differently, so the pair usually
  ranks better than either; ``benchmarks/tdc_boosters.py`` compares them on validation folds).
* **Early stopping per member** on its own held-out fold (at least ``MIN_ROUNDS`` trees, since
  small folds stop too early on noise). With a single validation fold (``folds`` of 0 and -1)
  the calibration is plain split-conformal.
* **Log scale** for heavy-tailed non-negative targets (clearance, half-life): intervals are
  computed there and mapped back.
* **Censored regression.** Values reported only as bounds (``>10 µM`` = pIC50 ``< 5``) are
  trained by iterative imputation within bounds: a first fit uses the bound itself; then each
  censored target is replaced by its OOF prediction whenever that prediction lies on the
  allowed side of the bound (else the bound is kept), and the ensemble is refitted; three
  fits in all.
* **Tanimoto-SVR blend** (regression, up to ``MAX_KERNEL_TRAIN`` molecules): one SVR per fold
  on the Tanimoto kernel of Morgan bits (the applicability domain's fingerprint) joins the
  trees with the weight their out-of-fold rows choose (0 keeps the trees alone;
  :mod:`drugloop.models.kernel`). On MoleculeACE it lowered the nested validation RMSE
  (``benchmarks/activity_blend.py``). Classifiers are not blended: over 35 classification sets
  (13 TDC endpoints, BACE, BBBP, 20 binarized MoleculeACE targets) an SVC blend's nested
  validation was even (``benchmarks/classification_blend.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from drugloop.models.base import MODELS
from drugloop.models.cv_ensemble import (
    CVEnsembleModel,
    assign_folds,
    first_invalid,
    scaffold_groups,
)
from drugloop.models.features import FeatureSet
from drugloop.models.kernel import (
    KernelBlend,
    fitted_blend,
    nested_blend_oof,
    svm_fits,
    tanimoto_kernel,
)

MIN_ROUNDS = 100
MAX_KERNEL_TRAIN = 10_000  # the kernel is n² in memory (800 MB at 10,000) and the SVR fits ~n²
Task = Literal["auto", "regression", "classification"]
BOOSTERS = ("lightgbm", "catboost", "both")


@MODELS.register("gbm")
class GBMModel(CVEnsembleModel):
    """Boosted-tree ensemble on rich features (the default for activity and ADMET)."""

    name = "gbm"

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
        booster: str = "lightgbm",
        lgb_extra: dict[str, Any] | None = None,
        kernel_blend: bool = True,
    ) -> None:
        super().__init__(task, alpha, seed, domain_threshold, log_transform)
        if booster not in BOOSTERS:
            raise ValueError(f"booster must be one of {BOOSTERS}, not {booster!r}")
        self.booster = booster
        self.features = features
        self.feature_set = FeatureSet.named(features)
        self.n_folds = n_folds
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_rounds = max_rounds
        self.colsample = colsample
        self.n_jobs = n_jobs
        self.lgb_extra = dict(lgb_extra or {})  # further LightGBM parameters (recipe sweeps)
        self.kernel_blend = kernel_blend
        self.kernel: KernelBlend | None = None

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
            "booster": self.booster,
            **({"lgb_extra": self.lgb_extra} if self.lgb_extra else {}),
            "kernel_blend": self._kernel_summary(),
        }

    def _kernel_summary(self) -> dict[str, float] | str:
        """The blended SVR's weight and C; "on" when enabled but not blended (yet)."""
        kernel = getattr(self, "kernel", None)  # models pickled before the blend have neither
        if kernel is not None:
            return {"weight": kernel.weight, "C": kernel.C}
        return "on" if getattr(self, "kernel_blend", False) else "off"

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
            **self.lgb_extra,
        }

    def _fit(self, smiles: Sequence[str], y: np.ndarray, censor: np.ndarray | None = None) -> None:
        X, valid = self.feature_set.transform(smiles)
        first_invalid(smiles, valid)
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
        self._resolve_task(y)
        if folds is None:
            folds = assign_folds(scaffold_groups(smiles), self.n_folds, self.seed)
        self._fit_log_scale(y)
        target = self._transform_y(y)
        censor = np.zeros(len(y), dtype=np.int8) if censor is None else np.asarray(censor)
        rounds = 3 if self.fitted_task == "regression" and censor.any() else 1
        work = target.copy()
        for _ in range(rounds):
            oof = self._fit_members(X, work, folds)
            # censored targets move to the OOF prediction when it respects the bound
            up = (censor > 0) & (oof > target)
            down = (censor < 0) & (oof < target)
            work = np.where(up | down, oof, target)
        from drugloop.chem.features import bit_vectors

        fps = bit_vectors(smiles)
        self._train_fps = [fp for fp in fps if fp is not None]
        self.kernel = None
        if self.fitted_task == "regression" and self.kernel_blend and len(y) <= MAX_KERNEL_TRAIN:
            oof = self._fit_kernel(fps, work, oof, folds)
        self._calibrate(y, work, oof, folds, smiles)
        return self

    def _fit_kernel(
        self, fps: list, target: np.ndarray, oof: np.ndarray, folds: np.ndarray
    ) -> np.ndarray:
        """Blend a Tanimoto SVR into the trees if their out-of-fold rows say so.

        Returns the OOF predictions to calibrate on: nested (each fold blended with the choice
        made on the others), so the conformal intervals and cross-validated metrics are not
        flattered by the choice (``drugloop.models.kernel``; ``benchmarks/activity_blend.py``).
        """
        K = tanimoto_kernel(fps, fps)
        fits = svm_fits(K, target, folds)
        blend = fitted_blend(oof, fits, target)
        if not blend.weight:
            return oof
        parsed = np.array([fp is not None for fp in fps])
        blend.coef = blend.coef[parsed]  # aligned with ``_train_fps``; the others add 0
        self.kernel = blend
        return nested_blend_oof(oof, fits, target, folds)

    def _fit_members(self, X: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
        """One member per fold id >= 0 (rows with fold -1 are always in training)."""
        oof = np.full(len(y), np.nan)
        self.members = []
        kinds = ("lightgbm", "catboost") if self.booster == "both" else (self.booster,)
        fit = {"lightgbm": self._fit_lightgbm, "catboost": self._fit_catboost}
        for k in np.unique(folds[folds >= 0]):
            train, held = folds != k, folds == k
            seed = self.seed + int(k)
            pair = [fit[kind](X[train], y[train], X[held], y[held], seed) for kind in kinds]
            member = pair[0] if len(pair) == 1 else tuple(pair)
            self.members.append(member)
            oof[held] = self._raw_member(member, X[held])
        return oof

    def _fit_lightgbm(self, X, y, X_held, y_held, seed: int) -> Any:
        import lightgbm as lgb

        params = self._lgb_params(len(y))
        if self.fitted_task == "classification":
            est, stop_metric = lgb.LGBMClassifier(**params, random_state=seed), "binary_logloss"
        else:
            est, stop_metric = lgb.LGBMRegressor(**params, random_state=seed), "l2"
        est.fit(
            X,
            y,
            eval_X=(X_held,),
            eval_y=(y_held,),
            eval_metric=stop_metric,
            callbacks=[lgb.early_stopping(100, first_metric_only=True, verbose=False)],
        )
        return est

    def _fit_catboost(self, X, y, X_held, y_held, seed: int) -> Any:
        """CatBoost with MapLight's depth and a fixed rate; early-stopped like LightGBM."""
        from catboost import CatBoostClassifier, CatBoostRegressor

        cls = CatBoostClassifier if self.fitted_task == "classification" else CatBoostRegressor
        est = cls(
            iterations=self.max_rounds,
            learning_rate=0.05,
            depth=6,
            rsm=self.colsample,
            border_count=64,
            random_seed=seed,
            thread_count=self.n_jobs,
            early_stopping_rounds=100,
            use_best_model=False,
            allow_writing_files=False,
            verbose=0,
        )
        est.fit(X, y, eval_set=(X_held, y_held))
        return est

    def _raw_member(self, member: Any, X: np.ndarray, pool: Any = None) -> np.ndarray:
        """One member's raw output; ``pool`` is ``X`` already wrapped for CatBoost, if shared."""
        if isinstance(member, tuple):  # booster="both": the pair's mean
            return np.mean([self._raw_member(est, X, pool) for est in member], axis=0)
        it = iterations(member)
        if is_lightgbm(member):
            if self.fitted_task == "classification":
                return member.predict_proba(X, num_iteration=it)[:, 1]
            return member.predict(X, num_iteration=it)
        data = X if pool is None else pool
        if self.fitted_task == "classification":
            return member.predict_proba(data, ntree_end=it)[:, 1]
        return member.predict(data, ntree_end=it)

    # -- prediction ---------------------------------------------------------------------------
    def member_predictions(self, X: np.ndarray) -> np.ndarray:
        pool = catboost_pool(X) if self.booster != "lightgbm" else None
        return np.stack([self._raw_member(m, X, pool) for m in self.members])

    def _kernel_rows(self, smiles: Sequence[str]) -> np.ndarray:
        """Tanimoto of each molecule to every training molecule (an unparseable one: zeros)."""
        from drugloop.chem.features import bit_vectors

        return tanimoto_kernel(bit_vectors(smiles), self._train_fps or [])

    def _outputs(
        self, smiles: Sequence[str], K: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(members, molecules) outputs (one blended row when an SVR is blended in), validity.

        ``K``: the molecules' :meth:`_kernel_rows`, if already computed.
        """
        X, valid = self.feature_set.transform(smiles)
        preds = self.member_predictions(X)
        kernel = getattr(self, "kernel", None)
        if kernel is not None:
            K = self._kernel_rows(smiles) if K is None else K
            preds = kernel.blend(preds.mean(axis=0), K)[None, :]
        return preds, valid

    def _member_mean(self, smiles: Sequence[str]) -> np.ndarray:
        preds, valid = self._outputs(smiles)
        return np.where(valid, preds.mean(axis=0), np.nan)

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        mean, std, _ = self._predict_with_similarity(list(smiles))
        return mean, std

    def _predict_with_similarity(
        self, smiles: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """With a blended SVR the kernel rows give the domain similarity too: one pass."""
        if getattr(self, "kernel", None) is None:
            return super()._predict_with_similarity(smiles)
        K = self._kernel_rows(smiles)
        similarity = K.max(axis=1) if K.shape[1] else np.zeros(len(smiles))
        return (*self._predict_given_similarity(smiles, similarity, K), similarity)

    def _predict_given_similarity(
        self, smiles: Sequence[str], similarity: np.ndarray, K: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        preds, valid = self._outputs(smiles, K)
        mean, std = self.calibrated_mean_std(preds, similarity)
        mean[~valid] = np.nan
        std[~valid] = np.nan
        return mean, std

    def predict_features(
        self, X: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and uncertainty from a feature matrix and nearest-neighbour similarities.

        Trees only: a model with a blended SVR needs the molecules (``predict``).
        """
        self._require_trees_only()
        return self.calibrated_mean_std(self.member_predictions(X), similarity)

    def interval_features(
        self, X: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        self._require_trees_only()
        return self.interval_from_mean(self.member_predictions(X).mean(axis=0), similarity)

    def _require_trees_only(self) -> None:
        if getattr(self, "kernel", None) is not None:
            raise ValueError("this model blends a Tanimoto SVR: predict from SMILES, not features")


def catboost_pool(X: np.ndarray) -> Any:
    """``X`` wrapped once for every CatBoost member that predicts on it.

    CatBoost converts a plain array into a ``Pool`` on each ``predict`` call, and that copy costs
    more than evaluating a few hundred oblivious trees; sharing one cut the paired ADMET panel's
    slowdown over LightGBM alone from 2.9× to 1.2× (``benchmarks/panel_boosters_speed.py``).
    """
    from catboost import Pool

    return Pool(np.ascontiguousarray(X, dtype=np.float32))


def is_lightgbm(est: Any) -> bool:
    """LightGBM estimator (else CatBoost): the two boosters a member can hold."""
    return hasattr(est, "booster_")


def iterations(est: Any) -> int:
    """Trees a member predicts with: its best iteration, but at least ``MIN_ROUNDS``.

    Small validation folds stop too early on noise.
    """
    if is_lightgbm(est):
        return max(est.best_iteration_ or 0, min(MIN_ROUNDS, est.booster_.current_iteration()))
    best = est.get_best_iteration()  # CatBoost: 0-based index of the best tree
    return max((best or 0) + 1, min(MIN_ROUNDS, est.tree_count_))
