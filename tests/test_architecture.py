"""The layering rule: chem ← data ← models ← scoring ← design ← campaign; targets beside them
(on chem and data); cli, server and demo on top, imported by none of these."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "drugloop"
LAYERS = ["chem", "data", "models", "scoring", "design", "campaign"]


def _drugloop_imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [n.split(".")[1] for n in names if n.startswith("drugloop.") and n.count(".") >= 1]


@pytest.mark.parametrize("layer", LAYERS + ["targets"])
def test_a_layer_imports_only_from_layers_below_it(layer) -> None:
    allowed = set(LAYERS[: LAYERS.index(layer)]) if layer in LAYERS else {"chem", "data"}
    shared = {"paths", "registry", "tomlio", "jsonio", layer}  # leaf utilities every layer may use
    wrong = [
        f"{path.relative_to(PACKAGE)} imports drugloop.{other}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for other in _drugloop_imports(path)
        if other not in allowed | shared
    ]
    assert not wrong, "\n".join(wrong)


def test_the_rule_sees_a_violation(tmp_path) -> None:
    """The checker is not vacuous: an upward import is found."""
    module = tmp_path / "m.py"
    module.write_text("from drugloop.campaign.campaign import Campaign\nimport drugloop.chem\n")
    assert _drugloop_imports(module) == ["campaign", "chem"]
