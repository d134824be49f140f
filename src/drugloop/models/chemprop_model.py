"""Chemprop v2 D-MPNN as a second model family (CPU), with the same guarantees as ``gbm``.

A learned graph representation complements the fingerprint trees: it can pick up patterns
fixed fingerprints miss, and the two families' errors are partly independent. The ensemble is
built like ``gbm``'s so that both families report the same kind of uncertainty:

* **Ensemble = CV folds.** Member ``k`` is trained on every Bemis–Murcko scaffold fold but
  ``k``, so each training molecule has an out-of-fold (OOF) prediction from a member that
  never saw it; the prediction is the members' mean.
* **Conformal intervals** (regression): the same normalized split-conformal quantile over the
  OOF residuals as ``gbm`` (difficulty ``1 - nearest-neighbour Tanimoto + 0.1``);
  ``std`` is the 90% half-width / z. **Platt-calibrated probabilities** for classifiers.
* **Censored values** train through Chemprop's bounded MSE: a row known only as ``>= y``
  (``censor=+1``) costs nothing while the prediction stays above ``y``, and likewise below for
  ``censor=-1``. Its conformal residual is zero when the OOF prediction respects the bound.

Defaults are small (5 members × 30 epochs) so it trains on a laptop CPU; raise ``epochs`` for
production.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import norm

from drugloop.models.base import MODELS, Model
from drugloop.models.gbm import (
    GBMModel,
    _logit,
    assign_folds,
    conformal_quantile,
    detect_task,
    fit_platt,
    scaffold_groups,
)


def cv_folds(smiles: Sequence[str], n_folds: int, seed: int) -> np.ndarray:
    """Scaffold folds; random folds when there are too few scaffolds to fill every fold."""
    groups = scaffold_groups(smiles)
    if len(np.unique(groups)) < n_folds:
        groups = np.random.default_rng(seed).permutation(len(smiles))
    return assign_folds(groups, n_folds, seed)


@MODELS.register("chemprop")
class ChempropModel(Model):
    """Cross-validated ensemble of Chemprop MPNNs with conformal / Platt calibration."""

    name = "chemprop"
    supports_censoring = True

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
        **_: Any,
    ) -> None:
        super().__init__(domain_threshold=domain_threshold)
        if n_members < 2:
            raise ValueError("chemprop needs n_members >= 2 (members are cross-validation folds)")
        self.task = task
        self.n_members = n_members
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden = hidden
        self.alpha = alpha
        self.seed = seed
        self.fitted_task = ""
        self.members: list = []
        self.platt: tuple[float, float] = (1.0, 0.0)
        self.conformal_q = 1.0
        self.oof: np.ndarray | None = None

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "task": self.fitted_task or self.task,
            "n_members": self.n_members,
            "epochs": self.epochs,
            "hidden": self.hidden,
            "alpha": self.alpha,
        }

    # -- training -----------------------------------------------------------------------------
    @staticmethod
    def _dataset(
        smiles: Sequence[str], y: np.ndarray | None = None, censor: np.ndarray | None = None
    ):
        from chemprop import data, featurizers

        points = []
        for i, smi in enumerate(smiles):
            kwargs: dict[str, Any] = {}
            if y is not None:
                kwargs["y"] = np.array([float(y[i])])
            if censor is not None:
                kwargs["gt_mask"] = np.array([censor[i] > 0])
                kwargs["lt_mask"] = np.array([censor[i] < 0])
            points.append(data.MoleculeDatapoint.from_smi(smi, **kwargs))
        return data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())

    def _trainer(self):
        from lightning import pytorch as pl

        return pl.Trainer(
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
            devices=1,
            max_epochs=self.epochs,
        )

    def _fit(self, smiles: Sequence[str], y: np.ndarray, censor: np.ndarray | None = None) -> None:
        from rdkit import Chem

        bad = [i for i, s in enumerate(smiles) if Chem.MolFromSmiles(s) is None]
        if bad:
            i = bad[0]
            raise ValueError(f"training molecule {i + 1} is not a valid SMILES: {smiles[i]!r}")
        self.fitted_task = detect_task(y) if self.task == "auto" else self.task
        if self.fitted_task == "classification":
            if not set(np.unique(y)) <= {0.0, 1.0}:
                raise ValueError("classification targets must be 0/1")
            censor = None
        elif censor is not None and not np.any(censor):
            censor = None
        folds = cv_folds(smiles, self.n_members, self.seed)
        oof = np.full(len(y), np.nan)
        self.members = []
        for k in np.unique(folds):
            train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            member = self._fit_member(
                [smiles[i] for i in train], y[train], None if censor is None else censor[train], k
            )
            self.members.append(member)
            oof[held] = self._member_predict(member, [smiles[i] for i in held])
        self.oof = oof
        if self.fitted_task == "classification":
            self.platt = fit_platt(oof, y)
            return
        target = y.copy()
        if censor is not None:  # a bound the OOF prediction respects leaves no residual
            respected = ((censor > 0) & (oof > y)) | ((censor < 0) & (oof < y))
            target = np.where(respected, oof, y)
        self.conformal_q = conformal_quantile(target, oof, folds, smiles, self.alpha)

    def _fit_member(self, smiles: list[str], y: np.ndarray, censor: np.ndarray | None, member: int):
        import torch
        from chemprop import data, models, nn

        torch.manual_seed(self.seed + int(member))
        dataset = self._dataset(smiles, y, censor)
        if self.fitted_task == "classification":
            ffn = nn.BinaryClassificationFFN(input_dim=self.hidden)
        else:
            scaler = dataset.normalize_targets()
            ffn = nn.RegressionFFN(
                input_dim=self.hidden,
                output_transform=nn.UnscaleTransform.from_standard_scaler(scaler),
                criterion=nn.metrics.BoundedMSE() if censor is not None else None,
            )
        mpnn = models.MPNN(nn.BondMessagePassing(d_h=self.hidden), nn.MeanAggregation(), ffn)
        loader = data.build_dataloader(
            dataset, batch_size=self.batch_size, num_workers=0, seed=self.seed + int(member)
        )
        self._trainer().fit(mpnn, loader)
        return mpnn.eval()

    def _transform_y(self, y: np.ndarray) -> np.ndarray:
        """Targets are modelled on their own scale (the workflow's OOF metrics call this)."""
        return y

    def _inverse_y(self, t: np.ndarray) -> np.ndarray:
        return t

    # -- prediction ---------------------------------------------------------------------------
    def _member_predict(self, member: Any, smiles: Sequence[str]) -> np.ndarray:
        import torch
        from chemprop import data

        loader = data.build_dataloader(
            self._dataset(smiles), batch_size=256, num_workers=0, shuffle=False
        )
        with torch.inference_mode():
            out = [member(b.bmg, b.V_d, b.X_d).reshape(-1).numpy() for b in loader]
        return np.concatenate(out).astype(np.float64)

    def _valid(self, smiles: Sequence[str]) -> np.ndarray:
        from rdkit import Chem

        return np.array([bool(s) and Chem.MolFromSmiles(s) is not None for s in smiles], bool)

    def member_predictions(self, smiles: Sequence[str]) -> np.ndarray:
        """(members, molecules) raw outputs; NaN for unparseable SMILES."""
        valid = self._valid(smiles)
        out = np.full((len(self.members), len(smiles)), np.nan)
        ok = [s for s, v in zip(smiles, valid, strict=True) if v]
        if ok:
            for j, member in enumerate(self.members):
                out[j, valid] = self._member_predict(member, ok)
        return out

    def _similarity(self, smiles: Sequence[str]) -> np.ndarray:
        from drugloop.chem.features import bit_vectors, max_tanimoto

        return max_tanimoto(bit_vectors(smiles), self._train_fps or [])

    def _half_width(self, smiles: Sequence[str]) -> np.ndarray:
        similarity = self._similarity(smiles)
        return self.conformal_q * GBMModel._difficulty(similarity, np.zeros(len(similarity)))

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        preds = self.member_predictions(smiles)
        if self.fitted_task == "classification":
            a, b = self.platt
            probs = 1.0 / (1.0 + np.exp(-(a * _logit(preds) + b)))
            return probs.mean(axis=0), probs.std(axis=0)
        std = self._half_width(smiles) / norm.ppf(1 - self.alpha / 2)
        mean = preds.mean(axis=0)
        return mean, np.where(np.isfinite(mean), std, np.nan)

    def interval(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The conformal ``1 - alpha`` prediction interval (regression only)."""
        if self.fitted_task != "regression":
            raise ValueError("intervals are for regression models; classifiers give P(class 1)")
        smiles = list(smiles)
        mean = self.member_predictions(smiles).mean(axis=0)
        half = self._half_width(smiles)
        return mean - half, mean + half
