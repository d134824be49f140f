"""A chemical language model: a SMILES (or SELFIES) GRU prior, its training, sampling, likelihoods.

The prior learns what drug-like SMILES look like from a real corpus (ZINC250k); reinforcement
learning (:mod:`drugloop.design.reinvent`) and transfer learning on a user's actives then bend
it towards an objective. The model is small on purpose (≈1 M parameters, a few MB in float16)
so it ships inside the package and samples quickly on a CPU.

Train the shipped prior (time-boxed, one thread so it shares a machine politely; ``--init``
resumes from weights, ``--tokenizer selfies`` trains a SELFIES model)::

    python -m drugloop.design.clm train --corpus /path/zinc250k.smi.gz \
        --out src/drugloop/design/weights/prior_zinc250k.pt --minutes 25
"""

from __future__ import annotations

import argparse
import gzip
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rdkit import Chem, RDLogger
from torch import nn

SMILES_TOKEN = re.compile(
    r"(\[[^\]]+]|Br|Cl|N|O|S|P|F|I|B|C|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$"
    r"|%[0-9]{2}|[0-9])"
)
PAD, BOS, EOS = "<pad>", "^", "$"
WEIGHTS_DIR = Path(__file__).parent / "weights"
DEFAULT_PRIOR = WEIGHTS_DIR / "prior_zinc250k.pt"


TOKENIZERS = ("smiles", "selfies")


def tokenize(smiles: str) -> list[str]:
    """SMILES → tokens (bracket atoms, two-letter halogens and ring-bond labels stay whole)."""
    tokens = SMILES_TOKEN.findall(smiles)
    if "".join(tokens) != smiles:
        raise ValueError(f"cannot tokenize SMILES {smiles!r}")
    return tokens


def tokenize_selfies(smiles: str) -> list[str]:
    """SMILES → SELFIES tokens (``[C]``, ``[=O]``, ``[Branch1]``, ``[Ring1]`` …)."""
    import selfies

    try:
        text = selfies.encoder(smiles)
    except selfies.EncoderError as exc:
        raise ValueError(f"cannot encode SMILES {smiles!r} as SELFIES: {exc}") from None
    return list(selfies.split_selfies(text))


@dataclass
class Vocabulary:
    """Tokens of a SMILES or SELFIES language; ``encode`` takes and ``decode`` returns SMILES.

    With ``kind="selfies"`` every token sequence decodes to a valid molecule (SELFIES is
    robust by construction), so a sampler never wastes a draw on an invalid string; callers
    keep speaking SMILES either way.
    """

    tokens: list[str]
    kind: str = "smiles"

    def __post_init__(self) -> None:
        if self.kind not in TOKENIZERS:
            raise ValueError(f"unknown tokenizer {self.kind!r}; known: {list(TOKENIZERS)}")
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def tokenize(self, smiles: str) -> list[str]:
        return tokenize(smiles) if self.kind == "smiles" else tokenize_selfies(smiles)

    @classmethod
    def build(cls, smiles: Iterable[str], kind: str = "smiles") -> Vocabulary:
        """Vocabulary of ``smiles``; with SELFIES, molecules it cannot encode are left out."""
        vocab = cls([PAD, BOS, EOS], kind)
        seen: dict[str, None] = {}
        for text in smiles:
            try:
                tokens = vocab.tokenize(text)
            except ValueError:
                if kind == "smiles":
                    raise
                continue
            for token in tokens:
                seen.setdefault(token)
        return cls([PAD, BOS, EOS, *sorted(seen)], kind)

    def encode(self, smiles: str) -> list[int] | None:
        """Token ids with BOS/EOS, or None when a token is outside the vocabulary."""
        try:
            ids = [self.index[t] for t in self.tokenize(smiles)]
        except (KeyError, ValueError):
            return None
        return [self.index[BOS], *ids, self.index[EOS]]

    def decode(self, ids: Sequence[int]) -> str:
        out = []
        for i in ids:
            token = self.tokens[i]
            if token == EOS:
                break
            if token not in (PAD, BOS):
                out.append(token)
        if self.kind == "smiles":
            return "".join(out)
        import selfies

        try:
            return selfies.decoder("".join(out))
        except selfies.DecoderError:
            return ""

    def __len__(self) -> int:
        return len(self.tokens)


