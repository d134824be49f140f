"""Campaign configuration: a TOML file (REINVENT-style) validated by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drugloop.tomlio import read_toml


class GeneratorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "graph_ga"
    budget: int = Field(1000, ge=10, description="unique molecules scored per proposal")
    n_candidates: int = Field(
        200, ge=1, description="best generated molecules added to the candidates"
    )
    params: dict[str, Any] = Field(default_factory=dict)


class SecondaryObjective(BaseModel):
    """Another assay (ADMET, an off-target for selectivity) that a batch must also respect.

    A model is trained on that assay's measurements; its prediction becomes a desirability
    ramping from 0 at ``worst`` to 1 at ``best`` (pActivity or the assay's own scale) that
    multiplies the score, and joins the Pareto objectives.
    """

    model_config = ConfigDict(extra="forbid")
    assay_id: str
    worst: float
    best: float
    model: str = "gp"


class CampaignConfig(BaseModel):
    """Everything a round needs to decide what to make next."""

    model_config = ConfigDict(extra="forbid")
    assay_id: str = "activity"
    direction: Literal["maximize", "minimize"] = "maximize"  # pActivity: higher is better
    model: str = "gp"  # the benchmarked active-learning default (docs/benchmarks.md)
    model_params: dict[str, Any] = Field(default_factory=dict)
    acquisition: str = "greedy"  # greedy, ucb, ei, pi, thompson (ACQUISITIONS registry)
    ucb_beta: float = 1.0
    batch_strategy: str = "topk"  # topk, diverse, penalized (BATCH_STRATEGIES registry)
    batch_params: dict[str, Any] = Field(default_factory=dict)
    selection: Literal["desirability", "pareto"] = "desirability"
    cost_col: str = "cost"  # optional per-compound cost column in the pool file
    cost_weight: float = Field(
        0.0, ge=0, description="0 ignores cost; 1 halves the score at the median cost"
    )
    plate_size: int | None = None  # 96 or 384: add a plate map to the order
    secondary: list[SecondaryObjective] = Field(default_factory=list)
    batch_size: int = Field(24, ge=1)
    initial_batch_size: int | None = None  # first round when nothing is measured yet
    pool: str | None = None  # CSV/SMI of candidates (enumerated or purchasable)
    pool_smiles_col: str = "smiles"
    generator: GeneratorSettings | None = None
    results_unit: str = "nM"  # unit assumed when a results file has no unit column
    seed: int = 0

    @classmethod
    def from_toml(cls, path: str | Path) -> CampaignConfig:
        return cls.model_validate(read_toml(path))
