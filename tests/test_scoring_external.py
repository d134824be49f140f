"""External-process component, hard filters and the scaffold diversity filter."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import Descriptors

from drugloop.scoring import (
    DiversityFilter,
    ExternalProcess,
    ExternalProcessError,
    ScoringConfig,
    build_scoring_function,
)

# A real little oracle: heavy-atom count via RDKit, "fail" for molecules with sulfur.
ORACLE = (
    "import sys\n"
    "from rdkit import Chem\n"
    "for line in sys.stdin:\n"
    "    m = Chem.MolFromSmiles(line.strip())\n"
    "    print('fail' if m is None or m.HasSubstructMatch(Chem.MolFromSmarts('[#16]'))"
    " else m.GetNumHeavyAtoms(), flush=True)\n"
)


def test_external_process_scores_and_stays_alive() -> None:
    component = ExternalProcess(command=[sys.executable, "-c", ORACLE], timeout=60)
    smiles = ["CCO", "c1ccccc1O", "not_a_smiles", "CSC", "CC(=O)Oc1ccccc1C(=O)O"]
    values = component(smiles)
    assert values[0] == 3 and values[1] == 7 and values[4] == 13
    assert math.isnan(values[2]) and math.isnan(values[3])
    first_pid = component._process.pid
    assert component(["CCN"])[0] == 3
    assert component._process.pid == first_pid  # one process across batches
    assert component.n_sent == 5  # the invalid SMILES was never sent
    component.close()


def test_external_process_in_a_toml_objective(tmp_path) -> None:
    script = tmp_path / "oracle.py"
    script.write_text(ORACLE)
    config = tmp_path / "objective.toml"
    config.write_text(  # "{python}": drugloop's own interpreter, found without PATH
        "[[components]]\n"
        'type = "external_process"\n'
        f'command = ["{{python}}", {str(script)!r}]\n'
        'env = { PATH = "/nonexistent" }\n'
        'transform = { type = "sigmoid", low = 5, high = 20 }\n'
    )
    result = build_scoring_function(config).score(["CCO", "CCCCCCCCCCCCCCCCCCCC"])
    assert result.total[1] > result.total[0]


def test_external_process_dying_is_a_clear_error() -> None:
    crash = "import sys\nsys.stdin.readline()\nsys.stderr.write('boom: no licence\\n')\nsys.exit(3)"
    component = ExternalProcess(command=[sys.executable, "-c", crash], timeout=30)
    with pytest.raises(ExternalProcessError, match="boom: no licence|stopped after"):
        component(["CCO", "CCN"])


def test_design_run_with_a_broken_oracle_exits_with_one_clear_line(tmp_path) -> None:
    from typer.testing import CliRunner

    from drugloop.cli.main import app

    (tmp_path / "run.toml").write_text(
        'budget = 10\nbatch_size = 5\noutput_dir = "out"\ninitial = ["CCOc1ccccc1"]\n'
        '[[generators]]\ntype = "mmp_analogs"\n[[scoring.components]]\n'
        'type = "external_process"\ncommand = ["{python}", "-c", "import nosuchmodule"]\n'
    )
    result = CliRunner().invoke(app, ["design", "run", str(tmp_path / "run.toml")])
    assert result.exit_code == 2
    assert "error:" in result.output and "No module named 'nosuchmodule'" in result.output
    assert "Traceback (most recent call last)" not in result.output.split("last stderr")[0]


def test_a_crashing_oracle_always_reports_its_traceback() -> None:
    """Its stdout can close before the stderr reader has the traceback; the error waits for it
    (before the fix, 2 of 40 such crashes on a loaded machine lost the reason)."""
    for _ in range(15):
        component = ExternalProcess(command=[sys.executable, "-c", "import nosuchmodule"])
        with pytest.raises(ExternalProcessError, match="No module named 'nosuchmodule'"):
            component(["CCO"])


def test_external_process_timeout() -> None:
    silent = "import sys, time\nsys.stdin.readline()\ntime.sleep(30)"
    component = ExternalProcess(command=[sys.executable, "-c", silent], timeout=1)
    with pytest.raises(ExternalProcessError, match="no answer within 1 s"):
        component(["CCO"])


def test_hard_filter_zeroes_total_under_arithmetic_mean() -> None:
    config = ScoringConfig.from_dict(
        {
            "aggregation": "arithmetic",
            "components": [
                {"type": "qed"},
                {"type": "substructure", "forbidden": ["[N+](=O)[O-]"], "hard": True},
            ],
        }
    )
    assert ScoringConfig.from_dict(__import__("tomllib").loads(config.to_toml())) == config
    result = build_scoring_function(config).score(["O=[N+]([O-])c1ccccc1", "c1ccccc1O"])
    assert result.total[0] == 0.0 and result.total[1] > 0.2


def test_diversity_filter_penalizes_crowded_scaffold() -> None:
    benzenes = [f"c1ccccc1{'C' * n}O" for n in range(1, 6)]
    pyridine = ["c1ccncc1CCO"]
    dfilter = DiversityFilter(bucket_size=3, min_score=0.1)
    penalized = dfilter(benzenes + pyridine, np.full(6, 0.8))
    assert penalized.tolist() == [0.8, 0.8, 0.8, 0.0, 0.0, 0.8]
    assert dfilter.n_scaffolds == 2
    linear = DiversityFilter(bucket_size=4, min_score=0.1, penalty="linear")
    assert linear(benzenes[:2], np.array([1.0, 1.0])).tolist() == [1.0, 0.75]


def test_feedback_column_when_filter_configured() -> None:
    function = build_scoring_function(
        {"components": [{"type": "qed"}], "diversity_filter": {"bucket_size": 1, "min_score": 0}}
    )
    smiles = ["c1ccccc1CCO", "c1ccccc1CCCO"]
    result = function.score(smiles)
    expected = [Descriptors.qed(Chem.MolFromSmiles(s)) for s in smiles]
    assert np.allclose(result.total, expected)
    assert result.feedback[0] == pytest.approx(expected[0]) and result.feedback[1] == 0.0
