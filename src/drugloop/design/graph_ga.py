"""Graph-based genetic algorithm (after Jensen, Chem. Sci. 2019, 10, 3567).

Molecules breed by cutting two parents at a ring or a non-ring bond and joining the pieces,
then occasionally mutate (add/insert/delete/change atoms and bonds, open/close rings).
Selection favours high scores; the population is elitist (the best ``population_size``
molecules ever told survive). Everything is driven by one seeded RNG, so a run is repeatable.
Work is done on stereo-free structures: SMILES from ``ask`` carry no stereochemistry.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from rdkit import Chem

from drugloop.design.base import GENERATORS, Generator
from drugloop.design.graph_ops import ProductFilter, RingProfile, crossover, mutate, prepare

Selection = Literal["proportional", "rank", "tournament"]


@dataclass(frozen=True)
class _Member:
    smiles: str
    mol: Chem.Mol  # Kekulé, editable form (graph_ops.prepare), made once per member
    score: float
    rings: RingProfile


def _canonical(smiles: object) -> tuple[str, Chem.Mol] | None:
    """Stereo-free canonical SMILES and its molecule, or None when the SMILES is invalid."""
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) and smiles.strip() else None
    if mol is None:
        return None
    text = Chem.MolToSmiles(mol, isomericSmiles=False)
    mol = Chem.MolFromSmiles(text)
    return (text, mol) if mol is not None else None


@GENERATORS.register("graph_ga")
class GraphGA(Generator):
    """Jensen-style graph GA behind the ask/tell interface.

    Until the initial population has been scored, ``ask`` hands out its (unscored) members
    first; pass ``initial_scores`` when they are already known. ``ask`` never repeats a molecule
    it has proposed or been told about.
    """

    name = "graph_ga"

    def __init__(
        self,
        initial_population: Sequence[str],
        population_size: int = 100,
        offspring_size: int = 200,
        mutation_rate: float = 0.1,
        seed: int = 0,
        selection: Selection = "tournament",
        initial_scores: Sequence[float] | None = None,
        min_heavy_atoms: int = 10,
        max_heavy_atoms: int = 60,
    ) -> None:
        if population_size < 2 or offspring_size < 1:
            raise ValueError("population_size must be ≥ 2 and offspring_size ≥ 1")
        if not 0.0 <= mutation_rate <= 1.0:
            raise ValueError(f"mutation_rate must lie in [0, 1], got {mutation_rate}")
        if selection not in ("proportional", "rank", "tournament"):
            raise ValueError(
                f"unknown selection {selection!r}; known: proportional, rank, tournament"
            )
        self.population_size = population_size
        self.offspring_size = offspring_size
        self.mutation_rate = mutation_rate
        self.selection = selection
        self.filter = ProductFilter(min_heavy_atoms, max_heavy_atoms)
        self._rng = random.Random(seed)
        self._members: list[_Member] = []
        self._seen: dict[str, None] = {}
        self._pending: list[str] = []
        self._proposed: dict[str, Chem.Mol] = {}  # asked offspring, so tell need not re-parse
        self.rejected_initial: list[str] = []
        self._load_initial(initial_population, initial_scores)

    def _load_initial(self, smiles: Sequence[str], scores: Sequence[float] | None) -> None:
        if scores is not None and len(scores) != len(smiles):
            raise ValueError(f"{len(smiles)} initial molecules but {len(scores)} initial scores")
        unique: dict[str, None] = {}
        for text in smiles:
            parsed = _canonical(text)
            if parsed is None:
                self.rejected_initial.append(str(text))
            else:
                unique.setdefault(parsed[0])
        if not unique:
            raise ValueError("the initial population holds no valid molecule")
        if scores is None:
            self._pending = list(unique)
        else:
            self.tell(list(smiles), np.asarray(scores, dtype=np.float64))

    # ------------------------------------------------------------------ ask / tell

    def ask(self, n: int | None = None) -> list[str]:
        n = self.offspring_size if n is None else n
        batch: list[str] = []
        while self._pending and len(batch) < n:
            smiles = self._pending.pop(0)
            if smiles not in self._seen:
                self._seen[smiles] = None
                batch.append(smiles)
        if not self._members:
            return batch
        attempts, max_attempts = 0, 50 * n + 100
        while len(batch) < n and attempts < max_attempts:
            attempts += 1
            child = self._offspring()
            if child is None:
                continue
            smiles = Chem.MolToSmiles(child, isomericSmiles=False)
            if smiles not in self._seen:
                self._seen[smiles] = None
                self._proposed[smiles] = child
                batch.append(smiles)
        return batch

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(scores) != len(smiles):
            raise ValueError(f"{len(smiles)} SMILES but {len(scores)} scores")
        best: dict[str, _Member] = {m.smiles: m for m in self._members}
        for text, score in zip(smiles, scores, strict=True):
            mol = self._proposed.pop(text, None)
            parsed = (text, mol) if mol is not None else _canonical(text)
            if parsed is None:
                continue
            canonical, mol = parsed
            self._seen.setdefault(canonical)
            if not math.isfinite(score):
                continue
            if canonical not in best or score > best[canonical].score:
                editable = prepare(mol)
                if editable is not None:
                    best[canonical] = _Member(
                        canonical, editable, float(score), RingProfile.of(mol)
                    )
        ranked = sorted(best.values(), key=lambda m: -m.score)  # stable: ties keep tell order
        self._members = ranked[: self.population_size]

    @property
    def population(self) -> list[tuple[str, float]]:
        """The surviving molecules and their scores, best first."""
        return [(m.smiles, m.score) for m in self._members]

    # ------------------------------------------------------------------ breeding

    def _offspring(self) -> Chem.Mol | None:
        first, second = self._select(), self._select()
        rng = self._rng
        child = crossover(first.mol, second.mol, rng)
        if child is None or rng.random() < self.mutation_rate:
            child = mutate(child if child is not None else first.mol, rng)
        if child is None or not self.filter.accepts(child, first.rings | second.rings):
            return None
        return child

    def _select(self) -> _Member:
        members, rng = self._members, self._rng
        if self.selection == "tournament":
            contenders = [rng.randrange(len(members)) for _ in range(3)]
            return members[min(contenders)]  # members are sorted best first
        if self.selection == "rank":
            weights = [len(members) - i for i in range(len(members))]
        else:
            weights = [max(m.score, 0.0) + 1e-6 for m in members]
        return rng.choices(members, weights=weights)[0]
