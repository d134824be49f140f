"""A portfolio of generators sharing one budget, allocated by what each recently contributed.

Like Chemistry42's many engines, no single generator is best on every objective: a graph GA
shines on some, a language model on others. The portfolio asks each generator for a share of
every batch; shares follow a bandit over each generator's recent *contribution* (how many of
its molecules entered the running top-k, discounted over time), with a floor so that no
generator starves. Every generator is told *every* scored molecule, so the GA breeds from what
the language model found and the language model replays what the GA found.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from drugloop.design.base import GENERATORS, Generator


@dataclass
class _Card:
    asked: int = 0
    returned: int = 0
    scored: int = 0
    valid: int = 0
    novel: int = 0
    reward: float = 1.0  # discounted top-k entries (optimistic start)
    top_entries: int = 0
    withheld: int = 0  # held back by the safety guard: never scored
    scores: list[float] = field(default_factory=list)


@GENERATORS.register("portfolio")
class Portfolio(Generator):
    """Runs several generators; ``scorecard`` reports each one's share of the top-k."""

    name = "portfolio"

    def __init__(
        self,
        generators: Mapping[str, Generator] | Sequence[Generator],
        top_k: int = 100,
        min_share: float = 0.1,
        discount: float = 0.7,
        reference_smiles: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        if not isinstance(generators, Mapping):
            generators = {g.name: g for g in generators}
        if not generators:
            raise ValueError("a portfolio needs at least one generator")
        if not 0 <= min_share * len(generators) <= 1:
            raise ValueError("min_share × number of generators must lie in [0, 1]")
        self.generators = dict(generators)
        self.top_k = top_k
        self.min_share = min_share
        self.discount = discount
        self.cards = {name: _Card() for name in self.generators}
        self.origin: dict[str, str] = {}
        self._top: list[tuple[float, str]] = []  # min-heap of the running top-k
        self._reference = set(reference_smiles)
        self._counted: set[str] = set()
        self._rng = np.random.default_rng(seed)

    def shares(self) -> dict[str, float]:
        rewards = np.array([self.cards[n].reward for n in self.generators])
        free = 1.0 - self.min_share * len(rewards)
        total = rewards.sum()
        weights = rewards / total if total > 0 else np.full(len(rewards), 1 / len(rewards))
        return {n: self.min_share + free * w for n, w in zip(self.generators, weights, strict=True)}

    def ask(self, n: int) -> list[str]:
        shares = self.shares()
        quota = {name: int(math.floor(n * s)) for name, s in shares.items()}
        leftover = n - sum(quota.values())
        for name in self._rng.choice(list(shares), size=leftover, p=list(shares.values())):
            quota[name] += 1
        out: list[str] = []
        taken = set()
        for name, generator in self.generators.items():
            if quota[name] <= 0:
                continue
            asked = generator.ask(quota[name])
            card = self.cards[name]
            card.asked += quota[name]
            card.returned += len(asked)
            for smiles in asked:
                if smiles in taken:
                    continue
                taken.add(smiles)
                self.origin.setdefault(smiles, name)
                out.append(smiles)
        return out

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        self._record(smiles, scores)
        for generator in self.generators.values():
            generator.tell(smiles, scores)

    def resume(
        self,
        smiles: Sequence[str],
        scores: np.ndarray,
        origins: Sequence[str] | None = None,
        rounds: Sequence[int] | None = None,
    ) -> None:
        """Rebuild the cards, bandit rewards and running top-k round by round, then tell once.

        Without the origins a resumed run starts from empty cards: its scorecard counts only
        the molecules scored after the restart, and the empty top-k makes the first new
        batches look like top entries to the bandit.
        """
        smiles = list(smiles)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        for text, name in zip(smiles, origins if origins is not None else (), strict=False):
            if name in self.generators:
                self.origin.setdefault(text, name)
        rounds = np.zeros(len(smiles)) if rounds is None else np.asarray(rounds)
        for round_no in np.unique(rounds):
            batch = np.flatnonzero(rounds == round_no)
            self._record([smiles[i] for i in batch], scores[batch])
        for generator in self.generators.values():
            generator.tell(smiles, scores)

    def _record(self, smiles: Sequence[str], scores: np.ndarray) -> None:
        """Cards, running top-k and discounted rewards for one scored batch."""
        gains = dict.fromkeys(self.generators, 0.0)
        for text, score in zip(smiles, scores, strict=True):
            name = self.origin.get(text)
            if name is None or not math.isfinite(score):
                continue
            card = self.cards[name]
            if text not in self._counted:
                self._counted.add(text)
                card.scores.append(float(score))
                card.scored += 1
                card.valid += 1
                card.novel += text not in self._reference
                if self._enters_top(float(score), text):
                    card.top_entries += 1
                    gains[name] += 1.0
        for name, card in self.cards.items():
            card.reward = self.discount * card.reward + gains[name]

    def withheld(self, smiles: Sequence[str]) -> None:
        """Count what the safety guard held back per generator; not scored, so not in ``scored``."""
        for text in smiles:
            name = self.origin.get(text)
            if name is not None and text not in self._counted:
                self._counted.add(text)
                self.cards[name].withheld += 1
        for generator in self.generators.values():
            generator.withheld(smiles)

    def _enters_top(self, score: float, smiles: str) -> bool:
        if len(self._top) < self.top_k:
            heapq.heappush(self._top, (score, smiles))
            return True
        if score > self._top[0][0]:
            heapq.heapreplace(self._top, (score, smiles))
            return True
        return False

    def origin_of(self, smiles: str) -> str:
        return self.origin.get(smiles, self.name)

    def scorecard(self, top: Sequence[str] | None = None) -> list[dict[str, float | str]]:
        """Per generator: molecules scored, share of the top-k, validity, uniqueness, novelty.

        ``top`` (SMILES of the final top-k) defaults to the running top-k. Validity is the
        generator's own (the language model's valid fraction of samples); uniqueness is the
        fraction of asked-for molecules it delivered new.
        """
        top = list(top) if top is not None else [s for _, s in self._top]
        rows = []
        for name, card in self.cards.items():
            generator = self.generators[name]
            validity = getattr(generator, "validity", None)
            in_top = sum(self.origin.get(s) == name for s in top)
            rows.append(
                {
                    "generator": name,
                    "scored": card.scored,
                    "top_k_share": in_top / len(top) if top else float("nan"),
                    "validity": float(validity) if validity is not None else 1.0,
                    "uniqueness": card.returned / card.asked if card.asked else float("nan"),
                    "novelty": card.novel / card.scored if card.scored else float("nan"),
                    "mean_score": float(np.mean(card.scores)) if card.scores else float("nan"),
                    "withheld": card.withheld,
                    "current_share": self.shares()[name],
                }
            )
        return rows


def default_portfolio(
    initial: Sequence[str] | None = None,
    seed: int = 0,
    prior: str | None = None,
    n_initial: int = 200,
) -> Portfolio:
    """The portfolio a design run uses when no generator is configured.

    REINVENT-style language model (with replay and augmented memory), graph GA and
    medicinal-chemistry analog enumeration. Without ``initial`` molecules the GA and the analog
    enumerator start from ``n_initial`` samples of the language-model prior (ZINC-like).
    """
    import torch

    from drugloop.design.analogs import MMPAnalogs
    from drugloop.design.clm import DEFAULT_PRIOR
    from drugloop.design.graph_ga import GraphGA
    from drugloop.design.reinvent import Reinvent

    lm = Reinvent(prior=prior or DEFAULT_PRIOR, seed=seed)
    if not initial:
        from rdkit import Chem, RDLogger

        RDLogger.DisableLog("rdApp.*")
        sampled: dict[str, None] = {}
        generator = torch.Generator().manual_seed(10_000 + seed)
        for _ in range(10):
            for text in lm.prior.sample(n_initial, generator):
                mol = Chem.MolFromSmiles(text) if text else None
                if mol is not None and mol.GetNumHeavyAtoms() >= 10:
                    sampled.setdefault(Chem.MolToSmiles(mol, isomericSmiles=False))
            if len(sampled) >= n_initial:
                break
        initial = list(sampled)[:n_initial]
    generators: dict[str, Generator] = {
        "reinvent": lm,
        "graph_ga": GraphGA(initial, seed=seed),
        "mmp_analogs": MMPAnalogs(seed=seed),
    }
    return Portfolio(generators, seed=seed)
