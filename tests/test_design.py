"""Design: graph GA operators, the ask/tell generator, and the budgeted optimization loop."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from drugloop.design import (
    GENERATORS,
    DesignProgress,
    Generator,
    GraphGA,
    create_generator,
    crossover,
    mutate,
    optimize,
)
from drugloop.scoring import ScoringFunction, WeightedComponent, create_component

CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"
DRUGS = [
    CELECOXIB,
    "CC(=O)Oc1ccccc1C(=O)O",  # aspirin
    "CN1CCN(Cc2ccc(C(=O)Nc3ccc(C)c(Nc4nccc(-c5cccnc5)n4)c3)cc2)CC1",  # imatinib
    "COc1ccc2[nH]cc(CCNC(C)=O)c2c1",  # melatonin
    "O=C(O)Cc1ccccc1Nc1c(Cl)cccc1Cl",  # diclofenac
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1",  # ibuprofen
    "Clc1ccc2c(c1)C(c1ccccc1)=NCC(=O)N2",  # nordazepam
    "CN1C(=O)CN=C(c2ccccc2)c2cc(Cl)ccc21",  # diazepam
]


def _similarity_to_celecoxib() -> ScoringFunction:
    component = create_component("tanimoto_similarity", references=[CELECOXIB])
    return ScoringFunction([WeightedComponent("celecoxib_similarity", component)])


@pytest.fixture(scope="module")
def enamine(enamine_pool) -> list[str]:
    return pd.read_csv(enamine_pool)["smiles"].tolist()


@pytest.fixture(scope="module")
def split(enamine) -> tuple[list[str], list[str]]:
    """200 random starting molecules and, disjoint from them, the rest in random order."""
    order = np.random.default_rng(0).permutation(len(enamine))
    return [enamine[i] for i in order[:200]], [enamine[i] for i in order[200:]]


def _assert_sane(smiles: str) -> Chem.Mol:
    mol = Chem.MolFromSmiles(smiles)
    assert mol is not None, smiles
    assert Chem.MolToSmiles(mol, isomericSmiles=False) == smiles  # canonical
    assert "." not in smiles
    assert sum(a.GetFormalCharge() for a in mol.GetAtoms()) == 0
    return mol


# --------------------------------------------------------------------------- operators


@settings(max_examples=60, deadline=None)
@given(first=st.sampled_from(DRUGS), second=st.sampled_from(DRUGS), seed=st.integers(0, 10_000))
def test_crossover_and_mutation_give_valid_molecules(first, second, seed):
    rng = random.Random(seed)
    child = crossover(Chem.MolFromSmiles(first), Chem.MolFromSmiles(second), rng)
    for product in (child, mutate(Chem.MolFromSmiles(first), rng)):
        if product is not None:
            smiles = Chem.MolToSmiles(product)
            assert Chem.MolFromSmiles(smiles) is not None and "." not in smiles


def test_crossover_mixes_both_parents():
    rng = random.Random(1)
    imatinib, diclofenac = Chem.MolFromSmiles(DRUGS[2]), Chem.MolFromSmiles(DRUGS[4])
    piperazine, dichlorophenyl = (
        Chem.MolFromSmarts("N1CCNCC1"),
        Chem.MolFromSmarts("Clc1cccc(Cl)c1"),
    )
    mixed = 0
    for _ in range(100):
        child = crossover(imatinib, diclofenac, rng)
        if (
            child is not None
            and child.HasSubstructMatch(piperazine)
            and child.HasSubstructMatch(dichlorophenyl)
        ):
            mixed += 1
    assert mixed >= 5


def test_mutations_change_the_molecule():
    rng = random.Random(0)
    melatonin = Chem.MolFromSmiles(DRUGS[3])
    products = {Chem.MolToSmiles(m) for m in (mutate(melatonin, rng) for _ in range(60)) if m}
    products.discard(Chem.MolToSmiles(melatonin))
    assert len(products) >= 30


# --------------------------------------------------------------------------- GraphGA


def test_graph_ga_is_registered():
    assert "graph_ga" in GENERATORS.names()
    ga = create_generator("graph_ga", initial_population=DRUGS, seed=3)
    assert isinstance(ga, GraphGA) and isinstance(ga, Generator)


def test_ask_returns_valid_unique_canonical_molecules(split):
    initial, _ = split
    ga = GraphGA(initial, population_size=50, seed=1)
    scorer = create_component("qed")
    asked: list[str] = []
    for _ in range(4):
        batch = ga.ask(100)
        assert len(batch) == 100
        ga.tell(batch, scorer(batch))
        asked += batch
    assert len(set(asked)) == len(asked)
    canonical_initial = {
        Chem.MolToSmiles(Chem.MolFromSmiles(s), isomericSmiles=False) for s in initial
    }
    assert set(asked[:200]) == canonical_initial  # the unscored initial population comes first
    for smiles in asked[200:]:
        mol = _assert_sane(smiles)
        assert 10 <= mol.GetNumHeavyAtoms() <= 60
        assert smiles not in canonical_initial


def test_population_is_elitist(split):
    initial, _ = split
    scorer = create_component("qed")
    ga = GraphGA(initial, population_size=30, initial_scores=scorer(initial), seed=2)
    told: dict[str, float] = dict(ga.population)
    for _ in range(3):
        batch = ga.ask(60)
        scores = scorer(batch)
        ga.tell(batch, scores)
        told.update(zip(batch, scores.tolist(), strict=True))
    best_scores = sorted(told.values(), reverse=True)[:30]
    assert [score for _, score in ga.population] == pytest.approx(best_scores)


def test_same_seed_same_run_different_seed_different_run(split):
    initial, _ = split
    scorer = create_component("qed")

    def run(seed: int) -> list[str]:
        ga = GraphGA(
            initial[:60], population_size=30, initial_scores=scorer(initial[:60]), seed=seed
        )
        first = ga.ask(40)
        ga.tell(first, scorer(first))
        return first + ga.ask(40)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_graph_ga_rejects_bad_input():
    with pytest.raises(ValueError, match="no valid molecule"):
        GraphGA(["not a smiles", "C1CC"])
    with pytest.raises(ValueError, match="mutation_rate"):
        GraphGA(DRUGS, mutation_rate=1.5)
    with pytest.raises(ValueError, match="initial scores"):
        GraphGA(DRUGS, initial_scores=[1.0])
    ga = GraphGA(DRUGS + ["C1CC"])
    assert ga.rejected_initial == ["C1CC"]


# --------------------------------------------------------------------------- loop


class PoolSampler(Generator):
    """Random picks (with replacement) from a pool: proposes repeats, ignores scores."""

    name = "pool_sampler"

    def __init__(self, pool: Sequence[str], seed: int = 0) -> None:
        self.pool = list(pool)
        self.rng = random.Random(seed)
        self.told: list[str] = []

    def ask(self, n: int) -> list[str]:
        return [self.rng.choice(self.pool) for _ in range(n)]

    def tell(self, smiles: Sequence[str], scores: np.ndarray) -> None:
        self.told += list(smiles)


class CountingObjective:
    """A real scoring function that records every molecule it is asked to score."""

    def __init__(self, function: ScoringFunction) -> None:
        self.function = function
        self.scored: list[str] = []

    def score(self, smiles: Sequence[str]):
        self.scored += list(smiles)
        return self.function.score(smiles)


def test_budget_caps_unique_oracle_calls_exactly(split):
    initial, _ = split
    objective = CountingObjective(_similarity_to_celecoxib())
    events: list[DesignProgress] = []
    result = optimize(
        GraphGA(initial, seed=0), objective, budget=250, batch_size=80, progress=events.append
    )
    assert len(objective.scored) == 250 == result.n_oracle_calls
    assert len(set(objective.scored)) == 250
    frame = result.molecules
    assert frame["oracle_call"].tolist() == list(range(1, 251))
    assert {"smiles", "score", "round", "generator", "celecoxib_similarity_raw"} <= set(frame)
    assert set(frame["generator"]) == {"graph_ga"}
    assert [e.n_scored for e in events] == [80, 160, 240, 250]
    assert events[-1].best_score == pytest.approx(result.best_score)
    assert result.top(5)["score"].is_monotonic_decreasing
    assert result.top(1)["score"].iloc[0] == frame["score"].max()


def test_repeated_proposals_are_scored_once(enamine):
    tiny_pool = enamine[:30]
    sampler = PoolSampler(tiny_pool, seed=3)
    objective = CountingObjective(_similarity_to_celecoxib())
    result = optimize(sampler, objective, budget=100, batch_size=20)
    assert len(objective.scored) == len(set(objective.scored)) == 30  # the pool ran dry
    assert result.n_oracle_calls == 30
    assert "nothing new" in result.stop_reason
    assert len(sampler.told) > 30  # repeats were told their known scores without re-scoring


def test_graph_ga_beats_its_start_and_random_picks(split):
    """Celecoxib rediscovery from 200 random Enamine compounds with 1,500 oracle calls."""
    initial, rest = split
    objective = _similarity_to_celecoxib()
    budget = 1500
    result = optimize(GraphGA(initial, seed=0), objective, budget=budget, batch_size=100)
    assert result.n_oracle_calls == budget
    initial_best = objective.score(initial).total.max()
    random_best = objective.score(rest[:budget]).total.max()
    assert result.best_score > initial_best + 0.2
    assert result.best_score > random_best + 0.15
    best_so_far = result.best_so_far()
    assert best_so_far.iloc[-1] > best_so_far.iloc[300]  # it kept improving after the start
