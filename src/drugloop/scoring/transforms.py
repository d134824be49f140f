"""Desirability transforms: raw component values → [0, 1], where 1 is what we want.

Semantics follow REINVENT's score transformations so that objectives written for REINVENT read
the same here. Every transform is vectorized and maps NaN (a failed computation) to 0, so a
molecule whose property could not be computed never looks desirable.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from scipy.special import expit

from drugloop.registry import Registry
from drugloop.scoring.errors import ScoringConfigError, brief

LN10 = math.log(10.0)


class Transform(BaseModel):
    """Base desirability transform; subclasses set a literal ``type`` and implement ``_apply``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str

    def __call__(self, values: Any) -> np.ndarray:
        raw = np.asarray(values)
        if raw.dtype.kind in "OUS":  # categorical raw values only make sense for value_mapping
            return self._apply_categorical(raw)
        raw = raw.astype(np.float64, copy=False)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._apply(raw)
        return np.clip(np.nan_to_num(np.where(np.isnan(raw), 0.0, out), nan=0.0), 0.0, 1.0)

    @abstractmethod  # pydantic's model metaclass is an ABCMeta, so this is enforced
    def _apply(self, values: np.ndarray) -> np.ndarray:
        """Desirability of finite numeric values (NaN handling and clipping are done above)."""

    def _apply_categorical(self, values: np.ndarray) -> np.ndarray:
        raise ScoringConfigError(f"transform {self.type!r} needs numeric values")


TRANSFORMS: Registry[Transform] = Registry("transform")


@TRANSFORMS.register("identity")
class Identity(Transform):
    """Values already in [0, 1] (QED, similarity, alert flags); anything outside is clipped."""

    type: Literal["identity"] = "identity"

    def _apply(self, values: np.ndarray) -> np.ndarray:
        return values


@TRANSFORMS.register("sigmoid")
class Sigmoid(Transform):
    """Rises from ~0 at ``low`` to ~1 at ``high``; ``k`` sets the steepness (REINVENT formula)."""

    type: Literal["sigmoid"] = "sigmoid"
    low: float
    high: float
    k: float = Field(0.5, gt=0)

    @model_validator(mode="after")
    def check_range(self) -> Any:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be smaller than high ({self.high})")
        return self

    def _apply(self, values: np.ndarray) -> np.ndarray:
        middle = (self.low + self.high) / 2
        return expit(LN10 * 10 * self.k * (values - middle) / (self.high - self.low))


@TRANSFORMS.register("reverse_sigmoid")
class ReverseSigmoid(Sigmoid):
    """Falls from ~1 at ``low`` to ~0 at ``high`` (e.g. SA score: 2.5 good, 6 bad)."""

    type: Literal["reverse_sigmoid"] = "reverse_sigmoid"  # type: ignore[assignment]

    def _apply(self, values: np.ndarray) -> np.ndarray:
        return 1.0 - super()._apply(values)


@TRANSFORMS.register("double_sigmoid")
class DoubleSigmoid(Transform):
    """A plateau of ~1 between ``low`` and ``high`` with sigmoid flanks (REINVENT semantics).

    The rising flank is centred on ``low`` with steepness ``coef_se / coef_div``, the falling
    one on ``high`` with ``coef_si / coef_div``: desirability = rise(x) - rise_at_high(x).
    """

    type: Literal["double_sigmoid"] = "double_sigmoid"
    low: float
    high: float
    coef_div: float = Field(100.0, gt=0)
    coef_si: float = Field(150.0, gt=0)
    coef_se: float = Field(150.0, gt=0)

    @model_validator(mode="after")
    def check_range(self) -> Any:
        if not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be smaller than high ({self.high})")
        return self

    def _apply(self, values: np.ndarray) -> np.ndarray:
        rise = expit(LN10 * self.coef_se * (values - self.low) / self.coef_div)
        fall = expit(LN10 * self.coef_si * (values - self.high) / self.coef_div)
        return rise - fall


@TRANSFORMS.register("step")
class Step(Transform):
    """1 inside the closed interval [low, high], 0 outside: a hard property window."""

    type: Literal["step"] = "step"
    low: float = -math.inf
    high: float = math.inf

    @model_validator(mode="after")
    def check_range(self) -> Step:
        if self.low > self.high:
            raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        return self

    def _apply(self, values: np.ndarray) -> np.ndarray:
        return ((values >= self.low) & (values <= self.high)).astype(np.float64)


@TRANSFORMS.register("value_mapping")
class ValueMapping(Transform):
    """Maps discrete raw values to desirabilities; unmapped values get 0.

    Keys are text (TOML keys always are) and match numerically when they parse as numbers, so
    ``{"0" = 1.0, "1" = 0.5}`` works on hydrogen-bond donor counts.
    """

    type: Literal["value_mapping"] = "value_mapping"
    mapping: dict[str, float]

    @model_validator(mode="after")
    def check_mapping(self) -> ValueMapping:
        bad = {k: v for k, v in self.mapping.items() if not 0.0 <= v <= 1.0}
        if bad:
            raise ValueError(f"mapped desirabilities must lie in [0, 1]: {bad}")
        if not self.mapping:
            raise ValueError("mapping is empty")
        return self

    def _apply(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(values.shape, dtype=np.float64)
        for key, desirability in self.mapping.items():
            try:
                number = float(key)
            except ValueError:
                continue
            out[np.isclose(values, number)] = desirability
        return out

    def _apply_categorical(self, values: np.ndarray) -> np.ndarray:
        return np.array([self.mapping.get(str(v), 0.0) for v in values.ravel()]).reshape(
            values.shape
        )


def parse_transform(spec: Transform | dict[str, Any] | str | None) -> Transform:
    """Build a transform from a config table (``{type = "sigmoid", low = 5, high = 8}``)."""
    if spec is None:
        return Identity()
    if isinstance(spec, Transform):
        return spec
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise ScoringConfigError(f"a transform must be a table with a 'type', got {spec!r}")
    if "type" not in spec:
        raise ScoringConfigError(
            f"transform {spec!r} has no 'type'; known: {', '.join(TRANSFORMS.names())}"
        )
    try:
        factory = TRANSFORMS.get(str(spec["type"]))
    except KeyError as exc:
        raise ScoringConfigError(str(exc)) from None
    try:
        return factory(**spec)
    except ValidationError as exc:
        raise ScoringConfigError(f"transform {spec['type']!r}: {brief(exc)}") from None
