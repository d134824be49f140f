"""JSON files any tool can read: strict JSON has no NaN or Infinity, so they are written as null.

Python's ``json`` writes ``NaN`` by default, which ``jq``, JavaScript and most other parsers
reject; a metric that is undefined (a correlation over constant values, say) is ``null`` here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def strict(value: Any) -> Any:
    """``value`` with non-finite floats as None, numpy scalars/arrays as Python numbers/lists."""
    if isinstance(value, Mapping):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [strict(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # paths, dates, enums: their readable form


def dumps(value: Any, indent: int | None = 2) -> str:
    return json.dumps(strict(value), indent=indent, allow_nan=False)


def write_json(value: Any, path: str | Path, indent: int | None = 2) -> Path:
    """Write ``value`` as strict JSON (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(value, indent))
    return path
