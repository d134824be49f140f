"""Safety guard: CWC Schedule 1/2 structures are withheld, approved drugs mostly pass."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from rdkit import Chem, RDLogger

from drugloop.design import GraphGA, MMPAnalogs, Portfolio, optimize
from drugloop.design.safety import SafetyGuard, UnsafeObjectiveError, check_objective
from drugloop.scoring import build_scoring_function

# Public depictions (PubChem / OPCW schedules); stereo omitted.
SCHEDULE_1_PANEL = {
    "sarin": "CC(C)OP(C)(=O)F",
    "soman": "CC(OP(C)(=O)F)C(C)(C)C",
    "tabun": "CCOP(=O)(C#N)N(C)C",
    "cyclosarin": "CP(=O)(F)OC1CCCCC1",
    "ethyl sarin": "CCC(C)OP(C)(=O)F",
    "GV": "CN(C)P(=O)(F)OCCN(C)C",
    "VX": "CCOP(C)(=O)SCCN(C(C)C)C(C)C",
    "VR": "CC(C)COP(C)(=O)SCCN(CC)CC",
    "Chinese VX": "CCC(C)OP(C)(=O)SCCN(CC)CC",
    "A-230": "CCN(CC)C(C)=NP(C)(=O)F",
    "A-232": "COP(=O)(F)N=C(C)N(CC)CC",
    "A-234": "CCOP(=O)(F)N=C(C)N(CC)CC",
    "A-230 (Mirzayanov)": "CP(=O)(F)ON=C(Cl)Cl",
    "sulfur mustard": "ClCCSCCCl",
    "sesquimustard": "ClCCSCCSCCCl",
    "O-mustard": "ClCCSCCOCCSCCCl",
    "2-chloroethyl chloromethyl sulfide": "ClCCSCCl",
    "HN1": "CCN(CCCl)CCCl",
    "HN2": "CN(CCCl)CCCl",
    "HN3": "ClCCN(CCCl)CCCl",
    "lewisite 1": "Cl/C=C/[As](Cl)Cl",
    "lewisite 2": "ClC=C[As](Cl)C=CCl",
    "lewisite 3": "ClC=C[As](C=CCl)C=CCl",
    "saxitoxin": "NC(=O)OC[C@@H]1N=C(N)N2CCC(O)(O)[C@@]23NC(N)=N[C@@H]13",
}
SCHEDULE_2_PANEL = {
    "DF": "CP(=O)(F)F",
    "methylphosphonic dichloride": "CP(=O)(Cl)Cl",
    "DMMP": "COP(C)(=O)OC",
    "thiodiglycol": "OCCSCCO",
    "amiton": "CCOP(=O)(OCC)SCCN(CC)CC",
    "QL": "CCOP(C)OCCN(C(C)C)C(C)C",
    "N,N-diisopropylaminoethyl chloride": "CC(C)N(CCCl)C(C)C",
    "N,N-diisopropylaminoethanethiol": "CC(C)N(CCS)C(C)C",
    "BZ": "OC(C(=O)OC1CN2CCC1CC2)(c1ccccc1)c1ccccc1",
    "PFIB": "FC(F)=C(C(F)(F)F)C(F)(F)F",
    "ethyldichloroarsine": "CC[As](Cl)Cl",
}


@pytest.fixture(scope="module")
def guard() -> SafetyGuard:
    return SafetyGuard()


@pytest.mark.parametrize("name", sorted({**SCHEDULE_1_PANEL, **SCHEDULE_2_PANEL}))
def test_cwc_panel_is_withheld(guard: SafetyGuard, name: str) -> None:
    smiles = {**SCHEDULE_1_PANEL, **SCHEDULE_2_PANEL}[name]
    assert guard.withhold([smiles]).tolist() == [True], name


@pytest.mark.parametrize("name", sorted(set(SCHEDULE_1_PANEL) - {"saxitoxin"}))
def test_schedule1_caught_without_the_exact_list(name: str) -> None:
    """Patterns and similarity catch the agents even when exact look-up is switched off."""
    guard = SafetyGuard()
    guard._exact = {}
    assert guard.is_chemical_weapon(SCHEDULE_1_PANEL[name])


def test_approved_drugs_false_positive_rate(guard: SafetyGuard, shared_data) -> None:
    RDLogger.DisableLog("rdApp.*")
    with gzip.open(shared_data / "moleculenet" / "clintox.csv.gz", "rt") as handle:
        table = pd.read_csv(handle)
    smiles = [s for s in table.loc[table["FDA_APPROVED"] == 1, "smiles"] if Chem.MolFromSmiles(s)]
    assert len(smiles) > 1000
    mask = guard.withhold(smiles)
    assert mask.mean() < 0.01, [s for s, m in zip(smiles, mask, strict=True) if m]


@pytest.mark.parametrize(
    ("smiles", "expected"),
    [
        ("OC(=O)CCCc1ccc(N(CCCl)CCCl)cc1", "warning"),  # chlorambucil
        ("ClCCNP1(=O)OCCCN1CCCl", None),  # ifosfamide: one chloroethyl per N, no mustard flag
        ("O=P1(N(CCCl)CCCl)NCCCO1", "warning"),  # cyclophosphamide
        ("CC(=O)Oc1ccccc1C(=O)O", None),  # aspirin
        ("CCN(CC)CCOC(=O)c1ccc(N)cc1", None),  # procaine: an ester, not the amino alcohol
    ],
)
def test_drug_mustards_are_warned_not_withheld(guard, smiles, expected) -> None:
    flags = guard.screen_smiles([smiles])[0]
    severities = {f.severity for f in flags}
    assert "cw" not in severities
    assert (expected in severities) if expected else not flags


def _objective(component: dict) -> object:
    return build_scoring_function({"components": [component, {"type": "qed"}]})


def test_objective_rewarding_toxicity_is_refused() -> None:
    rewarding = _objective(
        {
            "type": "activity",
            "name": "herg_inhibition",
            "transform": {"type": "sigmoid", "low": 0.2, "high": 0.8},
        }
    )
    with pytest.raises(UnsafeObjectiveError, match="herg"):
        check_objective(rewarding)
    safe = _objective(
        {
            "type": "activity",
            "name": "herg_inhibition",
            "transform": {"type": "reverse_sigmoid", "low": 0.2, "high": 0.8},
        }
    )
    check_objective(safe)  # penalizing hERG is the normal use
    with pytest.raises(UnsafeObjectiveError, match="ld50"):
        check_objective(_objective({"type": "activity", "model": "LD50_Zhu"}))


def test_admet_panel_toxicity_columns_may_only_be_penalized() -> None:
    """Every toxicity column the ADMET panel ships (hERG, Ames, LD50, DILI, 12 Tox21 assays,
    ClinTox) is refused as a reward through the admet component, and accepted as a penalty."""
    from drugloop.models.admet import ENDPOINTS

    toxic = [e.column for e in ENDPOINTS if e.column in ("herg", "ames", "ld50", "dili")]
    toxic += [e.column for e in ENDPOINTS if e.column.startswith("tox21_") or e.column == "clintox"]
    assert len(toxic) == 17
    for column in toxic:
        rewarding = {"type": "admet", "endpoint": column, "transform": {"type": "identity"}}
        with pytest.raises(UnsafeObjectiveError):
            check_objective(_objective(rewarding))
        penalty = {"type": "reverse_sigmoid", "low": 0.2, "high": 0.8}
        if column == "ld50":
            penalty = {"type": "reverse_sigmoid", "low": 1.0, "high": 4.0}
        check_objective(_objective({**rewarding, "transform": penalty}))
    check_objective(_objective({"type": "admet", "endpoint": "solubility"}))  # not a toxicity


def test_endpoint_names_match_words_not_substrings() -> None:
    from drugloop.design.safety import _names_toxicity

    assert _names_toxicity(["/home/james/oracle.py", "dilithium"]) is None
    assert _names_toxicity(["ClinTox"]) == "clintox"
    assert _names_toxicity(["AMES"]) == "ames" and _names_toxicity(["hERG_central"]) == "herg"
    assert _names_toxicity(["non_toxic_probability"]) is None


def test_objective_rewarding_nerve_agent_similarity_is_refused() -> None:
    bad = _objective({"type": "tanimoto_similarity", "references": ["CCOP(C)(=O)SCCN(C(C)C)C(C)C"]})
    with pytest.raises(UnsafeObjectiveError, match="chemical-warfare"):
        check_objective(bad)
    with pytest.raises(UnsafeObjectiveError):
        check_objective(_objective({"type": "substructure", "required": ["ClCCSCCCl"]}))


def test_optimize_withholds_and_counts(guard) -> None:
    """A GA seeded with mustards: withheld molecules are never scored nor returned."""
    seeds = ["ClCCSCCCl", "ClCCSCCSCCCl", "CCOP(C)(=O)SCCN(CC)CC", "c1ccccc1CCO", "CCOc1ccccc1"]
    objective = build_scoring_function({"components": [{"type": "qed"}]})
    result = optimize(GraphGA(seeds, population_size=5, offspring_size=20, seed=1), objective, 60)
    assert result.n_withheld >= 3
    out = result.molecules["smiles"].tolist()
    assert not any(guard.withhold(out)), "a withheld molecule reached the output"
    assert np.isfinite(result.molecules["score"]).all()


def test_portfolio_scorecard_counts_withheld_apart_from_scored() -> None:
    """Withheld molecules are told 0 but are not oracle calls: the scorecard keeps them apart."""
    seeds = ["ClCCSCCCl", "ClCCSCCSCCCl", "CCOP(C)(=O)SCCN(CC)CC", "c1ccccc1CCO", "CCOc1ccccc1"]
    objective = build_scoring_function({"components": [{"type": "qed"}]})
    portfolio = Portfolio(
        {
            "graph_ga": GraphGA(seeds, population_size=5, offspring_size=20, seed=1),
            "mmp_analogs": MMPAnalogs(leads=seeds, seed=1),
        },
        top_k=10,
    )
    result = optimize(portfolio, objective, 60, batch_size=20)
    cards = portfolio.scorecard()
    assert result.n_withheld >= 3
    assert sum(c["scored"] for c in cards) == result.n_oracle_calls == 60
    assert sum(c["withheld"] for c in cards) == result.n_withheld
