"""The shipped ADMET panel: offline predictions, one row per input, units for every column."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from drugloop.models.admet import ENDPOINTS, PHYSCHEM, AdmetPanel, columns_frame

DRUGS = {
    "caffeine": "Cn1c(=O)c2c(ncn2C)n(C)c1=O",
    "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
    "terfenadine": "CC(C)(C)c1ccc(cc1)C(O)CCCN1CCC(CC1)C(O)(c1ccccc1)c1ccccc1",
    "metformin": "CN(C)C(=N)N=C(N)N",
    "estradiol": "C[C@]12CC[C@H]3[C@@H](CCc4cc(O)ccc43)[C@@H]1CC[C@@H]2O",
}


@pytest.fixture(scope="module")
def panel():
    return AdmetPanel()


def test_panel_predicts_every_endpoint_and_keeps_bad_rows(panel):
    smiles = [DRUGS["caffeine"], "not a molecule", DRUGS["aspirin"]]
    out = panel.predict(smiles)
    assert out.smiles.tolist() == smiles and len(out) == 3
    assert len(panel.endpoints) == len(ENDPOINTS) == 35  # 22 TDC + 12 Tox21 + ClinTox
    for e in ENDPOINTS:
        assert out[e.column].notna().tolist() == [True, False, True]
        assert (out[f"{e.column}_uncertainty"].dropna() >= 0).all()
        if e.task == "classification":
            assert out[e.column].dropna().between(0, 1).all()
    assert "invalid SMILES" in out.error[1]


def test_panel_orders_known_drugs_sensibly(panel):
    out = panel.predict(list(DRUGS.values())).set_index(pd.Index(list(DRUGS)))
    # terfenadine is a textbook hERG blocker; metformin and aspirin are not
    assert out.loc["terfenadine", "herg"] > out.loc["metformin", "herg"]
    assert out.loc["terfenadine", "herg"] > out.loc["aspirin", "herg"]
    # lipophilicity: terfenadine (log D ~ 5) far above metformin (very polar)
    assert out.loc["terfenadine", "logd74"] > out.loc["metformin", "logd74"] + 1
    # estradiol is the estrogen receptor's own ligand (Tox21 NR-ER-LBD active)
    assert out.loc["estradiol", "tox21_nr_er_lbd"] > 0.5
    assert out.loc["estradiol", "tox21_nr_er_lbd"] > 10 * out.loc["caffeine", "tox21_nr_er_lbd"]
    assert np.isfinite(out.nearest_train_similarity).all()


CYCLOSPORIN = (
    "CC[C@H]1C(=O)N(CC(=O)N([C@H](C(=O)N[C@H](C(=O)N([C@H](C(=O)N[C@H](C(=O)N[C@@H](C(=O)N("
    "[C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N([C@H](C(=O)N1)[C@@H]([C@H](C)C/C=C/C)O)C)C(C)C)C)"
    "CC(C)C)C)CC(C)C)C)C)C)CC(C)C)C)C(C)C)CC(C)C)C)C"
)


def test_physchem_columns_match_rdkit(panel):
    """MW, cLogP, TPSA, donors, acceptors, rotors and stereocentres as RDKit defines them, and
    rule-of-5 violations: terfenadine one (cLogP 6), cyclosporin two (MW, N+O count)."""
    from rdkit import Chem
    from rdkit.Chem import Crippen, Descriptors, rdMolDescriptors

    from drugloop.models.admet import physchem_columns, physchem_values

    smiles = [*DRUGS.values(), CYCLOSPORIN, "not a molecule"]
    out = panel.predict(smiles)
    for i, smi in enumerate(smiles[:-1]):
        mol = Chem.MolFromSmiles(smi)
        assert out.molecular_weight[i] == pytest.approx(Descriptors.MolWt(mol), abs=2e-3)
        assert out.clogp[i] == pytest.approx(Crippen.MolLogP(mol), abs=2e-3)
        assert out.tpsa[i] == pytest.approx(rdMolDescriptors.CalcTPSA(mol), abs=2e-3)
        assert out.hbd[i] == rdMolDescriptors.CalcNumHBD(mol)
        assert out.hba[i] == rdMolDescriptors.CalcNumHBA(mol)
        assert out.rotatable_bonds[i] == rdMolDescriptors.CalcNumRotatableBonds(mol)
        assert out.stereo_centers[i] == rdMolDescriptors.CalcNumAtomStereoCenters(mol)
    assert out.ro5_violations.tolist()[:-1] == [0, 0, 1, 0, 0, 2]
    assert out.loc[len(smiles) - 1, [name for name, *_ in PHYSCHEM]].isna().all()
    # panels built on features without these descriptors compute them the same way
    fallback = pd.DataFrame(physchem_columns(physchem_values(smiles)))
    pd.testing.assert_frame_equal(fallback, out[fallback.columns], check_exact=False, atol=2e-3)


def test_every_output_column_is_documented(panel):
    out = panel.predict([DRUGS["caffeine"]])
    documented = set(columns_frame().column)
    assert set(out.columns) == documented
    assert (columns_frame().meaning.str.len() > 5).all()


def test_admet_cli(tmp_path):
    from drugloop.cli.main import app

    # a blank line is an empty SMILES: it keeps its row so output lines match input lines;
    # blank lines after the last record are not rows
    lines = ["mol", DRUGS["caffeine"], "C1CC", "", DRUGS["aspirin"], "", ""]
    (tmp_path / "in.csv").write_text("\n".join(lines))
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "admet",
            "predict",
            str(tmp_path / "in.csv"),
            "--smiles-col",
            "mol",
            "--out",
            str(tmp_path / "out.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv")
    assert out.herg.isna().tolist() == [False, True, True, False]
    assert out.error.fillna("").tolist()[1:3] == ["invalid SMILES 'C1CC'", "empty SMILES"]
    res = runner.invoke(
        app,
        [
            "admet",
            "predict",
            str(tmp_path / "in.csv"),
            "--smiles-col",
            "nope",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == 2 and "'nope'" in res.output and "columns are: mol" in res.output
    res = runner.invoke(app, ["admet", "columns"])
    assert res.exit_code == 0 and "log10(mol/L)" in res.output


REFERENCE = Path(__file__).parent / "data" / "admet_panel_reference.csv"


@pytest.mark.parametrize(("n_jobs", "chunk_size"), [(1, 250), (2, 8)])
def test_panel_reproduces_reference_predictions(n_jobs, chunk_size):
    """The fast path (packed training fingerprints, worker processes, sparse LightGBM input)
    reproduces what the original one-process panel predicted for 44 molecules, invalid ones
    included; the TDC benchmark figures describe exactly these predictions. (Adding Tox21 and
    ClinTox appended their columns; every earlier column was checked unchanged, and only the
    panel-wide nearest similarity rose, for 4 molecules, with the larger training union.)"""
    text = pd.read_csv(REFERENCE, usecols=["smiles", "error"], keep_default_na=False)
    expected = pd.read_csv(REFERENCE)
    out = AdmetPanel(n_jobs=n_jobs, chunk_size=chunk_size).predict(text.smiles.tolist())
    physchem = [*(name for name, *_ in PHYSCHEM), "ro5_violations"]  # appended after the file
    assert list(out.columns) == [*expected.columns, *physchem]
    assert out.error.tolist() == text.error.tolist()
    assert out.in_domain.astype("float").equals(expected.in_domain.astype("float"))
    numeric = [c for c in expected.columns if c not in ("smiles", "error", "in_domain")]
    np.testing.assert_allclose(
        out[numeric].to_numpy(float), expected[numeric].to_numpy(float), rtol=1e-9, atol=1e-12
    )


def test_shipped_training_fingerprints_match_the_smiles(panel):
    from drugloop.models.admet import _read_smiles, _sha256, pack_fingerprints, panel_dir

    with np.load(panel_dir() / "train_fps.npz") as packed:
        assert str(packed["smiles_sha256"]) == _sha256(panel_dir() / "train_smiles.smi.gz")
        indptr, bits = packed["indptr"], packed["bits"]
    smiles = _read_smiles(panel_dir() / "train_smiles.smi.gz")
    assert len(indptr) == len(smiles) + 1
    head_ptr, head_bits = pack_fingerprints(smiles[:300])
    assert np.array_equal(head_ptr, indptr[:301])
    assert np.array_equal(head_bits, bits[: indptr[300]])


def test_neighbour_index_matches_rdkit_tanimoto_per_endpoint():
    """The dense+bincount similarity pass equals RDKit's BulkTanimotoSimilarity, per endpoint."""
    from rdkit import DataStructs

    from drugloop.chem.features import bit_vectors
    from drugloop.models.admet import NeighbourIndex, pack_fingerprints

    smiles = pd.read_csv(REFERENCE, usecols=["smiles"], keep_default_na=False).smiles.tolist()
    refs, queries = smiles[7:30] + ["C1CC"], smiles[30:] + list(DRUGS.values())
    rng = np.random.default_rng(0)
    members = rng.random((len(refs), 3)) < 0.5
    members[~members.any(axis=1), 0] = True  # every reference belongs to some endpoint
    index = NeighbourIndex(*pack_fingerprints(refs), members)
    indptr, bits = pack_fingerprints(queries)
    rows = [bits[indptr[i] : indptr[i + 1]].astype(np.int64) for i in range(len(queries))]
    got = index.max_similarity(rows, batch=4)
    ref_fps = bit_vectors(refs)
    for i, fp in enumerate(bit_vectors(queries)):
        for j in range(3):
            pool = [ref_fps[k] for k in np.flatnonzero(members[:, j]) if ref_fps[k] is not None]
            expected = max(DataStructs.BulkTanimotoSimilarity(fp, pool)) if pool else 0.0
            assert got[i, j] == pytest.approx(expected, abs=1e-6)


