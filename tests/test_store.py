"""The project store on SQLite and (with DRUGLOOP_TEST_POSTGRES=1) a real PostgreSQL server."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from postgres_server import PostgresServer, running_server
from rdkit import Chem
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from drugloop.chem.io import InputFileError
from drugloop.chem.molecule import standardize_smiles
from drugloop.data.schema import Compound, ImportBatch, Measurement
from drugloop.data.store import ProjectStore, StoreError

CHEMBL = Path("moleculeace") / "CHEMBL2147_Ki.csv.gz"
CENSORED_ROWS = (3, 17, 42)  # positions in the 200-row sample written as "> value"
BAD_SMILES_ROW = 60
BAD_UNIT_ROW = 90
DUPLICATED_ROW = 10  # appended again at the end of the file


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    yield from running_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProjectStore]:
    if request.param == "sqlite":
        with ProjectStore(tmp_path / "project" / "drugloop.db") as sqlite_store:
            yield sqlite_store
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    url, schema = server.fresh_schema()
    try:
        with ProjectStore(url) as pg_store:
            yield pg_store
    finally:
        server.drop_schema(schema)


@pytest.fixture(scope="module")
def enamine_smiles(enamine_pool: Path) -> list[str]:
    """Standardized SMILES of the first 300 Enamine pool molecules (real structures)."""
    raw = pd.read_csv(enamine_pool, nrows=300)["smiles"]
    return list(dict.fromkeys(standardize_smiles(s) for s in raw))


@pytest.fixture(scope="module")
def chembl_sample(bundled_data: Path) -> pd.DataFrame:
    return pd.read_csv(bundled_data / CHEMBL, nrows=200)


def _assay_table(sample: pd.DataFrame) -> pd.DataFrame:
    """200 ChEMBL Ki rows in nM with censored rows, a bad SMILES, a bad unit and a duplicate."""
    table = pd.DataFrame(
        {
            "smiles": sample["smiles"],
            "value": [f"{v:g}" for v in sample["exp_mean [nM]"]],
            "unit": "nM",
        }
    )
    for row in CENSORED_ROWS:
        table.loc[row, "value"] = ">" + table.loc[row, "value"]
    table.loc[BAD_SMILES_ROW, "smiles"] = "C1CC(N"
    table.loc[BAD_UNIT_ROW, "unit"] = "furlongs"
    return pd.concat([table, table.iloc[[DUPLICATED_ROW]]], ignore_index=True)


@pytest.fixture
def assay_csv(tmp_path: Path, chembl_sample: pd.DataFrame) -> Path:
    path = tmp_path / "inbox" / "ki_assay.csv"
    path.parent.mkdir()
    _assay_table(chembl_sample).to_csv(path, index=False)
    return path


def _line(position: int) -> int:
    return position + 2  # header is line 1


def _counts(store: ProjectStore) -> tuple[int, int, int]:
    with store.session() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(table))
            for table in (Compound, Measurement, ImportBatch)
        )


# ----------------------------------------------------------------------------- registration


def test_register_is_stable_and_deduplicated(store: ProjectStore, enamine_smiles: list[str]):
    first = store.register(enamine_smiles[:40])
    assert set(first) == set(enamine_smiles[:40])
    assert len(set(first.values())) == 40
    assert all(re.fullmatch(r"DL-\d{7}", reg_id) for reg_id in first.values())

    again = enamine_smiles[20:60][::-1] + enamine_smiles[20:30]  # overlap, reversed, repeats
    second = store.register(again)
    assert all(second[s] == first[s] for s in enamine_smiles[20:40])
    assert len(set(second.values()) | set(first.values())) == 60

    compounds = store.compounds_frame()
    assert len(compounds) == 60 and compounds["smiles"].is_unique
    expected_keys = [Chem.MolToInchiKey(Chem.MolFromSmiles(s)) for s in compounds["smiles"]]
    assert compounds["inchikey"].tolist() == expected_keys
    lookup = store.lookup_reg_ids([first[enamine_smiles[0]], "DL-9999999"])
    assert lookup == {first[enamine_smiles[0]]: enamine_smiles[0]}


def test_register_uses_batched_queries(store: ProjectStore, enamine_smiles: list[str]):
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    mapping = store.register(enamine_smiles)
    assert len(mapping) == len(enamine_smiles)
    assert len(statements) < 20, "registration must not issue one query per molecule"


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_registry_ids_never_change(store: ProjectStore, enamine_smiles: list[str], data):
    """Whatever batches arrive in whatever order, a structure keeps its first registry id."""
    batch = data.draw(st.lists(st.sampled_from(enamine_smiles[:80]), min_size=1, max_size=30))
    before = store.compounds_frame().set_index("smiles")["reg_id"].to_dict()
    mapping = store.register(batch)
    assert set(mapping) == set(batch)
    assert all(mapping[s] == before[s] for s in batch if s in before)
    after = store.compounds_frame()
    assert after["reg_id"].is_unique and len(after) == len(set(before) | set(batch))


def test_register_rejects_non_smiles(store: ProjectStore):
    with pytest.raises(StoreError, match="not a valid SMILES"):
        store.register(["CCO", "C1CC(N"])
    assert _counts(store)[0] == 0  # the valid one was rolled back with the bad one


def test_foreign_keys_are_enforced(store: ProjectStore):
    with pytest.raises(IntegrityError), store.session() as session:
        session.execute(
            insert(Measurement).values(
                compound_id=12345, assay_id="a", qualifier="=", source_file="x",
                source_row=1, batch_id=67890, dedup_key="k",
            )
        )  # fmt: skip
    if store.engine.dialect.name == "sqlite":
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_reopen_from_path_object(store: ProjectStore, enamine_smiles: list[str]):
    """Callers (the CLI) may hand over a URL wrapped in pathlib.Path, which eats its '//'."""
    reg_ids = store.register(enamine_smiles[:3])
    sqlite = store.engine.dialect.name == "sqlite"
    location = Path(store.engine.url.database if sqlite else store.url)
    with ProjectStore(location) as reopened:
        assert reopened.lookup_reg_ids(reg_ids.values()) == {r: s for s, r in reg_ids.items()}
    with pytest.raises(StoreError, match="mangled sqlite URL"):
        ProjectStore(Path("sqlite:////tmp/drugloop.db"))


# ----------------------------------------------------------------------------- assay imports


def test_import_assay_file_keeps_provenance(
    store: ProjectStore, assay_csv: Path, chembl_sample: pd.DataFrame
):
    report = store.import_assay_file(assay_csv)
    rejected_lines = {_line(BAD_SMILES_ROW), _line(BAD_UNIT_ROW), _line(len(chembl_sample))}
    assert not report.already_imported
    assert (report.n_rows, report.n_rejected, report.n_duplicates) == (201, 3, 0)
    assert report.n_added == 198

    assert report.rejects_path == assay_csv.with_name("ki_assay.rejects.csv")
    rejects = pd.read_csv(report.rejects_path)
    assert set(rejects["record"]) == rejected_lines
    assert "C1CC(N" in set(rejects["input"])

    stored = store.measurements_frame()
    assert len(stored) == 198
    assert set(stored["source_file"]) == {str(assay_csv)}
    assert set(stored["batch_id"]) == {report.batch_id}
    expected_lines = {_line(i) for i in range(200)} - rejected_lines
    assert set(stored["source_row"]) == expected_lines
    reg_ids = store.compounds_frame().set_index("smiles")["reg_id"]
    assert (stored["reg_id"] == reg_ids.loc[stored["smiles"]].to_numpy()).all()

    # pKi against the data set's own pKi column, row by row through the provenance
    by_line = stored.set_index("source_row")
    for position in (0, 1, 99, 150, 199):
        row = by_line.loc[_line(position)]
        assert row["pactivity"] == pytest.approx(chembl_sample["y [pEC50/pKi]"][position])
        assert row["smiles"] == standardize_smiles(chembl_sample["smiles"][position])
        assert (row["qualifier"], row["unit"]) == ("=", "nM")


def test_censored_values_are_stored_as_censored(
    store: ProjectStore, assay_csv: Path, chembl_sample: pd.DataFrame
):
    store.import_assay_file(assay_csv)
    stored = store.measurements_frame().set_index("source_row")
    censored = stored.loc[[_line(i) for i in CENSORED_ROWS]]
    # "> x nM" is a potency *below* 9 - log10(x): stored as "<" in the pActivity direction
    assert (censored["qualifier"] == "<").all()
    nm = chembl_sample["exp_mean [nM]"].iloc[list(CENSORED_ROWS)].to_numpy()
    np.testing.assert_allclose(censored["value"], nm, rtol=1e-5)
    np.testing.assert_allclose(censored["pactivity"], 9 - np.log10(nm), rtol=1e-5)
    assert censored["value_raw"].str.startswith(">").all()
    assert (stored.drop(censored.index)["qualifier"] == "=").all()


def test_reimport_adds_nothing(store: ProjectStore, assay_csv: Path):
    first = store.import_assay_file(assay_csv)
    counts = _counts(store)
    second = store.import_assay_file(assay_csv)
    assert second.already_imported and second.n_added == 0
    assert second.batch_id == first.batch_id
    assert _counts(store) == counts

    # the same measurements in another file (reordered, plus one new row) are duplicates
    table = pd.read_csv(assay_csv, dtype=str).iloc[::-1]
    new_row = pd.DataFrame({"smiles": ["CC(=O)Nc1ccc(O)cc1"], "value": ["5000"], "unit": ["nM"]})
    other = assay_csv.with_name("ki_assay_resent.csv")
    pd.concat([table, new_row]).to_csv(other, index=False)
    third = store.import_assay_file(other)
    assert not third.already_imported
    assert (third.n_added, third.n_duplicates) == (1, first.n_added)
    assert len(store.measurements_frame()) == first.n_added + 1
    assert _counts(store)[2] == 2  # two batches, both recorded


def test_crash_mid_import_leaves_nothing(
    store: ProjectStore, assay_csv: Path, enamine_smiles: list[str], monkeypatch
):
    store.register(enamine_smiles[:5])
    counts = _counts(store)
    original = ProjectStore._insert_measurements
    inserted_before_crash: list[int] = []

    def insert_then_crash(session, rows):
        original(session, rows)
        inserted_before_crash.append(session.scalar(select(func.count(Measurement.id))))
        raise RuntimeError("power cut")

    monkeypatch.setattr(ProjectStore, "_insert_measurements", staticmethod(insert_then_crash))
    with pytest.raises(RuntimeError, match="power cut"):
        store.import_assay_file(assay_csv)
    assert inserted_before_crash and inserted_before_crash[0] > 100  # rows really were written
    assert _counts(store) == counts

    monkeypatch.undo()
    report = store.import_assay_file(assay_csv)  # not mistaken for an earlier import
    assert not report.already_imported and report.n_added == 198


def test_import_whole_file_errors(store: ProjectStore, tmp_path: Path, assay_csv: Path):
    with pytest.raises(InputFileError, match="not found"):
        store.import_assay_file(tmp_path / "missing.csv")
    with pytest.raises(InputFileError, match="pIC50_col"):
        store.import_assay_file(assay_csv, value_col="pIC50_col")
    assert _counts(store) == (0, 0, 0)


def test_add_measurements_from_lab_results(store: ProjectStore, chembl_sample: pd.DataFrame):
    smiles = [standardize_smiles(s) for s in chembl_sample["smiles"][:6]]
    nm = chembl_sample["exp_mean [nM]"][:6].to_numpy()
    results = pd.DataFrame(
        {
            "smiles": smiles,
            "assay_id": "ki_round1",
            "qualifier": ["=", "=", "=", "=", "=", "<"],
            "value": nm,
            "unit": "nM",
            "pactivity": 9 - np.log10(nm),
            "replicate": [1, 1, 1, 1, 1, np.nan],
        }
    )
    report = store.add_measurements(results, kind="results", source_file="round1_results.csv")
    assert (report.n_added, report.n_rows, report.n_duplicates) == (6, 6, 0)
    again = store.add_measurements(results, kind="results", source_file="round1_results.csv")
    assert again.already_imported and again.batch_id == report.batch_id

    overlap = results.iloc[4:].copy()  # rows 5-6 already stored; add one genuinely new replicate
    overlap.loc[6] = [smiles[0], "ki_round1", "=", 2 * nm[0], "nM", 9 - np.log10(2 * nm[0]), 2]
    more = store.add_measurements(overlap, kind="results", source_file="round1_repeat.csv")
    assert (more.n_added, more.n_duplicates) == (1, 2)

    stored = store.measurements_frame("ki_round1")
    assert len(stored) == 7 and set(stored["source_row"]) == {1, 2, 3, 4, 5, 6}
    assert stored["replicate"].tolist() == ["1"] * 5 + [None, "2"]
    assert store.measurements_frame("another_assay").empty


# ----------------------------------------------------------------------------- campaigns


def _orders(smiles: list[str]) -> pd.DataFrame:
    n = len(smiles)
    return pd.DataFrame(
        {
            "smiles": smiles,
            "acquisition_score": np.linspace(2.0, 1.0, n),
            "predicted_mean": np.linspace(7.5, 6.0, n),
            "predicted_std": np.full(n, 0.4),
            "source": ["pool"] * (n - 1) + ["reinvent"],
            "decision": ["pinned"] + ["auto"] * (n - 1),
        }
    )


def test_campaign_records_round_trip(store: ProjectStore, enamine_smiles: list[str]):
    config = {"target": "CHEMBL2147", "batch_size": 5, "acquisition": {"name": "ucb", "beta": 2}}
    campaign_id = store.create_campaign("kinase-1", config)
    info = store.get_campaign("kinase-1")
    assert (info.id, info.name, info.config) == (campaign_id, "kinase-1", config)
    with pytest.raises(StoreError, match="already exists"):
        store.create_campaign("kinase-1", {})
    with pytest.raises(StoreError, match="kinase-1"):
        store.get_campaign("kinase-2")  # the error lists what does exist
    assert [c.name for c in store.list_campaigns()] == ["kinase-1"]

    round0 = _orders(enamine_smiles[:5])
    store.add_round("kinase-1", 0, round0)
    with pytest.raises(StoreError, match="already has a round 0"):
        store.add_round("kinase-1", 0, round0)
    store.set_round_status("kinase-1", 0, "ordered", order_file="orders/round0.csv")

    orders = store.orders_frame("kinase-1", 0)
    assert orders["smiles"].tolist() == enamine_smiles[:5]
    reg_ids = store.register(enamine_smiles[:5])
    assert orders["reg_id"].tolist() == [reg_ids[s] for s in orders["smiles"]]
    np.testing.assert_allclose(orders["acquisition_score"], round0["acquisition_score"])
    assert orders["decision"].tolist() == round0["decision"].tolist()
    assert (orders["status"] == "ordered").all() and (orders["round_status"] == "ordered").all()

    store.add_round("kinase-1", 1, _orders(enamine_smiles[4:8]))  # compound 4 ordered again
    changed = store.set_order_status("kinase-1", orders["reg_id"][3:5], "measured")
    assert changed == 2
    rounds = store.rounds_frame("kinase-1").set_index("index")
    assert rounds.loc[0, "order_file"] == "orders/round0.csv"
    assert rounds["status"].tolist() == ["ordered", "proposed"]
    assert (rounds.loc[0, "n_measured"], rounds.loc[1, "n_measured"]) == (1, 1)  # latest round
    assert rounds["n_orders"].tolist() == [5, 4]
    assert len(store.orders_frame("kinase-1")) == 9


def test_campaign_errors_are_clear(store: ProjectStore, enamine_smiles: list[str]):
    store.create_campaign("c", {})
    store.add_round("c", 0, _orders(enamine_smiles[:3]))
    with pytest.raises(StoreError, match="round status 'done'"):
        store.set_round_status("c", 0, "done")
    with pytest.raises(StoreError, match=r"no round 7; rounds: \[0\]"):
        store.set_round_status("c", 7, "complete")
    with pytest.raises(StoreError, match="DL-9999999"):
        store.set_order_status("c", ["DL-9999999"], "failed")
    with pytest.raises(StoreError, match="lack columns"):
        store.add_round("c", 1, pd.DataFrame({"smiles": enamine_smiles[:2]}))
    with pytest.raises(StoreError, match="decision 'maybe'"):
        store.add_round("c", 1, _orders(enamine_smiles[:3]).assign(decision="maybe"))
    assert store.rounds_frame("c")["index"].tolist() == [0]


def test_chemist_decisions_are_stored_with_the_round(
    store: ProjectStore, enamine_smiles: list[str]
):
    store.create_campaign("c", {})
    decisions = [
        (enamine_smiles[0], "pinned", "keeps the amide series going", "ana"),
        (enamine_smiles[9], "vetoed", "reactive Michael acceptor", "ana"),
    ]
    store.add_round("c", 0, _orders(enamine_smiles[:3]), decisions=decisions)
    store.add_decisions("c", 1, [(enamine_smiles[10], "added", None, None)])
    frame = store.decisions_frame("c")
    assert frame["round"].tolist() == [0, 0, 1]
    assert frame["decision"].tolist() == ["pinned", "vetoed", "added"]
    assert frame["reason"].tolist()[:2] == [
        "keeps the amide series going",
        "reactive Michael acceptor",
    ]
    assert frame["user"].tolist()[:2] == ["ana", "ana"]
    assert frame[["reason", "user"]].iloc[2].isna().all()
    age = pd.Timestamp.now(tz="UTC") - frame["created_at"]
    assert ((age >= pd.Timedelta(0)) & (age < pd.Timedelta(minutes=5))).all()  # UTC on both
    reg = store.register(enamine_smiles[9:10])
    assert frame["reg_id"][1] == reg[enamine_smiles[9]]  # vetoed compounds are registered too
    with pytest.raises(StoreError, match="chemist decision.*'maybe'"):
        store.add_round(
            "c",
            1,
            _orders(enamine_smiles[3:5]),
            decisions=[(enamine_smiles[4], "maybe", None, None)],
        )
    assert store.rounds_frame("c")["index"].tolist() == [0]  # nothing half-stored
    assert len(store.decisions_frame("c")) == 3
    with pytest.raises(StoreError, match="no campaign named 'd'"):
        store.decisions_frame("d")


def test_predictions_and_designs(store: ProjectStore, enamine_smiles: list[str]):
    smiles = enamine_smiles[:4]
    store.add_predictions("rf", "1", smiles, [6.1, 7.2, 5.0, 8.3], [0.3, np.nan, 0.5, 0.2],
                          [True, False, True, None])  # fmt: skip
    predictions = store.predictions_frame("rf")
    assert predictions["smiles"].tolist() == smiles
    assert predictions["mean"].tolist() == [6.1, 7.2, 5.0, 8.3]
    assert math.isnan(predictions["std"][1])
    assert predictions["in_domain"].tolist() == [True, False, True, None]
    with pytest.raises(StoreError, match="same length"):
        store.add_predictions("rf", "1", smiles, [1.0])

    store.create_campaign("gen", {})
    details = [{"qed": 0.7, "alerts": []}, None]
    store.add_designs("reinvent", smiles[:2], [0.9, 0.4], campaign="gen", round_index=1,
                      details=details)  # fmt: skip
    store.add_designs("mutate", smiles[2:3], None)
    designs = store.designs_frame()
    assert designs["generator"].tolist() == ["reinvent", "reinvent", "mutate"]
    assert designs["campaign"].tolist()[:2] == ["gen", "gen"] and pd.isna(designs["campaign"][2])
    assert designs["details"].tolist()[:2] == details
    assert len(store.designs_frame("gen")) == 2
    reg = store.register(smiles)
    assert set(predictions["reg_id"]) == set(reg.values())  # designs reuse the same compounds
    assert len(store.compounds_frame()) == 4


def test_store_location_from_env_or_path(tmp_path: Path, monkeypatch, enamine_smiles: list[str]):
    monkeypatch.delenv("DRUGLOOP_DATABASE_URL", raising=False)
    with pytest.raises(StoreError, match="DRUGLOOP_DATABASE_URL"):
        ProjectStore.from_env_or_path()
    local = tmp_path / "deep" / "er" / "local.db"
    with ProjectStore.from_env_or_path(local) as store:
        store.register(enamine_smiles[:3])
    shared = tmp_path / "shared.db"
    monkeypatch.setenv("DRUGLOOP_DATABASE_URL", f"sqlite:///{shared}")
    with ProjectStore.from_env_or_path(local) as store:  # the environment wins
        assert store.compounds_frame().empty
    with ProjectStore(local) as store:  # reopening the file finds what was stored
        assert store.compounds_frame()["smiles"].tolist() == enamine_smiles[:3]
    assert shared.is_file()
