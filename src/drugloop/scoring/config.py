"""Objectives written as TOML (REINVENT-4 style), validated before any molecule is scored.

Example::

    aggregation = "geometric"

    [[components]]
    type = "activity"
    model = "pki"                     # key into build_scoring_function(models=...)
    weight = 2
    transform = { type = "sigmoid", low = 5, high = 8, k = 0.3 }

    [[components]]
    name = "synthesizability"
    type = "sa_score"
    transform = { type = "reverse_sigmoid", low = 2.5, high = 6 }

    [[components]]
    type = "substructure"
    forbidden = ["[N+](=O)[O-]"]

Keys other than ``name``, ``type``, ``weight``, ``transform`` and ``params`` are component
parameters (they may also be grouped in a ``params`` table). A campaign file may nest all of
this under ``[scoring]``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drugloop.scoring.components import SCORING_COMPONENTS, create_component
from drugloop.scoring.diversity import DiversityFilter
from drugloop.scoring.errors import ScoringConfigError, brief
from drugloop.scoring.scorer import Aggregation, ScoringFunction, WeightedComponent
from drugloop.scoring.transforms import parse_transform
from drugloop.tomlio import read_toml

_RESERVED = {"name", "type", "weight", "transform", "params", "hard"}


class ComponentConfig(BaseModel):
    """One ``[[components]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    type: str
    name: str = ""
    weight: float = Field(1.0, gt=0, allow_inf_nan=False)
    params: dict[str, Any] = Field(default_factory=dict)
    transform: dict[str, Any] = Field(default_factory=lambda: {"type": "identity"})
    hard: bool = False

    @model_validator(mode="before")
    @classmethod
    def gather_params(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        inline = {k: data.pop(k) for k in list(data) if k not in _RESERVED}
        params = dict(data.get("params") or {})
        clash = sorted(set(params) & set(inline))
        if clash:
            raise ValueError(f"parameters given twice (inline and in params): {clash}")
        data["params"] = {**params, **inline}
        if isinstance(data.get("transform"), str):
            data["transform"] = {"type": data["transform"]}
        return data

    @model_validator(mode="after")
    def known_names(self) -> ComponentConfig:
        if self.type not in SCORING_COMPONENTS:
            raise ValueError(
                f"unknown scoring component {self.type!r}; known: "
                + ", ".join(SCORING_COMPONENTS.names())
            )
        if not self.name:
            self.name = self.type
        parse_transform(self.transform)  # raises ScoringConfigError with the known types
        return self

    def build(self) -> WeightedComponent:
        try:
            component = create_component(self.type, **self.params)
        except ScoringConfigError as exc:
            raise ScoringConfigError(f"component {self.name!r}: {exc}") from None
        return WeightedComponent(
            self.name, component, parse_transform(self.transform), self.weight, self.hard
        )


class ScoringConfig(BaseModel):
    """A whole objective: components and how their desirabilities are combined."""

    model_config = ConfigDict(extra="forbid")

    aggregation: Aggregation = "geometric"
    components: list[ComponentConfig] = Field(min_length=1)
    diversity_filter: DiversityFilter | None = None

    @model_validator(mode="after")
    def unique_names(self) -> ScoringConfig:
        names = [c.name for c in self.components]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate component names {duplicates}: give each a distinct name")
        return self

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "scoring config") -> ScoringConfig:
        if "scoring" in data and "components" not in data:
            data = data["scoring"]
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ScoringConfigError(f"{source}: {brief(exc)}") from None
        except ScoringConfigError as exc:
            raise ScoringConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> ScoringConfig:
        data = read_toml(path, ScoringConfigError)
        return cls.from_dict(data, source=str(path))

    def to_toml(self) -> str:
        """TOML text that :meth:`from_toml` reads back to an equal config."""
        lines = [f"aggregation = {_toml_value(self.aggregation)}"]
        for comp in self.components:
            lines += ["", "[[components]]"]
            lines += [f"{key} = {_toml_value(getattr(comp, key))}" for key in ("name", "type")]
            lines.append(f"weight = {_toml_value(comp.weight)}")
            params = {k: v for k, v in comp.params.items() if v is not None}  # TOML has no null
            if params:
                lines.append(f"params = {_toml_value(params)}")
            lines.append(f"transform = {_toml_value(comp.transform)}")
            if comp.hard:
                lines.append("hard = true")
        if self.diversity_filter is not None:
            lines.insert(1, f"diversity_filter = {_toml_value(self.diversity_filter.model_dump())}")
        return "\n".join(lines) + "\n"


def build_scoring_function(
    config: ScoringConfig | Mapping[str, Any] | str | Path,
    models: Mapping[str, Any] | None = None,
) -> ScoringFunction:
    """Objective from a config (object, dict or TOML path); ``models`` feed activity components.

    Without ``models``, activity components stay unattached until
    :meth:`ScoringFunction.attach_models` (a campaign may train its model later).
    """
    if isinstance(config, str | Path):
        config = ScoringConfig.from_toml(config)
    elif not isinstance(config, ScoringConfig):
        config = ScoringConfig.from_dict(config)
    function = ScoringFunction(
        [c.build() for c in config.components],
        config.aggregation,
        config.diversity_filter.model_copy() if config.diversity_filter else None,
    )
    if models is not None:
        function.attach_models(models)
    return function


def default_config(with_activity: bool = True) -> ScoringConfig:
    """The foundation objective: predicted activity, drug-likeness, synthesizability, alerts.

    Activity counts double; the desirability window assumes p-scaled potency (pKi/pIC50:
    5 ≈ weak, 8 ≈ potent). PAINS/NIH alerts act as a veto through the geometric mean.
    """
    components: list[dict[str, Any]] = []
    if with_activity:
        components.append(
            {
                "type": "activity",
                "model": "activity",
                "weight": 2.0,
                "transform": {"type": "sigmoid", "low": 5.0, "high": 8.0, "k": 0.3},
            }
        )
    components += [
        {"type": "qed", "transform": {"type": "identity"}},
        {
            "type": "sa_score",
            "transform": {"type": "reverse_sigmoid", "low": 2.5, "high": 6.0, "k": 0.5},
        },
        # PAINS and NIH flag assay interference and reactive/toxic groups: veto. Brenk's list
        # (meant for screening-library triage) vetoes common motifs such as phenol esters, so
        # it is reported by drugloop.chem but not part of the default veto.
        {"type": "alerts", "catalogs": ["PAINS", "NIH"], "transform": {"type": "identity"}},
    ]
    return ScoringConfig.from_dict({"aggregation": "geometric", "components": components})


def default_objective(model: Any = None, with_activity: bool = True) -> ScoringFunction:
    """:func:`default_config` built; ``model`` (anything with ``predict``) scores activity.

    With no model the activity component waits for ``attach_models({"activity": model})``.
    """
    function = build_scoring_function(default_config(with_activity))
    if model is not None and with_activity:
        function.attach_models({"activity": model})
    return function


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    raise ScoringConfigError(f"cannot write {type(value).__name__} value {value!r} to TOML")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key)
