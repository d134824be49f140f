"""Language model: LR schedule, length-bucketed batches, resuming with --init, SELFIES."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from rdkit import Chem

from drugloop.design.clm import (
    LanguageModel,
    Vocabulary,
    _train_cli,
    extra_molecules,
    length_bucketed,
    lr_factor,
    randomized,
    read_corpus,
    tokenize,
)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def enamine_smiles(bundled_data) -> list[str]:
    return read_corpus(bundled_data / "molpal" / "Enamine10k.csv.gz", limit=400)


def test_lr_factor_warms_up_then_decays_to_the_floor() -> None:
    grid = np.linspace(0, 1, 201)
    values = np.array([lr_factor(p, warmup=0.05, floor=0.1) for p in grid])
    peak = int(values.argmax())
    assert grid[peak] == pytest.approx(0.05, abs=0.01)
    assert values[peak] == pytest.approx(1.0)
    assert np.all(np.diff(values[: peak + 1]) >= 0)
    assert np.all(np.diff(values[peak:]) <= 1e-12)
    assert values[-1] == pytest.approx(0.1)
    assert lr_factor(2.0, floor=0.1) == pytest.approx(0.1)  # past the box: stays at the floor


def test_length_bucketed_batches_cover_the_corpus_with_less_padding(enamine_smiles) -> None:
    rng = np.random.default_rng(0)
    batches = length_bucketed(enamine_smiles, 16, rng, pool=10)
    flat = [s for batch in batches for s in batch]
    assert sorted(flat) == sorted(enamine_smiles)
    assert max(len(b) for b in batches) <= 16

    def padding(groups: list[list[str]]) -> int:
        return sum(max(map(len, g)) * len(g) - sum(map(len, g)) for g in groups)

    shuffled = [enamine_smiles[i] for i in rng.permutation(len(enamine_smiles))]
    plain = [shuffled[i : i + 16] for i in range(0, len(shuffled), 16)]
    assert padding(batches) < 0.5 * padding(plain)


def test_train_then_resume_keeps_the_vocabulary(tmp_path, enamine_smiles) -> None:
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(enamine_smiles) + "\n")
    first = tmp_path / "first.pt"
    common = ["--corpus", str(corpus), "--held-out", "50", "--batch-size", "32", "--epochs", "1"]
    _train_cli(["train", *common, "--out", str(first), "--hidden", "32", "--layers", "1"])
    model = LanguageModel.load(first)
    assert model.network.config == {"embedding": 128, "hidden": 32, "layers": 1}
    assert model.metadata["steps"] == 11  # 350 training molecules / 32 per batch
    # resume on a corpus with a token the first vocabulary lacks: the vocabulary is kept
    extra = tmp_path / "extra.smi"
    extra.write_text("\n".join([*enamine_smiles, "C[Se]c1ccccc1"]) + "\n")
    resumed = tmp_path / "resumed.pt"
    _train_cli(
        ["train", "--corpus", str(extra), "--held-out", "50", "--batch-size", "32",
         "--epochs", "1", "--out", str(resumed), "--init", str(first)]
    )  # fmt: skip
    again = LanguageModel.load(resumed)
    assert again.vocab.tokens == model.vocab.tokens
    assert "[Se]" not in again.vocab.tokens
    assert again.metadata["total_steps"] == 11 + again.metadata["steps"]
    assert again.metadata["held_out_nll"] < model.metadata["held_out_nll"]


def test_randomized_respells_the_same_molecules(enamine_smiles) -> None:
    rng = np.random.default_rng(0)
    first, second = randomized(enamine_smiles, rng), randomized(enamine_smiles, rng)
    canonical = [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in enamine_smiles]
    for spelled in (first, second):
        assert [Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in spelled] == canonical
    assert np.mean([a != b for a, b in zip(first, enamine_smiles, strict=True)]) > 0.9
    assert np.mean([a != b for a, b in zip(first, second, strict=True)]) > 0.9  # new each call
    assert randomized(["not a smiles"], rng) == ["not a smiles"]


def test_randomized_training_is_recorded(tmp_path, enamine_smiles) -> None:
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(enamine_smiles) + "\n")
    out = tmp_path / "random.pt"
    _train_cli(
        ["train", "--corpus", str(corpus), "--held-out", "50", "--batch-size", "32",
         "--epochs", "1", "--out", str(out), "--hidden", "32", "--layers", "1", "--randomized"]
    )  # fmt: skip
    model = LanguageModel.load(out)
    assert model.metadata["randomized"] is True
    assert model.metadata["steps"] == 11


def test_extra_corpus_adds_only_molecules_the_corpus_lacks(tmp_path, enamine_smiles) -> None:
    first, second = enamine_smiles[:200], enamine_smiles[150:]  # 50 molecules in both
    extra = tmp_path / "extra.smi"
    extra.write_text("\n".join(second) + "\n")
    added = extra_molecules(extra, set(first), None, np.random.default_rng(0))
    assert added == second[50:]
    sample = extra_molecules(extra, set(first), 60, np.random.default_rng(0))
    assert len(sample) == len(set(sample)) == 60 and set(sample) <= set(second[50:])
    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(first) + "\n")
    common = ["train", "--corpus", str(corpus), "--held-out", "50", "--batch-size", "32",
              "--epochs", "1", "--hidden", "32", "--layers", "1"]  # fmt: skip
    alone, mixed = tmp_path / "alone.pt", tmp_path / "mixed.pt"
    _train_cli([*common, "--out", str(alone)])
    _train_cli([*common, "--out", str(mixed), "--extra-corpus", str(extra), "--extra-limit", "60"])
    alone_meta, mixed_meta = LanguageModel.load(alone).metadata, LanguageModel.load(mixed).metadata
    assert (alone_meta["n_train"], mixed_meta["n_train"]) == (150, 210)
    assert mixed_meta["extra_corpus"] == "extra.smi" and mixed_meta["extra_limit"] == 60
    assert mixed_meta["steps"] == 7  # 210 training molecules / 32 per batch


def test_vocabulary_round_trips_real_smiles(enamine_smiles) -> None:
    vocab = Vocabulary.build(enamine_smiles)
    for smiles in enamine_smiles[:50]:
        assert vocab.decode(vocab.encode(smiles)) == smiles


@given(st.text(alphabet="CNOSPFIBrcnos()[]=#-+123456789%@/\\.H*", max_size=40))
def test_tokenize_is_lossless_or_refuses(text) -> None:
    try:
        tokens = tokenize(text)
    except ValueError as exc:
        assert repr(text) in str(exc)  # the error names the SMILES
    else:
        assert "".join(tokens) == text


def test_selfies_vocabulary_round_trips_molecules(enamine_smiles) -> None:
    vocab = Vocabulary.build(enamine_smiles[:100], kind="selfies")
    assert "[Branch1]" in vocab.tokens and "[Ring1]" in vocab.tokens
    for smiles in enamine_smiles[:50]:
        ids = vocab.encode(smiles)
        assert ids is not None
        back = Chem.MolFromSmiles(vocab.decode(ids))
        assert Chem.MolToSmiles(back) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


@given(st.lists(st.integers(0, 200), max_size=60))
def test_any_selfies_token_sequence_decodes_to_a_molecule(ids) -> None:
    vocab = Vocabulary.build(["CC(=O)Nc1ccc(O)cc1", "C1CCN(CC1)C(=O)c1ccc(Cl)cc1F"], "selfies")
    text = vocab.decode([i % len(vocab) for i in ids])
    assert text == "" or Chem.MolFromSmiles(text) is not None


def test_selfies_prior_trains_samples_valid_molecules_and_drives_reinvent(
    tmp_path, enamine_smiles
) -> None:
    from drugloop.design.reinvent import Reinvent

    corpus = tmp_path / "corpus.smi"
    corpus.write_text("\n".join(enamine_smiles) + "\n")
    out = tmp_path / "selfies.pt"
    _train_cli(
        ["train", "--corpus", str(corpus), "--held-out", "50", "--batch-size", "32",
         "--epochs", "1", "--out", str(out), "--tokenizer", "selfies", "--hidden", "32",
         "--layers", "1"]
    )  # fmt: skip
    model = LanguageModel.load(out)
    assert model.vocab.kind == "selfies"
    samples = [s for s in model.sample(40, torch.Generator().manual_seed(0)) if s]
    assert samples and all(Chem.MolFromSmiles(s) is not None for s in samples)
    agent = Reinvent(prior=out, seed=0, augmented_rounds=1, replay_batch=4)
    batch = agent.ask(8)
    assert batch and all(Chem.MolFromSmiles(s) is not None for s in batch)
    agent.tell(batch, np.linspace(0, 1, len(batch)))
