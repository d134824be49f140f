from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from drugloop import jsonio

_LEAVES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(width=32, allow_nan=False, allow_infinity=False).map(np.float32),
    st.integers(-(2**40), 2**40).map(np.int64),
    st.integers(),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
)
_TREES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


def _refuse(constant: str) -> None:
    raise ValueError(f"non-standard JSON constant {constant}")


def _expected(value):
    if isinstance(value, dict):
        return {k: _expected(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expected(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@given(_TREES)
def test_any_structure_reads_back_under_a_strict_parser(value) -> None:
    """NaN and ±Infinity become null, numpy numbers plain numbers; everything else is kept."""
    text = jsonio.dumps(value)
    assert json.loads(text, parse_constant=_refuse) == _expected(value)


def test_write_json_creates_folders_and_writes_paths_as_text(tmp_path) -> None:
    path = jsonio.write_json(
        {"spearman": float("nan"), "n": np.int64(3), "file": Path("a/b.csv"), "ok": (1.5,)},
        tmp_path / "new" / "metrics.json",
    )
    assert json.loads(path.read_text(), parse_constant=_refuse) == {
        "spearman": None,
        "n": 3,
        "file": "a/b.csv",
        "ok": [1.5],
    }
