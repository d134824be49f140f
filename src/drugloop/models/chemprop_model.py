"""Chemprop v2 D-MPNN as a second model family (CPU), with the same guarantees as ``gbm``.

A learned graph representation complements the fingerprint trees: it can pick up patterns
fixed fingerprints miss, and the two families' errors are partly independent. The ensemble is
built like ``gbm``'s so that both families report the same kind of uncertainty:

the scaffold-fold members, OOF conformal intervals and Platt-calibrated probabilities of
:mod:`drugloop.models.cv_ensemble`. What is particular to the D-MPNN:

* **Censored values** train through Chemprop's bounded MSE: a row known only as ``>= y``
  (``censor=+1``) costs nothing while the prediction stays above ``y``, and likewise below for
  ``censor=-1``. Its conformal residual is zero when the OOF prediction respects the bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from drugloop.models.base import MODELS
from drugloop.models.cv_ensemble import CVEnsembleModel, cv_folds, first_invalid


class MPNNEnsembleSettings:
    """Hyperparameters of a CV ensemble of D-MPNNs, shared by the single- and multi-task models.

    Defaults are small (5 members × 30 epochs) so it trains on a laptop CPU; raise ``epochs``
    for production.
    """

    def _init_mpnn(self, n_members: int, epochs: int, batch_size: int, hidden: int) -> None:
        if n_members < 2:
            raise ValueError("chemprop needs n_members >= 2 (members are cross-validation folds)")
        self.n_members = n_members
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden = hidden

    def _mpnn_params(self) -> dict[str, Any]:
        return {"n_members": self.n_members, "epochs": self.epochs, "hidden": self.hidden}

    def _train_member(
        self, smiles: list[str], y: np.ndarray, censor: np.ndarray | None, member: int
    ) -> Any:
        return train_mpnn(
            smiles,
            y,
            censor,
            classification=self.fitted_task == "classification",
            hidden=self.hidden,
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=self.seed + int(member),
        )


@MODELS.register("chemprop")
class ChempropModel(MPNNEnsembleSettings, CVEnsembleModel):
    """Cross-validated ensemble of Chemprop MPNNs with conformal / Platt calibration."""

    name = "chemprop"

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
        **_: Any,
    ) -> None:
        super().__init__(task, alpha, seed, domain_threshold, log_transform)
        self._init_mpnn(n_members, epochs, batch_size, hidden)

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "task": self.fitted_task or self.task,
            **self._mpnn_params(),
            "alpha": self.alpha,
        }

    # -- training -----------------------------------------------------------------------------
    def _fit(self, smiles: Sequence[str], y: np.ndarray, censor: np.ndarray | None = None) -> None:
        first_invalid(smiles, self._valid(smiles))
        if self._resolve_task(y) == "classification" or censor is not None and not np.any(censor):
            censor = None
        self._fit_log_scale(y)
        y_model = self._transform_y(y)  # bounds stay bounds: the transform is monotone
        folds = cv_folds(smiles, self.n_members, self.seed)
        oof = np.full(len(y), np.nan)
        self.members = []
        for k in np.unique(folds):
            train, held = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
            member = self._train_member(
                [smiles[i] for i in train],
                y_model[train],
                None if censor is None else censor[train],
                k,
            )
            self.members.append(member)
            oof[held] = self._member_predict(member, [smiles[i] for i in held])
        target = y_model
        if censor is not None:  # a bound the OOF prediction respects leaves no residual
            respected = ((censor > 0) & (oof > y_model)) | ((censor < 0) & (oof < y_model))
            target = np.where(respected, oof, y_model)
        self._calibrate(y, target, oof, folds, smiles)

    # -- prediction ---------------------------------------------------------------------------
    def _member_predict(self, member: Any, smiles: Sequence[str]) -> np.ndarray:
        return mpnn_outputs(member, smiles)[:, 0]

    def _valid(self, smiles: Sequence[str]) -> np.ndarray:
        return parses(smiles)

    def member_predictions(self, smiles: Sequence[str]) -> np.ndarray:
        """(members, molecules) raw outputs; NaN for unparseable SMILES."""
        valid = self._valid(smiles)
        out = np.full((len(self.members), len(smiles)), np.nan)
        ok = [s for s, v in zip(smiles, valid, strict=True) if v]
        if ok:
            for j, member in enumerate(self.members):
                out[j, valid] = self._member_predict(member, ok)
        return out

    def _member_mean(self, smiles: Sequence[str]) -> np.ndarray:
        return self.member_predictions(smiles).mean(axis=0)

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        return self._predict_given_similarity(smiles, self._similarity(smiles))

    def _predict_given_similarity(
        self, smiles: Sequence[str], similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.calibrated_mean_std(self.member_predictions(smiles), similarity)


# -- the D-MPNN itself, shared with the multi-task model -------------------------------------------
def parses(smiles: Sequence[str]) -> np.ndarray:
    from rdkit import Chem

    return np.array([bool(s) and Chem.MolFromSmiles(s) is not None for s in smiles], bool)


def mpnn_dataset(
    smiles: Sequence[str], y: np.ndarray | None = None, censor: np.ndarray | None = None
):
    """Chemprop datapoints; ``y``: a value or a row of values per molecule (NaN: no label)."""
    from chemprop import data, featurizers

    points = []
    for i, smi in enumerate(smiles):
        kwargs: dict[str, Any] = {}
        if y is not None:
            kwargs["y"] = np.atleast_1d(np.asarray(y[i], dtype=float))
        if censor is not None:  # +1: at least y, -1: at most y (per molecule or per cell)
            kwargs["gt_mask"] = np.atleast_1d(np.asarray(censor[i]) > 0)
            kwargs["lt_mask"] = np.atleast_1d(np.asarray(censor[i]) < 0)
        points.append(data.MoleculeDatapoint.from_smi(smi, **kwargs))
    return data.MoleculeDataset(points, featurizers.SimpleMoleculeMolGraphFeaturizer())


def train_mpnn(
    smiles: list[str],
    y: np.ndarray,
    censor: np.ndarray | None,
    *,
    classification: bool,
    hidden: int,
    epochs: int,
    batch_size: int,
    seed: int,
):
    """One D-MPNN with a head per target column (Chemprop masks the missing labels)."""
    import torch
    from chemprop import data, models, nn
    from lightning import pytorch as pl

    torch.manual_seed(seed)
    dataset = mpnn_dataset(smiles, y, censor)
    n_tasks = 1 if y.ndim == 1 else y.shape[1]
    if classification:
        ffn = nn.BinaryClassificationFFN(n_tasks=n_tasks, input_dim=hidden)
    else:
        scaler = dataset.normalize_targets()
        ffn = nn.RegressionFFN(
            n_tasks=n_tasks,
            input_dim=hidden,
            output_transform=nn.UnscaleTransform.from_standard_scaler(scaler),
            criterion=nn.metrics.BoundedMSE() if censor is not None else None,
        )
    mpnn = models.MPNN(nn.BondMessagePassing(d_h=hidden), nn.MeanAggregation(), ffn)
    loader = data.build_dataloader(dataset, batch_size=batch_size, num_workers=0, seed=seed)
    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
        max_epochs=epochs,
    )
    trainer.fit(mpnn, loader)
    return mpnn.eval()


def mpnn_outputs(member: Any, smiles: Sequence[str]) -> np.ndarray:
    """(molecules, tasks) outputs of one trained D-MPNN (SMILES must parse)."""
    import torch
    from chemprop import data

    loader = data.build_dataloader(
        mpnn_dataset(smiles), batch_size=256, num_workers=0, shuffle=False
    )
    with torch.inference_mode():
        out = [member(b.bmg, b.V_d, b.X_d).numpy() for b in loader]
    return np.concatenate(out).reshape(len(smiles), -1).astype(np.float64)
