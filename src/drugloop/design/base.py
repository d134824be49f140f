"""The generator interface: ask for candidate molecules, tell back their scores.

Ask/tell keeps generators ignorant of how molecules are scored (a model, a docking run, an
assay), so the same loop drives a genetic algorithm, a REINVENT-style RNN or library
enumeration. Register new generators with ``@GENERATORS.register("name")``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from drugloop.registry import Registry


class Generator(ABC):
    """Proposes molecules (``ask``) and learns from their scores (``tell``)."""

    name: str = "generator"

    @abstractmethod
    def ask(self, n: int) -> list[str]:
        """Up to ``n`` new, valid, canonical SMILES (fewer only when it cannot find more)."""

    @abstractmethod
    def tell(self, smiles: Sequence[str], scores: np.ndarray) -> None:
        """Scores (higher is better) for molecules, usually the ones just asked."""

    def withheld(self, smiles: Sequence[str]) -> None:
        """Molecules the safety guard held back: never scored, so learned from as worth 0."""
        if len(smiles):
            self.tell(smiles, np.zeros(len(smiles)))

    def resume(
        self,
        smiles: Sequence[str],
        scores: np.ndarray,
        origins: Sequence[str] | None = None,
        rounds: Sequence[int] | None = None,
    ) -> None:
        """An interrupted run's scored molecules, with who proposed each and in which round.

        Most generators just learn from them; a portfolio also rebuilds its bookkeeping.
        """
        self.tell(smiles, scores)


GENERATORS: Registry[Generator] = Registry("generator")


def create_generator(name: str, **params: object) -> Generator:
    return GENERATORS.create(name, **params)
