"""Design runs from a TOML file: generators, objective, budget → scored table and HTML report.

Example (``examples/denovo_qsar.toml``)::

    name = "pim1-denovo"
    budget = 1000
    output_dir = "runs/pim1"

    [models.activity]                # trained at start-up from a table (or path = saved model)
    train = "data/moleculeace/CHEMBL2147_Ki.csv.gz"
    value_col = "y [pEC50/pKi]"

    [scoring]                        # any drugloop.scoring config
    [[scoring.components]]
    type = "activity"
    ...

With no ``[[generators]]`` the default portfolio runs. Every scored batch is appended to a
checkpoint (``molecules.parquet``); re-running the same command after a crash resumes: the
scored molecules are told back to fresh generators and never re-scored. Molecules withheld by
the safety guard are only counted (``run_log.json``).
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drugloop import jsonio
from drugloop.chem.io import read_table
from drugloop.design.base import GENERATORS, Generator
from drugloop.design.loop import DesignProgress, DesignResult, optimize
from drugloop.design.portfolio import Portfolio, default_portfolio
from drugloop.design.safety import SafetyGuard
from drugloop.design.screen import SurrogateScreen
from drugloop.scoring import ScoringConfig, ScoringFunction, build_scoring_function
from drugloop.tomlio import read_toml


class RunConfigError(ValueError):
    """A design-run file that cannot be used; the message names the file and the problem."""


class GeneratorConfig(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str

    @field_validator("type")
    @classmethod
    def registered(cls, value: str) -> str:
        """An unknown generator fails when the file is read, not after the run has started."""
        if value not in GENERATORS.names():
            raise ValueError(f"unknown generator {value!r}; known: {', '.join(GENERATORS.names())}")
        return value

    def build(self, seed: int, initial: list[str]) -> Generator:
        params = dict(self.model_extra or {})
        params.setdefault("seed", seed)
        if self.type in ("graph_ga",) and "initial_population" not in params:
            if not initial:
                raise RunConfigError("graph_ga needs 'initial' molecules (or use the portfolio)")
            params["initial_population"] = initial
        if self.type in ("brics", "recap") and "molecules" not in params:
            params["molecules"] = initial
        if self.type == "mmp_analogs" and "leads" not in params:
            params["leads"] = initial
        if self.type == "scaffold_decoration" and "molecules" not in params:
            params["molecules"] = initial
        return GENERATORS.create(self.type, **params)


class ModelConfig(BaseModel):
    """A saved model directory (``path``) or a table to train one on (``train``)."""

    model_config = ConfigDict(extra="forbid")
    path: str | None = None
    train: str | None = None
    smiles_col: str = "smiles"
    value_col: str = "y"
    type: str = "rf"


class ScreenConfig(BaseModel):
    """``[screen]``: a GP on the scored molecules picks each batch from more proposals."""

    model_config = ConfigDict(extra="forbid")
    oversample: float = Field(3.0, ge=1)
    min_train: int = Field(100, ge=2)
    max_train: int = Field(1000, ge=10)
    acquisition: Literal["mean", "ei"] = "mean"
    ei_rank: int = Field(10, ge=1)

    @model_validator(mode="after")
    def trains_on_enough(self) -> ScreenConfig:
        if self.min_train > self.max_train:
            raise ValueError("min_train must not exceed max_train")
        return self


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "design"
    budget: int = Field(1000, ge=1)
    batch_size: int = Field(100, ge=1)
    seed: int = 0
    output_dir: str = "design_output"
    initial: str | list[str] | None = None
    generators: list[GeneratorConfig] = Field(default_factory=list)
    models: dict[str, ModelConfig] = Field(default_factory=dict)
    scoring: ScoringConfig
    top_k: int = Field(100, ge=1)
    prior: str | None = None  # language-model weights for the default portfolio
    screen: ScreenConfig | None = None  # surrogate pre-screening (off unless given)

    @classmethod
    def from_toml(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        data = read_toml(path, RunConfigError)
        base = path.resolve().parent
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise RunConfigError(f"{path}: {where}: {first['msg']}") from None
        except ValueError as exc:  # ScoringConfigError from nested validation
            raise RunConfigError(f"{path}: {exc}") from None
        return config.resolved(base)

    def resolved(self, base: Path) -> RunConfig:
        """Relative file paths are read relative to the config file."""

        def fix(value: str | None) -> str | None:
            if value is None or Path(value).is_absolute():
                return value
            return str((base / value).resolve())

        copy = self.model_copy(deep=True)
        copy.output_dir = fix(copy.output_dir)
        if isinstance(copy.initial, str):
            copy.initial = fix(copy.initial)
        for model in copy.models.values():
            model.path, model.train = fix(model.path), fix(model.train)
        copy.prior = fix(copy.prior)
        return copy


def read_smiles_file(path: str | Path, column: str = "smiles") -> list[str]:
    """SMILES from a .smi/.csv(.gz) file (``column`` if present, else the first column)."""
    path = Path(path)
    if not path.exists():
        raise RunConfigError(f"{path}: file not found")
    if path.name.endswith((".smi", ".smi.gz", ".txt")):
        table = pd.read_csv(path, header=None, sep=r"\s+", usecols=[0])
        return table[0].astype(str).tolist()
    table = read_table(path)
    return table[column if column in table else table.columns[0]].astype(str).tolist()


def _models(config: RunConfig) -> dict[str, Any]:
    from drugloop.models import Model, create_model

    out: dict[str, Any] = {}
    for name, spec in config.models.items():
        if spec.path:
            out[name] = Model.load(spec.path)
        elif spec.train:
            table = read_table(spec.train)
            for col in (spec.smiles_col, spec.value_col):
                if col not in table:
                    raise RunConfigError(f"{spec.train}: no column {col!r} (model {name!r})")
            model = create_model(spec.type)
            model.fit(table[spec.smiles_col].astype(str).tolist(), table[spec.value_col])
            out[name] = model
        else:
            raise RunConfigError(f"model {name!r} needs 'path' or 'train'")
    return out


@dataclass
class RunOutputs:
    result: DesignResult
    directory: Path
    scorecard: list[dict[str, Any]]
    resumed_from: int


def build_generator(config: RunConfig, initial: list[str]) -> Generator:
    generator = _unscreened_generator(config, initial)
    if config.screen is None:
        return generator
    return SurrogateScreen(generator, seed=config.seed, **config.screen.model_dump())


def _unscreened_generator(config: RunConfig, initial: list[str]) -> Generator:
    if not config.generators:
        return default_portfolio(initial or None, seed=config.seed, prior=config.prior)
    built = [g.build(config.seed, initial) for g in config.generators]
    if len(built) == 1:
        return built[0]
    return Portfolio({g.name: g for g in built}, seed=config.seed, reference_smiles=initial)


def run_design(
    config: RunConfig,
    progress: Callable[[DesignProgress], None] | None = None,
    fresh: bool = False,
) -> RunOutputs:
    """Run (or resume) a design; writes table, checkpoint, log and HTML report."""
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint = out / "molecules.parquet"
    if fresh and checkpoint.exists():
        checkpoint.unlink()
    history = pd.read_parquet(checkpoint) if checkpoint.exists() else None
    initial: list[str] = []
    if isinstance(config.initial, str):
        initial = read_smiles_file(config.initial)
    elif config.initial:
        initial = list(config.initial)
    objective: ScoringFunction = build_scoring_function(config.scoring, models=_models(config))
    generator = build_generator(config, initial)
    guard = SafetyGuard()
    frames: list[pd.DataFrame] = [history] if history is not None else []

    def save(batch: pd.DataFrame) -> None:
        frames.append(batch)
        pd.concat(frames, ignore_index=True).to_parquet(checkpoint, index=False)

    started = time.time()
    result = optimize(
        generator,
        objective,
        budget=config.budget,
        batch_size=config.batch_size,
        progress=progress,
        safety=guard,
        history=history,
        on_batch=save,
    )
    result.molecules.to_parquet(checkpoint, index=False)
    result.molecules.to_csv(out / "molecules.csv", index=False)
    top = result.top(config.top_k)["smiles"].tolist()
    scorecard = (
        generator.scorecard(top)
        if callable(getattr(generator, "scorecard", None))  # a portfolio, screened or not
        else [_single_card(result, getattr(generator, "inner", generator), top)]
    )
    log = {
        "name": config.name,
        "budget": config.budget,
        "oracle_calls": result.n_oracle_calls,
        "resumed_from": 0 if history is None else len(history),
        "withheld_by_safety_guard": result.n_withheld,
        "stop_reason": result.stop_reason,
        "best_score": result.best_score,
        "seconds": round(time.time() - started, 1),
        "scorecard": scorecard,
    }
    if isinstance(generator, SurrogateScreen):  # how many proposals reached the oracle
        log["screen"] = {"proposed": generator.n_proposed, "passed": generator.n_passed}
    jsonio.write_json(log, out / "run_log.json")
    (out / "report.html").write_text(html_report(config, result, scorecard))
    return RunOutputs(result, out, scorecard, log["resumed_from"])


def _single_card(result: DesignResult, generator: Generator, top: list[str]) -> dict[str, Any]:
    return {
        "generator": getattr(generator, "name", type(generator).__name__),
        "scored": result.n_oracle_calls,
        "top_k_share": 1.0 if top else float("nan"),
        "validity": float(getattr(generator, "validity", 1.0)),
        "uniqueness": 1.0,
        "novelty": float("nan"),
        "mean_score": float(result.molecules["score"].mean()) if len(result.molecules) else 0.0,
    }


# ---------------------------------------------------------------------- report


def _trajectory_png(result: DesignResult) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = result.molecules
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if len(frame):
        calls = frame["oracle_call"].to_numpy()
        scores = frame["score"].to_numpy(dtype=float)
        ax.scatter(calls, scores, s=3, alpha=0.3, color="grey", label="scored molecules")
        ax.plot(calls, np.maximum.accumulate(np.nan_to_num(scores)), label="best so far")
        top10 = [np.mean(np.sort(scores[: i + 1])[::-1][:10]) for i in range(len(scores))]
        ax.plot(calls, top10, label="top-10 mean")
    ax.set_xlabel("oracle calls (unique molecules scored)")
    ax.set_ylabel("score")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def html_report(config: RunConfig, result: DesignResult, scorecard: list[dict]) -> str:
    from rdkit import Chem

    from drugloop.chem.depict import grid_svg

    top = result.top(12)
    mols = [Chem.MolFromSmiles(s) for s in top["smiles"]]
    legends = [f"{s:.3f} ({g})" for s, g in zip(top["score"], top["generator"], strict=True)]
    grid = grid_svg([m for m in mols if m is not None], legends, per_row=4) if len(top) else ""
    cards = pd.DataFrame(scorecard).to_html(index=False, float_format=lambda v: f"{v:.3f}")
    best = top.drop(columns=[c for c in top.columns if c.endswith("_detail")]).head(20)
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>drugloop design: {html.escape(config.name)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:auto}}
table{{border-collapse:collapse;font-size:12px}}td,th{{border:1px solid #ccc;padding:3px}}</style>
</head><body>
<h1>Design run: {html.escape(config.name)}</h1>
<p>{result.n_oracle_calls} molecules scored of a budget of {result.budget}
({html.escape(result.stop_reason)}); best score {result.best_score:.3f};
{result.n_withheld} molecules withheld by the safety guard.</p>
<h2>Score trajectory</h2>
<img src="data:image/png;base64,{_trajectory_png(result)}">
<h2>Generator scorecards</h2>{cards}
<h2>Best molecules</h2>{grid}
{best.to_html(index=False, float_format=lambda v: f"{v:.3f}")}
</body></html>
"""
