"""A full multi-round campaign against the simulated lab: init → propose → export → import →
report, with failed syntheses, partial returns, chemist decisions and bad results files."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from drugloop.campaign.campaign import Campaign, CampaignError
from drugloop.campaign.config import CampaignConfig
from drugloop.campaign.simlab import SimulatedLab
from drugloop.chem import standardize_smiles
from drugloop.cli.main import app
from drugloop.data.store import ProjectStore


@pytest.fixture(scope="module")
def pim1(bundled_data):
    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    train, test = df[df.split == "train"].head(120), df[df.split == "test"].head(80)
    truth = {
        standardize_smiles(s): v for s, v in zip(test.smiles, test["exp_mean [nM]"], strict=True)
    }
    return train, test, truth


def _table(page: str, section: str) -> pd.DataFrame:
    """The first HTML table after ``<h2 id=section>``, as text cells."""
    table = page.split(f'<h2 id="{section}">')[1].split("</table>")[0]
    rows = [
        [html.unescape(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    ]
    return pd.DataFrame(rows[1:], columns=rows[0])


def test_multi_round_campaign_against_simulated_lab(tmp_path, pim1):
    train, test, truth = pim1
    runner = CliRunner()
    assay, pool, db = tmp_path / "a.csv", tmp_path / "pool.csv", tmp_path / "p.db"
    pd.DataFrame({"smiles": train.smiles, "value": train["exp_mean [nM]"]}).to_csv(
        assay, index=False
    )
    test[["smiles"]].to_csv(pool, index=False)

    def run(*args):
        result = runner.invoke(app, [*args, "--project", str(db)])
        assert result.exit_code == 0, result.output
        return result

    run("ingest", str(assay), "--default-unit", "nM", "--assay", "PIM1")
    run(
        "campaign",
        "init",
        "loop",
        "--assay",
        "PIM1",
        "--pool",
        str(pool),
        "--batch-size",
        "6",
        "--model",
        "gp",
        "--acquisition",
        "ei",
        "--batch-strategy",
        "diverse",
        "--plate-size",
        "96",
    )
    lab = SimulatedLab(truth, failure_rate=0.2, return_fraction=0.5, seed=3)
    pinned = standardize_smiles(test.smiles.iloc[-1])
    ordered: list[str] = []
    for round_index in range(3):
        extra = ["--pin", pinned] if round_index == 1 else []
        run("campaign", "propose", "loop", "--out-dir", str(tmp_path / "o"), *extra)
        order = pd.read_csv(tmp_path / "o" / f"loop_round{round_index}_order.csv")
        assert len(order) == 6 and {"plate", "well", "requested_assay"} <= set(order.columns)
        assert not set(order["smiles"]) & set(ordered)  # never re-ordered
        ordered += order["smiles"].tolist()
        if round_index == 1:
            assert order.loc[order["smiles"] == pinned, "decision"].tolist() == ["pinned"]
        lab.receive(tmp_path / "o" / f"loop_round{round_index}_order.csv")
        results = lab.deliver(tmp_path / f"results{round_index}.csv")  # half comes back
        run("campaign", "import", "loop", str(results))
        again = run("campaign", "import", "loop", str(results))  # idempotent
        assert "0 measured" not in again.output or "already" in again.output
    late = lab.deliver(tmp_path / "late.csv", everything=True)  # the delayed rest
    run("campaign", "import", "loop", str(late))

    with ProjectStore(db) as store:
        orders = store.orders_frame("loop")
        assert len(orders) == 18 and not (orders["status"] == "ordered").any()
        assert (orders["status"] == "failed").sum() >= 1
        assert "pinned" in set(orders["decision"])
        results_rows = sum(
            len(pd.read_csv(p))
            for p in tmp_path.glob("*.csv")
            if p.name.startswith(("results", "late"))
        )
        assert results_rows == 18
    report = run("campaign", "report", "loop", "--out", str(tmp_path / "r.html"))
    assert "r.html" in report.output
    page = (tmp_path / "r.html").read_text()
    assert page.count("data:image/png;base64") == 3 and "<svg" in page
    status = run("campaign", "status", "loop")
    assert "complete" in status.output
    ranked = run(
        "campaign",
        "rank-pool",
        "loop",
        "--pool",
        str(pool),
        "--top",
        "5",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "top.csv"),
    )
    assert "80 molecules scored" in ranked.output
    top = pd.read_csv(tmp_path / "top.csv")
    assert len(top) == 5 and top["utility"].is_monotonic_decreasing


def test_bad_results_are_rejected_by_line(tmp_path, pim1):
    train, test, truth = pim1
    assay, pool = tmp_path / "a.csv", tmp_path / "pool.csv"
    pd.DataFrame({"smiles": train.smiles, "value": train["exp_mean [nM]"], "unit": "nM"}).to_csv(
        assay, index=False
    )
    test[["smiles"]].to_csv(pool, index=False)
    with ProjectStore(tmp_path / "p.db") as store:
        store.import_assay_file(assay, default_assay="PIM1")
        campaign = Campaign.create(
            store, "c", CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=4, model="gp")
        )
        vetoed = standardize_smiles(test.smiles.iloc[0])
        proposal = campaign.propose(tmp_path, veto=[vetoed], add=["CCOc1ccc2nc(N)sc2c1"])
        assert vetoed not in set(proposal.orders["smiles"])
        assert proposal.orders["decision"].tolist()[0] == "added"
        ids = proposal.orders["reg_id"].tolist()
        bad = tmp_path / "bad.csv"
        pd.DataFrame(
            {
                "reg_id": [ids[0], ids[0], ids[1], "DL-9999999", ids[2]],
                "value": ["12", "12", "0.000001", "5", "40"],
                "unit": ["nM", "nM", "nM", "nM", "mg/L"],
            }
        ).to_csv(bad, index=False)
        outcome = campaign.import_results(bad)
        assert (outcome.n_measured, outcome.rejects) == (1, 4)
        reasons = pd.read_csv(outcome.rejects_path)["reason"].tolist()
        assert any("duplicate of line" in r for r in reasons)
        assert any("implausible" in r for r in reasons)
        assert any("unknown registration id" in r for r in reasons)
        assert any("unit" in r for r in reasons)
        with pytest.raises(CampaignError, match="vetoed"):
            campaign.propose(tmp_path, pin=[vetoed], veto=[vetoed])
        with pytest.raises(CampaignError, match="not a registration id or SMILES"):
            campaign.propose(tmp_path, add=["not_a_smiles"])


def test_secondary_objective_steers_the_batch(tmp_path, pim1, shared_data):
    """An off-target (CLK4 Ki, real ChEMBL data) to avoid: the batch moves away from it."""
    train, test, _ = pim1
    clk4 = pd.read_csv(shared_data / "moleculeace" / "CHEMBL4203_Ki.csv.gz").head(300)
    files = {}
    for name, frame in (("PIM1", train), ("CLK4", clk4)):
        files[name] = tmp_path / f"{name}.csv"
        pd.DataFrame(
            {"smiles": frame.smiles, "value": frame["exp_mean [nM]"], "unit": "nM"}
        ).to_csv(files[name], index=False)
    pool = tmp_path / "pool.csv"
    test[["smiles"]].to_csv(pool, index=False)
    with ProjectStore(tmp_path / "p.db") as store:
        for name, path in files.items():
            store.import_assay_file(path, default_assay=name)
        plain = Campaign.create(
            store,
            "plain",
            CampaignConfig(assay_id="PIM1", pool=str(pool), batch_size=8, model="gp"),
        )
        selective = Campaign.create(
            store,
            "selective",
            CampaignConfig(
                assay_id="PIM1",
                pool=str(pool),
                batch_size=8,
                model="gp",
                secondary=[{"assay_id": "CLK4", "worst": 8.0, "best": 5.0, "model": "gp"}],
            ),
        )
        first = plain.propose(tmp_path / "a")
        second = selective.propose(tmp_path / "b")
        from drugloop.models import create_model

        clk4_model = create_model("gp").fit(clk4.smiles.tolist(), clk4["y [pEC50/pKi]"].to_numpy())
        off_plain = clk4_model.predict(first.orders["smiles"].tolist()).mean.mean()
        off_selective = clk4_model.predict(second.orders["smiles"].tolist()).mean.mean()
        assert off_selective < off_plain
        assert "CLK4_predicted" in second.orders.columns


def test_decisions_persist_and_a_round_is_reported(tmp_path, pim1):
    """Vetoes hold in later rounds until lifted, every decision is stored with its reason, and
    one round gets its own report (its hits, accuracy, map against earlier rounds, best
    structures)."""
    train, test, truth = pim1
    runner = CliRunner()
    assay, pool, db = tmp_path / "a.csv", tmp_path / "pool.csv", tmp_path / "p.db"
    pd.DataFrame({"smiles": train.smiles, "value": train["exp_mean [nM]"]}).to_csv(
        assay, index=False
    )
    test[["smiles"]].to_csv(pool, index=False)

    def run(*args, code=0):
        result = runner.invoke(app, [*args, "--project", str(db)])
        assert result.exit_code == code, result.output
        return result

    run("ingest", str(assay), "--default-unit", "nM", "--assay", "PIM1")
    run("campaign", "init", "d", "--assay", "PIM1", "--pool", str(pool), "--batch-size", "5")
    pool_smiles = [standardize_smiles(s) for s in test.smiles]
    vetoed, later, pinned = pool_smiles[0], pool_smiles[1], pool_smiles[2]
    run(
        "campaign",
        "propose",
        "d",
        "--out-dir",
        str(tmp_path / "o"),
        "--veto",
        vetoed,
        "--pin",
        pinned,
        "--reason",
        "hERG liability in the series",
        "--user",
        "ana",
    )
    lab = SimulatedLab(truth, failure_rate=0.2, seed=1)
    lab.receive(tmp_path / "o" / "d_round0_order.csv")
    run("campaign", "import", "d", str(lab.deliver(tmp_path / "r0.csv")))
    vetoes = run("campaign", "veto", "d", later, vetoed, "--reason", "reactive")
    assert "1 new veto" in vetoes.output
    # round 1 may take every remaining pool compound: only the vetoed ones stay out
    run("campaign", "propose", "d", "--out-dir", str(tmp_path / "o"), "--batch-size", "200")
    order1 = pd.read_csv(tmp_path / "o" / "d_round1_order.csv")
    order0 = pd.read_csv(tmp_path / "o" / "d_round0_order.csv")
    assert set(order0["smiles"]) | set(order1["smiles"]) == set(pool_smiles) - {vetoed, later}
    decisions = pd.read_csv(tmp_path / "o" / "d_round0_decisions.csv")
    assert set(decisions["decision"]) == {"pinned", "vetoed"}
    with ProjectStore(db) as store:
        with pytest.raises(CampaignError, match="vetoed in round 0"):
            Campaign(store, "d").propose(tmp_path / "o", add=[vetoed])
        stored = store.decisions_frame("d")
    assert stored[["round", "decision"]].values.tolist() == [
        [0, "pinned"],
        [0, "vetoed"],
        [1, "vetoed"],
    ]
    assert stored["reason"].tolist() == ["hERG liability in the series"] * 2 + ["reactive"]
    assert stored["user"].tolist()[:2] == ["ana", "ana"] and stored["smiles"][2] == later
    status = run("campaign", "status", "d")
    assert "chemist decisions" in status.output and "reactive" in status.output

    lab.receive(tmp_path / "o" / "d_round1_order.csv")
    run("campaign", "import", "d", str(lab.deliver(tmp_path / "r1.csv")))
    out = tmp_path / "round1.html"
    run("campaign", "report", "d", "--round", "1", "--hit-threshold", "0", "--out", str(out))
    page = out.read_text()
    assert "<h1>Campaign d, round 1</h1>" in page
    for section in ("rounds", "hits", "figures", "best", "decisions"):
        assert f'<h2 id="{section}">' in page
    assert 'id="fig-accuracy"' in page and 'id="fig-space"' in page
    assert 'id="fig-hits"' not in page  # a per-round bar chart of one round says nothing
    hits = _table(page, "hits")
    results1 = pd.read_csv(tmp_path / "r1.csv")
    measured1 = results1.loc[results1["status"] == "ok", "reg_id"]
    assert sorted(hits["reg_id"]) == sorted(measured1)  # threshold 0: every value is a hit
    assert (hits["round"] == "1").all() and (hits["predicted_std"] != "–").all()
    rounds = _table(page, "rounds")
    assert rounds["round"].tolist() == ["1"] and rounds["hits"].tolist() == [str(len(measured1))]
    best = _table(page, "best")  # the grid's compounds are listed below it
    assert len(best) == min(12, len(measured1)) and (best["round"] == "1").all()
    decided = _table(page, "decisions")
    assert decided["reason"].tolist() == ["reactive"]
    run("campaign", "report", "d", "--round", "7", "--out", str(out), code=2)

    # lifting: the veto stays on record beside its lifting, and the compound may be ordered
    lifted = run("campaign", "unveto", "d", vetoed, "--reason", "hERG clean in patch clamp")
    assert "1 veto(es) lifted" in lifted.output
    run("campaign", "unveto", "d", vetoed, code=2)  # no longer vetoed: a clear error
    with ProjectStore(db) as store:
        campaign = Campaign(store, "d")
        assert campaign.vetoed() == {later: 1}
        proposal = campaign.propose(tmp_path / "o", add=[vetoed], reason="back in play")
        assert vetoed in set(proposal.orders["smiles"])
        with pytest.raises(CampaignError, match="vetoed in round 1"):
            campaign.propose(tmp_path / "o", add=[later])
        trail = store.decisions_frame("d")
    mine = trail[trail["smiles"] == vetoed]
    assert mine[["round", "decision"]].values.tolist() == [
        [0, "vetoed"],
        [2, "veto_lifted"],
        [2, "added"],
    ]


def test_admet_panel_secondary_needs_no_measurements(tmp_path, pim1):
    """A hERG constraint from the shipped ADMET panel moves the batch to lower predicted hERG;
    a constraint that would select for toxicity, or an unknown column, is refused."""
    from pydantic import ValidationError

    from drugloop.scoring.admet import panel_predictions

    train, test, _ = pim1
    assay, pool = tmp_path / "a.csv", tmp_path / "pool.csv"
    pd.DataFrame({"smiles": train.smiles, "value": train["exp_mean [nM]"], "unit": "nM"}).to_csv(
        assay, index=False
    )
    test[["smiles"]].to_csv(pool, index=False)
    herg = {"admet": "herg", "worst": 0.7, "best": 0.2}
    with ProjectStore(tmp_path / "p.db") as store:
        store.import_assay_file(assay, default_assay="PIM1")
        batches = {}
        for name, secondary in (("plain", []), ("herg", [herg])):
            config = CampaignConfig(
                assay_id="PIM1", pool=str(pool), batch_size=8, secondary=secondary
            )
            batches[name] = Campaign.create(store, name, config).propose(tmp_path / name).orders
    risk = {k: panel_predictions(b.smiles.tolist()).herg.mean() for k, b in batches.items()}
    assert risk["herg"] < risk["plain"]
    assert batches["herg"]["admet_herg_predicted"].between(0, 1).all()
    with pytest.raises(ValidationError, match="toxicity endpoint"):
        CampaignConfig(secondary=[{"admet": "herg", "worst": 0.2, "best": 0.7}])
    with pytest.raises(ValidationError, match="unknown ADMET column 'hERG'"):
        CampaignConfig(secondary=[{"admet": "hERG", "worst": 0.7, "best": 0.2}])
    with pytest.raises(ValidationError, match="exactly one of assay_id or admet"):
        CampaignConfig(secondary=[{"worst": 0.7, "best": 0.2}])
    toml = tmp_path / "c.toml"
    toml.write_text('secondary = [{admet = "ames", worst = 0.1, best = 0.9}]\n')
    with pytest.raises(ValueError, match=r"c.toml: secondary.0: .*'ames' is a toxicity"):
        CampaignConfig.from_toml(toml)  # a TOML error names the file and the setting
