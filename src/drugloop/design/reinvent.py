"""REINVENT-style reinforcement learning of the SMILES language model, behind ask/tell.

The agent starts as a copy of the prior and is pulled towards the objective by the augmented
likelihood loss (Olivecrona et al. 2017): ``(log P_prior(x) + sigma * score(x) - log P_agent(x))²``,
so it climbs the score without forgetting what molecules look like. Two additions that the
PMO literature shows help sample efficiency:

* **experience replay**: the best molecules seen so far (also those other generators found,
  which makes a portfolio a GA/LM hybrid in the spirit of Genetic GFN) join every update;
* **augmented memory** (Guo & Schwaller 2023): extra updates on the replay buffer written as
  randomized SMILES, reusing each expensive score several times.

``loss="trajectory_balance"`` swaps the augmented likelihood for the GFlowNet trajectory-balance
objective of Genetic GFN (Kim et al. 2024): ``(log Z + log P_agent(x) - beta * score(x))²`` with a
learned ``log Z`` (started at the first batch's mean of ``beta * score - log P``, so it does not
spend its first updates raising every sample's likelihood) and a KL penalty towards the prior.
A SMILES string is one trajectory, so the agent learns to sample molecules in proportion to
``exp(beta * score)`` rather than to maximize. It lost on the PMO tuning tasks (docs/benchmarks.md,
Ablation 5), so the augmented likelihood stays the default. ``replay_weighting="rank"`` replays
a larger memory by rank instead of the top molecules uniformly; it lost too (Ablation 9).

Invalid samples are learned from with score 0 but never returned by ``ask``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from rdkit import Chem, RDLogger

from drugloop.design.base import GENERATORS, Generator
from drugloop.design.clm import DEFAULT_PRIOR, LanguageModel


def _canonical(smiles: str) -> str | None:
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    return Chem.MolToSmiles(mol, isomericSmiles=False) if mol is not None else None


def rank_weights(scores: np.ndarray, k: float = 0.01) -> np.ndarray:
    """Sampling probabilities ∝ 1 / (k·N + rank) (Tripp et al. 2020), rank 0 the best score.

    Why: replay from a large memory still favours the best molecules, but by rank, so a few
    outlying scores do not take over and the tail still gets replayed now and then.
    """
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
    weights = 1.0 / (k * len(scores) + ranks)
    return weights / weights.sum()


@GENERATORS.register("reinvent")
class Reinvent(Generator):
    """Language-model RL generator (augmented likelihood + replay + augmented memory)."""

    name = "reinvent"

    def __init__(
        self,
        prior: str | Path | LanguageModel = DEFAULT_PRIOR,
        sigma: float = 500.0,
        learning_rate: float = 5e-4,
        replay_size: int = 100,
        replay_batch: int = 24,
        augmented_rounds: int = 2,
        seed: int = 0,
        threads: int | None = None,
        loss: Literal["augmented_likelihood", "trajectory_balance"] = "augmented_likelihood",
        beta: float = 50.0,
        kl_coefficient: float = 0.01,
        log_z_learning_rate: float = 0.1,
        replay_weighting: Literal["uniform", "rank"] = "uniform",
    ) -> None:
        if loss not in ("augmented_likelihood", "trajectory_balance"):
            raise ValueError(
                f"unknown loss {loss!r}; known: augmented_likelihood, trajectory_balance"
            )
        if replay_weighting not in ("uniform", "rank"):
            raise ValueError(f"unknown replay_weighting {replay_weighting!r}; known: uniform, rank")
        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(seed)
        self.prior = prior if isinstance(prior, LanguageModel) else LanguageModel.load(prior)
        self.agent = self.prior.clone()
        for p in self.prior.network.parameters():
            p.requires_grad_(False)
        self.sigma = sigma
        self.replay_size = replay_size
        self.replay_batch = replay_batch
        self.augmented_rounds = augmented_rounds
        self.replay_weighting = replay_weighting
        self.loss = loss
        self.beta = beta
        self.kl_coefficient = kl_coefficient
        self._log_z_ready = False
        self.log_z = torch.nn.Parameter(torch.zeros(1))
        groups = [{"params": list(self.agent.network.parameters()), "lr": learning_rate}]
        if loss == "trajectory_balance":
            groups.append({"params": [self.log_z], "lr": log_z_learning_rate})
        self.optimizer = torch.optim.Adam(groups)
        self._rng = np.random.default_rng(seed)
        self._torch_rng = torch.Generator().manual_seed(seed)
        self._seen: set[str] = set()
        self._proposed: dict[str, torch.Tensor] = {}  # canonical → sampled token ids
        self._invalid: list[torch.Tensor] = []
        self._memory: dict[str, float] = {}  # canonical SMILES → score (best seen)
        self.n_sampled = 0
        self.n_valid = 0

    # ------------------------------------------------------------------ ask / tell

    def ask(self, n: int) -> list[str]:
        RDLogger.DisableLog("rdApp.*")
        out: list[str] = []
        for _ in range(5):  # a few rounds if many samples are repeats
            want = max(n - len(out), 0)
            if not want:
                break
            ids = self.agent.sample_ids(int(want * 1.1) + 4, self._torch_rng)
            for row in ids:
                text = self.agent.vocab.decode(row.tolist())
                self.n_sampled += 1
                canonical = _canonical(text)
                if canonical is None:
                    if len(self._invalid) < 4 * n:
                        self._invalid.append(row)
                    continue
                self.n_valid += 1
                if canonical in self._seen or len(out) >= n:
                    continue
                self._seen.add(canonical)
                self._proposed[canonical] = row
                out.append(canonical)
        return out

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        own_rows, own_scores = [], []
        for text, score in zip(smiles, scores, strict=True):
            score = float(score) if math.isfinite(score) else 0.0
            row = self._proposed.pop(text, None)
            canonical = text if row is not None else _canonical(text)
            if canonical is None:
                continue
            self._seen.add(canonical)
            if row is not None:
                own_rows.append(row)
                own_scores.append(score)
            if score > self._memory.get(canonical, -1.0):
                self._memory[canonical] = score
        self._trim_memory()
        own_rows += self._invalid
        own_scores += [0.0] * len(self._invalid)
        self._invalid = []
        if own_rows:
            self._update(_pad(own_rows), torch.tensor(own_scores, dtype=torch.float32))
        for _ in range(self.augmented_rounds):
            self._replay_update(randomize=True)

    # ------------------------------------------------------------------ learning

    def _trim_memory(self) -> None:
        if len(self._memory) > self.replay_size:
            best = sorted(self._memory.items(), key=lambda kv: -kv[1])[: self.replay_size]
            self._memory = dict(best)

    def _replay(self, k: int, randomize: bool) -> tuple[torch.Tensor | None, torch.Tensor]:
        if not self._memory or k <= 0:
            return None, torch.zeros(0)
        items = list(self._memory.items())
        weights = None
        if self.replay_weighting == "rank":
            weights = rank_weights(np.array([score for _, score in items]))
        take = self._rng.choice(len(items), size=min(k, len(items)), replace=False, p=weights)
        texts, scores = [], []
        for i in take:
            text, score = items[i]
            if randomize:
                mol = Chem.MolFromSmiles(text)
                text = Chem.MolToSmiles(mol, doRandom=True, canonical=False) if mol else text
            texts.append(text)
            scores.append(score)
        ids, kept = self.agent.batch(texts)
        if len(kept) == 0:
            return None, torch.zeros(0)
        return ids, torch.tensor([scores[i] for i in kept], dtype=torch.float32)

    def _loss(self, ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            prior_ll = self.prior.log_likelihood(ids)
        agent_ll = self.agent.log_likelihood(ids)
        if self.loss == "trajectory_balance":
            if not self._log_z_ready:  # data-dependent start: no early push-up of every sample
                self.log_z.data.fill_(float((self.beta * scores - agent_ll.detach()).mean()))
                self._log_z_ready = True
            balance = (self.log_z + agent_ll - self.beta * scores) ** 2
            return balance + self.kl_coefficient * (agent_ll - prior_ll)
        target = prior_ll + self.sigma * scores
        return (target - agent_ll) ** 2

    def _update(self, ids: torch.Tensor, scores: torch.Tensor) -> None:
        losses = [self._loss(ids, scores)]
        replay_ids, replay_scores = self._replay(self.replay_batch, randomize=False)
        if replay_ids is not None:
            losses.append(self._loss(replay_ids, replay_scores))
        self._step(torch.cat(losses).mean())

    def _replay_update(self, randomize: bool) -> None:
        ids, scores = self._replay(2 * self.replay_batch, randomize)
        if ids is not None:
            self._step(self._loss(ids, scores).mean())

    def _step(self, loss: torch.Tensor) -> None:
        self.agent.network.train()
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.agent.network.parameters(), 10.0)
        self.optimizer.step()
        self.agent.network.eval()

    @property
    def validity(self) -> float:
        return self.n_valid / self.n_sampled if self.n_sampled else float("nan")


def _pad(rows: Sequence[torch.Tensor]) -> torch.Tensor:
    width = max(len(r) for r in rows)
    out = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        out[i, : len(row)] = row
    return out
