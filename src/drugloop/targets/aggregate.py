"""Aggregators: the Open Targets harmonic sum and a learned LambdaRank ranker.

Both read the same per-gene frame of channel scores; the learned ranker adds network features.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.paths import data_dir
from drugloop.registry import Registry
from drugloop.targets.channels import (
    CHANNELS,
    FAMILY_PRIOR,
    ChannelResult,
    RankContext,
    direct_seeds,
    gene_families,
)

# Default harmonic-sum weights (Open Targets weights direct genetic/curated evidence 1 and
# indirect/literature-like sources lower; our indirect channels get 0.5, flags 0).
HARMONIC_WEIGHTS = {name: CHANNELS.create(name).weight for name in CHANNELS.names()}
EVIDENCE_CHANNELS = [n for n in CHANNELS.names() if CHANNELS.create(n).evidence]
FAMILIES = list(FAMILY_PRIOR)
LEARNED_FEATURES = [
    *EVIDENCE_CHANNELS,
    "log_degree",
    "log_rwr_disease",
    "log_rwr_drugs",
    "log_n_drugs",
    "family_prior",
    "family_code",
    "n_direct_channels",
]
MODEL_PATH_NAME = "learned_ranker.txt"

AGGREGATORS: Registry[object] = Registry("aggregator")


def harmonic_sum(scores: pd.DataFrame, weights: dict[str, float] | None = None) -> pd.Series:
    """Open Targets' overall score: Σ_i w s_(i) / i² over a gene's sorted weighted channel scores,
    divided by the maximum possible (all channels 1), so it lies in [0, 1]."""
    weights = {**HARMONIC_WEIGHTS, **(weights or {})}
    cols = [c for c in scores.columns if weights.get(c, 0) > 0]
    w = np.array([weights[c] for c in cols])
    mat = np.sort(scores[cols].to_numpy() * w, axis=1)[:, ::-1]
    denom = np.arange(1, len(cols) + 1) ** 2
    best = (np.sort(w)[::-1] / denom).sum()
    return pd.Series((mat / denom).sum(axis=1) / best, index=scores.index)


AGGREGATORS.register("harmonic")(lambda: harmonic_sum)


def feature_frame(
    ctx: RankContext, results: dict[str, ChannelResult], genes: list[str]
) -> pd.DataFrame:
    """Channel scores plus network and tractability features for every gene in ``genes``."""
    frame = pd.DataFrame(
        {
            n: r.scores.reindex(genes).fillna(0.0)
            for n, r in results.items()
            if n in EVIDENCE_CHANNELS
        },
        index=genes,
    )
    for name in EVIDENCE_CHANNELS:
        if name not in frame:
            frame[name] = 0.0
    net = ctx.network
    frame["log_degree"] = np.log1p(net.degree.reindex(genes).fillna(0.0))
    raw = ctx.cache.get("rwr_disease")
    if raw is None:
        raw = net.rwr(direct_seeds(ctx))
    frame["log_rwr_disease"] = np.log10(raw.reindex(genes).fillna(0.0) + 1e-9)
    drug_seeds = results["related_drugs"].scores if "related_drugs" in results else pd.Series()
    frame["log_rwr_drugs"] = np.log10(net.rwr(drug_seeds).reindex(genes).fillna(0.0) + 1e-9)
    n_drugs = ctx.drug_targets.groupby("gene").drug.nunique()
    frame["log_n_drugs"] = np.log1p(n_drugs.reindex(genes).fillna(0.0))
    fam = gene_families(ctx.kb).reindex(genes).fillna("Other")
    frame["family_prior"] = fam.map(FAMILY_PRIOR).astype(float)
    frame["family_code"] = fam.map({f: i for i, f in enumerate(FAMILIES)}).astype(float)
    direct = frame[["curated", "experimental", "rare_genetics"]] > 0
    frame["n_direct_channels"] = direct.sum(axis=1)
    return frame[LEARNED_FEATURES]


def lgbm_params(seed: int = 0) -> dict:
    """Fixed before any evaluation: small trees, strong regularization (few positives/disease)."""
    return dict(
        objective="lambdarank",
        n_estimators=300,
        learning_rate=0.03,
        num_leaves=15,
        min_child_samples=20,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        reg_lambda=1.0,
        lambdarank_truncation_level=50,
        label_gain=[0, 1],
        random_state=seed,
        n_jobs=1,
        verbose=-1,
    )


def train_ranker(
    frames: list[pd.DataFrame], labels: list[pd.Series], seed: int = 0, negatives: int = 1500
):
    """Fit LambdaRank; each disease is a query group of its positives plus ``negatives`` genes
    sampled per disease (half among genes with some disease/drug evidence, the hard ones; half
    uniformly) so training stays fast on 2 cores."""
    import lightgbm as lgb

    rng = np.random.default_rng(seed)
    xs, ys, groups = [], [], []
    for frame, label in zip(frames, labels, strict=True):
        y = label.reindex(frame.index).fillna(0).astype(int).to_numpy()
        hard = (frame[EVIDENCE_CHANNELS].drop(columns="tractability").sum(axis=1) > 0).to_numpy()
        mask = y > 0
        for pool, n in (
            (np.flatnonzero(hard & ~mask), negatives // 2),
            (np.flatnonzero(~hard & ~mask), negatives - negatives // 2),
        ):
            mask[rng.choice(pool, size=min(n, len(pool)), replace=False)] = True
        xs.append(frame[mask])
        ys.append(y[mask])
        groups.append(int(mask.sum()))
    model = lgb.LGBMRanker(**lgbm_params(seed))
    model.fit(pd.concat(xs), np.concatenate(ys), group=groups)
    return model


def model_path() -> Path:
    return data_dir() / "target_id" / MODEL_PATH_NAME


def load_ranker(path: Path | None = None):
    import lightgbm as lgb

    path = path or model_path()
    if not path.exists():
        raise FileNotFoundError(
            f"learned ranker not found at {path}; use --aggregator harmonic "
            "or train it with benchmarks/target_recovery.py --ship"
        )
    return lgb.Booster(model_file=str(path))


def learned_scores(frame: pd.DataFrame, booster=None) -> pd.Series:
    """Ranker output min–max scaled to [0, 1] over all genes: 1 = the best-ranked gene."""
    booster = booster or load_ranker()
    raw = booster.predict(frame[LEARNED_FEATURES].to_numpy())
    span = raw.max() - raw.min()
    return pd.Series((raw - raw.min()) / span if span > 0 else raw * 0.0, index=frame.index)
