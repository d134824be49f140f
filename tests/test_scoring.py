"""Scoring: desirability transforms, components on known drugs, aggregation, TOML objectives."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem, DataStructs
from rdkit.Chem import QED, Crippen, Descriptors, Lipinski, rdFingerprintGenerator

from drugloop.models import create_model
from drugloop.scoring import (
    SCORING_COMPONENTS,
    TRANSFORMS,
    ActivityComponent,
    AlertsComponent,
    DoubleSigmoid,
    Identity,
    ReverseSigmoid,
    ScoringConfig,
    ScoringConfigError,
    ScoringFunction,
    Sigmoid,
    Step,
    ValueMapping,
    WeightedComponent,
    build_scoring_function,
    create_component,
    default_config,
    default_objective,
    parse_transform,
)

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
IBUPROFEN = "CC(C)Cc1ccc(C(C)C(=O)O)cc1"
CAFFEINE = "Cn1c(=O)c2c(ncn2C)n(C)c1=O"
CELECOXIB = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"
ERYTHROMYCIN = (
    "CC[C@@H]1[C@@]([C@@H]([C@H](C(=O)[C@@H](C[C@@]([C@@H]([C@H]([C@@H]([C@H](C(=O)O1)C)"
    "O[C@H]2C[C@@]([C@H]([C@@H](O2)C)O)(C)OC)C)O[C@H]3[C@@H]([C@H](C[C@H](O3)C)N(C)C)O)"
    "(C)O)C)C)O)(C)O"
)
BENZYLIDENE_RHODANINE = "O=C1NC(=S)SC1=Cc1ccccc1"  # textbook PAINS (ene_rhod)
INVALID = "C1CC(N"

finite_floats = st.floats(-50, 50, allow_nan=False)


# --------------------------------------------------------------------------- transforms


@settings(max_examples=40, deadline=None)
@given(
    low=finite_floats,
    width=st.floats(0.1, 20),
    k=st.floats(0.05, 2),
    xs=st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=30),
)
def test_sigmoids_are_monotone_bounded_and_mirror_each_other(low, width, k, xs):
    values = np.sort(np.array(xs))
    rising = Sigmoid(low=low, high=low + width, k=k)(values)
    falling = ReverseSigmoid(low=low, high=low + width, k=k)(values)
    assert np.all((rising >= 0) & (rising <= 1)) and np.all((falling >= 0) & (falling <= 1))
    assert np.all(np.diff(rising) >= -1e-12)
    assert np.all(np.diff(falling) <= 1e-12)
    np.testing.assert_allclose(rising + falling, 1.0, atol=1e-9)
    assert Sigmoid(low=low, high=low + width, k=k)(np.array([low + width / 2]))[0] == (
        pytest.approx(0.5)
    )


def test_sigmoid_reaches_its_ends_at_low_and_high():
    transform = Sigmoid(low=5, high=8, k=0.5)
    low_end, high_end = transform(np.array([5.0, 8.0]))
    assert low_end < 0.01 and high_end > 0.99


@pytest.mark.parametrize(
    "transform",
    [
        Identity(),
        Sigmoid(low=0, high=1),
        ReverseSigmoid(low=0, high=1),
        DoubleSigmoid(low=0, high=1),
        Step(low=-1, high=1),
        ValueMapping(mapping={"0": 1.0}),
    ],
    ids=lambda t: t.type,
)
def test_nan_means_undesirable(transform):
    out = transform(np.array([np.nan, 0.0, np.nan]))
    assert out[0] == 0.0 and out[2] == 0.0
    assert out.shape == (3,)


def test_every_registered_transform_is_covered_by_the_nan_test():
    assert set(TRANSFORMS.names()) == {
        "identity",
        "sigmoid",
        "reverse_sigmoid",
        "double_sigmoid",
        "step",
        "value_mapping",
    }


@pytest.mark.parametrize("low,high", [(200.0, 500.0), (2.0, 4.0), (-1.0, 1.0)])
def test_double_sigmoid_peaks_inside_its_window(low, high):
    transform = DoubleSigmoid(low=low, high=high, coef_div=high - low, coef_si=10, coef_se=10)
    span = high - low
    grid = np.linspace(low - 2 * span, high + 2 * span, 2001)
    values = transform(grid)
    assert low <= grid[np.argmax(values)] <= high
    assert transform(np.array([(low + high) / 2]))[0] > 0.9
    far_out = transform(np.array([low - 2 * span, high + 2 * span]))
    assert np.all(far_out < 0.05)
    assert np.all((values >= 0) & (values <= 1))


def test_step_is_an_inclusive_window():
    out = Step(low=2, high=5)(np.array([1.999, 2, 3.5, 5, 5.001]))
    assert out.tolist() == [0, 1, 1, 1, 0]


def test_value_mapping_matches_numbers_and_labels():
    mapping = ValueMapping(mapping={"0": 1.0, "1": 0.5, "active": 0.8})
    assert mapping(np.array([0.0, 1.0, 2.0])).tolist() == [1.0, 0.5, 0.0]
    assert mapping(np.array(["active", "inactive"], dtype=object)).tolist() == [0.8, 0.0]


def test_identity_clips_into_the_unit_interval():
    assert Identity()(np.array([-0.5, 0.25, 1.7])).tolist() == [0.0, 0.25, 1.0]


def test_transform_config_errors_are_readable():
    with pytest.raises(ScoringConfigError, match="unknown transform 'sigmod'.*reverse_sigmoid"):
        parse_transform({"type": "sigmod", "low": 1, "high": 2})
    with pytest.raises(ScoringConfigError, match="must be smaller than high"):
        parse_transform({"type": "sigmoid", "low": 5, "high": 3})
    with pytest.raises(ScoringConfigError, match="high"):
        parse_transform({"type": "double_sigmoid", "low": 5})
    with pytest.raises(ScoringConfigError, match=r"\[0, 1\]"):
        parse_transform({"type": "value_mapping", "mapping": {"1": 3.0}})


# --------------------------------------------------------------------------- components


def test_qed_matches_rdkit_on_aspirin():
    value = create_component("qed")([ASPIRIN])[0]
    assert value == pytest.approx(QED.qed(Chem.MolFromSmiles(ASPIRIN)))
    assert value == pytest.approx(0.55, abs=0.01)  # Bickerton et al.'s published value


def test_rdkit_descriptors_on_known_drugs():
    drugs = [ASPIRIN, IBUPROFEN, CAFFEINE, ERYTHROMYCIN]
    mols = [Chem.MolFromSmiles(s) for s in drugs]

    def values(name):
        return create_component(name)(drugs)

    # Published facts (PubChem) where RDKit's definition agrees with them …
    assert values("molecular_weight")[:3] == pytest.approx([180.16, 206.28, 194.19], abs=0.01)
    assert values("tpsa")[0] == pytest.approx(63.6, abs=0.05)
    assert values("hbd").tolist() == [1, 1, 0, 5]
    assert values("rotatable_bonds")[1] == 4
    # … and RDKit computed directly for definition-dependent ones.
    assert values("logp") == pytest.approx([Crippen.MolLogP(m) for m in mols])
    assert values("hba").tolist() == [Lipinski.NumHAcceptors(m) for m in mols]
    assert values("molecular_weight") == pytest.approx([Descriptors.MolWt(m) for m in mols])


def test_sa_score_separates_easy_from_hard():
    easy, hard = create_component("sa_score")([ASPIRIN, ERYTHROMYCIN])
    assert easy < 2.5 < 5.0 < hard


@pytest.mark.parametrize(
    "name",
    [
        n
        for n in SCORING_COMPONENTS.names()
        if n
        not in (
            "activity",
            "substructure",
            "tanimoto_similarity",
            "external_process",
            "docking",
            "admet",  # needs an endpoint: covered below
        )
    ],
)
def test_invalid_smiles_give_nan(name):
    out = create_component(name)([CAFFEINE, INVALID, ""])
    assert np.isfinite(out[0]) and np.isnan(out[1]) and np.isnan(out[2])


def test_alerts_flag_pains_and_say_which():
    alerts = AlertsComponent()
    values = alerts([BENZYLIDENE_RHODANINE, CAFFEINE, INVALID])
    assert values[0] == 0.0 and values[1] == 1.0 and np.isnan(values[2])
    found = alerts.matches([BENZYLIDENE_RHODANINE, CAFFEINE, INVALID])
    assert any(a.startswith("PAINS:") for a in found[0])
    assert found[1] == [] and found[2] is None
    assert AlertsComponent(catalogs=("brenk",))([BENZYLIDENE_RHODANINE])[0] == 0.0
    with pytest.raises(ScoringConfigError, match="unknown alert catalogs"):
        create_component("alerts", catalogs=["PAINZ"])


def test_tanimoto_similarity_is_max_over_references():
    component = create_component("tanimoto_similarity", references=[ASPIRIN, CELECOXIB])
    values = component([CELECOXIB, ASPIRIN, IBUPROFEN, INVALID])
    assert values[0] == pytest.approx(1.0) and values[1] == pytest.approx(1.0)
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    fp = generator.GetFingerprint(Chem.MolFromSmiles(IBUPROFEN))
    refs = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in (ASPIRIN, CELECOXIB)]
    assert values[2] == pytest.approx(max(DataStructs.BulkTanimotoSimilarity(fp, refs)))
    assert values[2] < 0.5 and np.isnan(values[3])
    with pytest.raises(ScoringConfigError, match="reference"):
        create_component("tanimoto_similarity", references=["C1CC"])


def test_substructure_required_and_forbidden():
    acid = create_component("substructure", required=["C(=O)[OH]"])
    assert acid([ASPIRIN, CELECOXIB]).tolist() == [1.0, 0.0]
    no_sulfonamide = create_component("substructure", forbidden=["S(=O)(=O)N"])
    assert no_sulfonamide([ASPIRIN, CELECOXIB]).tolist() == [1.0, 0.0]
    both = create_component("substructure", required=["c1ccccc1"], forbidden=["C(=O)[OH]"])
    assert both([ASPIRIN, CELECOXIB, CAFFEINE]).tolist() == [0.0, 1.0, 0.0]


def test_substructure_config_errors_are_clear():
    with pytest.raises(ScoringConfigError, match=r"invalid SMARTS '\[C@@'"):
        create_component("substructure", required=["c1ccccc1", "[C@@"])
    with pytest.raises(ScoringConfigError, match="required' or 'forbidden"):
        create_component("substructure")
    with pytest.raises(ScoringConfigError, match="unknown scoring component 'substructur'.*qed"):
        create_component("substructur", required=["C"])
    with pytest.raises(ScoringConfigError, match="qed.*references.*Extra inputs"):
        create_component("qed", references=[ASPIRIN])


@pytest.fixture(scope="module")
def activity_data(bundled_data) -> pd.DataFrame:
    frame = pd.read_csv(bundled_data / "moleculeace" / "CHEMBL2147_Ki.csv.gz")
    return frame.rename(columns={"y [pEC50/pKi]": "pki"})


@pytest.fixture(scope="module")
def pki_model(activity_data):
    train = activity_data[activity_data["split"] == "train"].head(300)
    model = create_model("rf", n_estimators=30)
    return model.fit(train["smiles"].tolist(), train["pki"].to_numpy())


def test_activity_wraps_a_real_model(pki_model, activity_data):
    test_smiles = activity_data[activity_data["split"] == "test"]["smiles"].head(5).tolist()
    prediction = pki_model.predict(test_smiles)
    values = ActivityComponent(model=pki_model)(test_smiles[:2] + [INVALID] + test_smiles[2:])
    assert np.isnan(values[2])
    np.testing.assert_allclose(np.delete(values, 2), prediction.mean)
    optimistic = ActivityComponent(predictor=pki_model, beta=1.0)(test_smiles)
    np.testing.assert_allclose(optimistic, prediction.mean + prediction.std)
    assert np.any(prediction.std > 0)


def test_activity_without_model_says_so():
    with pytest.raises(ScoringConfigError, match="no model attached"):
        ActivityComponent(model="pki")([ASPIRIN])
    with pytest.raises(ScoringConfigError, match="predict"):
        ActivityComponent(predictor=object())


# --------------------------------------------------------------------------- aggregation


def _qed_and(second: WeightedComponent, aggregation="geometric") -> ScoringFunction:
    return ScoringFunction(
        [WeightedComponent("qed", create_component("qed")), second], aggregation=aggregation
    )


def test_a_zero_desirability_vetoes_in_the_geometric_mean():
    no_acid = WeightedComponent(
        "no_acid", create_component("substructure", forbidden=["C(=O)[OH]"])
    )
    geometric = _qed_and(no_acid).score([ASPIRIN, CAFFEINE])
    assert geometric.total[0] == 0.0
    assert geometric.components["qed"].iloc[0] > 0.5
    assert geometric.total[1] == pytest.approx(math.sqrt(geometric.components["qed"].iloc[1]))
    arithmetic = _qed_and(no_acid, "arithmetic").score([ASPIRIN])
    assert arithmetic.total[0] == pytest.approx(geometric.components["qed"].iloc[0] / 2)


def test_weights_shift_the_total_towards_heavier_components():
    def total(weight: float) -> float:
        component = create_component("tanimoto_similarity", references=[ASPIRIN])
        similarity = WeightedComponent("similarity", component, weight=weight)
        return float(_qed_and(similarity).score([ASPIRIN]).total[0])

    qed = QED.qed(Chem.MolFromSmiles(ASPIRIN))  # similarity of aspirin to itself is 1
    assert total(1.0) == pytest.approx(qed**0.5)
    assert total(3.0) == pytest.approx(qed**0.25)
    assert total(3.0) > total(1.0) > qed


def test_score_result_frame_and_invalid_molecules():
    function = build_scoring_function(default_config(with_activity=False))
    result = function.score([CELECOXIB, INVALID, BENZYLIDENE_RHODANINE])
    assert result.valid.tolist() == [True, False, True]
    assert result.total[1] == 0.0 and result.total[2] == 0.0 and result.total[0] > 0.5
    for name in ("qed", "sa_score", "alerts"):
        assert {f"{name}_raw", name} <= set(result.components.columns)
    assert np.isnan(result.components["qed_raw"].iloc[1])
    assert "PAINS" in result.components["alerts_detail"].iloc[2]
    frame = result.to_frame()
    assert frame["smiles"].tolist()[0] == CELECOXIB and frame["score"].iloc[0] == result.total[0]


def test_scoring_function_rejects_bad_setups():
    qed = WeightedComponent("qed", create_component("qed"))
    with pytest.raises(ScoringConfigError, match="duplicate"):
        ScoringFunction([qed, qed])
    with pytest.raises(ScoringConfigError, match="aggregation"):
        ScoringFunction([qed], aggregation="harmonic")
    with pytest.raises(ScoringConfigError, match="weight"):
        WeightedComponent("qed", create_component("qed"), weight=0)


# --------------------------------------------------------------------------- configs

OBJECTIVE_TOML = """
aggregation = "geometric"

