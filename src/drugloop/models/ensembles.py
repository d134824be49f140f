"""Fingerprint tree ensembles whose spread across members gives the uncertainty.

Random forests (std over trees) and bagged LightGBM (std over bootstrap members) on Morgan
count fingerprints: strong, fast baselines for activity data of a few hundred to tens of
thousands of compounds, and the foundation's default model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from drugloop.chem.features import Featurizer, FeaturizerConfig
from drugloop.models.base import MODELS, Model

if TYPE_CHECKING:  # sklearn.ensemble costs ~0.2 s to import: only when a forest is fitted
    from sklearn.ensemble import RandomForestRegressor


class _FingerprintModel(Model):
    def __init__(self, radius: int = 2, n_bits: int = 2048, domain_threshold: float = 0.35) -> None:
        super().__init__(domain_threshold=domain_threshold)
        self.radius = radius
        self.n_bits = n_bits
        self.featurizer = Featurizer(FeaturizerConfig("morgan_count", radius, n_bits))

    def params(self) -> dict[str, Any]:
        return {**super().params(), "features": f"morgan_count r={self.radius} {self.n_bits} bits"}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["featurizer"] = None  # the row cache is not worth saving; rebuilt on load
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.featurizer = Featurizer(FeaturizerConfig("morgan_count", self.radius, self.n_bits))


@MODELS.register("rf")
class RandomForestModel(_FingerprintModel):
    """Random forest; uncertainty is the standard deviation of the per-tree predictions."""

    name = "rf"

    def __init__(
        self,
        n_estimators: int = 200,
        min_samples_leaf: int = 1,
        max_features: float = 0.33,
        n_jobs: int = 2,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.n_jobs = n_jobs
        self.seed = seed
        self.forest: RandomForestRegressor | None = None

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "n_estimators": self.n_estimators,
            "min_samples_leaf": self.min_samples_leaf,
            "max_features": self.max_features,
        }

    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None:
        from sklearn.ensemble import RandomForestRegressor

        self.forest = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            n_jobs=self.n_jobs,
            random_state=self.seed,
        ).fit(self.featurizer.transform(smiles), y)

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        X = self.featurizer.transform(smiles)
        per_tree = np.stack([tree.predict(X) for tree in self.forest.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)


@MODELS.register("lgbm")
class LightGBMEnsembleModel(_FingerprintModel):
    """Bootstrap ensemble of LightGBM regressors; uncertainty is the spread across members."""

    name = "lgbm"

    def __init__(
        self,
        n_members: int = 5,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        n_jobs: int = 2,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.n_members = n_members
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_jobs = n_jobs
        self.seed = seed
        self.members: list = []

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "n_members": self.n_members,
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
        }

    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None:
        import lightgbm as lgb

        X = self.featurizer.transform(smiles)
        rng = np.random.default_rng(self.seed)
        min_child = max(2, min(20, len(y) // 20))
        self.members = []
        for member in range(self.n_members):
            rows = rng.integers(0, len(y), len(y))
            model = lgb.LGBMRegressor(
                n_estimators=self.n_estimators,
                learning_rate=self.learning_rate,
                num_leaves=self.num_leaves,
                min_child_samples=min_child,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.5,
                n_jobs=self.n_jobs,
                random_state=self.seed + member,
                verbose=-1,
            )
            self.members.append(model.fit(X[rows], y[rows]))

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        X = self.featurizer.transform(smiles)
        preds = np.stack([m.predict(X) for m in self.members])
        return preds.mean(axis=0), preds.std(axis=0)
