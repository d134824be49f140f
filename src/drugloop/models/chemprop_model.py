"""Chemprop v2 D-MPNN as a second model family (CPU), ensembled for uncertainty.

A learned graph representation complements the fingerprint trees: it can pick up patterns
fixed fingerprints miss, and the two families' errors are partly independent. Defaults are
small (3 members × 30 epochs) so it trains on a laptop CPU; raise them for production.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from drugloop.models.base import MODELS, Model
from drugloop.models.gbm import detect_task


@MODELS.register("chemprop")
class ChempropModel(Model):
    """Ensemble of Chemprop MPNNs; uncertainty is the std across members."""

    name = "chemprop"

    def __init__(
        self,
        task: str = "auto",
        n_members: int = 3,
        epochs: int = 30,
        batch_size: int = 64,
        hidden: int = 300,
        seed: int = 0,
        domain_threshold: float = 0.35,
        **_: Any,
    ) -> None:
        super().__init__(domain_threshold=domain_threshold)
        self.task = task
        self.n_members = n_members
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden = hidden
        self.seed = seed
        self.fitted_task = ""
        self.members: list = []

    def params(self) -> dict[str, Any]:
        return {
            **super().params(),
            "task": self.fitted_task or self.task,
            "n_members": self.n_members,
            "epochs": self.epochs,
            "hidden": self.hidden,
        }

    def _dataset(self, smiles: Sequence[str], y: np.ndarray | None):
        from chemprop import data, featurizers

        feat = featurizers.SimpleMoleculeMolGraphFeaturizer()
        points = [
            data.MoleculeDatapoint.from_smi(s, None if y is None else [float(v)])
            for s, v in zip(smiles, y if y is not None else [None] * len(smiles), strict=True)
        ]
        return data.MoleculeDataset(points, feat)

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

    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None:
        import torch
        from chemprop import data, models, nn

        self.fitted_task = detect_task(y) if self.task == "auto" else self.task
        self.members = []
        for member in range(self.n_members):
            torch.manual_seed(self.seed + member)
            dataset = self._dataset(smiles, y)
            if self.fitted_task == "classification":
                ffn = nn.BinaryClassificationFFN(input_dim=self.hidden)
            else:
                scaler = dataset.normalize_targets()
                transform = nn.UnscaleTransform.from_standard_scaler(scaler)
                ffn = nn.RegressionFFN(input_dim=self.hidden, output_transform=transform)
            mpnn = models.MPNN(nn.BondMessagePassing(d_h=self.hidden), nn.MeanAggregation(), ffn)
            loader = data.build_dataloader(
                dataset, batch_size=self.batch_size, num_workers=0, seed=self.seed + member
            )
            self._trainer().fit(mpnn, loader)
            self.members.append(mpnn.eval())

    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        import torch
        from chemprop import data
        from rdkit import Chem

        valid = np.array([bool(s) and Chem.MolFromSmiles(s) is not None for s in smiles])
        mean = np.full(len(smiles), np.nan)
        std = np.full(len(smiles), np.nan)
        ok = [s for s, v in zip(smiles, valid, strict=True) if v]
        if not ok:
            return mean, std
        loader = data.build_dataloader(
            self._dataset(ok, None), batch_size=256, num_workers=0, shuffle=False
        )
        preds = []
        with torch.inference_mode():
            for model in self.members:
                out = [
                    model(batch.bmg, batch.V_d, batch.X_d).reshape(-1).numpy() for batch in loader
                ]
                preds.append(np.concatenate(out))
        stacked = np.stack(preds)
        mean[valid], std[valid] = stacked.mean(axis=0), stacked.std(axis=0)
        return mean, std
