"""Generators on real molecules: validity, novelty, learning from scores, portfolio routing."""

from __future__ import annotations

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from drugloop.design import (
    GENERATORS,
    BRICSRecombination,
    GraphGA,
    MMPAnalogs,
    Portfolio,
    ScaffoldDecoration,
    optimize,
)
from drugloop.scoring import build_scoring_function

DRUGS = [
    "CC(=O)Nc1ccc(O)cc1",  # paracetamol
    "CN1CCN(Cc2ccc(C(=O)Nc3ccc(C)c(Nc4nccc(-c5cccnc5)n4)c3)cc2)CC1",  # imatinib
    "COc1ccc2[nH]cc(CCNC(C)=O)c2c1",  # melatonin
    "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1",  # celecoxib
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",  # ibuprofen
    "O=C(O)c1ccccc1OC(C)=O",  # aspirin
    "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",  # diazepam
]


def _valid(smiles: list[str]) -> bool:
    return all(Chem.MolFromSmiles(s) is not None for s in smiles)


def test_registry_names() -> None:
    for name in (
        "graph_ga",
        "brics",
        "recap",
        "scaffold_decoration",
        "mmp_analogs",
        "reinvent",
        "portfolio",
    ):
        assert name in GENERATORS


def test_mmp_analogs_stay_close_to_the_lead() -> None:
    from rdkit.Chem import rdFingerprintGenerator
    from rdkit.DataStructs import TanimotoSimilarity

    from drugloop.chem.features import max_tanimoto  # noqa: F401  (import check)

    lead = DRUGS[3]
    gen = MMPAnalogs(leads=[lead], seed=0)
    first = gen.ask(20)
    assert first[0] == Chem.MolToSmiles(Chem.MolFromSmiles(lead))
    assert len(first) == 20 and len(set(first)) == 20 and _valid(first)
    fpg = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    ref = fpg.GetFingerprint(Chem.MolFromSmiles(lead))
    sims = [TanimotoSimilarity(ref, fpg.GetFingerprint(Chem.MolFromSmiles(s))) for s in first[1:]]
    assert np.median(sims) > 0.5  # one or two edits keep the chemotype
    assert all(gen.applied[s] for s in first[1:])


def test_brics_recombines_fragments_of_the_inputs() -> None:
    gen = BRICSRecombination(DRUGS, seed=1)
    out = gen.ask(30)
    assert len(out) >= 20 and _valid(out) and len(set(out)) == len(out)
    assert set(out).isdisjoint({Chem.CanonSmiles(s) for s in DRUGS}) or len(out) > 1
    gen.tell(out, np.linspace(0, 1, len(out)))
    assert set(gen.ask(10)).isdisjoint(out)


def test_scaffold_decoration_keeps_the_scaffold() -> None:
    scaffold = "c1ccc2c(c1)[nH]c([*:1])c2[*:2]"
    gen = ScaffoldDecoration(scaffold, molecules=["c1ccc2c(c1)[nH]c(C)c2CCN"], seed=0)
    out = gen.ask(25)
    core = Chem.MolFromSmarts("c1ccc2c(c1)[nH]cc2")
    assert len(out) == 25 and _valid(out)
    assert all(Chem.MolFromSmiles(s).HasSubstructMatch(core) for s in out)
    assert "CCN" in " ".join(gen.rgroups)  # R-group harvested from the user's molecule
    with pytest.raises(ValueError, match="attachment"):
        ScaffoldDecoration("c1ccccc1")


def test_scaffold_decoration_learns_which_rgroups_score() -> None:
    gen = ScaffoldDecoration("c1ccc([*:1])cc1", seed=0)
    # reward heavy R-groups: the generator should then propose heavier molecules
    for _ in range(6):
        batch = gen.ask(8)
        gen.tell(batch, [Descriptors.MolWt(Chem.MolFromSmiles(s)) / 300 for s in batch])
    assert len(gen._value) > 10


