"""The shipped ADMET panel as a scoring component: one column of ``drugloop admet predict``.

    [[scoring.components]]
    type = "admet"
    endpoint = "solubility"          # any column listed by `drugloop admet columns`
    transform = { type = "sigmoid", low = -6, high = -3 }

The panel loads once per process, and a batch is predicted once however many ``admet``
components an objective holds (each reads its own column), so penalizing hERG, Ames and
clearance together costs one panel pass. Toxicity columns (hERG, Ames, LD50, DILI, Tox21,
ClinTox) may only be penalized: the safety guard refuses a transform that rewards them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import field_validator

from drugloop.scoring.components import (
    SCORING_COMPONENTS,
    ComponentOutput,
    MoleculeBatch,
    ScoringComponent,
)

_PANEL: Any = None
_LAST: tuple[tuple[str, ...], pd.DataFrame] | None = None  # the batch most recently predicted


def panel_columns() -> dict[str, str]:
    """Endpoint column → its task (regression/classification), from the panel's spec."""
    from drugloop.models.admet import ENDPOINTS

    return {e.column: e.task for e in ENDPOINTS}


def _panel() -> Any:
    global _PANEL
    if _PANEL is None:
        from drugloop.models.admet import AdmetPanel

        _PANEL = AdmetPanel()
    return _PANEL


def panel_predictions(smiles: list[str]) -> pd.DataFrame:
    """The panel's output for ``smiles`` (cached for the most recent batch)."""
    global _LAST
    key = tuple(smiles)
    if _LAST is None or _LAST[0] != key:
        _LAST = (key, _panel().predict(smiles))
    return _LAST[1]


@SCORING_COMPONENTS.register("admet")
class AdmetEndpoint(ScoringComponent):
    """One ADMET panel endpoint: a regression value in its units, or a class-1 probability."""

    endpoint: str

    @field_validator("endpoint")
    @classmethod
    def known_endpoint(cls, value: str) -> str:
        columns = panel_columns()
        if value not in columns:
            raise ValueError(f"unknown ADMET endpoint {value!r}; known: {', '.join(columns)}")
        return value

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        return self.evaluate(batch).values

    def evaluate(self, batch: MoleculeBatch) -> ComponentOutput:
        valid = batch.valid
        values = np.full(len(batch), np.nan)
        extras = {"uncertainty": values.copy(), "in_domain": np.zeros(len(batch), dtype=bool)}
        smiles = [s for s, ok in zip(batch.smiles, valid, strict=True) if ok]
        if smiles:
            frame = panel_predictions(smiles)
            values[valid] = frame[self.endpoint].to_numpy(dtype=np.float64)
            extras["uncertainty"][valid] = frame[f"{self.endpoint}_uncertainty"].to_numpy(
                dtype=np.float64
            )
            extras["in_domain"][valid] = frame["in_domain"].fillna(False).to_numpy(dtype=bool)
        return ComponentOutput(values, extras)
