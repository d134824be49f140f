"""Cross-validated ensembles with calibrated uncertainty, the skeleton of ``gbm`` and ``chemprop``.

Why one skeleton: both families must report the *same kind* of uncertainty so a chemist (or
the campaign loop) can swap one for the other without re-learning what the numbers mean.

* **Ensemble = CV folds.** Member ``k`` is trained on every Bemis–Murcko scaffold fold but
  ``k``, so each training molecule has an out-of-fold (OOF) prediction from a member that
  never saw it; the prediction is the members' mean.
* **Conformal regression intervals.** Normalized split-conformal on OOF residuals: the score
  is ``|y - oof| / d(s)``, where ``s`` is the nearest-neighbour Tanimoto to the training set
  (for OOF rows measured against the *other* folds, so it reflects the distance a new
  molecule will have) and ``d(s) = a + b·(1 - s)`` is the expected absolute error at that
  distance, fitted by least squares on the OOF residuals (``b >= 0``, floored at a tenth of
  the mean error). The ``1 - alpha`` quantile of the scores turns each prediction's ``d``
  into an interval half-width; ``std`` reports it as a Gaussian-equivalent σ (half-width / z).
  Fitting ``d`` rather than fixing it keeps coverage level across distances: the fixed
  ``1 - s + 0.1`` shrank intervals too fast near the training set (85% coverage in the most
  similar third of out-of-fold molecules, 94% in the least similar; TDC train_val, validation
  only), which is where most real queries fall.
* **Calibrated probabilities.** Classifiers get Platt scaling fitted on the OOF logits, which
  keeps the ranking (AUROC/AUPRC) intact.

Subclasses train the members (``_fit``) and give their raw outputs (``_member_mean`` and
``member_predictions``); the calibration and the reported uncertainty live here.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri  # norm.ppf itself; scipy.stats costs ~0.4 s to import

from drugloop.models.base import Model, Prediction

DIFFICULTY_FLOOR = 0.1  # of the fixed normalizer (models calibrated before the fitted one)
Scale = tuple[float, float, float]  # (intercept a, slope b, floor) of d(s) = a + b·(1 - s)


def difficulty(similarity: np.ndarray, scale: Scale | None = None) -> np.ndarray:
    """Conformal normalizer: the expected |error| at a given similarity to the training set.

    ``scale`` comes from :func:`fit_scale`; without one (models saved before it existed) the
    fixed ``1 - s + 0.1`` is used, so their intervals do not change on loading.
    """
    if scale is None:
        return (1.0 - similarity) + DIFFICULTY_FLOOR
    a, b, floor = scale
    return np.maximum(a + b * (1.0 - similarity), floor)


def fit_scale(abs_residual: np.ndarray, similarity: np.ndarray) -> Scale:
    """Least squares ``|residual| ≈ a + b·(1 - s)``, ``b >= 0``: never narrower when farther."""
    mean = float(np.mean(abs_residual))
    distance = 1.0 - similarity
    a, b = mean, 0.0
    if np.ptp(distance) > 0:
        b, a = np.polyfit(distance, abs_residual, 1)
        if b < 0:
            a, b = mean, 0.0
    return (float(a), float(b), 0.1 * mean if mean > 0 else 1e-6)


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


def cv_folds(smiles: Sequence[str], n_folds: int, seed: int) -> np.ndarray:
    """Scaffold folds; random folds when there are too few scaffolds to fill every fold."""
    groups = scaffold_groups(smiles)
    if len(np.unique(groups)) < n_folds:
        groups = np.random.default_rng(seed).permutation(len(smiles))
    return assign_folds(groups, n_folds, seed)


def fit_platt(oof: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling (slope, intercept on the logit) of out-of-fold probabilities."""
    from sklearn.linear_model import LogisticRegression

    if len(np.unique(y)) < 2:
        return (1.0, 0.0)
    lr = LogisticRegression(C=100.0).fit(logit(oof).reshape(-1, 1), y)
    return (float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def apply_platt(probs: np.ndarray, platt: tuple[float, float]) -> np.ndarray:
    a, b = platt
    return 1.0 / (1.0 + np.exp(-(a * logit(probs) + b)))


def conformal_calibration(
    y: np.ndarray, oof: np.ndarray, folds: np.ndarray, smiles: Sequence[str], alpha: float
) -> tuple[float, Scale]:
    """Fitted difficulty and split-conformal quantile of |y - oof| / difficulty on OOF rows.

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
    residual = np.abs(y[cal] - oof[cal])
    scale = fit_scale(residual, sim[cal])
    scores = residual / difficulty(sim[cal], scale)
    n = len(scores)
    level = min(1.0, np.ceil((n + 1) * (1 - alpha)) / n)
    return float(np.quantile(scores, level)), scale


def to_log_scale(y: np.ndarray, log_scale: float | None) -> np.ndarray:
    """``log1p(y / log_scale)``, the scale a skewed target is fitted on; identity for None."""
    return y if log_scale is None else np.log1p(y / log_scale)


def inverse_log_scale(t: np.ndarray, log_scale: float | None) -> np.ndarray:
    """Undo ``log1p(y / log_scale)``; identity when the target was modelled as is."""
    return t if log_scale is None else np.expm1(t) * log_scale


def conformal_interval(
    mean: np.ndarray, half: np.ndarray, log_scale: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """``mean ± half`` on the modelled scale, mapped back to the target's units."""
    return inverse_log_scale(mean - half, log_scale), inverse_log_scale(mean + half, log_scale)


def conformal_mean_std(
    mean: np.ndarray, half: np.ndarray, log_scale: float | None, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """Mean on the reported scale and σ-equivalent uncertainty (interval half-width / z).

    With a log-scale target the interval is built there and mapped back, so the reported
    width is half the back-transformed interval (wider for larger predictions).
    """
    z = ndtri(1 - alpha / 2)
    if log_scale is None:
        return mean, np.where(np.isfinite(mean), half / z, np.nan)
    lo, hi = conformal_interval(mean, half, log_scale)
    return inverse_log_scale(mean, log_scale), (hi - lo) / (2 * z)


def calibrated_mean_std(
    preds: np.ndarray,
    similarity: np.ndarray,
    task: str,
    *,
    platt: tuple[float, float],
    conformal_q: float,
    log_scale: float | None,
    alpha: float,
    scale: Scale | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(members, molecules) raw outputs → calibrated mean and uncertainty per molecule.

    Classifiers: the members' mean Platt-scaled probability and its spread. Regressors: the
    members' mean and the conformal half-width for the molecule's difficulty, as a σ.
    """
    if task == "classification":
        probs = apply_platt(preds, platt)
        return probs.mean(axis=0), probs.std(axis=0)
    half = conformal_q * difficulty(similarity, scale)
    return conformal_mean_std(preds.mean(axis=0), half, log_scale, alpha)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


LOG_TRANSFORMS = ("auto", "always", "never")
CONCENTRATION_SPAN = 1000.0  # 95th / 5th percentile: three decades, as potencies in nM span


def log_scale_for(y: np.ndarray) -> float:
    """``s`` of the target transform ``log1p(y / s)``.

    Why two regimes: clearance or half-life (at most ~2 decades between the 5th and 95th
    percentile on TDC) are modelled as ``log1p(y / median)``, which keeps values near zero from
    dominating. Potencies given as concentrations (IC50/Ki in nM span 3–5 decades) need the
    plain logarithm, i.e. the pIC50 scale, so 1 vs 10 nM differs as much as 1 vs 10 µM: there
    ``s`` is a tenth of the 1st percentile, and ``log1p(y / s)`` is ``log(y) - log(s)`` within
    0.1 nats for all but the lowest values.
    """
    positive = y[y > 0]
    if not len(positive):
        return 1.0
    p1, p5, p95 = np.percentile(positive, [1, 5, 95])
    if p95 >= CONCENTRATION_SPAN * p5:
        return float(0.1 * p1)
    return float(np.median(positive))


def fitted_log_scale(y: np.ndarray, task: str, mode: str = "auto") -> float | None:
    """``s`` when a regression target is fitted as ``log1p(y / s)``, else None.

    Heavy-tailed non-negative targets (clearance, half-life, IC50 in nM) are fitted as logs;
    ``mode`` "always" / "never" overrides the skewness test. NaN (not measured) is ignored.
    """
    y = y[np.isfinite(y)]
    if task != "regression" or mode == "never" or not len(y):
        return None
    if mode == "always" or ((y >= 0).all() and _skew(y) > 2.0):
        return log_scale_for(y)
    return None


def _skew(y: np.ndarray) -> float:
    sd = y.std()
    return float(np.mean((y - y.mean()) ** 3) / sd**3) if sd > 0 else 0.0


def first_invalid(smiles: Sequence[str], valid: np.ndarray) -> None:
    """Training data must parse: name the first bad molecule (1-based) rather than drop it."""
    if not valid.all():
        bad = int(np.flatnonzero(~valid)[0])
        raise ValueError(f"training molecule {bad + 1} is not a valid SMILES: {smiles[bad]!r}")


class CVEnsembleModel(Model):
    """Base of the calibrated CV ensembles: Platt or conformal calibration on OOF predictions."""

    supports_censoring = True

    def __init__(
        self,
        task: str = "auto",
        alpha: float = 0.1,
        seed: int = 0,
        domain_threshold: float = 0.35,
        log_transform: str = "auto",
    ) -> None:
        super().__init__(domain_threshold=domain_threshold)
        if log_transform not in LOG_TRANSFORMS:
            raise ValueError(
                f"log_transform must be one of {LOG_TRANSFORMS}, not {log_transform!r}"
            )
        self.task = task
        self.log_transform = log_transform
        self.alpha = alpha
        self.seed = seed
        self.fitted_task = ""
        self.members: list = []
        self.log_scale: float | None = None
        self.platt: tuple[float, float] = (1.0, 0.0)
        self.conformal_q = 1.0
        self.conformal_scale: Scale | None = None
        self.oof: np.ndarray | None = None

    def params(self) -> dict[str, Any]:
        return {**super().params(), "log_scale": self.log_scale}

    @abstractmethod
    def _member_mean(self, smiles: Sequence[str]) -> np.ndarray:
        """Members' mean raw output (on the modelled target scale) per molecule."""

    def _resolve_task(self, y: np.ndarray) -> str:
        self.fitted_task = detect_task(y) if self.task == "auto" else self.task
        if self.fitted_task == "classification" and not set(np.unique(y)) <= {0.0, 1.0}:
            raise ValueError("classification targets must be 0/1")
        return self.fitted_task

    def _calibrate(
        self,
        y: np.ndarray,
        target: np.ndarray,
        oof: np.ndarray,
        folds: np.ndarray,
        smiles: Sequence[str],
    ) -> None:
        """Platt on OOF probabilities, or the conformal quantile of OOF residuals to ``target``."""
        self.oof = oof
        cal = np.isfinite(oof)
        if self.fitted_task == "classification":
            self.platt = fit_platt(oof[cal], y[cal])
        else:
            self.conformal_q, self.conformal_scale = conformal_calibration(
                target, oof, folds, smiles, self.alpha
            )

    def _fit_log_scale(self, y: np.ndarray) -> None:
        mode = getattr(self, "log_transform", "auto")  # models pickled before the option
        self.log_scale = fitted_log_scale(y, self.fitted_task, mode)

    def _transform_y(self, y: np.ndarray) -> np.ndarray:
        return to_log_scale(y, self.log_scale)

    def _inverse_y(self, t: np.ndarray) -> np.ndarray:
        return inverse_log_scale(t, self.log_scale)

    def _half_width(self, similarity: np.ndarray) -> np.ndarray:
        return self.conformal_q * difficulty(similarity, getattr(self, "conformal_scale", None))

    def calibrated_mean_std(
        self, preds: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and uncertainty from (members, molecules) raw outputs and similarities."""
        return calibrated_mean_std(
            preds,
            similarity,
            self.fitted_task,
            platt=self.platt,
            conformal_q=self.conformal_q,
            log_scale=self.log_scale,
            alpha=self.alpha,
            scale=getattr(self, "conformal_scale", None),
        )

    def interval_from_mean(
        self, mean: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return conformal_interval(mean, self._half_width(similarity), self.log_scale)

    def interval_around(
        self, mean: np.ndarray, similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The interval of predictions already made (``mean`` in the target's units).

        On a log-scaled target it is asymmetric around ``mean``; ``mean ± 1.645 σ`` is not it.
        """
        return self.interval_from_mean(self._transform_y(mean), similarity)

    def predict(self, smiles: Sequence[str]) -> Prediction:
        """As :meth:`Model.predict`; regressors also give their conformal interval."""
        pred = super().predict(smiles)
        if self.fitted_task == "regression":
            pred.lower, pred.upper = self.interval_around(pred.mean, pred.similarity)
            pred.level = 1 - self.alpha
        return pred

    def interval(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The conformal ``1 - alpha`` prediction interval (regression only)."""
        if self.fitted_task != "regression":
            raise ValueError("intervals are for regression models; classifiers give P(class 1)")
        smiles = list(smiles)
        return self.interval_from_mean(self._member_mean(smiles), self._similarity(smiles))
