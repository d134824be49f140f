"""Multi-parameter objective: weighted components → desirabilities → one score per molecule.

The default aggregation is REINVENT's weighted geometric mean, so any desirability of exactly 0
(an alert, a forbidden substructure, an invalid molecule) vetoes the molecule however good its
other properties are; use ``aggregation="arithmetic"`` when trade-offs should be allowed.
A later diversity filter or penalty can act on :meth:`ScoringFunction.score` output without
changing components (scores are plain arrays aligned with the input SMILES).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from drugloop.scoring.components import (
    ActivityComponent,
    MoleculeBatch,
    ScoringComponent,
)
from drugloop.scoring.diversity import DiversityFilter
from drugloop.scoring.errors import ScoringConfigError
from drugloop.scoring.transforms import Identity, Transform

Aggregation = Literal["geometric", "arithmetic"]


@dataclass
class WeightedComponent:
    """A component, the transform making its raw value a desirability, and its weight."""

    name: str
    component: ScoringComponent
    transform: Transform = field(default_factory=Identity)
    weight: float = 1.0
    hard: bool = False  # a hard filter: desirability < 0.5 zeroes the total, whatever the rest

    def __post_init__(self) -> None:
        if not self.name:
            raise ScoringConfigError("a scoring component needs a name")
        if not np.isfinite(self.weight) or self.weight <= 0:
            raise ScoringConfigError(
                f"component {self.name!r}: weight must be > 0, got {self.weight}"
            )


@dataclass
class ScoreResult:
    """Scores aligned with the input SMILES.

    ``components`` holds, per component ``name``, the raw value (``name_raw``), the desirability
    (``name``) and any extras the component reports (``name_detail``, ``name_std``…).
    """

    smiles: list[str]
    total: np.ndarray
    components: pd.DataFrame
    valid: np.ndarray
    feedback: np.ndarray | None = None  # total after the diversity filter (what generators see)

    def __len__(self) -> int:
        return len(self.smiles)

    def to_frame(self) -> pd.DataFrame:
        head = pd.DataFrame({"smiles": self.smiles, "score": self.total, "valid": self.valid})
        if self.feedback is not None:
            head["feedback"] = self.feedback
        return pd.concat([head, self.components.reset_index(drop=True)], axis=1)


class ScoringFunction:
    """Scores SMILES with weighted components aggregated into a total in [0, 1]."""

    def __init__(
        self,
        components: Sequence[WeightedComponent],
        aggregation: Aggregation = "geometric",
        diversity_filter: DiversityFilter | None = None,
    ) -> None:
        if not components:
            raise ScoringConfigError("a scoring function needs at least one component")
        names = [c.name for c in components]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ScoringConfigError(f"duplicate component names: {duplicates}")
        if aggregation not in ("geometric", "arithmetic"):
            raise ScoringConfigError(
                f"unknown aggregation {aggregation!r}; known: arithmetic, geometric"
            )
        self.components = list(components)
        self.aggregation = aggregation
        self.diversity_filter = diversity_filter

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]

    def attach_models(self, models: Mapping[str, Any]) -> ScoringFunction:
        """Give every model-backed component its model (looked up by the component's model name)."""
        for weighted in self.components:
            if isinstance(weighted.component, ActivityComponent):
                weighted.component.attach(_pick_model(weighted, models))
        return self

    def score(self, smiles: Sequence[str]) -> ScoreResult:
        batch = MoleculeBatch.from_smiles(list(smiles))
        columns: dict[str, Any] = {}
        desirabilities = np.ones((len(batch), len(self.components)))
        for j, weighted in enumerate(self.components):
            output = weighted.component.evaluate(batch)
            raw = np.asarray(output.values, dtype=np.float64).reshape(len(batch))
            desirabilities[:, j] = weighted.transform(raw)
            columns[f"{weighted.name}_raw"] = raw
            columns[weighted.name] = desirabilities[:, j]
            for key, values in output.extras.items():
                columns[f"{weighted.name}_{key}"] = values
        weights = np.array([c.weight for c in self.components])
        total = aggregate(desirabilities, weights, self.aggregation)
        hard = [j for j, c in enumerate(self.components) if c.hard]
        if hard:
            total[(np.nan_to_num(desirabilities[:, hard], nan=0.0) < 0.5).any(axis=1)] = 0.0
        valid = batch.valid
        total[~valid] = 0.0
        frame = pd.DataFrame(columns, index=pd.RangeIndex(len(batch)))
        feedback = None
        if self.diversity_filter is not None:
            feedback = self.diversity_filter(batch.smiles, total)
        return ScoreResult(
            smiles=batch.smiles, total=total, components=frame, valid=valid, feedback=feedback
        )

    __call__ = score

    def __repr__(self) -> str:
        parts = ", ".join(f"{c.name}×{c.weight:g}" for c in self.components)
        return f"ScoringFunction({self.aggregation}: {parts})"


def aggregate(
    desirabilities: np.ndarray, weights: np.ndarray, aggregation: Aggregation
) -> np.ndarray:
    """Weighted geometric (any 0 → 0) or arithmetic mean over columns, per row."""
    weights = weights / weights.sum()
    d = np.clip(np.nan_to_num(desirabilities, nan=0.0), 0.0, 1.0)
    if aggregation == "arithmetic":
        return d @ weights
    with np.errstate(divide="ignore"):
        log_d = np.log(d)
    return np.exp(log_d @ weights)


def _pick_model(weighted: WeightedComponent, models: Mapping[str, Any]) -> Any:
    component = weighted.component
    key = getattr(component, "model", None) or weighted.name
    if key in models:
        return models[key]
    if getattr(component, "model", None) is None and len(models) == 1:
        return next(iter(models.values()))  # one model, one unnamed slot: no ambiguity
    raise ScoringConfigError(
        f"component {weighted.name!r} needs model {key!r}; models given: {sorted(models) or 'none'}"
    )
