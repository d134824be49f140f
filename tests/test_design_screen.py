"""Surrogate pre-screening on real molecules: what reaches the oracle, and what it learns from."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from drugloop.design import GENERATORS, GraphGA, MMPAnalogs, Portfolio, SurrogateScreen, optimize
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


def test_registered() -> None:
    assert "surrogate_screen" in GENERATORS


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
    with pytest.raises(ValueError, match="acquisition 'ucb'"):
        SurrogateScreen(GraphGA(DRUGS, seed=0), acquisition="ucb")
