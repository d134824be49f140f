"""Batch selection: turning per-candidate utilities into an order that is not 24 near-copies.

``topk`` takes the best utilities as they are. ``diverse`` walks down the ranking and skips any
candidate more similar than ``max_similarity`` (Tanimoto, Morgan bits) to one already picked —
cluster-style diversity without clustering the whole pool. ``penalized`` is greedy local
penalization: after each pick, every remaining candidate's utility is lowered in proportion to
its similarity to the picks, so close analogues need clearly better predictions to get in.
Only a shortlist (``shortlist_factor`` × batch) is compared, which keeps this cheap on pools of
millions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from rdkit import DataStructs

from drugloop.campaign.acquisition import select_top
from drugloop.chem.features import bit_vectors
from drugloop.registry import Registry

BatchFn = Callable[..., np.ndarray]
BATCH_STRATEGIES: Registry[np.ndarray] = Registry("batch strategy")


@BATCH_STRATEGIES.register("topk")
def topk(utility: np.ndarray, smiles: Sequence[str], k: int, **_: object) -> np.ndarray:
    return select_top(utility, k)


def _shortlist(utility: np.ndarray, k: int, factor: int) -> np.ndarray:
    return select_top(utility, max(k, factor * k))


@BATCH_STRATEGIES.register("diverse")
def diverse(
    utility: np.ndarray,
    smiles: Sequence[str],
    k: int,
    max_similarity: float = 0.7,
    shortlist_factor: int = 10,
    **_: object,
) -> np.ndarray:
    """Best-first, skipping near-duplicates of earlier picks; tops up if too few remain."""
    short = _shortlist(utility, k, shortlist_factor)
    fps = bit_vectors([smiles[i] for i in short])
    picked: list[int] = []
    picked_fps: list = []
    for pos, idx in enumerate(short):
        if len(picked) == k:
            break
        fp = fps[pos]
        if (
            fp is not None
            and picked_fps
            and max(DataStructs.BulkTanimotoSimilarity(fp, picked_fps)) > max_similarity
        ):
            continue
        picked.append(int(idx))
        if fp is not None:
            picked_fps.append(fp)
    if len(picked) < k:  # not enough diverse candidates: fill with the best of the rest
        taken = set(picked)
        rest = [int(i) for i in short if int(i) not in taken]
        picked += rest[: k - len(picked)]
    return np.array(picked, dtype=int)


@BATCH_STRATEGIES.register("penalized")
def penalized(
    utility: np.ndarray,
    smiles: Sequence[str],
    k: int,
    strength: float = 1.0,
    shortlist_factor: int = 10,
    **_: object,
) -> np.ndarray:
    """Greedy local penalization: u_i ← u_i − strength · spread · max_sim(i, picks)."""
    short = _shortlist(utility, k, shortlist_factor)
    if len(short) == 0:
        return short
    u = np.asarray(utility, dtype=float)[short].copy()
    spread = float(np.ptp(u)) or 1.0
    fps = bit_vectors([smiles[i] for i in short])
    valid = list(fps)
    max_sim = np.zeros(len(short))
    chosen: list[int] = []
    for _ in range(min(k, len(short))):
        score = u - strength * spread * max_sim
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        if valid[best] is not None:
            sims = np.array(
                [
                    DataStructs.TanimotoSimilarity(valid[best], fp) if fp is not None else 0.0
                    for fp in valid
                ]
            )
            max_sim = np.maximum(max_sim, sims)
    return short[chosen]


def select_batch(
    strategy: str, utility: np.ndarray, smiles: Sequence[str], k: int, **params: object
) -> np.ndarray:
    """Indices into ``utility``/``smiles`` of the ``k`` compounds to order."""
    return BATCH_STRATEGIES.get(strategy)(np.asarray(utility, dtype=float), smiles, k, **params)


def pareto_rank(objectives: np.ndarray) -> np.ndarray:
    """Non-dominated sorting (all objectives maximized): 0 = the Pareto front, 1 = next, …"""
    obj = np.nan_to_num(np.asarray(objectives, dtype=float), nan=-np.inf)
    rank = np.full(len(obj), -1, dtype=int)
    remaining = np.arange(len(obj))
    level = 0
    while len(remaining):
        sub = obj[remaining]
        dominated = np.zeros(len(sub), dtype=bool)
        for i in range(len(sub)):
            better_eq = np.all(sub >= sub[i], axis=1) & np.any(sub > sub[i], axis=1)
            dominated[i] = better_eq.any()
        rank[remaining[~dominated]] = level
        remaining = remaining[dominated]
        level += 1
    return rank