def test_portfolio_routes_and_scores_cards() -> None:
    objective = build_scoring_function({"components": [{"type": "qed"}]})
    portfolio = Portfolio(
        {
            "graph_ga": GraphGA(DRUGS, population_size=7, offspring_size=20, seed=0),
            "mmp_analogs": MMPAnalogs(leads=DRUGS[:3], seed=0),
            "brics": BRICSRecombination(DRUGS, seed=0),
        },
        top_k=20,
        reference_smiles=DRUGS,
    )
    result = optimize(portfolio, objective, budget=90, batch_size=30)
    assert result.n_oracle_calls == 90
    assert set(result.molecules["generator"]) <= {"graph_ga", "mmp_analogs", "brics"}
    cards = {c["generator"]: c for c in portfolio.scorecard()}
    assert sum(c["top_k_share"] for c in cards.values()) == pytest.approx(1.0)
    assert sum(c["scored"] for c in cards.values()) == 90
    shares = portfolio.shares()
    assert sum(shares.values()) == pytest.approx(1.0) and min(shares.values()) >= 0.1 - 1e-9


def test_resumed_portfolio_rebuilds_its_cards_top_k_and_bandit() -> None:
    """A checkpoint's molecules go back to the generators that proposed them."""
    objective = build_scoring_function({"components": [{"type": "qed"}]})

    def portfolio() -> Portfolio:
        return Portfolio(
            {
                "graph_ga": GraphGA(DRUGS, population_size=7, offspring_size=20, seed=0),
                "mmp_analogs": MMPAnalogs(leads=DRUGS[:3], seed=0),
            },
            top_k=20,
            reference_smiles=DRUGS,
        )

    first = portfolio()
    history = optimize(first, objective, budget=60, batch_size=30).molecules
    restored = portfolio()
    restored.resume(
        history["smiles"].tolist(),
        history["score"].to_numpy(),
        origins=history["generator"].tolist(),
        rounds=history["round"].to_numpy(),
    )
    scored = {c["generator"]: c["scored"] for c in first.scorecard()}
    assert {c["generator"]: c["scored"] for c in restored.scorecard()} == scored
    assert min(scored.values()) > 0
    assert sorted(restored._top) == sorted(first._top)
    assert restored.shares() == pytest.approx(first.shares())
    resumed = portfolio()
    result = optimize(resumed, objective, budget=90, batch_size=30, history=history)
    assert result.n_oracle_calls == 90
    cards = resumed.scorecard()
    assert sum(c["scored"] for c in cards) == 90
    assert sum(c["top_k_share"] for c in cards) == pytest.approx(1.0)


def test_recap_recombines_fragments_at_reaction_bonds() -> None:
    from drugloop.design.fragments import RECAPRecombination

    gen = RECAPRecombination(DRUGS, seed=0)
    # RECAP cuts the amide of paracetamol: its acetyl and 4-aminophenol halves are fragments
    assert {"*C(C)=O", "*Nc1ccc(O)cc1"} <= set(gen.fragment_weight)
    out = gen.ask(25)
    assert len(out) >= 15 and _valid(out) and len(set(out)) == len(out)
    # joins RECAP's reactions cannot make: N–N, N–O, O–O single bonds and 1,2-dicarbonyls
    forbidden = [Chem.MolFromSmarts("[#7,#8]-[#7,#8]"), Chem.MolFromSmarts("O=C-C=O")]
    inputs = [Chem.MolFromSmiles(d) for d in DRUGS]
    assert not any(m.HasSubstructMatch(f) for m in inputs for f in forbidden)
    products = [Chem.MolFromSmiles(s) for s in out]
    assert not any(m.HasSubstructMatch(f) for m in products for f in forbidden)
    gen.tell(out, np.linspace(0, 1, len(out)))
    assert set(gen.ask(10)).isdisjoint(out)
