"""Docking component: Vina against a dockstring receptor, on-disk cache, config errors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drugloop.scoring import ScoringConfigError, build_scoring_function, create_component
from drugloop.scoring.docking import read_box

pytest.importorskip("vina")
pytest.importorskip("meeko")
pytest.importorskip("dockstring")

PARACETAMOL = "CC(=O)Nc1ccc(O)cc1"


def test_docks_a_real_ligand_and_reuses_the_cache(tmp_path) -> None:
    dock = create_component("docking", target="DRD2", exhaustiveness=1, cache_dir=str(tmp_path))
    first = dock([PARACETAMOL, "not a smiles"])
    assert first[0] < -3.0  # a favourable (negative) Vina score, kcal/mol
    assert math.isnan(first[1])
    assert (dock.n_docked, dock.n_cached) == (1, 0)
    # a new component (a new run) finds the score on disk, also under another spelling
    again = create_component("docking", target="DRD2", exhaustiveness=1, cache_dir=str(tmp_path))
    second = again(["CC(=O)Nc1ccc(cc1)O"])
    assert second[0] == first[0]
    assert (again.n_docked, again.n_cached) == (0, 1)


def test_docking_in_a_toml_objective(tmp_path) -> None:
    scorer = build_scoring_function(
        {
            "components": [
                {
                    "type": "docking",
                    "target": "DRD2",
                    "exhaustiveness": 1,
                    "cache_dir": str(tmp_path),
                    "transform": {"type": "reverse_sigmoid", "low": -11, "high": -5, "k": 0.5},
                }
            ]
        }
    )
    result = scorer([PARACETAMOL])
    assert 0.0 < float(result.total[0]) < 1.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"target": "NOT_A_TARGET"}, "unknown dockstring target"),
        ({}, "either 'target'"),
        ({"receptor": "missing.pdbqt", "center": [0, 0, 0], "size": [20, 20, 20]}, "not found"),
        ({"target": "DRD2", "exhaustiveness": 0}, "exhaustiveness"),
    ],
)
def test_bad_docking_config_is_named(params, message) -> None:
    with pytest.raises(ScoringConfigError, match=message):
        create_component("docking", **params)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=6, max_size=6),
    st.sampled_from(["{k} = {v}", "{k}={v}", "  {k} =  {v}  "]),
)
def test_read_box_round_trips(tmp_path_factory, numbers, style) -> None:
    keys = [f"center_{a}" for a in "xyz"] + [f"size_{a}" for a in "xyz"]
    path = tmp_path_factory.mktemp("box") / "conf.txt"
    lines = [style.format(k=k, v=repr(v)) for k, v in zip(keys, numbers, strict=True)]
    path.write_text("\n".join(["# box", *lines, ""]))
    center, size = read_box(path)
    assert center + size == numbers


def test_read_box_names_the_bad_line(tmp_path) -> None:
    path = tmp_path / "conf.txt"
    path.write_text("center_x = 1\ncenter_y = north\n")
    with pytest.raises(ValueError, match=r"conf.txt:2"):
        read_box(path)