def test_stale_or_corrupted_training_fingerprints(tmp_path):
    from drugloop.models.admet import _train_fingerprints, pack_fingerprints

    smiles = [DRUGS["caffeine"], "not a molecule", DRUGS["aspirin"]]
    with gzip.open(tmp_path / "train_smiles.smi.gz", "wt") as fh:
        fh.write("\n".join(smiles) + "\n")
    np.savez(
        tmp_path / "train_fps.npz",
        indptr=np.zeros(2, np.int64),
        bits=np.zeros(0, np.uint16),
        smiles_sha256="out of date",
    )
    indptr, bits = _train_fingerprints(tmp_path)  # stale: recomputed from the SMILES
    expected = pack_fingerprints(smiles)
    assert np.array_equal(indptr, expected[0]) and np.array_equal(bits, expected[1])
    assert indptr[2] == indptr[1]  # the unparseable entry keeps its place, with no bits
    (tmp_path / "train_fps.npz").write_bytes(b"not an npz file")
    with pytest.raises(ValueError, match="train_fps.npz"):
        _train_fingerprints(tmp_path)


def test_exported_panel_predicts_like_its_models_and_re_exports_identically(tmp_path, bundled_data):
    """``export_panel`` (what the TDC benchmark ships) round-trips a fitted model, and
    exporting the same models again leaves every file byte-identical and untouched."""
    from drugloop.models import create_model
    from drugloop.models.admet import export_panel

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(160)
    train, test = df.smiles[:120].tolist(), df.smiles[120:].tolist()
    y = df["y [pEC50/pKi]"].to_numpy()[:120]
    blended = create_model("gbm", n_folds=3, max_rounds=80, n_jobs=1).fit(train, y)
    if blended.kernel is not None:  # the default's SVR blend has no place in a panel file
        with pytest.raises(ValueError, match="no place for a blended SVR"):
            export_panel({"Caco2_Wang": blended}, {"Caco2_Wang": train}, tmp_path / "blended")
        assert not (tmp_path / "blended").exists()
    model = create_model("gbm", n_folds=3, max_rounds=80, n_jobs=1, kernel_blend=False)
    model.fit(train, y)  # the panel's recipe: trees alone
    out = export_panel(
        {"Lipophilicity_AstraZeneca": model}, {"Lipophilicity_AstraZeneca": train}, tmp_path
    )
    predicted = AdmetPanel(out, n_jobs=1).predict(test + ["not a molecule"])
    np.testing.assert_allclose(predicted.logd74[:-1], model.predict(test).mean, rtol=1e-6)
    assert predicted.error.iloc[-1] and np.isnan(predicted.logd74.iloc[-1])
    assert (predicted.nearest_train_similarity[:-1] < 1).all()
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    export_panel({"Lipophilicity_AstraZeneca": model}, {"Lipophilicity_AstraZeneca": train}, out)
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}
    assert after["train_smiles.smi.gz"][1] == before["train_smiles.smi.gz"][1]
    assert after["train_fps.npz"][1] == before["train_fps.npz"][1]