class SmilesRNN(nn.Module):
    """Embedding → stacked GRU → logits over the next token."""

    def __init__(self, vocab_size: int, embedding: int = 128, hidden: int = 256, layers: int = 3):
        super().__init__()
        self.config = {"embedding": embedding, "hidden": hidden, "layers": layers}
        self.embed = nn.Embedding(vocab_size, embedding)
        self.gru = nn.GRU(embedding, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state: torch.Tensor | None = None):
        out, state = self.gru(self.embed(ids), state)
        return self.head(out), state


class LanguageModel:
    """A vocabulary and an RNN: sample SMILES, compute their log-likelihoods, save/load."""

    def __init__(self, vocab: Vocabulary, network: SmilesRNN, max_length: int = 100) -> None:
        self.vocab = vocab
        self.network = network
        self.max_length = max_length

    @classmethod
    def new(cls, vocab: Vocabulary, **config: int) -> LanguageModel:
        return cls(vocab, SmilesRNN(len(vocab), **config))

    def clone(self) -> LanguageModel:
        copy = SmilesRNN(len(self.vocab), **self.network.config)
        copy.load_state_dict(self.network.state_dict())
        return LanguageModel(self.vocab, copy, self.max_length)

    # ------------------------------------------------------------------ persistence

    def save(self, path: str | Path, **metadata: object) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.half() for k, v in self.network.state_dict().items()}  # halves the size
        torch.save(
            {
                "tokens": self.vocab.tokens,
                "tokenizer": self.vocab.kind,
                "config": self.network.config,
                "state": state,
                "max_length": self.max_length,
                "metadata": metadata,
            },
            path,
        )
        return path

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PRIOR) -> LanguageModel:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: no language-model weights there")
        blob = torch.load(path, map_location="cpu", weights_only=True)
        vocab = Vocabulary(list(blob["tokens"]), str(blob.get("tokenizer", "smiles")))
        network = SmilesRNN(len(vocab), **blob["config"])
        network.load_state_dict({k: v.float() for k, v in blob["state"].items()})
        model = cls(vocab, network, int(blob.get("max_length", 100)))
        model.metadata = dict(blob.get("metadata", {}))
        return model

    # ------------------------------------------------------------------ likelihood / sampling

    def batch(self, smiles: Sequence[str]) -> tuple[torch.Tensor, list[int]]:
        """Padded id tensor of the encodable SMILES and the indices of those kept."""
        encoded, kept = [], []
        for i, text in enumerate(smiles):
            ids = self.vocab.encode(text)
            if ids is not None and len(ids) <= self.max_length + 2:
                encoded.append(ids)
                kept.append(i)
        width = max((len(e) for e in encoded), default=2)
        tensor = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, ids in enumerate(encoded):
            tensor[row, : len(ids)] = torch.tensor(ids)
        return tensor, kept

    def log_likelihood(self, ids: torch.Tensor) -> torch.Tensor:
        """Sum of next-token log-probabilities per sequence (padding ignored); differentiable."""
        logits, _ = self.network(ids[:, :-1])
        logp = torch.log_softmax(logits, dim=-1)
        target = ids[:, 1:]
        picked = logp.gather(2, target.unsqueeze(-1)).squeeze(-1)
        return (picked * (target != 0)).sum(dim=1)

    @torch.no_grad()
    def sample_ids(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` token sequences (BOS first, EOS-terminated or cut at ``max_length``)."""
        bos, eos = self.vocab.index[BOS], self.vocab.index[EOS]
        tokens = torch.full((n, 1), bos, dtype=torch.long)
        done = torch.zeros(n, dtype=torch.bool)
        state, step_in, out = None, tokens, [tokens]
        for _ in range(self.max_length):
            logits, state = self.network(step_in, state)
            probs = torch.softmax(logits[:, -1], dim=-1)
            nxt = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            nxt = torch.where(done, torch.zeros_like(nxt), nxt)
            out.append(nxt.unsqueeze(1))
            done |= nxt == eos
            if bool(done.all()):
                break
            step_in = nxt.unsqueeze(1)
        return torch.cat(out, dim=1)

    def sample(self, n: int, generator: torch.Generator | None = None) -> list[str]:
        return [self.vocab.decode(row.tolist()) for row in self.sample_ids(n, generator)]


# ---------------------------------------------------------------------- training


def read_corpus(path: str | Path, limit: int | None = None) -> list[str]:
    """Canonical, stereo-free SMILES from a (gzipped) .smi or one-column CSV file."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    out: dict[str, None] = {}
    RDLogger.DisableLog("rdApp.*")
    with opener(path, "rt") as handle:
        for line in handle:
            text = line.strip().split(",")[0].split()[0] if line.strip() else ""
            mol = Chem.MolFromSmiles(text) if text and text.upper() != "SMILES" else None
            if mol is None:
                continue
            out.setdefault(Chem.MolToSmiles(mol, isomericSmiles=False))
            if limit and len(out) >= limit:
                break
    return list(out)


def lr_factor(progress: float, warmup: float = 0.02, floor: float = 0.05) -> float:
    """Linear warm-up then cosine decay to ``floor`` of the peak; ``progress`` runs 0 → 1.

    Progress is measured in time when training is time-boxed, so the decay always completes
    inside the box whatever the machine's speed.
    """
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return max(progress / warmup, 0.01)
    cosine = 0.5 * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))
    return floor + (1 - floor) * cosine


def length_bucketed(
    smiles: Sequence[str], batch_size: int, rng: np.random.Generator, pool: int = 50
) -> list[list[str]]:
    """Shuffled batches of similar-length SMILES: less padding, so fewer wasted GRU steps.

    The corpus is shuffled, cut into pools of ``pool`` batches, each pool sorted by length and
    cut into batches, and the batch order shuffled again, so batches stay random across pools.
    """
    order = rng.permutation(len(smiles))
    batches: list[list[str]] = []
    span = batch_size * pool
    for lo in range(0, len(order), span):
        chunk = sorted((smiles[i] for i in order[lo : lo + span]), key=len)
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def randomized(smiles: Sequence[str], rng: np.random.Generator) -> list[str]:
    """One random (non-canonical) SMILES per molecule: the same molecules, other spellings.

    Training on these teaches the model every spelling of a molecule, as REINVENT's priors are
    trained, so an agent that replays randomized SMILES stays in the prior's distribution.
    """
    out = []
    for text in smiles:
        mol = Chem.MolFromSmiles(text)
        if mol is None:
            out.append(text)
            continue
        order = [int(i) for i in rng.permutation(mol.GetNumAtoms())]
        out.append(Chem.MolToSmiles(Chem.RenumberAtoms(mol, order), canonical=False))
    return out


def held_out_nll(model: LanguageModel, smiles: Sequence[str], batch_size: int = 250) -> float:
    """Mean negative log-likelihood per molecule (nats) of ``smiles`` the vocabulary encodes."""
    was_training = model.network.training
    model.network.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for lo in range(0, len(smiles), batch_size):
            ids, _ = model.batch(smiles[lo : lo + batch_size])
            if len(ids):
                total += float(-model.log_likelihood(ids).sum())
                count += len(ids)
    model.network.train(was_training)
    return total / max(count, 1)


def fit(
    model: LanguageModel,
    smiles: Sequence[str],
    minutes: float | None = None,
    epochs: int = 1,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
    checkpoint: Path | None = None,
    schedule: bool = False,
    validation: Sequence[str] = (),
    eval_minutes: float = 5.0,
    randomize: bool = False,
) -> dict[str, float]:
    """Teacher-forced maximum likelihood on ``smiles``; stops at ``epochs`` or ``minutes``.

    With ``schedule`` the learning rate warms up and decays by cosine over the time box (or the
    epochs). With ``validation`` and ``checkpoint`` the model is scored on the held-out SMILES
    every ``eval_minutes`` and saved only when its held-out NLL improves, so the file on disk
    is always the best model so far. With ``randomize`` every batch is respelled as random
    SMILES (a fresh spelling each epoch); ``validation`` should then be randomized too.
    """
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(model.network.parameters(), lr=lr)
    start = last_eval = time.time()
    smiles = list(smiles)
    steps_per_epoch = math.ceil(len(smiles) / batch_size)
    step, best = 0, math.inf
    losses: list[float] = []
    model.network.train()

    def progress() -> float:
        by_steps = step / max(epochs * steps_per_epoch, 1)
        if minutes is None:
            return by_steps
        return max(by_steps, (time.time() - start) / (60 * minutes))

    def evaluate() -> None:
        nonlocal best, last_eval
        last_eval = time.time()
        if not (validation and checkpoint):
            return
        nll = held_out_nll(model, validation)
        if log:
            log(f"step {step} held-out NLL {nll:.3f} (best {min(best, nll):.3f})")
        if nll < best:
            best = nll
            model.save(checkpoint, steps=step, held_out_nll=nll, partial=True)

    for epoch in range(epochs):
        for chunk in length_bucketed(smiles, batch_size, rng):
            ids, _ = model.batch(randomized(chunk, rng) if randomize else chunk)
            if len(ids) == 0:
                continue
            if schedule:
                for group in optimizer.param_groups:
                    group["lr"] = lr * lr_factor(progress())
            loss = -model.log_likelihood(ids).mean()
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.network.parameters(), 5.0)
            optimizer.step()
            losses.append(loss.item())
            step += 1
            if log and step % 100 == 0:
                rate = optimizer.param_groups[0]["lr"]
                log(f"epoch {epoch} step {step} loss {np.mean(losses[-100:]):.3f} lr {rate:.2e}")
            if time.time() - last_eval > 60 * eval_minutes:
                evaluate()
            if progress() >= 1.0:
                break
        if progress() >= 1.0:
            break
    evaluate()
    model.network.eval()
    tail = losses[-100:] if losses else [math.nan]
    return {
        "steps": step,
        "final_loss": float(np.mean(tail)),
        "best_held_out_nll": best,
        "seconds": time.time() - start,
    }


def validity(smiles: Sequence[str]) -> float:
    RDLogger.DisableLog("rdApp.*")
    return float(np.mean([Chem.MolFromSmiles(s) is not None and bool(s) for s in smiles]))


def extra_molecules(
    path: str | Path, exclude: set[str], limit: int | None, rng: np.random.Generator
) -> list[str]:
    """Molecules from a second corpus that the first lacks (so its held-out split stays unseen).

    Why: a second corpus adds chemistry without changing the held-out set, so held-out NLLs
    stay comparable with models trained on the first corpus alone.
    """
    extra = [s for s in read_corpus(path) if s not in exclude]
    if limit is not None and limit < len(extra):
        extra = [extra[i] for i in sorted(rng.choice(len(extra), size=limit, replace=False))]
    return extra


def _train_cli(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="train the SMILES GRU prior")
    parser.add_argument("command", choices=["train"])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--out", default=str(DEFAULT_PRIOR))
    parser.add_argument("--init", help="weights to resume from (their vocabulary is kept)")
    parser.add_argument("--minutes", type=float, default=25.0)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--tokenizer", choices=TOKENIZERS, default="smiles")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--eval-minutes", type=float, default=5.0)
    parser.add_argument("--held-out", type=int, default=2000, help="molecules held out")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--randomized", action="store_true", help="train and validate on random SMILES spellings"
    )
    parser.add_argument(
        "--extra-corpus", help="more training molecules (the held-out split stays --corpus's)"
    )
    parser.add_argument(
        "--extra-limit", type=int, help="a seeded random sample of this many extra molecules"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    corpus = read_corpus(args.corpus)
    rng = np.random.default_rng(args.seed)
    rng.shuffle(corpus)  # the same seed gives the same held-out split when resuming
    held_out, train = corpus[: args.held_out], corpus[args.held_out :]
    extra = []
    if args.extra_corpus:
        extra = extra_molecules(args.extra_corpus, set(corpus), args.extra_limit, rng)
        train += extra
    if args.randomized:  # one fixed spelling per held-out molecule, so NLLs stay comparable
        held_out = randomized(held_out, np.random.default_rng(args.seed + 1))
    if args.init:
        model = LanguageModel.load(args.init)
        before = dict(getattr(model, "metadata", {}))
    else:
        vocab = Vocabulary.build(corpus, kind=args.tokenizer)
        model = LanguageModel.new(vocab, hidden=args.hidden, layers=args.layers)
        before = {}
    encodable = len(model.batch(train)[1])
    print(
        f"corpus {len(corpus)} molecules + {len(extra)} extra "
        f"({encodable} of {len(train)} training ones encodable), "
        f"vocabulary {len(model.vocab)} tokens, init {args.init or 'random'}",
        flush=True,
    )
    stats = fit(
        model,
        train,
        minutes=args.minutes,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        log=lambda m: print(m, flush=True),
        checkpoint=Path(args.out),
        seed=args.seed,
        schedule=True,
        validation=held_out,
        eval_minutes=args.eval_minutes,
        randomize=args.randomized,
    )
    best = LanguageModel.load(args.out)  # the checkpoint with the lowest held-out NLL
    nll = held_out_nll(best, held_out)
    valid = validity(best.sample(1000, torch.Generator().manual_seed(args.seed)))
    steps = int(best.metadata.get("steps", stats["steps"])) + int(
        before.get("total_steps", before.get("steps", 0))
    )
    best.save(
        args.out,
        corpus=Path(args.corpus).name,
        extra_corpus=Path(args.extra_corpus).name if args.extra_corpus else None,
        extra_limit=args.extra_limit,
        n_train=len(train),
        steps=int(best.metadata.get("steps", stats["steps"])),
        total_steps=steps,
        init=Path(args.init).name if args.init else None,
        held_out_nll=nll,
        validity=valid,
        minutes=args.minutes,
        peak_lr=args.lr,
        batch_size=args.batch_size,
        seed=args.seed,
        randomized=args.randomized,
    )
    print(
        f"steps {stats['steps']} train loss {stats['final_loss']:.3f} best held-out NLL "
        f"{nll:.3f} validity {valid:.3f} ({stats['seconds']:.0f} s); total steps {steps}",
        flush=True,
    )


if __name__ == "__main__":
    _train_cli()


def finetune(
    smiles: Sequence[str],
    out: str | Path,
    prior: str | Path = DEFAULT_PRIOR,
    epochs: int = 10,
    learning_rate: float = 1e-4,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> dict[str, float]:
    """Transfer learning: continue maximum-likelihood training of the prior on a user's actives.

    Molecules the vocabulary cannot encode are skipped (and counted). The result is a new
    weights file usable as ``prior`` by the ``reinvent`` generator or a design run.
    """
    torch.manual_seed(seed)
    model = LanguageModel.load(prior)
    canonical = []
    RDLogger.DisableLog("rdApp.*")
    for text in smiles:
        mol = Chem.MolFromSmiles(text) if isinstance(text, str) else None
        if mol is not None:
            canonical.append(Chem.MolToSmiles(mol, isomericSmiles=False))
    _, kept = model.batch(canonical)
    usable = [canonical[i] for i in kept]
    if not usable:
        raise ValueError("finetune: none of the molecules can be encoded by the prior")
    with torch.no_grad():
        before = float(-model.log_likelihood(model.batch(usable)[0]).mean())
    stats = fit(model, usable, epochs=epochs, batch_size=32, lr=learning_rate, seed=seed, log=log)
    with torch.no_grad():
        after = float(-model.log_likelihood(model.batch(usable)[0]).mean())
    model.save(out, finetuned_on=len(usable), epochs=epochs, prior=str(prior))
    return {
        "molecules": len(usable),
        "skipped": len(smiles) - len(usable),
        "nll_before": before,
        "nll_after": after,
        "seconds": stats["seconds"],
    }
