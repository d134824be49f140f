"""Surrogate pre-screening: spend oracle calls only on the proposals a model ranks best.

Generators propose molecules for almost nothing; the oracle (docking, an assay, a PMO task) is
what a campaign pays for. ``SurrogateScreen`` asks the generator it wraps for ``oversample``
times the batch, ranks the proposals by the posterior mean of a Gaussian process fitted on
every molecule scored so far, and sends only the best-ranked to the oracle: ask more, score
fewer, as model-based optimizers do (GP-BO with a genetic acquisition optimizer, Tripp et al.
2021). The GP is the active-learning default (MinMax kernel on Morgan counts, size mean), on at
most ``max_train`` molecules: the best half plus a random half, so each round costs about a
second. Until ``min_train`` molecules are scored the screen passes the generator's batch through.

``acquisition="mean"`` ranks by the posterior mean. ``"ei"`` ranks by the expected improvement
over the ``ei_rank``-th best score so far (Jones et al. 1998): a proposal next to a known good
molecule has a high mean but a small std, so EI spends fewer calls on near-copies of the best.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from drugloop.design.base import GENERATORS, Generator

if TYPE_CHECKING:
    from drugloop.models.base import Model, Prediction

ACQUISITIONS = ("mean", "ei")


@GENERATORS.register("surrogate_screen")
class SurrogateScreen(Generator):
    """Wraps a generator (e.g. the portfolio); everything else is delegated to it."""

    name = "surrogate_screen"

    def __init__(
        self,
        inner: Generator,
        oversample: float = 3.0,
        min_train: int = 100,
        max_train: int = 1000,
        acquisition: str = "mean",
        ei_rank: int = 10,
        seed: int = 0,
    ) -> None:
        if oversample < 1:
            raise ValueError("oversample must be ≥ 1")
        if not 2 <= min_train <= max_train:
            raise ValueError("need 2 ≤ min_train ≤ max_train (the GP fits on at least 2 molecules)")
        if acquisition not in ACQUISITIONS:
            raise ValueError(
                f"unknown acquisition {acquisition!r}; known: {', '.join(ACQUISITIONS)}"
            )
        self.inner = inner
        self.oversample = oversample
        self.min_train = min_train
        self.max_train = max_train
        self.acquisition = acquisition
        self.ei_rank = ei_rank
        self.seed = seed
        self._scores: dict[str, float] = {}  # every molecule told, finite scores only
        self._rng = np.random.default_rng(seed)
        self.n_proposed = 0
        self.n_passed = 0

    def __getattr__(self, attribute: str) -> object:
        if attribute == "inner":  # not set yet (e.g. while unpickling)
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def origin_of(self, smiles: str) -> str:
        """Who proposed a molecule: the portfolio's generator, else the wrapped generator."""
        origin = getattr(self.inner, "origin_of", None)
        return origin(smiles) if origin is not None else self.inner.name

    def ask(self, n: int) -> list[str]:
        if len(self._scores) < self.min_train:
            return self.inner.ask(n)
        proposals = [
            s for s in self.inner.ask(math.ceil(self.oversample * n)) if s not in self._scores
        ]
        self.n_proposed += len(proposals)
        if len(proposals) > n:
            value = self._acquire(self.surrogate().predict(proposals))
            order = np.argsort(-np.nan_to_num(value, nan=-np.inf), kind="stable")
            proposals = [proposals[i] for i in order[:n]]
        self.n_passed += len(proposals)
        return proposals

    def _acquire(self, prediction: Prediction) -> np.ndarray:
        if self.acquisition == "mean":
            return prediction.mean
        from scipy.stats import norm

        scores = np.fromiter(self._scores.values(), dtype=np.float64)
        incumbent = np.sort(scores)[::-1][min(self.ei_rank, len(scores)) - 1]
        std = np.maximum(prediction.std, 1e-9)
        z = (prediction.mean - incumbent) / std
        return (prediction.mean - incumbent) * norm.cdf(z) + std * norm.pdf(z)

    def surrogate(self) -> Model:
        """The GP on the best ``max_train / 2`` molecules scored so far plus a random rest."""
        from drugloop.models.gp import TanimotoGPModel

        smiles = list(self._scores)
        y = np.fromiter(self._scores.values(), dtype=np.float64, count=len(smiles))
        rows = np.arange(len(y))
        if len(y) > self.max_train:
            order = np.argsort(-y, kind="stable")
            best = order[: self.max_train // 2]
            rest = self._rng.choice(order[len(best) :], self.max_train - len(best), replace=False)
            rows = np.concatenate([best, rest])
        model = TanimotoGPModel(max_train=self.max_train, seed=self.seed)
        return model.fit([smiles[i] for i in rows], y[rows])

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        self._record(smiles, scores)
        self.inner.tell(smiles, scores)

    def withheld(self, smiles: Sequence[str]) -> None:
        self._record(smiles, np.zeros(len(smiles)))
        self.inner.withheld(smiles)

    def resume(
        self,
        smiles: Sequence[str],
        scores: np.ndarray,
        origins: Sequence[str] | None = None,
        rounds: Sequence[int] | None = None,
    ) -> None:
        self._record(smiles, scores)
        self.inner.resume(smiles, scores, origins=origins, rounds=rounds)

    def _record(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        for text, score in zip(
            smiles, np.asarray(scores, dtype=np.float64).reshape(-1), strict=True
        ):
            if math.isfinite(score):
                self._scores[text] = float(score)