@pytest.mark.parametrize("booster", ["both", "catboost"])
def test_exported_panel_with_catboost_members_predicts_like_its_model(
    booster, tmp_path, bundled_data
):
    """Members that carry a CatBoost model (alone or paired with LightGBM) survive export."""
    from drugloop.models import create_model
    from drugloop.models.admet import export_panel

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(200)
    train, test = df.smiles[:150].tolist(), df.smiles[150:].tolist()
    labels = (df["y [pEC50/pKi]"].to_numpy()[:150] > 7).astype(int)
    model = create_model("gbm", n_folds=3, max_rounds=80, n_jobs=1, booster=booster)
    model.fit(train, labels)
    out = export_panel({"hERG": model}, {"hERG": train}, tmp_path)
    predicted = AdmetPanel(out, n_jobs=1).predict(test)
    np.testing.assert_allclose(predicted.herg, model.predict(test).mean, rtol=1e-6)


def test_exported_stacked_panel_feeds_its_first_stage_to_the_second(tmp_path, bundled_data):
    """A stacked panel runs its feeders first and hands their outputs to the endpoints stacked
    on them, as those models were trained (``benchmarks/panel_stacking.py``); feeders are not
    output columns."""
    from drugloop.models import create_model
    from drugloop.models.admet import export_panel

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(200)
    train, test = df.smiles[:150].tolist(), df.smiles[150:].tolist()
    y = df["y [pEC50/pKi]"].to_numpy()[:150]
    first = create_model("gbm", n_folds=3, max_rounds=60, n_jobs=1, kernel_blend=False)
    first.fit(train, y)
    feeder = first.members[0]
    X_train, _ = first.feature_set.transform(train)
    X_test, _ = first.feature_set.transform(test)
    second = create_model("gbm", n_folds=3, max_rounds=60, n_jobs=1, kernel_blend=False)
    stacked_train = np.hstack([X_train, first.oof[:, None]]).astype(np.float32)
    second.fit_features(stacked_train, (y > 7).astype(int), train)
    out = export_panel(
        {"hERG": second},
        {"hERG": train},
        tmp_path,
        feeders={"Lipophilicity_AstraZeneca": feeder},
        stacks={"hERG": ["Lipophilicity_AstraZeneca"]},
    )
    predicted = AdmetPanel(out, n_jobs=1).predict(test)
    fed = first._raw_member(feeder, X_test)
    stacked_test = np.hstack([X_test, fed[:, None]]).astype(np.float32)
    expected, _ = second.predict_features(stacked_test, second._similarity(test))
    np.testing.assert_allclose(predicted.herg, expected, rtol=1e-6)
    unfed = np.hstack([X_test, np.zeros((len(test), 1))]).astype(np.float32)
    assert not np.allclose(second.predict_features(unfed, second._similarity(test))[0], expected)
    assert "logd74" not in predicted.columns
    with pytest.raises(ValueError, match="unknown feeders"):
        export_panel({"hERG": second}, {"hERG": train}, tmp_path, stacks={"hERG": ["AMES"]})


