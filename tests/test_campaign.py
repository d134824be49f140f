"""The design–make–test–analyze loop through the project store, on real PIM1 Ki data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem
from typer.testing import CliRunner

from drugloop.campaign.campaign import Campaign, CampaignError, _flat_smiles
from drugloop.campaign.config import CampaignConfig, GeneratorSettings
from drugloop.chem import standardize_smiles
from drugloop.cli.main import app
from drugloop.data.store import ProjectStore


@pytest.fixture(scope="module")
def pim1(bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    return df[df.split == "train"].head(250), df[df.split == "test"].head(200)


@pytest.fixture
def project(tmp_path, pim1):
    train, test = pim1
    assay = tmp_path / "assay.csv"
    pd.DataFrame({"smiles": train.smiles, "value": train["exp_mean [nM]"], "unit": "nM"}).to_csv(
        assay, index=False
    )
    pool = tmp_path / "pool.csv"
    test[["smiles"]].to_csv(pool, index=False)
    store = ProjectStore(tmp_path / "project.db")
    store.import_assay_file(assay, default_assay="PIM1")
    truth = {
        standardize_smiles(s): v for s, v in zip(test.smiles, test["exp_mean [nM]"], strict=True)
    }
    yield store, pool, truth
    store.close()


def _results_file(path, orders, truth, fail_first=0):
    rows = []
    for i, row in enumerate(orders.itertuples()):
        if i < fail_first:
            rows.append((row.reg_id, "", "failed"))
        else:
            rows.append((row.reg_id, truth[row.smiles], ""))
    pd.DataFrame(rows, columns=["reg_id", "value", "status"]).to_csv(path, index=False)
    return path


def test_round_trip_orders_results_and_retraining(tmp_path, project):
    store, pool, truth = project
    campaign = Campaign.create(
        store, "pim1", CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=8)
    )
    first = campaign.propose(tmp_path / "orders")
    assert first.round == 0 and first.n_training == 250 and len(first.orders) == 8
    assert first.orders["acquisition_score"].is_monotonic_decreasing
    order_csv = pd.read_csv(first.csv_path)
    assert order_csv["reg_id"].str.match(r"DL-\d{7}").all()
    sdf_names = [m.GetProp("_Name") for m in Chem.SDMolSupplier(str(first.sdf_path))]
    assert sdf_names == order_csv["reg_id"].tolist()

    results = _results_file(tmp_path / "results.csv", first.orders, truth, fail_first=2)
    outcome = campaign.import_results(results)
    assert (outcome.n_measured, outcome.n_failed, outcome.rejects) == (6, 2, 0)
    again = campaign.import_results(results)
    assert again.report.already_imported and len(store.measurements_frame("PIM1")) == 256

    status = campaign.status()
    assert status.loc[0, "status"] == "complete"
    assert (status.loc[0, "n_measured"], status.loc[0, "n_failed"]) == (6, 2)

    second = campaign.propose(tmp_path / "orders")
    assert second.round == 1 and second.n_training == 256
    assert not set(second.orders["smiles"]) & set(first.orders["smiles"])  # never re-ordered


def test_results_validation_names_the_records(tmp_path, project):
    store, pool, truth = project
    campaign = Campaign.create(
        store, "v", CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=3)
    )
    orders = campaign.propose(tmp_path).orders
    known_unordered = store.compounds_frame()["reg_id"].iloc[0]
    bad = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "reg_id": [orders.reg_id[0], "DL-9999999", known_unordered, orders.reg_id[1]],
            "value": ["12", "5", "7", "lots"],
            "unit": ["nM", "nM", "nM", "nM"],
        }
    ).to_csv(bad, index=False)
    outcome = campaign.import_results(bad)
    assert outcome.n_measured == 1 and outcome.rejects == 3
    rejects = pd.read_csv(outcome.rejects_path)
    assert rejects["record"].tolist() == [3, 4, 5]
    assert rejects["reason"].tolist()[:2] == [
        "unknown registration id",
        "compound was never ordered in this campaign",
    ]
    assert "lots" in rejects["reason"].iloc[2]


def test_generator_candidates_are_novel_and_recorded(tmp_path, project):
    store, _, _ = project
    config = CampaignConfig(
        assay_id="PIM1", batch_size=5, generator=GeneratorSettings(budget=150, n_candidates=40)
    )
    campaign = Campaign.create(store, "gen", config)
    proposal = campaign.propose(tmp_path)
    train = {_flat_smiles(s) for s in campaign.training_set()[0]}
    assert len(proposal.orders) == 5
    assert not {_flat_smiles(s) for s in proposal.orders["smiles"]} & train  # stereo-blind
    assert (proposal.orders["source"] == "graph_ga").all()
    assert len(store.designs_frame("gen")) == 40


def test_first_round_without_data_samples_the_pool(tmp_path, pim1):
    _, test = pim1
    pool = tmp_path / "pool.csv"
    test[["smiles"]].to_csv(pool, index=False)
    with ProjectStore(tmp_path / "empty.db") as store:
        campaign = Campaign.create(
            store, "cold", CampaignConfig(assay_id="X", pool=str(pool), batch_size=6)
        )
        proposal = campaign.propose(tmp_path)
        assert len(proposal.orders) == 6 and (proposal.orders["source"] == "pool-random").all()
        no_pool = Campaign.create(store, "nothing", CampaignConfig(assay_id="X"))
        with pytest.raises(CampaignError, match="no pool"):
            no_pool.propose(tmp_path)


def test_cli_loop(tmp_path, pim1):
    train, test = pim1
    runner = CliRunner()
    assay, pool, db = tmp_path / "a.csv", tmp_path / "p.csv", tmp_path / "cli.db"
    pd.DataFrame({"smiles": train.smiles, "value": train["exp_mean [nM]"]}).to_csv(
        assay, index=False
    )
    test[["smiles"]].to_csv(pool, index=False)

    def run(*args):
        return runner.invoke(app, [*args, "--project", str(db)])

    ingest = run("ingest", str(assay), "--default-unit", "nM", "--assay", "PIM1")
    assert ingest.exit_code == 0 and "250 added" in ingest.output
    assert "already imported" in run("ingest", str(assay), "--default-unit", "nM").output
    assert (
        run(
            "campaign", "init", "c1", "--assay", "PIM1", "--pool", str(pool), "--batch-size", "4"
        ).exit_code
        == 0
    )
    proposed = run("campaign", "propose", "c1", "--out-dir", str(tmp_path / "o"))
    assert proposed.exit_code == 0, proposed.output
    order = pd.read_csv(tmp_path / "o" / "c1_round0_order.csv")
    # SMILES are shown verbatim: "[nH]" must not be swallowed as Rich markup
    assert all(smiles in proposed.output for smiles in order["smiles"])
    shown = runner.invoke(app, ["ingest", str(tmp_path / "missing[nH].csv"), "--project", str(db)])
    assert shown.exit_code == 2 and "missing[nH].csv" in shown.output
    results = tmp_path / "r.csv"
    pd.DataFrame(
        {"reg_id": order.reg_id, "value": [">10000", "50", "3", "800"], "unit": "nM"}
    ).to_csv(results, index=False)
    imported = run("campaign", "import", "c1", str(results))
    assert imported.exit_code == 0 and "4 measured" in imported.output
    stored = ProjectStore(db).measurements_frame("PIM1")
    censored = (
        stored[stored["value_raw"] == ">10000"]
        if "value_raw" in stored
        else stored[stored["value"] == 10000]
    )
    assert censored["qualifier"].tolist() == ["<"]  # > 10 µM Ki means pKi < 5, kept censored
    status = run("campaign", "status", "c1")
    assert status.exit_code == 0 and "complete" in status.output
    missing = run("campaign", "status", "nope")
    assert missing.exit_code == 2 and "c1" in missing.output


def test_flat_smiles_ignores_stereo_spelling():
    with_stereo = "N[C@@H]1CCCN(c2c(/C=C3\\SC(=O)NC3=O)cccc2-c2ccccc2)C1"
    assert _flat_smiles(with_stereo) == _flat_smiles(
        "NC1CCCN(c2c(C=C3SC(=O)NC3=O)cccc2-c2ccccc2)C1"
    )
    assert _flat_smiles(with_stereo) != _flat_smiles("NC1CCCN(c2c(CC3SC(=O)NC3=O)cccc2-c2ccccc2)C1")


def test_retests_and_late_syntheses_are_stored_as_replicates(tmp_path, project):
    store, pool, truth = project
    campaign = Campaign.create(
        store, "rt", CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=4)
    )
    orders = campaign.propose(tmp_path).orders
    first = _results_file(tmp_path / "r1.csv", orders, truth, fail_first=1)
    assert campaign.import_results(first).n_failed == 1
    retest = tmp_path / "r2.csv"  # compound 1 re-tested; compound 0 made after all
    values = [truth[orders.smiles[1]] * 10, truth[orders.smiles[0]]]
    pd.DataFrame(
        {"reg_id": orders.reg_id[[1, 0]], "value": values, "unit": "nM", "replicate": "2"}
    ).to_csv(retest, index=False)
    outcome = campaign.import_results(retest)
    assert (outcome.n_measured, outcome.rejects) == (2, 0)
    stored = store.measurements_frame("PIM1")
    both = stored[stored["smiles"] == orders.smiles[1]]
    assert sorted(both["replicate"].fillna("-")) == ["-", "2"]
    smiles, y = campaign.training_set()  # the model sees one aggregated value per compound
    assert smiles.count(orders.smiles[1]) == 1
    assert y[smiles.index(orders.smiles[1])] == pytest.approx(both["pactivity"].median())
    statuses = store.orders_frame("rt").set_index("smiles")["status"]
    assert (statuses == "measured").all()  # the late synthesis is no longer "failed"


def test_empty_selection_writes_no_order(tmp_path, project):
    store, pool, truth = project
    small = tmp_path / "small.csv"
    pd.read_csv(pool).head(3).to_csv(small, index=False)
    campaign = Campaign.create(
        store, "e", CampaignConfig(assay_id="PIM1", pool=str(small), batch_size=5)
    )
    assert len(campaign.propose(tmp_path / "o").orders) == 3  # the whole pool
    with pytest.raises(CampaignError, match="no candidates left"):
        campaign.propose(tmp_path / "o")
    assert store.rounds_frame("e")["index"].tolist() == [0]  # no empty round recorded
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "e_round0_order.csv",
        "e_round0_order.sdf",
    ]


def test_cost_column_steers_the_batch_and_bad_pool_rows_do_not_shift_it(tmp_path, project):
    store, pool, _ = project
    smiles = pd.read_csv(pool)["smiles"].tolist()
    plain = Campaign.create(
        store, "plain", CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=12)
    ).propose(tmp_path / "a")
    best = plain.orders["smiles"].tolist()  # best first
    standardized = [standardize_smiles(s) for s in smiles]
    costs = [1000.0 if s in best[:6] else 1.0 for s in standardized]
    priced = pd.DataFrame({"smiles": smiles, "cost": costs})
    # an unparseable row with a huge cost: were rows matched by position, it would land on
    # the next compound
    bad = pd.DataFrame({"smiles": ["C1CC(N"], "cost": [5000.0]})
    priced = pd.concat([priced.iloc[:2], bad, priced.iloc[2:]], ignore_index=True)
    priced_path = tmp_path / "priced.csv"
    priced.to_csv(priced_path, index=False)
    config = CampaignConfig(assay_id="PIM1", pool=str(priced_path), batch_size=6, cost_weight=1)
    cheap = Campaign.create(store, "cheap", config).propose(tmp_path / "b")
    assert set(cheap.orders["smiles"]) == set(best[6:12])  # the expensive six drop out
    assert [(e.record, e.input) for e in cheap.pool_errors] == [(4, "C1CC(N")]
    priced = priced.astype({"cost": object})
    priced.loc[5, "cost"] = "call us"
    priced.to_csv(priced_path, index=False)
    with pytest.raises(CampaignError, match=r"priced.csv:7: cost 'call us'"):
        Campaign.create(store, "quote", config).propose(tmp_path / "c")


def test_pareto_selection_takes_the_first_fronts(tmp_path, project):
    from drugloop.campaign.batch import pareto_rank

    store, pool, _ = project
    config = CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=8, selection="pareto")
    campaign = Campaign.create(store, "pareto", config)
    picked = set(campaign.propose(tmp_path).orders["smiles"])
    measured = set(store.measurements_frame("PIM1")["smiles"])
    candidates = [s for s in campaign.pool_candidates() if s not in measured]
    scored = campaign.objective(campaign.train_model()).score(candidates).to_frame()
    fronts = pareto_rank(
        np.column_stack(
            [scored["activity_mean"], scored["qed_raw"], -scored["sa_score_raw"].to_numpy()]
        )
    )
    chosen = np.array([s in picked for s in candidates])
    assert chosen.sum() == 8
    assert fronts[chosen].max() <= fronts[~chosen].min()  # no later front jumps the queue
    # the batch is not just the most potent: a potency-only pick would differ
    potent = set(np.array(candidates)[np.argsort(-scored["activity_mean"].to_numpy())[:8]])
    assert picked != potent


def test_example_campaign_config_is_valid(tmp_path, bundled_data):
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "examples" / "campaign_pim1.toml"
    config = CampaignConfig.from_toml(example)
    assert (bundled_data.parent / config.pool).is_file()  # the pool it names ships with us
    with ProjectStore(tmp_path / "p.db") as store:
        Campaign.create(store, "pim1", config)  # plug-in names resolve
        assert store.get_campaign("pim1").config["batch_params"] == {"max_similarity": 0.7}
