"""Rank the targets of a disease: run the channels, aggregate, explain every score."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from drugloop.targets.aggregate import (
    EVIDENCE_CHANNELS,
    HARMONIC_WEIGHTS,
    feature_frame,
    harmonic_sum,
    learned_scores,
)
from drugloop.targets.channels import CHANNELS, ChannelResult, RankContext
from drugloop.targets.data import Disease, KnowledgeBase, load_kb
from drugloop.targets.user_evidence import UserEvidence

FLAG_CHANNELS = [n for n in CHANNELS.names() if n not in EVIDENCE_CHANNELS]
LABELS = {
    "curated": "curated associations",
    "experimental": "GWAS/somatic evidence",
    "rare_genetics": "rare-disease genetics",
    "ontology": "evidence for subtypes",
    "network": "PPI proximity to disease genes",
    "tractability": "tractability",
    "related_drugs": "drugs for similar diseases",
    "user": "your evidence",
}


@dataclass
class TargetRanking:
    """A ranked table (one row per gene, one column per channel) and the records behind it."""

    disease: Disease
    aggregator: str
    table: pd.DataFrame
    records: dict[str, pd.DataFrame]
    known_drugs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def top(self, n: int = 20) -> pd.DataFrame:
        return self.table.head(n)

    def to_tsv(self, path: str | Path, top: int | None = None) -> Path:
        path = Path(path)
        (self.table if top is None else self.table.head(top)).to_csv(
            path, sep="\t", index=False, float_format="%.4g"
        )
        return path

    def supporting_records(self, gene: str, per_channel: int = 3) -> pd.DataFrame:
        parts = []
        for name, recs in self.records.items():
            rows = recs[recs.gene == gene].head(per_channel)
            parts.append(rows.assign(channel=name))
        out = pd.concat(parts) if parts else pd.DataFrame()
        return out[["channel", "source", "detail", "score"]] if len(out) else out

    def row(self, gene: str) -> pd.Series:
        hit = self.table[self.table.gene == gene]
        if hit.empty:
            raise KeyError(f"gene {gene!r} is not in the ranking for {self.disease}")
        return hit.iloc[0]


def _explain(
    gene: str, row: pd.Series, records: dict[str, pd.DataFrame], disease: str, channels: list[str]
) -> str:
    """One sentence: the rank, the two strongest channels with their best record, and flags."""
    strongest = sorted(((row[c], c) for c in channels if row.get(c, 0) > 0), reverse=True)[:2]
    parts = []
    for score, name in strongest:
        recs = records.get(name)
        best = recs[recs.gene == gene].head(1) if recs is not None else pd.DataFrame()
        detail = f" — {best.detail.iloc[0]}" if len(best) else ""
        parts.append(f"{LABELS.get(name, name)} {score:.2f}{detail}")
    flags = []
    if row.get("safety", 0) > 0:
        flags.append("safety flag (severe loss-of-function phenotypes in HPO)")
    if row.get("known_drug_target", False):
        flags.append("already a target of an approved drug for this disease")
    body = "; ".join(parts) if parts else "no direct evidence; ranked on priors only"
    tail = f" [{'; '.join(flags)}]" if flags else ""
    return f"{gene} ranks #{int(row['rank'])} for {disease}: {body}.{tail}"


def _top_records(records: dict[str, pd.DataFrame], genes: list[str], n: int = 3) -> pd.Series:
    """The ``n`` highest-scoring evidence records per gene as "channel: source — detail"."""
    parts = [
        r[r.gene.isin(genes)].assign(channel=c)
        for c, r in records.items()
        if c != "novelty" and len(r)
    ]
    if not parts:
        return pd.Series(dtype=str)
    allrec = pd.concat(parts).sort_values("score", ascending=False).groupby("gene").head(n)
    text = allrec.channel + ": " + allrec.source + " — " + allrec.detail.astype(str)
    return text.groupby(allrec.gene).agg(" | ".join)


def rank_targets(
    disease: str | Disease,
    *,
    aggregator: str = "learned",
    user_evidence: UserEvidence | None = None,
    evidence_weight: float = 1.0,
    exclude_known_drug_targets: bool = False,
    weights: dict[str, float] | None = None,
    kb: KnowledgeBase | None = None,
) -> TargetRanking:
    """Rank every gene for ``disease`` (name, synonym or DOID/UMLS/OMIM/Orphanet id).

    The disease's own approved drugs (PharmacotherapyDB) never feed the channels or features —
    the same setting the benchmark measures — their targets are marked ``known_drug_target``
    and dropped with ``exclude_known_drug_targets``.
    """
    if aggregator not in ("learned", "harmonic"):
        raise ValueError(f"unknown aggregator {aggregator!r}; choose learned or harmonic")
    if evidence_weight < 0:
        raise ValueError(f"--evidence-weight must be ≥ 0, got {evidence_weight}")
    kb = kb or load_kb()
    disease = disease if isinstance(disease, Disease) else kb.diseases.resolve(disease)
    ind = kb.indications
    own = set(ind[ind.doid_id.isin(disease.doids)].drug_lc)
    ctx = RankContext(kb, disease, excluded_drugs=own)
    results: dict[str, ChannelResult] = {
        n: CHANNELS.create(n).compute(ctx) for n in CHANNELS.names()
    }
    genes = kb.gene_universe
    frame = feature_frame(ctx, results, genes)
    table = frame[EVIDENCE_CHANNELS].copy()
    for name in FLAG_CHANNELS:
        table[name] = results[name].scores.reindex(genes).fillna(0.0)
    notes = []
    if user_evidence is not None:
        table["user"] = user_evidence.scores.reindex(genes).fillna(0.0)
        ue = user_evidence
        results["user"] = ChannelResult(
            ue.scores,
            pd.DataFrame(
                {
                    "gene": ue.scores.index,
                    "source": "user evidence",
                    "detail": [ue.details.get(g, "") for g in ue.scores.index],
                    "score": ue.scores.values,
                }
            ).sort_values("score", ascending=False),
        )
        notes.append(ue.summary())
    score_cols = EVIDENCE_CHANNELS + (["user"] if user_evidence is not None else [])
    if aggregator == "harmonic":
        w = {**HARMONIC_WEIGHTS, **(weights or {}), "user": evidence_weight}
        score = harmonic_sum(table[score_cols], w)
    else:
        score = learned_scores(frame)
        if user_evidence is not None:
            score = (score + evidence_weight * table["user"]) / (1 + evidence_weight)
    known_genes = set(kb.drug_targets[kb.drug_targets.drug.isin(own)].gene)
    table.insert(0, "score", score)
    table["known_drug_target"] = table.index.isin(known_genes)
    table = table.sort_values("score", ascending=False, kind="stable")
    if exclude_known_drug_targets:
        table = table[~table.known_drug_target]
    table.insert(0, "gene", table.index)
    table.insert(0, "rank", range(1, len(table) + 1))
    table = table.reset_index(drop=True)
    records = {n: r.records for n, r in results.items()}
    explain_cols = score_cols
    head = table.head(500)
    expl = [
        _explain(g, r, records, disease.name, explain_cols)
        for g, r in zip(head.gene, head.to_dict("records"), strict=True)
    ]
    table["explanation"] = expl + [""] * (len(table) - len(head))
    table["top_records"] = table.gene.map(_top_records(records, list(head.gene))).fillna("")
    return TargetRanking(disease, aggregator, table, records, sorted(own), notes)


def explain_gene(ranking: TargetRanking, gene: str) -> str:
    row = ranking.row(gene)
    if not row.explanation:
        cols = [c for c in EVIDENCE_CHANNELS if c in row]
        return _explain(gene, row, ranking.records, ranking.disease.name, cols)
    return str(row.explanation)