def _nan_trained_stacked_panel(out: Path, bundled_data: Path) -> tuple[Path, list[str]]:
    """A stacked panel whose first stage saw a NaN row in training, so its splits send NaN a
    chosen way on every column (what ``zero_directed_model`` must handle); and test SMILES."""
    from drugloop.models import create_model
    from drugloop.models.admet import export_panel

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(200)
    train, test = df.smiles[:150].tolist(), df.smiles[150:].tolist()
    y = df["y [pEC50/pKi]"].to_numpy()[:150]
    first = create_model("gbm", n_folds=3, max_rounds=60, n_jobs=1, kernel_blend=False)
    X_train, _ = first.feature_set.transform(train)
    with_nan = X_train.copy()
    with_nan[::7] = np.nan
    first.fit_features(with_nan, y, train)
    second = create_model("gbm", n_folds=3, max_rounds=60, n_jobs=1, kernel_blend=False)
    second.fit_features(
        np.hstack([X_train, first.oof[:, None]]).astype(np.float32), (y > 7).astype(int), train
    )
    export_panel(
        {"Lipophilicity_AstraZeneca": first, "hERG": second},
        {"Lipophilicity_AstraZeneca": train, "hERG": train},
        out,
        feeders={"Lipophilicity_AstraZeneca": first.members[0]},
        stacks={"hERG": ["Lipophilicity_AstraZeneca"]},
    )
    return out, test