[[components]]
name = "coxib_likeness"
type = "tanimoto_similarity"
references = ["Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc(S(N)(=O)=O)cc2)cc1"]
weight = 2.0

[[components]]
type = "molecular_weight"

[components.transform]
type = "double_sigmoid"
low = 200
high = 500
coef_div = 300
coef_si = 10
coef_se = 10

[[components]]
name = "synthesizability"
type = "sa_score"
transform = { type = "reverse_sigmoid", low = 2.5, high = 6.0 }

[[components]]
type = "substructure"
params = { forbidden = ["[N+](=O)[O-]"] }
"""


def test_toml_objective_builds_and_scores(tmp_path):
    path = tmp_path / "objective.toml"
    path.write_text(OBJECTIVE_TOML)
    config = ScoringConfig.from_toml(path)
    function = build_scoring_function(path)
    assert function.names == [
        "coxib_likeness",
        "molecular_weight",
        "synthesizability",
        "substructure",
    ]
    nitro_celecoxib = "Cc1ccc(-c2cc(C(F)(F)F)nn2-c2ccc([N+](=O)[O-])cc2)cc1"
    result = function.score([CELECOXIB, IBUPROFEN, nitro_celecoxib])
    assert result.total[0] > result.total[1] > 0
    assert result.total[2] == 0.0  # forbidden nitro group vetoes
    assert result.components["coxib_likeness_raw"].iloc[0] == pytest.approx(1.0)

    same = ScoringFunction(
        [
            WeightedComponent(
                "coxib_likeness",
                create_component("tanimoto_similarity", references=[CELECOXIB]),
                weight=2.0,
            ),
            WeightedComponent(
                "molecular_weight",
                create_component("molecular_weight"),
                DoubleSigmoid(low=200, high=500, coef_div=300, coef_si=10, coef_se=10),
            ),
            WeightedComponent(
                "synthesizability", create_component("sa_score"), ReverseSigmoid(low=2.5, high=6.0)
            ),
            WeightedComponent(
                "substructure", create_component("substructure", forbidden=["[N+](=O)[O-]"])
            ),
        ]
    )
    np.testing.assert_allclose(same.score([CELECOXIB, IBUPROFEN]).total, result.total[:2])

    for original in (config, default_config()):
        written = tmp_path / "written.toml"
        written.write_text(original.to_toml())
        assert ScoringConfig.from_toml(written) == original


def test_toml_errors_name_the_file_and_the_problem(tmp_path):
    def load(text: str):
        path = tmp_path / "bad.toml"
        path.write_text(text)
        return ScoringConfig.from_toml(path)

    unknown = r"bad\.toml.*unknown scoring component 'qde'.*qed"
    with pytest.raises(ScoringConfigError, match=unknown):
        load('[[components]]\ntype = "qde"\n')
    with pytest.raises(ScoringConfigError, match=r"bad\.toml.*unknown transform 'sigmoidal'"):
        load('[[components]]\ntype = "qed"\ntransform = { type = "sigmoidal" }\n')
    with pytest.raises(ScoringConfigError, match=r"bad\.toml: invalid TOML"):
        load("[[components]\ntype = 'qed'\n")
    with pytest.raises(ScoringConfigError, match="duplicate component names"):
        load('[[components]]\ntype = "qed"\n[[components]]\ntype = "qed"\n')
    with pytest.raises(ScoringConfigError, match="file not found"):
        ScoringConfig.from_toml(tmp_path / "missing.toml")
    config = load('[[components]]\ntype = "substructure"\nrequired = ["[C@@"]\n')
    with pytest.raises(ScoringConfigError, match=r"'substructure'.*invalid SMARTS '\[C@@'"):
        build_scoring_function(config)


def test_activity_models_are_looked_up_by_name(pki_model):
    config = ScoringConfig.from_dict(
        {"scoring": {"components": [{"type": "activity", "model": "pki", "beta": 0.5}]}}
    )
    function = build_scoring_function(config, models={"pki": pki_model})
    prediction = pki_model.predict([CELECOXIB])
    assert function.score([CELECOXIB]).components["activity_raw"].iloc[0] == pytest.approx(
        prediction.mean[0] + 0.5 * prediction.std[0]
    )
    with pytest.raises(ScoringConfigError, match="needs model 'pki'.*other"):
        build_scoring_function(config, models={"other": pki_model})


def test_default_objective(pki_model, activity_data):
    function = default_objective(pki_model)
    assert function.names == ["activity", "qed", "sa_score", "alerts"]
    sa = next(c for c in function.components if c.name == "sa_score").transform
    good, bad = sa(np.array([2.5, 6.0]))
    assert good > 0.9 and bad < 0.1
    train = activity_data[activity_data["split"] == "train"].head(300)
    potent = train.sort_values("pki").iloc[-1]["smiles"]  # seen in training: predicted high
    result = function.score([potent, BENZYLIDENE_RHODANINE, INVALID])
    assert result.total[1] == 0.0 and result.total[2] == 0.0
    assert result.components["activity_raw"].iloc[0] > 7
    assert "activity_std" in result.components

    waiting = default_objective()
    with pytest.raises(ScoringConfigError, match="no model attached"):
        waiting.score([CELECOXIB])
    waiting.attach_models({"activity": pki_model})
    np.testing.assert_allclose(waiting.score([potent]).total, result.total[:1])


def test_admet_component_reads_the_shipped_panel(monkeypatch):
    """Each admet component reads its column of one panel pass per batch; NaN where invalid."""
    from drugloop.models.admet import AdmetPanel
    from drugloop.scoring import admet

    expected = AdmetPanel(n_jobs=1).predict([ASPIRIN, CAFFEINE])
    objective = build_scoring_function(
        {
            "components": [
                {"type": "admet", "name": "soluble", "endpoint": "solubility"},
                {
                    "type": "admet",
                    "name": "no_herg",
                    "endpoint": "herg",
                    "transform": {"type": "reverse_sigmoid", "low": 0.3, "high": 0.7},
                },
            ]
        }
    )
    calls = []
    predict = AdmetPanel.predict

    def counted(self, smiles):
        calls.append(list(smiles))
        return predict(self, smiles)

    monkeypatch.setattr(AdmetPanel, "predict", counted)
    monkeypatch.setattr(admet, "_LAST", None)
    frame = objective([ASPIRIN, INVALID, CAFFEINE]).components
    assert calls == [[ASPIRIN, CAFFEINE]]  # one pass for both components, valid SMILES only
    np.testing.assert_allclose(frame.soluble_raw[[0, 2]], expected.solubility, rtol=1e-12)
    np.testing.assert_allclose(frame.no_herg_raw[[0, 2]], expected.herg, rtol=1e-12)
    assert np.isnan(frame.soluble_raw[1]) and np.isnan(frame.no_herg_raw[1])
    assert (frame.no_herg_uncertainty[[0, 2]] > 0).all()


def test_admet_component_names_unknown_endpoints():
    with pytest.raises(ScoringConfigError, match="unknown ADMET endpoint 'solubilty'.*solubility"):
        create_component("admet", endpoint="solubilty")
