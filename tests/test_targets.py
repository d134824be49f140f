"""Target identification on the real shipped tables: IDs, diseases, channels, aggregators, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from drugloop.chem.io import InputFileError
from drugloop.targets import (
    CHANNELS,
    DiseaseNotFoundError,
    RankContext,
    harmonic_sum,
    load_kb,
    rank_targets,
    read_user_evidence,
)
from drugloop.targets.aggregate import feature_frame, learned_scores, train_ranker
from drugloop.targets.build import RAW_FILES

AD = "DOID:10652"


@pytest.fixture(scope="module")
def kb():
    return load_kb()


@pytest.fixture(scope="module")
def ad_ctx(kb):
    ind = kb.indications
    own = set(ind[ind.doid_id == AD].drug_lc)
    return RankContext(kb, kb.diseases.resolve(AD), own)


@pytest.fixture(scope="module")
def ad_results(ad_ctx):
    return {n: CHANNELS.create(n).compute(ad_ctx) for n in CHANNELS.names()}


# ---------------------------------------------------------------- identifiers and diseases
def test_gene_ids_map_back_to_the_symbols_the_source_tables_give(kb):
    genes = kb.genes
    ppi = pd.read_csv(kb.folder / RAW_FILES[3], sep="\t", nrows=2000)
    ok = [genes.to_symbol(c) == s for c, s in zip(ppi.source_code, ppi.source_symbol, strict=True)]
    assert np.mean(ok) > 0.99
    dc = pd.read_csv(kb.folder / RAW_FILES[4], sep="\t").dropna(subset=["GENE"])
    single = dc[~dc.GENE.str.contains("|", regex=False)]
    pairs = zip(single.UNIPROT, single.GENE, strict=True)
    assert np.mean([genes.to_symbol(u) == g for u, g in pairs]) > 0.98
    jen = kb.jensen_knowledge.head(2000)
    pairs = zip(jen.ensp, jen.gene, strict=True)
    assert np.mean([genes.to_symbol(e) == g for e, g in pairs]) > 0.98
    dg = kb.disgenet.drop_duplicates("gene").head(2000)
    pairs = zip(dg.geneId, dg.gene, strict=True)
    assert np.mean([genes.to_symbol(str(e)) == g for e, g in pairs]) > 0.98
    assert genes.to_symbol("apoe") == "APOE"
    assert genes.to_symbol("NOT_A_GENE_XYZ") is None
    cov = genes.coverage()
    assert cov["symbols"] > cov["hgnc"] > cov["uniprot"] > 0


def test_disease_resolution_by_name_id_and_source(kb):
    cat = kb.diseases
    by_name = cat.resolve("alzheimer's DISEASE")
    assert by_name.id == AD
    umls = kb.disgenet[kb.disgenet.disease == "Alzheimer Disease"].umls.iloc[0]
    assert cat.resolve(umls).id == AD
    assert cat.resolve(umls.split(":")[1]).id == AD
    assert umls in by_name.umls and by_name.rare  # DisGeNET + HPO merged into the concept
    t2d = cat.resolve("Diabetes Mellitus, Type 2")  # DisGeNET's word order
    assert t2d.id == "DOID:9352"


def test_unknown_disease_suggests_close_names(kb):
    with pytest.raises(DiseaseNotFoundError, match="did you mean.*Alzheimer"):
        kb.diseases.resolve("alzheimers")
    with pytest.raises(DiseaseNotFoundError):
        kb.diseases.resolve("DOID:999999999")


# ---------------------------------------------------------------- channels on real slices
def test_channel_scores_lie_in_unit_interval_with_records(ad_results):
    for name, res in ad_results.items():
        assert ((res.scores >= 0) & (res.scores <= 1)).all(), name
        if len(res.scores):
            assert set(res.records.gene) & set(res.scores.index), name


def test_curated_experimental_and_rare_channels_follow_the_source_rows(kb, ad_results):
    dg = kb.disgenet[kb.disgenet.umls.isin(kb.diseases.resolve(AD).umls)]
    best = dg.sort_values("score").gene.iloc[-1]
    assert ad_results["curated"].scores[best] >= dg.score.max() - 1e-9
    exp = kb.jensen_experiments
    exp = exp[(exp.doid == AD) & (exp.score > 0)]
    assert set(exp.gene) <= set(ad_results["experimental"].scores.index)
    hpo = kb.hpo_links[kb.hpo_links.disease_name.str.match(r"(?i)alzheimer disease", na=False)]
    assert set(hpo.gene) & set(ad_results["rare_genetics"].scores.index)


def test_network_channel_scores_neighbours_of_disease_genes(ad_ctx, ad_results):
    from drugloop.targets.channels import direct_seeds

    seeds = set(direct_seeds(ad_ctx).index)
    top = ad_results["network"].scores.sort_values(ascending=False).head(50).index
    assert not (set(top) & seeds)
    graph = ad_ctx.network.graph
    near = [any(n in seeds for n in graph.neighbors(g)) for g in top]
    assert np.mean(near) > 0.8


def test_ontology_channel_carries_child_evidence_down_weighted(kb):
    parent = kb.diseases.resolve("DOID:9351")  # diabetes mellitus
    child = kb.diseases.resolve("DOID:9352")  # type 2 diabetes mellitus
    res = CHANNELS.create("ontology").compute(RankContext(kb, parent))
    child_genes = set(kb.disgenet[kb.disgenet.umls.isin(child.umls)].gene)
    assert child_genes & set(res.scores.index)
    assert res.scores.max() <= 0.5 * (1 + 1 / 4 + 1 / 9 + 1 / 16) + 1e-9


def test_tractability_and_related_drugs_never_use_the_excluded_drugs(kb, ad_ctx, ad_results):
    dt = kb.drug_targets
    own_targets = set(dt[dt.drug.isin(ad_ctx.excluded_drugs)].gene)
    others = set(dt[~dt.drug.isin(ad_ctx.excluded_drugs)].gene)
    only_own = own_targets - others
    assert only_own, "AD drugs should hit some gene no other drug hits"
    tract = ad_results["tractability"].scores
    assert all(tract.get(g, 0) < 1.0 for g in only_own)
    related = ad_results["related_drugs"]
    assert not set(related.records.detail.str.split(" treats ").str[0]) & ad_ctx.excluded_drugs
    with_drugs = CHANNELS.create("tractability").compute(RankContext(kb, ad_ctx.disease))
    assert all(with_drugs.scores[g] == 1.0 for g in only_own)


def test_safety_and_novelty_flags(kb, ad_results):
    sev = set(kb.severe_phenotypes.gene)
    assert set(ad_results["safety"].scores.index) == sev
    nov = ad_results["novelty"].scores
    pubs = kb.disgenet.groupby("gene").n_pubmed.sum()
    common = nov.index.intersection(pubs.index)
    rho = pd.Series(nov[common]).corr(pubs[common], method="spearman")
    assert rho < -0.9


# ---------------------------------------------------------------- aggregators
@given(st.lists(st.floats(0, 1), min_size=3, max_size=3))
def test_harmonic_sum_is_bounded_monotone_and_order_free(vals):
    cols = ["curated", "experimental", "rare_genetics"]
    w = {c: 1.0 for c in cols}
    frame = pd.DataFrame([vals, vals[::-1], [min(1.0, v + 0.1) for v in vals]], columns=cols)
    s = harmonic_sum(frame, w)
    assert 0 <= s[0] <= 1 and s[0] == pytest.approx(s[1])
    assert s[2] >= s[0] - 1e-12
    ones = harmonic_sum(pd.DataFrame([[1.0, 1.0, 1.0]], columns=cols), w)
    assert ones[0] == pytest.approx(1.0)


def _truth(kb, doid):
    ind = kb.indications
    dm = ind[(ind.doid_id == doid) & (ind.category == "DM")]
    return set(kb.drug_targets[kb.drug_targets.drug.isin(dm.drug_lc)].gene)


def _frame(kb, doid):
    ind = kb.indications
    ctx = RankContext(kb, kb.diseases.resolve(doid), set(ind[ind.doid_id == doid].drug_lc))
    res = {n: CHANNELS.create(n).compute(ctx) for n in CHANNELS.names()}
    return feature_frame(ctx, res, kb.gene_universe)


@pytest.mark.slow
def test_learned_ranker_trained_on_other_diseases_finds_held_out_targets(kb):
    train = ["DOID:10763", "DOID:2841", "DOID:7148", "DOID:9352"]
    frames = [_frame(kb, d) for d in train]
    model = train_ranker(
        frames, [pd.Series(1, index=sorted(_truth(kb, d))) for d in train], negatives=400
    )
    test = "DOID:3393"  # coronary artery disease, never seen in training
    frame = _frame(kb, test)
    scores = learned_scores(frame, model.booster_)
    truth = _truth(kb, test) & set(frame.index)
    ranks = scores.rank(ascending=False)
    assert ranks[list(truth)].median() < 0.05 * len(scores)
    degree_ranks = frame.log_degree.rank(ascending=False)  # the PPI-degree baseline
    assert ranks[list(truth)].median() < degree_ranks[list(truth)].median()


def test_shipped_learned_ranking_has_scores_and_explanations(kb):
    ranking = rank_targets("Alzheimer's disease", aggregator="learned", kb=kb)
    top = ranking.top(20)
    assert top.score.is_monotonic_decreasing and top.score.between(0, 1).all()
    assert top.explanation.str.contains("ranks #").all()
    assert len(ranking.supporting_records(top.gene.iloc[0])) > 0


# ---------------------------------------------------------------- user evidence
def test_user_de_table_unknown_genes_bad_numbers_and_duplicates(kb, tmp_path):
    path = tmp_path / "de.tsv"
    path.write_text(
        "gene\tlog2FC\tpadj\nAPOE\t2.5\t1e-8\nNOTAGENE1\t1\t0.01\n"
        "TREM2\tabc\t0.01\nTREM2\t-1.0\t0.001\nP22303\t3\t1e-6\nBIN1\t0.2\t0.5\n"
    )
    ev = read_user_evidence(path, kb.genes)
    assert ev.kind == "differential expression"
    assert ev.scores["APOE"] == pytest.approx(1.0)
    assert ev.scores["ACHE"] > 0  # UniProt accession mapped to the symbol
    assert ev.scores["BIN1"] == 0  # not significant
    reasons = {e.record: e.reason for e in ev.errors}
    assert "unknown gene" in reasons[3] and "malformed number" in reasons[4]
    ranking = rank_targets(AD, aggregator="harmonic", user_evidence=ev, evidence_weight=2.0, kb=kb)
    assert ranking.row("TREM2")["user"] > 0
    assert "user" in ranking.table.columns


def test_user_score_file_duplicates_are_aggregated(kb, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("symbol,score\nAPOE,0.2\napoe,0.9\nBIN1,0.4\n")
    ev = read_user_evidence(path, kb.genes)
    assert ev.duplicates == ["APOE"] and ev.scores["APOE"] == pytest.approx(0.9)
    assert "duplicate" in ev.summary()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=200))
def test_user_evidence_parser_never_crashes(kb, tmp_path, text):
    path = tmp_path / "x.tsv"
    path.write_text(text, encoding="utf-8", errors="replace")
    try:
        ev = read_user_evidence(path, kb.genes)
    except InputFileError:
        return
    assert ev.scores.between(0, 1).all() or ev.kind == "score"


# ---------------------------------------------------------------- CLI
def test_cli_rank_tsv_report_explain_and_bad_disease(tmp_path):
    from drugloop.cli.main import app

    runner = CliRunner()
    out, report = tmp_path / "ad.tsv", tmp_path / "ad.html"
    res = runner.invoke(
        app,
        [
            "targets",
            "rank",
            "--disease",
            "Alzheimer's disease",
            "--top",
            "15",
            "--out",
            str(out),
            "--report",
            str(report),
            "--exclude-known-drug-targets",
        ],
    )
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns[:3]) == ["rank", "gene", "score"] and len(table) == 15
    assert {"curated", "network", "tractability", "explanation", "top_records"} <= set(
        table.columns
    )
    assert table.top_records.str.contains(": ").all()
    assert not table.known_drug_target.any()
    assert "<img" in report.read_text()
    res = runner.invoke(app, ["targets", "explain", "--disease", AD, "--gene", "APP"])
    assert res.exit_code == 0 and "APP ranks #" in res.output
    res = runner.invoke(app, ["targets", "rank", "--disease", "alzheimers"])
    assert res.exit_code == 2 and "did you mean" in res.output