def test_zero_directed_model_predicts_as_lightgbm_wherever_no_column_is_nan(bundled_data):
    """The rewrite moves missing directions only where LightGBM cannot take them: on inputs
    without NaN it predicts the same numbers; NaN inputs show that directions did move."""
    import lightgbm as lgb

    from drugloop.models import create_model
    from drugloop.models.compiled_trees import zero_directed_model

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(150)
    model = create_model("gbm", n_folds=3, max_rounds=60, n_jobs=1)
    X, _ = model.feature_set.transform(df.smiles.tolist())
    with_nan = X.copy()
    with_nan[::5] = np.nan
    model.fit_features(with_nan, df["y [pEC50/pKi]"].to_numpy(), df.smiles.tolist())
    booster = model.members[0].booster_
    text = booster.model_to_string()
    nan_free = np.ones(X.shape[1], dtype=bool)
    moved = lgb.Booster(model_str=zero_directed_model(text, nan_free))
    assert moved.model_to_string() != text
    np.testing.assert_array_equal(moved.predict(X), booster.predict(X))
    all_nan = np.full((3, X.shape[1]), np.nan)
    assert not np.array_equal(moved.predict(all_nan), booster.predict(all_nan))
    # columns that may be NaN keep their directions, so NaN inputs predict as before
    kept = lgb.Booster(model_str=zero_directed_model(text, np.zeros(X.shape[1], dtype=bool)))
    np.testing.assert_array_equal(kept.predict(all_nan), booster.predict(all_nan))


@pytest.fixture
def compiled_cache(tmp_path, monkeypatch):
    from drugloop.models.compiled_trees import available

    if not available():
        pytest.skip("tl2cgen or gcc not available")
    monkeypatch.setenv("DRUGLOOP_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_compiled_panel_predicts_exactly_what_lightgbm_predicts(
    tmp_path, bundled_data, compiled_cache, monkeypatch
):
    """``drugloop admet compile`` turns every booster (feeders and stacked endpoints too) into
    native code; the panel then loads it and its output is identical, value for value."""
    from drugloop.cli.main import app
    from drugloop.models import admet
    from drugloop.models.admet import n_boosters

    out, test = _nan_trained_stacked_panel(tmp_path / "panel", bundled_data)
    smiles = [*test, "not a molecule", "[Na+].[Cl-]"]
    reference = AdmetPanel(out, n_jobs=1).predict(smiles)
    assert AdmetPanel(out, n_jobs=1).compiled is None  # nothing compiled yet
    monkeypatch.setattr(admet, "panel_dir", lambda: out)
    result = CliRunner().invoke(app, ["admet", "compile"])
    assert result.exit_code == 0, result.output
    assert f"compiled {n_boosters(AdmetPanel(out, compiled=False))} boosters" in result.output
    compiled = AdmetPanel(out, n_jobs=1)
    assert compiled.compiled is not None
    pd.testing.assert_frame_equal(compiled.predict(smiles), reference, check_exact=True)
    unused = AdmetPanel(out, n_jobs=1, compiled=False)
    assert unused.compiled is None


