"""The ask → score → tell loop, with the budget counted in unique molecules scored.

Oracle calls are what cost money in a real campaign (docking, assays), so ``budget`` is a hard
cap on distinct molecules scored: a molecule a generator proposes twice is scored once, and
the repeat is told its earlier score for free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from drugloop.chem.molecule import try_canonical
from drugloop.design.base import Generator
from drugloop.design.safety import SafetyGuard, check_objective


class ScoreLike(Protocol):
    total: np.ndarray

    def to_frame(self) -> pd.DataFrame: ...


class Objective(Protocol):
    """What ``optimize`` needs from a scoring function (``drugloop.scoring.ScoringFunction``)."""

    def score(self, smiles: Sequence[str]) -> ScoreLike: ...


@dataclass(frozen=True)
class DesignProgress:
    """Reported after every scored batch (e.g. to drive a progress bar)."""

    round: int
    n_scored: int
    budget: int
    best_score: float
    batch_best: float


@dataclass
class DesignResult:
    """Every molecule scored, in oracle-call order, with its components."""

    molecules: pd.DataFrame
    budget: int
    stop_reason: str
    n_withheld: int = 0  # molecules the safety guard withheld (never scored, never written)

    @property
    def n_oracle_calls(self) -> int:
        return len(self.molecules)

    @property
    def best_score(self) -> float:
        return float(self.molecules["score"].max()) if len(self.molecules) else float("nan")

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` best molecules (earliest first among ties)."""
        return self.molecules.sort_values("score", ascending=False, kind="stable").head(k)

    def best_so_far(self) -> pd.Series:
        """Running maximum of the score against oracle calls (the usual optimization curve)."""
        return self.molecules["score"].cummax().set_axis(self.molecules["oracle_call"])

    def to_csv(self, path: str | Path) -> Path:
        path = Path(path)
        self.molecules.to_csv(path, index=False)
        return path


def optimize(
    generator: Generator,
    scoring_function: Objective,
    budget: int,
    batch_size: int = 100,
    progress: Callable[[DesignProgress], None] | None = None,
    max_idle_rounds: int = 3,
    safety: SafetyGuard | None = None,
    history: pd.DataFrame | None = None,
    on_batch: Callable[[pd.DataFrame], None] | None = None,
) -> DesignResult:
    """Run ask/score/tell until ``budget`` unique molecules are scored or the generator dries up.

    A generator that proposes nothing new for ``max_idle_rounds`` asks in a row ends the run
    early; ``stop_reason`` says which happened. The safety guard is always on: the objective
    is checked first (:func:`check_objective`), and chemical-weapon structures are withheld
    (told a score of 0, never scored, never in the result; counted in ``n_withheld``).

    ``history`` (an earlier result's ``molecules``) resumes a run: its molecules are told to
    the generator, count against the budget and are never scored again. ``on_batch`` receives
    every scored batch's rows (e.g. to checkpoint them).
    """
    if budget < 1 or batch_size < 1:
        raise ValueError("budget and batch_size must be ≥ 1")
    safety = safety or SafetyGuard()
    check_objective(scoring_function, safety)
    known: dict[str, float] = {}
    frames: list[pd.DataFrame] = []
    n_scored, round_no, idle, best = 0, 0, 0, -np.inf
    if history is not None and len(history):
        smiles = history["smiles"].astype(str).tolist()
        scores = history["score"].to_numpy(dtype=np.float64)
        feedback = history["feedback"] if "feedback" in history else history["score"]
        generator.resume(
            smiles,
            feedback.to_numpy(dtype=np.float64),
            origins=history["generator"].astype(str).tolist() if "generator" in history else None,
            rounds=history["round"].to_numpy() if "round" in history else None,
        )
        known.update(zip((_key(s) for s in smiles), scores.tolist(), strict=True))
        frames.append(history.reset_index(drop=True))
        n_scored = len(history)
        round_no = int(history["round"].max()) if "round" in history else 0
        best = float(np.nanmax(scores)) if len(scores) else -np.inf
    stop_reason = "budget reached"
    while n_scored < budget:
        want = min(batch_size, budget - n_scored)
        fresh, fresh_keys, repeats = _split_new(generator.ask(want), known, want)
        if repeats:
            generator.tell([s for s, _ in repeats], np.array([known[k] for _, k in repeats]))
        fresh, fresh_keys = _withhold(fresh, fresh_keys, safety, generator, known)
        if not fresh:
            idle += 1
            if idle >= max_idle_rounds:
                stop_reason = f"generator proposed nothing new in {idle} rounds"
                break
            continue
        idle, round_no = 0, round_no + 1
        result = scoring_function.score(fresh)
        totals = np.asarray(result.total, dtype=np.float64)
        feedback = getattr(result, "feedback", None)
        generator.tell(fresh, totals if feedback is None else np.asarray(feedback, dtype=float))
        known.update(zip(fresh_keys, totals.tolist(), strict=True))
        frames.append(_batch_frame(result, generator, round_no, n_scored))
        if on_batch is not None:
            on_batch(frames[-1])
        n_scored += len(fresh)
        best = max(best, float(totals.max()))
        if progress is not None:
            progress(DesignProgress(round_no, n_scored, budget, best, float(totals.max())))
    molecules = pd.concat(frames, ignore_index=True) if frames else _empty_frame()
    return DesignResult(
        molecules=molecules,
        budget=budget,
        stop_reason=stop_reason,
        n_withheld=safety.n_withheld,
    )


def _withhold(
    fresh: list[str],
    keys: list[str],
    safety: SafetyGuard,
    generator: Generator,
    known: dict[str, float],
) -> tuple[list[str], list[str]]:
    """Drop chemical-weapon structures; the generator learns they are worth 0."""
    if not fresh:
        return fresh, keys
    mask = safety.withhold(fresh)
    if not mask.any():
        return fresh, keys
    generator.withheld([s for s, m in zip(fresh, mask, strict=True) if m])
    for key, m in zip(keys, mask, strict=True):
        if m:
            known[key] = 0.0
    keep = ~mask
    return (
        [s for s, k in zip(fresh, keep, strict=True) if k],
        [s for s, k in zip(keys, keep, strict=True) if k],
    )


def _key(smiles: str) -> str:
    return try_canonical(smiles) or smiles


def _split_new(
    asked: Sequence[str], known: dict[str, float], want: int
) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """New molecules (≤ ``want``, deduplicated), their keys, and (repeat, key) pairs."""
    fresh: list[str] = []
    keys: dict[str, None] = {}
    repeats: list[tuple[str, str]] = []
    for smiles in asked:
        key = _key(smiles)
        if key in known:
            repeats.append((smiles, key))
        elif key not in keys and len(fresh) < want:
            keys[key] = None
            fresh.append(smiles)
    return fresh, list(keys), repeats


def _batch_frame(
    result: ScoreLike, generator: Generator, round_no: int, offset: int
) -> pd.DataFrame:
    frame = result.to_frame()
    frame.insert(0, "oracle_call", np.arange(offset + 1, offset + len(frame) + 1))
    frame.insert(1, "round", round_no)
    origin = getattr(generator, "origin_of", None)
    if origin is not None:
        frame.insert(2, "generator", [origin(s) for s in frame["smiles"]])
    else:
        frame.insert(2, "generator", getattr(generator, "name", type(generator).__name__))
    return frame


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame(columns=["oracle_call", "round", "generator", "smiles", "score", "valid"])
