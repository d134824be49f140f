"""Pool-based campaign simulation against a look-up "lab" (MolPAL-style retrospective runs).

The oracle file holds the measured value of each pool molecule; molecules absent from it are
failed syntheses: they use up budget, are never measured, and can never count as hits.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from drugloop import jsonio
from drugloop.campaign.acquisition import ACQUISITIONS, acquisition_scores
from drugloop.campaign.batch import BATCH_STRATEGIES, select_batch
from drugloop.chem.io import InputFileError, read_table
from drugloop.chem.molecule import try_canonical
from drugloop.models import MODELS, create_model


class SimulationConfig(BaseModel):
    init_frac: float = Field(0.01, gt=0, le=1)
    batch_frac: float = Field(0.01, gt=0, le=1)
    rounds: int = Field(5, ge=0)
    seed: int = 0
    minimize: bool = False
    # chosen on proxy tasks (benchmarks/al_proxy.py), not on the benchmark library
    model: str = "gp"
    model_params: dict[str, Any] = Field(default_factory=dict)
    acquisition: str = "greedy"
    acquisition_params: dict[str, Any] = Field(default_factory=dict)
    batch_strategy: str = "topk"
    batch_params: dict[str, Any] = Field(default_factory=dict)
    top_frac: float = Field(0.01, gt=0, le=1)


@dataclass
class RoundRecord:
    round: int  # 0 = the initial random batch
    n_selected: int
    n_tested: int  # cumulative, failed syntheses included
    n_failed: int  # cumulative
    fraction_tested: float
    top_found: int
    fraction_top_found: float
    best_value: float | None
    seconds: float


@dataclass
class SimulationResult:
    config: dict[str, Any]
    pool_size: int
    n_with_value: int
    top_k: int
    top_threshold: float
    rounds: list[RoundRecord] = field(default_factory=list)
    invalid_pool_smiles: int = 0

    @property
    def final_fraction(self) -> float:
        return self.rounds[-1].fraction_top_found if self.rounds else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "final_fraction_top_found": self.final_fraction}

    def write_json(self, path: str | Path) -> Path:
        return jsonio.write_json(self.to_dict(), path)


def read_smiles_column(path: str | Path, smiles_col: str = "smiles") -> list[str]:
    frame = _read_table(path)
    if smiles_col not in frame.columns:
        raise InputFileError(
            f"{path}: column {smiles_col!r} not found; columns are {list(frame.columns)}"
        )
    return frame[smiles_col].astype(str).tolist()


def read_oracle(
    path: str | Path, smiles_col: str = "smiles", score_col: str = "score"
) -> dict[str, float]:
    """Canonical SMILES → measured value; non-numeric values are treated as failures (skipped)."""
    frame = _read_table(path)
    missing = [c for c in (smiles_col, score_col) if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path}: column(s) {missing} not found; columns are {list(frame.columns)}"
        )
    values = pd.to_numeric(frame[score_col], errors="coerce").to_numpy()
    oracle: dict[str, float] = {}
    for smi, value in zip(frame[smiles_col].astype(str), values, strict=True):
        key = try_canonical(smi)
        if key is not None and np.isfinite(value):
            oracle[key] = float(value)
    return oracle


def _read_table(path: str | Path) -> pd.DataFrame:
    frame = read_table(path)
    if frame.empty:
        raise InputFileError(f"{path}: no rows")
    return frame


def _model_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check ``model_params`` against what the chosen model takes.

    A parameter meant for another model (``n_estimators`` with the GP) is a configuration
    mistake: silently dropping it would run a different experiment from the one written down.
    """
    import inspect

    accepted: set[str] = set()
    for klass in MODELS.get(name).__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            accepted |= set(inspect.signature(init).parameters) - {"self", "kwargs"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ValueError(f"model {name!r} does not take {unknown}; it takes {sorted(accepted)}")
    return dict(params)


def simulate_campaign(
    pool: Sequence[str],
    oracle: dict[str, float],
    config: SimulationConfig | None = None,
    progress: Callable[[RoundRecord], None] | None = None,
) -> SimulationResult:
    """Run init + ``rounds`` batches of model-guided selection against the look-up oracle."""
    config = config or SimulationConfig()
    # fail fast on unknown names
    MODELS.get(config.model), ACQUISITIONS.get(config.acquisition)
    BATCH_STRATEGIES.get(config.batch_strategy)
    canonical = [try_canonical(s) for s in pool]
    keep = [i for i, c in enumerate(canonical) if c is not None]
    smiles = [canonical[i] for i in keep]
    sign = -1.0 if config.minimize else 1.0
    truth = np.array([sign * oracle.get(s, np.nan) for s in smiles])  # higher is better
    has_value = np.isfinite(truth)
    n_valued = int(has_value.sum())
    if n_valued == 0:
        raise ValueError("no pool molecule has a value in the oracle; check the SMILES columns")
    top_k = max(1, int(config.top_frac * n_valued))
    order = np.argsort(-np.where(has_value, truth, -np.inf), kind="stable")
    is_top = np.zeros(len(smiles), dtype=bool)
    is_top[order[:top_k]] = True

    rng = np.random.default_rng(config.seed)
    n_init = max(1, math.ceil(config.init_frac * len(smiles)))
    n_batch = max(1, math.ceil(config.batch_frac * len(smiles)))
    tested = np.zeros(len(smiles), dtype=bool)
    result = SimulationResult(
        config=config.model_dump(),
        pool_size=len(pool),
        n_with_value=n_valued,
        top_k=top_k,
        top_threshold=float(sign * truth[order[top_k - 1]]),
        invalid_pool_smiles=len(pool) - len(smiles),
    )

    def record(round_index: int, chosen: np.ndarray, started: float) -> None:
        tested[chosen] = True
        measured = tested & has_value
        best = float(sign * truth[measured].max()) if measured.any() else None
        rec = RoundRecord(
            round=round_index,
            n_selected=len(chosen),
            n_tested=int(tested.sum()),
            n_failed=int((tested & ~has_value).sum()),
            fraction_tested=float(tested.mean()),
            top_found=int((tested & is_top).sum()),
            fraction_top_found=float((tested & is_top).sum() / top_k),
            best_value=best,
            seconds=round(time.perf_counter() - started, 3),
        )
        result.rounds.append(rec)
        if progress is not None:
            progress(rec)

    start = time.perf_counter()
    record(0, rng.choice(len(smiles), size=min(n_init, len(smiles)), replace=False), start)
    for round_index in range(1, config.rounds + 1):
        start = time.perf_counter()
        if tested.all():
            break
        measured = np.flatnonzero(tested & has_value)
        if len(measured) < 2 or config.acquisition == "random":  # no model needed
            untested = np.flatnonzero(~tested)
            chosen = rng.choice(untested, size=min(n_batch, len(untested)), replace=False)
        else:
            params = _model_params(config.model, config.model_params)
            model = create_model(config.model, seed=config.seed + round_index, **params)
            model.fit([smiles[i] for i in measured], truth[measured])
            candidates = np.flatnonzero(~tested)
            mean, std = model._predict_mean_std([smiles[i] for i in candidates])
            utility = acquisition_scores(
                config.acquisition,
                mean,
                std,
                best=truth[measured].max(),
                rng=rng,
                **config.acquisition_params,
            )
            picks = select_batch(
                config.batch_strategy,
                utility,
                [smiles[i] for i in candidates],
                n_batch,
                **config.batch_params,
            )
            chosen = candidates[picks]
        record(round_index, chosen, start)
    return result