def test_compiled_trees_that_differ_are_not_kept_and_stale_ones_not_loaded(
    tmp_path, bundled_data, compiled_cache
):
    from drugloop.models.admet import compile_panel, compiled_dir
    from drugloop.models.compiled_trees import MANIFEST, CompiledTrees

    out, _ = _nan_trained_stacked_panel(tmp_path / "panel", bundled_data)
    panel = AdmetPanel(out, n_jobs=1, compiled=False)

    def wrong(*args, **kwargs):
        raise RuntimeError("compiled hERG differs from LightGBM")

    panel.check_compiled = wrong
    with pytest.raises(RuntimeError, match="differs"):
        compile_panel(panel)
    assert not (compiled_dir(panel.digest) / MANIFEST).exists()
    assert AdmetPanel(out, n_jobs=1).compiled is None
    del panel.check_compiled
    compile_panel(panel)
    assert CompiledTrees.load(compiled_dir(panel.digest), panel.digest) is not None
    assert CompiledTrees.load(compiled_dir(panel.digest), "0" * 64) is None
    libraries = sorted(compiled_dir(panel.digest).glob("*.so"))
    libraries[0].write_bytes(b"not a library")  # corrupted: LightGBM takes over
    assert CompiledTrees.load(compiled_dir(panel.digest), panel.digest) is None
    libraries[1].unlink()
    assert AdmetPanel(out, n_jobs=1).compiled is None


def test_remapped_model_reads_its_columns_from_the_shared_layout(bundled_data):
    """A stacked model remapped to the panel-wide first-stage order predicts, from the shared
    matrix, what it predicted from its own column order."""
    import lightgbm as lgb

    from drugloop.models.compiled_trees import remapped_model

    df = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz").head(150)
    rng = np.random.default_rng(0)
    y = df["y [pEC50/pKi]"].to_numpy()
    own = np.column_stack([y + rng.normal(0, 0.3, len(y)), rng.normal(size=len(y)), y**2])
    booster = lgb.train(
        {"verbose": -1, "num_leaves": 7}, lgb.Dataset(own, y, free_raw_data=False), 20
    )
    # shared layout: [unused, own column 2, own column 0, own column 1]
    shared = np.column_stack([rng.normal(size=len(y)), own[:, 2], own[:, 0], own[:, 1]])
    moved = lgb.Booster(model_str=remapped_model(booster.model_to_string(), {0: 2, 1: 3, 2: 1}, 4))
    np.testing.assert_array_equal(moved.predict(shared), booster.predict(own))
    assert not np.array_equal(moved.predict(shared[:, [0, 2, 3, 1]]), booster.predict(own))


def test_panel_file_is_decompressed_once_and_a_bad_cache_or_file_is_handled(tmp_path, monkeypatch):
    """The xz panel is unpacked into the cache once per file; a corrupt cache is redone, a
    corrupt panel file gives an error that names it."""
    import shutil

    from drugloop.models import admet
    from drugloop.models.admet import PANEL_FILE, panel_dir

    monkeypatch.setenv("DRUGLOOP_CACHE_DIR", str(tmp_path / "cache"))
    directory = tmp_path / "panel"
    shutil.copytree(panel_dir(), directory)
    first = AdmetPanel(directory, n_jobs=1, compiled=False)
    (cached,) = (tmp_path / "cache" / "admet-panel").glob("*.json")
    assert cached.name == f"{first.digest[:16]}.json"
    cached.write_text('{"format": ')  # a write cut short
    again = AdmetPanel(directory, n_jobs=1, compiled=False)
    assert again.specs == first.specs and cached.stat().st_size > 10_000_000
    smiles = list(DRUGS.values())
    with monkeypatch.context() as patched:  # from the cache: no decompression at all
        patched.setattr(admet.lzma, "open", lambda *a, **k: pytest.fail("decompressed again"))
        cached_panel = AdmetPanel(directory, n_jobs=1)
    pd.testing.assert_frame_equal(
        cached_panel.predict(smiles), first.predict(smiles), check_exact=True
    )
    (tmp_path / "a_file").write_text("")  # a cache that cannot be written: read directly
    monkeypatch.setenv("DRUGLOOP_CACHE_DIR", str(tmp_path / "a_file" / "cache"))
    assert AdmetPanel(directory, n_jobs=1, compiled=False).specs == first.specs
    (directory / PANEL_FILE).write_bytes(b"not xz at all")
    with pytest.raises(ValueError, match=f"{PANEL_FILE}: corrupted ADMET panel"):
        AdmetPanel(directory, n_jobs=1)
