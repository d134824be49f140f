"""Generators on real molecules: validity, novelty, learning from scores, portfolio routing,
surrogate pre-screening."""

from __future__ import annotations

from collections.abc import Sequence

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
    SurrogateScreen,
    optimize,
)
from drugloop.design.base import Generator
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
        "surrogate_screen",
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


# -- surrogate pre-screening ------------------------------------------------------------------
CELECOXIB = DRUGS[3]


class _Recording(Generator):
    """Passes a generator through, remembering every batch it proposed and what it was told."""

    name = "recording"

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.proposed: list[list[str]] = []
        self.told: list[str] = []

    def ask(self, n: int) -> list[str]:
        self.proposed.append(self.inner.ask(n))
        return self.proposed[-1]

    def tell(self, smiles: Sequence[str], scores: np.ndarray) -> None:
        self.told += list(smiles)
        self.inner.tell(smiles, scores)


def _similarity():
    return build_scoring_function(
        {"components": [{"type": "tanimoto_similarity", "references": [CELECOXIB]}]}
    )


def test_passes_batches_through_until_it_has_training_data() -> None:
    inner = _Recording(GraphGA(DRUGS, population_size=7, offspring_size=20, seed=0))
    screen = SurrogateScreen(inner, oversample=3, min_train=50, seed=0)
    batch = screen.ask(20)
    assert inner.proposed == [batch]  # asked for exactly the batch, not 3x


@pytest.mark.parametrize(("acquisition", "margin"), [("mean", 0.1), ("ei", 0.02)])
def test_sends_the_surrogates_best_proposals_to_the_oracle(acquisition: str, margin: float) -> None:
    """EI trades some mean for uncertainty, so its margin over the rejected ones is smaller."""
    objective = _similarity()
    inner = _Recording(GraphGA(DRUGS, population_size=20, offspring_size=60, seed=1))
    screen = SurrogateScreen(inner, oversample=3, min_train=60, acquisition=acquisition, seed=0)
    optimize(screen, objective, budget=240, batch_size=40)
    passed = screen.ask(40)
    proposals = inner.proposed[-1]
    assert len(proposals) > 40 and len(passed) == 40
    assert set(passed) <= set(proposals) and not set(passed) & set(inner.told)
    rejected = [s for s in proposals if s not in passed]
    passed_score = objective.score(passed).total.mean()
    rejected_score = objective.score(rejected).total.mean()
    assert passed_score > rejected_score + margin, (passed_score, rejected_score)
    assert screen.n_passed < screen.n_proposed  # the run itself was screened


def test_screened_portfolio_keeps_its_scorecard_and_origins() -> None:
    portfolio = Portfolio(
        {
            "graph_ga": GraphGA(DRUGS, population_size=7, offspring_size=20, seed=0),
            "mmp_analogs": MMPAnalogs(leads=DRUGS[:3], seed=0),
        },
        top_k=20,
        reference_smiles=DRUGS,
    )
    screen = SurrogateScreen(portfolio, min_train=30, seed=0)
    result = optimize(screen, _similarity(), budget=120, batch_size=30)
    assert result.n_oracle_calls == 120
    assert set(result.molecules["generator"]) <= {"graph_ga", "mmp_analogs"}
    cards = {c["generator"]: c for c in screen.scorecard()}
    assert sum(c["scored"] for c in cards.values()) == 120
    assert sum(c["top_k_share"] for c in cards.values()) == pytest.approx(1.0)


def test_expected_improvement_prefers_the_uncertain_of_equal_means() -> None:
    from drugloop.models.base import Prediction

    screen = SurrogateScreen(GraphGA(DRUGS, seed=0), acquisition="ei", ei_rank=2)
    screen.tell(DRUGS[:3], np.array([0.9, 0.5, 0.7]))  # incumbent: the 2nd best, 0.7
    mean, std = np.array([0.7, 0.7, 0.6]), np.array([0.01, 0.3, 0.01])
    ei = screen._acquire(Prediction(mean, std, np.ones(3, bool), np.ones(3)))
    assert ei[1] > ei[0] > ei[2] > 0


def test_rejects_undersampling_and_unknown_acquisitions() -> None:
    with pytest.raises(ValueError, match="oversample"):
        SurrogateScreen(GraphGA(DRUGS, seed=0), oversample=0.5)
    with pytest.raises(ValueError, match="min_train"):
        SurrogateScreen(GraphGA(DRUGS, seed=0), min_train=1)
    with pytest.raises(ValueError, match="acquisition 'ucb'"):
        SurrogateScreen(GraphGA(DRUGS, seed=0), acquisition="ucb")
