from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from drugloop.campaign.acquisition import select_top
from drugloop.campaign.simulate import (
    SimulationConfig,
    read_oracle,
    read_smiles_column,
    simulate_campaign,
)
from drugloop.cli.main import app


@pytest.fixture(scope="module")
def enamine(enamine_pool, enamine_scores):
    return read_smiles_column(enamine_pool), read_oracle(enamine_scores)


def test_select_top_excludes_and_orders():
    utility = np.array([0.1, 5.0, 3.0, np.nan, 4.0])
    assert select_top(utility, 2).tolist() == [1, 4]
    assert select_top(utility, 2, exclude=np.array([1])).tolist() == [4, 2]
    assert select_top(utility, 10).tolist() == [1, 4, 2, 0]


def test_model_guided_campaign_beats_random_on_enamine(enamine):
    pool, oracle = enamine
    sub = pool[:3000]  # a real sub-library keeps the test quick
    guided = simulate_campaign(
        sub,
        oracle,
        SimulationConfig(
            minimize=True, rounds=3, seed=0, model="rf", model_params={"n_estimators": 60}
        ),
    )
    rand = simulate_campaign(
        sub, oracle, SimulationConfig(minimize=True, rounds=3, seed=0, acquisition="random")
    )
    assert guided.top_k == int(0.01 * guided.n_with_value)
    assert [r.n_tested for r in guided.rounds] == [30, 60, 90, 120]
    fractions = [r.fraction_top_found for r in guided.rounds]
    assert fractions == sorted(fractions)
    assert guided.final_fraction > rand.final_fraction + 0.15


def test_failed_syntheses_are_never_hits(enamine):
    pool, oracle = enamine
    sub = pool[:1500]
    # knock out the true best molecules from the lab: they now fail synthesis
    best = sorted((oracle[k], k) for k in map(lambda s: s, sub) if k in oracle)[:5]
    crippled = {k: v for k, v in oracle.items() if k not in {b[1] for b in best}}
    result = simulate_campaign(
        sub,
        crippled,
        SimulationConfig(
            minimize=True, rounds=2, seed=1, model="rf", model_params={"n_estimators": 40}
        ),
    )
    assert result.rounds[-1].n_failed >= 1 or result.n_with_value < len(sub)
    assert result.top_threshold > best[-1][0]  # the failed ones are not in the true top


def test_cli_simulate_writes_json(tmp_path, enamine_pool, enamine_scores):
    out = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "campaign",
            "simulate",
            "--pool",
            str(enamine_pool),
            "--oracle",
            str(enamine_scores),
            "--smiles-col",
            "smiles",
            "--score-col",
            "score",
            "--minimize",
            "--init-frac",
            "0.01",
            "--batch-frac",
            "0.01",
            "--rounds",
            "1",
            "--seed",
            "0",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert [r["round"] for r in data["rounds"]] == [0, 1]
    assert data["rounds"][1]["n_tested"] > data["rounds"][0]["n_tested"]
    assert "fraction_top_found" in data["rounds"][0]


def test_cli_bad_input_is_a_message_not_a_traceback(tmp_path, enamine_pool):
    bad = tmp_path / "oracle.csv"
    bad.write_text("smiles,value\nCCO,1\n")
    result = CliRunner().invoke(
        app,
        [
            "campaign",
            "simulate",
            "--pool",
            str(enamine_pool),
            "--oracle",
            str(bad),
            "--out",
            str(tmp_path / "x.json"),
        ],
    )
    assert result.exit_code == 2
    assert "score" in result.output and "Traceback" not in result.output


def test_parameters_for_another_model_are_an_error(enamine):
    pool, oracle = enamine
    config = SimulationConfig(model="gp", model_params={"n_estimators": 10}, rounds=1)
    with pytest.raises(ValueError, match="does not take \\['n_estimators'\\]"):
        simulate_campaign(pool[:500], oracle, config)


def test_invalid_pool_smiles_are_counted_and_shift_nothing(enamine):
    pool, oracle = enamine
    sub = pool[:1000]
    config = SimulationConfig(minimize=True, rounds=2, seed=3)
    clean = simulate_campaign(sub, oracle, config)
    noisy = simulate_campaign(
        [*sub[:10], "C1CC(N", *sub[10:500], "not_a_smiles", *sub[500:]], oracle, config
    )
    assert (noisy.invalid_pool_smiles, clean.invalid_pool_smiles) == (2, 0)
    assert noisy.pool_size == 1002 and noisy.top_k == clean.top_k
    # the same molecules are chosen round by round: the bad rows moved nothing
    assert [r.__dict__ | {"seconds": 0} for r in noisy.rounds] == [
        r.__dict__ | {"seconds": 0} for r in clean.rounds
    ]
