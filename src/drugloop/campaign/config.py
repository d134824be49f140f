"""Campaign configuration: a TOML file (REINVENT-style) validated by pydantic."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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
    """Another property a batch must also respect: a measured assay or an ADMET panel column.

    ``assay_id``: a model is trained on that assay's measurements (ADMET, an off-target for
    selectivity). ``admet``: a column of the shipped ADMET panel (``drugloop admet columns``),
    predicted with no measurements needed. Either way the prediction becomes a desirability
    ramping from 0 at ``worst`` to 1 at ``best`` (in that property's units) that multiplies the
    score, and joins the Pareto objectives.
    """

    model_config = ConfigDict(extra="forbid")
    assay_id: str | None = None
    admet: str | None = None
    worst: float
    best: float
    model: str = "gp"

    @model_validator(mode="after")
    def one_source(self) -> SecondaryObjective:
        if (self.assay_id is None) == (self.admet is None):
            raise ValueError("a secondary objective needs exactly one of assay_id or admet")
        if self.admet is not None:
            from drugloop.design.safety import toxicity_term
            from drugloop.models.admet import ENDPOINTS

            columns = [e.column for e in ENDPOINTS]
            if self.admet not in columns:
                known = ", ".join(columns)
                raise ValueError(f"unknown ADMET column {self.admet!r}; known: {known}")
            term = toxicity_term(self.admet)
            if term and self.best > self.worst:
                raise ValueError(
                    f"secondary objective refused: {self.admet!r} is a toxicity endpoint "
                    f"({term!r}) and best > worst would select for it; set best below worst"
                )
        return self

    @property
    def key(self) -> str:
        """Column prefix in proposals: the assay id, or ``admet_<column>``."""
        return self.assay_id if self.assay_id is not None else f"admet_{self.admet}"


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
        """Read a campaign TOML; a bad value names the file and the setting."""
        try:
            return cls.model_validate(read_toml(path))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{path}: {where}: {first['msg']}") from None
