"""Multi-task D-MPNN: one network for several endpoints measured on overlapping compounds.

Why: endpoints measured on the same compounds (CYP isoforms, a kinase selectivity panel,
solubility at two pHs) share structure–activity signal. One message-passing encoder with a head
per endpoint learns it from every label at once, so a sparsely measured endpoint borrows
strength from the densely measured ones. A compound needs labels for only some endpoints: the
loss skips the missing ones (NaN).

Per endpoint, the guarantees of the single-task families hold: scaffold-fold members give
out-of-fold predictions; regressors get split-conformal intervals normalized by the distance to
the compounds *labelled for that endpoint* (also the applicability domain), classifiers get
Platt-calibrated probabilities. All endpoints of one model are of one kind (regression or 0/1
classification); train the two kinds as two models.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from drugloop.models.base import (
    ModelCard,
    Prediction,
    hash_training_data,
    library_versions,
    load_model,
    save_model,
)
from drugloop.models.chemprop_model import MPNNEnsembleSettings, mpnn_outputs, parses
from drugloop.models.cv_ensemble import (
    LOG_TRANSFORMS,
    calibrated_mean_std,
    conformal_calibration,
    conformal_interval,
    cv_folds,
    detect_task,
    difficulty,
    first_invalid,
    fit_platt,
    fitted_log_scale,
    inverse_log_scale,
    to_log_scale,
)

MIN_LABELS = 5  # per endpoint: fewer cannot fit a head, let alone calibrate it


class MultiTaskChempropModel(MPNNEnsembleSettings):
    """Cross-validated ensemble of multi-task Chemprop MPNNs; ``predict`` gives one
    :class:`~drugloop.models.base.Prediction` per endpoint."""

    name = "chemprop_multitask"

    def __init__(
        self,
        task: str = "auto",
        n_members: int = 5,
        epochs: int = 30,
        batch_size: int = 64,
        hidden: int = 300,
        alpha: float = 0.1,
        seed: int = 0,
        domain_threshold: float = 0.35,
        log_transform: str = "auto",
    ) -> None:
        if log_transform not in LOG_TRANSFORMS:
            raise ValueError(f"log_transform: one of {LOG_TRANSFORMS}, not {log_transform!r}")
        self._init_mpnn(n_members, epochs, batch_size, hidden)
        self.task = task
        self.log_transform = log_transform
        self.log_scales: list[float | None] = []  # per endpoint, as a single-task model's
        self.alpha = alpha
        self.seed = seed
        self.domain_threshold = domain_threshold
        self.tasks: list[str] = []
        self.fitted_task = ""
        self.members: list = []
        self.oof: np.ndarray | None = None
        self.platts: list[tuple[float, float]] = []
        self.conformal_qs: list[float] = []
        self.conformal_scales: list = []
        self._task_fps: list[list] = []
        self.card: ModelCard | None = None

    def params(self) -> dict[str, Any]:
        return {
            "task": self.fitted_task or self.task,
            "tasks": self.tasks,
            **self._mpnn_params(),
            "alpha": self.alpha,
            "domain_threshold": self.domain_threshold,
            "log_scales": self.log_scales,
        }

    # -- training -----------------------------------------------------------------------------
    def fit(
        self,
        smiles: Sequence[str],
        Y: np.ndarray | pd.DataFrame,
        tasks: Sequence[str] | None = None,
        censor: np.ndarray | None = None,
    ) -> MultiTaskChempropModel:
        """Train on a (molecules, endpoints) table; NaN marks an endpoint not measured.

        ``censor`` (same shape, regression only): +1 where the value is a lower bound
        (``>10``), -1 an upper bound, 0 exact; bounds train through Chemprop's bounded MSE.
        """
        from drugloop.chem.features import bit_vectors

        smiles = list(smiles)
        if isinstance(Y, pd.DataFrame):
            tasks = tasks or [str(c) for c in Y.columns]
        Y = np.asarray(Y, dtype=np.float64)
        Y = Y.reshape(-1, 1) if Y.ndim == 1 else Y
        self.tasks = list(tasks) if tasks is not None else [f"task{j}" for j in range(Y.shape[1])]
        self._check(smiles, Y)
        if censor is not None:
            censor = np.asarray(censor, dtype=np.int8).reshape(Y.shape)
            if self.fitted_task == "classification" or not censor.any():
                censor = None
        self.log_scales = [
            fitted_log_scale(Y[:, j], self.fitted_task, self.log_transform)
            for j in range(Y.shape[1])
        ]
        raw, Y = Y, np.column_stack([self.model_scale(j, Y[:, j]) for j in range(Y.shape[1])])
        folds = cv_folds(smiles, self.n_members, self.seed)
        oof = np.full(Y.shape, np.nan)
        self.members = []
        for k in np.unique(folds):
            train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            member = self._train_member(
                [smiles[i] for i in train], Y[train], None if censor is None else censor[train], k
            )
            self.members.append(member)
            oof[held] = mpnn_outputs(member, [smiles[i] for i in held])
        self.oof = oof
        fps = bit_vectors(smiles)
        self.platts, self.conformal_qs, self.conformal_scales, self._task_fps = [], [], [], []
        for j in range(len(self.tasks)):
            rows = np.flatnonzero(np.isfinite(Y[:, j]))
            self._task_fps.append([fps[i] for i in rows])
            if self.fitted_task == "classification":
                self.platts.append(fit_platt(oof[rows, j], Y[rows, j]))
            else:
                y, pred = Y[rows, j], oof[rows, j]
                if censor is not None:  # a bound the OOF prediction respects leaves no residual
                    c = censor[rows, j]
                    y = np.where(((c > 0) & (pred > y)) | ((c < 0) & (pred < y)), pred, y)
                sub = [smiles[i] for i in rows]
                q, scale = conformal_calibration(y, pred, folds[rows], sub, self.alpha)
                self.conformal_qs.append(q)
                self.conformal_scales.append(scale)
        self.card = ModelCard(
            model=self.name,
            params=self.params(),
            n_train=len(smiles),
            training_data_sha256=hash_training_data(smiles, raw),
            versions=library_versions(),
            metrics={f"labels_{t}": float(np.isfinite(raw[:, j]).sum()) for t, j in self._index()},
        )
        return self

    def _log_scale(self, j: int) -> float | None:
        scales = getattr(self, "log_scales", [])  # models pickled before per-task scales
        return scales[j] if j < len(scales) else None

    def model_scale(self, j: int, y: np.ndarray) -> np.ndarray:
        """Endpoint ``j``'s values on its fitted scale (where ``oof`` lives; NaN stays NaN)."""
        return to_log_scale(y, self._log_scale(j))

    def from_model_scale(self, j: int, t: np.ndarray) -> np.ndarray:
        """Back to endpoint ``j``'s own units (e.g. out-of-fold predictions)."""
        return inverse_log_scale(t, self._log_scale(j))

    def _index(self) -> list[tuple[str, int]]:
        return [(t, j) for j, t in enumerate(self.tasks)]

    def _check(self, smiles: list[str], Y: np.ndarray) -> None:
        if len(smiles) != len(Y):
            raise ValueError(f"{len(smiles)} molecules but {len(Y)} target rows")
        if len(self.tasks) != Y.shape[1]:
            raise ValueError(f"{Y.shape[1]} target columns but {len(self.tasks)} task names")
        first_invalid(smiles, parses(smiles))
        if np.isinf(Y).any():
            raise ValueError("target values must be finite or NaN (not measured)")
        kinds = {}
        for j, name in enumerate(self.tasks):
            n = int(np.isfinite(Y[:, j]).sum())
            if n < MIN_LABELS:
                raise ValueError(f"task {name!r} has {n} labels; need at least {MIN_LABELS}")
            kinds[name] = detect_task(Y[:, j]) if self.task == "auto" else self.task
        if len(set(kinds.values())) > 1:
            raise ValueError(
                "tasks mix regression and classification ("
                + ", ".join(f"{t}: {k}" for t, k in kinds.items())
                + "); train them as two models"
            )
        self.fitted_task = next(iter(kinds.values()))
        labels = set(np.unique(Y[np.isfinite(Y)]))
        if self.fitted_task == "classification" and not labels <= {0.0, 1.0}:
            raise ValueError("classification targets must be 0/1")
        if np.isfinite(Y).any(axis=1).sum() < len(Y):
            bad = int(np.flatnonzero(~np.isfinite(Y).any(axis=1))[0])
            raise ValueError(f"training molecule {bad + 1} ({smiles[bad]!r}) has no label at all")

    # -- prediction ---------------------------------------------------------------------------
    def member_predictions(self, smiles: Sequence[str]) -> np.ndarray:
        """(members, molecules, tasks) raw outputs; NaN rows for unparseable SMILES."""
        valid = parses(smiles)
        out = np.full((len(self.members), len(smiles), len(self.tasks)), np.nan)
        ok = [s for s, v in zip(smiles, valid, strict=True) if v]
        if ok:
            for m, member in enumerate(self.members):
                out[m, valid] = mpnn_outputs(member, ok)
        return out

    def predict(self, smiles: Sequence[str]) -> dict[str, Prediction]:
        """Calibrated mean, uncertainty and applicability domain, per endpoint."""
        from drugloop.chem.features import bit_vectors, max_tanimoto

        if not self.members:
            raise ValueError(f"{self.name} model is not fitted")
        smiles = list(smiles)
        preds = self.member_predictions(smiles)
        fps = bit_vectors(smiles)
        out = {}
        for j, name in enumerate(self.tasks):
            similarity = max_tanimoto(fps, self._task_fps[j])
            classification = self.fitted_task == "classification"
            mean, std = calibrated_mean_std(
                preds[:, :, j],
                similarity,
                self.fitted_task,
                platt=self.platts[j] if classification else (1.0, 0.0),
                conformal_q=1.0 if classification else self.conformal_qs[j],
                log_scale=self._log_scale(j),
                alpha=self.alpha,
                scale=None if classification else self.conformal_scales[j],
            )
            out[name] = Prediction(
                mean=mean,
                std=np.where(np.isfinite(mean), std, np.nan),
                in_domain=similarity >= self.domain_threshold,
                similarity=similarity,
            )
            if not classification:
                half = self.conformal_qs[j] * difficulty(similarity, self.conformal_scales[j])
                interval = conformal_interval(preds[:, :, j].mean(axis=0), half, self._log_scale(j))
                out[name].lower, out[name].upper = interval
                out[name].level = 1 - self.alpha
        return out

    def predict_frame(self, smiles: Sequence[str]) -> pd.DataFrame:
        """One row per molecule: ``<task>``, ``<task>_uncertainty``, ``<task>_in_domain``
        (regression also ``<task>_lower_90`` and ``<task>_upper_90``, the conformal interval)."""
        frame = pd.DataFrame({"smiles": list(smiles)})
        for name, p in self.predict(smiles).items():
            frame[name] = p.mean
            frame[f"{name}_uncertainty"] = p.std
            frame[f"{name}_in_domain"] = p.in_domain
            if p.level is not None:
                level = round(100 * p.level)
                frame[f"{name}_lower_{level}"], frame[f"{name}_upper_{level}"] = p.lower, p.upper
        return frame

    def save(self, directory: str | Path) -> Path:
        return save_model(self, directory, self.card, self.name)

    @staticmethod
    def load(directory: str | Path) -> MultiTaskChempropModel:
        return load_model(directory, MultiTaskChempropModel)
