"""Scoring components: one raw number per molecule (NaN where it cannot be computed).

Components are pydantic models so that an objective written in TOML is validated before any
molecule is scored (a typo in a SMARTS fails at load time, not after an hour of generation).
They work on a :class:`MoleculeBatch`, so a SMILES list is parsed once for all components.
Adding a component: subclass :class:`ScoringComponent` and decorate it with
``@SCORING_COMPONENTS.register("name")``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from rdkit import Chem, DataStructs
from rdkit.Chem import Crippen, Descriptors, rdFingerprintGenerator, rdMolDescriptors

from drugloop.chem.molecule import InvalidMoleculeError, parse_smiles
from drugloop.chem.properties import ALERT_CATALOGS, StructuralAlerts, qed, sa_score
from drugloop.registry import Registry
from drugloop.scoring.errors import ScoringConfigError, brief


@runtime_checkable
class PredictionLike(Protocol):
    """What a model's ``predict`` returns: per-molecule mean and standard deviation."""

    mean: np.ndarray
    std: np.ndarray


@runtime_checkable
class Predictor(Protocol):
    """Anything with ``predict(smiles) -> PredictionLike`` (every ``drugloop.models`` model)."""

    def predict(self, smiles: Sequence[str]) -> PredictionLike: ...


@dataclass(frozen=True)
class MoleculeBatch:
    """SMILES and their parsed molecules (None where the SMILES is invalid)."""

    smiles: list[str]
    mols: list[Chem.Mol | None]

    @classmethod
    def from_smiles(cls, smiles: Sequence[str]) -> MoleculeBatch:
        texts = [s if isinstance(s, str) else str(s) for s in smiles]
        return cls(texts, [_try_parse(s) for s in smiles])

    @property
    def valid(self) -> np.ndarray:
        return np.array([m is not None for m in self.mols], dtype=bool)

    def __len__(self) -> int:
        return len(self.smiles)


def _try_parse(smiles: object) -> Chem.Mol | None:
    try:
        return parse_smiles(smiles)
    except InvalidMoleculeError:
        return None


@dataclass
class ComponentOutput:
    """Raw values plus optional per-molecule extras (e.g. which alerts, prediction std)."""

    values: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)


class ScoringComponent(BaseModel, ABC):
    """Computes one raw property per molecule; invalid molecules get NaN.

    Bad parameters raise :class:`ScoringConfigError` (``detail`` holds the bare reason).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            detail = brief(exc)
            error = ScoringConfigError(f"{type(self).__name__}: {detail}")
            error.detail = detail  # type: ignore[attr-defined]
            raise error from None

    @abstractmethod
    def compute(self, batch: MoleculeBatch) -> np.ndarray: ...

    def evaluate(self, batch: MoleculeBatch) -> ComponentOutput:
        return ComponentOutput(self.compute(batch))

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        return self.compute(MoleculeBatch.from_smiles(smiles))


SCORING_COMPONENTS: Registry[ScoringComponent] = Registry("scoring component")


def create_component(kind: str, **params: Any) -> ScoringComponent:
    """Instantiate a registered component, turning bad parameters into a readable error."""
    try:
        factory = SCORING_COMPONENTS.get(kind)
    except KeyError as exc:
        raise ScoringConfigError(str(exc)) from None
    try:
        return factory(**params)
    except ScoringConfigError as exc:
        detail = getattr(exc, "detail", str(exc))
        raise ScoringConfigError(f"scoring component {kind!r}: {detail}") from None


class MolPropertyComponent(ScoringComponent):
    """A component defined by a per-molecule function (RDKit descriptors, QED, SA)."""

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        return np.array([self._safe(mol) for mol in batch.mols], dtype=np.float64).reshape(
            len(batch)
        )

    def _safe(self, mol: Chem.Mol | None) -> float:
        if mol is None:
            return np.nan
        try:
            return float(self.of_mol(mol))
        except Exception:  # an RDKit descriptor failing on one odd molecule must not stop a batch
            return np.nan

    @abstractmethod
    def of_mol(self, mol: Chem.Mol) -> float: ...


@SCORING_COMPONENTS.register("qed")
class QEDComponent(MolPropertyComponent):
    """Quantitative estimate of drug-likeness (Bickerton 2012), 0…1."""

    def of_mol(self, mol: Chem.Mol) -> float:
        return qed(mol)


@SCORING_COMPONENTS.register("sa_score")
class SAScoreComponent(MolPropertyComponent):
    """Synthetic accessibility (Ertl 2009), 1 easy … 10 hard: pair with a reverse sigmoid."""

    def of_mol(self, mol: Chem.Mol) -> float:
        return sa_score(mol)


@SCORING_COMPONENTS.register("molecular_weight")
class MolecularWeight(MolPropertyComponent):
    def of_mol(self, mol: Chem.Mol) -> float:
        return Descriptors.MolWt(mol)


@SCORING_COMPONENTS.register("logp")
class LogP(MolPropertyComponent):
    """Crippen cLogP."""

    def of_mol(self, mol: Chem.Mol) -> float:
        return Crippen.MolLogP(mol)


@SCORING_COMPONENTS.register("tpsa")
class TPSA(MolPropertyComponent):
    def of_mol(self, mol: Chem.Mol) -> float:
        return rdMolDescriptors.CalcTPSA(mol)


@SCORING_COMPONENTS.register("hbd")
class HBondDonors(MolPropertyComponent):
    """Lipinski hydrogen-bond donors."""

    def of_mol(self, mol: Chem.Mol) -> float:
        return rdMolDescriptors.CalcNumHBD(mol)


@SCORING_COMPONENTS.register("hba")
class HBondAcceptors(MolPropertyComponent):
    """Lipinski hydrogen-bond acceptors."""

    def of_mol(self, mol: Chem.Mol) -> float:
        return rdMolDescriptors.CalcNumHBA(mol)


@SCORING_COMPONENTS.register("rotatable_bonds")
class RotatableBonds(MolPropertyComponent):
    def of_mol(self, mol: Chem.Mol) -> float:
        return rdMolDescriptors.CalcNumRotatableBonds(mol)


@SCORING_COMPONENTS.register("alerts")
class AlertsComponent(ScoringComponent):
    """1.0 when no structural alert (PAINS/Brenk/NIH) matches, else 0.0.

    With the identity transform in a geometric mean this vetoes alert-bearing molecules, as
    REINVENT's alert filters do. ``evaluate`` also reports which alerts matched (``detail``).
    """

    catalogs: tuple[str, ...] = ("PAINS", "BRENK", "NIH")
    _alerts: StructuralAlerts | None = PrivateAttr(default=None)

    @field_validator("catalogs")
    @classmethod
    def known_catalogs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        value = tuple(name.upper() for name in value)
        unknown = sorted(set(value) - set(ALERT_CATALOGS))
        if unknown:
            raise ValueError(f"unknown alert catalogs {unknown}; known: {sorted(ALERT_CATALOGS)}")
        if not value:
            raise ValueError("at least one alert catalog is needed")
        return value

    @property
    def alerts(self) -> StructuralAlerts:
        if self._alerts is None:
            self._alerts = StructuralAlerts(self.catalogs)
        return self._alerts

    def matches(self, smiles: Sequence[str]) -> list[list[str] | None]:
        """Per molecule, the matched alerts as ``"CATALOG: description"`` (None if invalid)."""
        batch = MoleculeBatch.from_smiles(smiles)
        return [None if m is None else [str(a) for a in self.alerts.match(m)] for m in batch.mols]

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        return self.evaluate(batch).values

    def evaluate(self, batch: MoleculeBatch) -> ComponentOutput:
        values = np.full(len(batch), np.nan)
        details: list[str] = [""] * len(batch)
        valid = [i for i, mol in enumerate(batch.mols) if mol is not None]
        # batched, multithreaded and cached by SMILES (PAINS alone is ~500 SMARTS)
        matched = self.alerts.match_smiles([batch.smiles[i] for i in valid])
        for i, found in zip(valid, matched, strict=True):
            found = found or []
            values[i] = 0.0 if found else 1.0
            details[i] = "; ".join(dict.fromkeys(str(a) for a in found))
        return ComponentOutput(values, {"detail": details})


@SCORING_COMPONENTS.register("tanimoto_similarity")
class TanimotoSimilarity(ScoringComponent):
    """Highest Morgan-fingerprint Tanimoto similarity to any of the reference SMILES."""

    references: list[str] = Field(min_length=1)
    radius: int = Field(2, ge=1, le=6)
    n_bits: int = Field(2048, ge=64)
    _reference_fps: list | None = PrivateAttr(default=None)

    @field_validator("references")
    @classmethod
    def parseable(cls, value: list[str]) -> list[str]:
        for smiles in value:
            try:
                parse_smiles(smiles)
            except InvalidMoleculeError as exc:
                raise ValueError(f"reference {exc}") from None
        return value

    def _generator(self):
        return rdFingerprintGenerator.GetMorganGenerator(radius=self.radius, fpSize=self.n_bits)

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        generator = self._generator()
        if self._reference_fps is None:
            refs = [parse_smiles(s) for s in self.references]
            self._reference_fps = [generator.GetFingerprint(m) for m in refs]
        out = np.full(len(batch), np.nan)
        for i, mol in enumerate(batch.mols):
            if mol is not None:
                fp = generator.GetFingerprint(mol)
                out[i] = max(DataStructs.BulkTanimotoSimilarity(fp, self._reference_fps))
        return out


@SCORING_COMPONENTS.register("substructure")
class Substructure(ScoringComponent):
    """1.0 when every ``required`` SMARTS matches and no ``forbidden`` one does, else 0.0."""

    required: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    _patterns: dict[str, list[Chem.Mol]] = PrivateAttr(default_factory=dict)

    @field_validator("required", "forbidden")
    @classmethod
    def valid_smarts(cls, value: list[str]) -> list[str]:
        for smarts in value:
            if not isinstance(smarts, str) or not smarts.strip() or _smarts(smarts) is None:
                raise ValueError(f"invalid SMARTS {smarts!r}")
        return value

    @model_validator(mode="after")
    def some_pattern(self) -> Substructure:
        if not self.required and not self.forbidden:
            raise ValueError("needs 'required' or 'forbidden' SMARTS")
        return self

    def model_post_init(self, __context: Any) -> None:
        self._patterns = {
            "required": [_smarts(s) for s in self.required],
            "forbidden": [_smarts(s) for s in self.forbidden],
        }

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        out = np.full(len(batch), np.nan)
        for i, mol in enumerate(batch.mols):
            if mol is not None:
                ok = all(mol.HasSubstructMatch(p) for p in self._patterns["required"]) and not any(
                    mol.HasSubstructMatch(p) for p in self._patterns["forbidden"]
                )
                out[i] = float(ok)
        return out


def _smarts(smarts: str) -> Chem.Mol | None:
    return Chem.MolFromSmarts(smarts)


@SCORING_COMPONENTS.register("activity")
class ActivityComponent(ScoringComponent):
    """A predictive model's activity estimate: ``mean``, or optimistic ``mean + beta * std``.

    The model is either given at construction (``predictor=``, or an object as ``model=``) or
    named in a config (``model = "pki"``) and attached later with :meth:`attach`, so a campaign
    can load or retrain models without rebuilding the objective.
    """

    model: str | None = None
    beta: float | None = None
    predictor: Any = Field(default=None, exclude=True)

    def model_post_init(self, __context: Any) -> None:
        if self.predictor is not None:
            self.attach(self.predictor)

    def __init__(self, **data: Any) -> None:
        model = data.get("model")
        if model is not None and not isinstance(model, str):
            data["predictor"], data["model"] = model, None
        super().__init__(**data)

    def attach(self, predictor: Any) -> ActivityComponent:
        if not callable(getattr(predictor, "predict", None)):
            raise ScoringConfigError(
                f"activity model {type(predictor).__name__} has no predict(smiles) method"
            )
        self.predictor = predictor
        return self

    def _predict(self, batch: MoleculeBatch) -> tuple[np.ndarray, Any, np.ndarray]:
        if self.predictor is None:
            raise ScoringConfigError(
                f"activity component has no model attached (model name: {self.model!r}); "
                "pass it to build_scoring_function(models=...) or ScoringFunction.attach_models"
            )
        valid = batch.valid
        smiles = [s for s, ok in zip(batch.smiles, valid, strict=True) if ok]
        prediction = self.predictor.predict(smiles) if smiles else None
        return valid, prediction, np.full(len(batch), np.nan)

    def compute(self, batch: MoleculeBatch) -> np.ndarray:
        return self.evaluate(batch).values

    def evaluate(self, batch: MoleculeBatch) -> ComponentOutput:
        valid, prediction, out = self._predict(batch)
        extras: dict[str, Any] = {}
        if prediction is None:
            return ComponentOutput(out, {"mean": out.copy(), "std": out.copy()})
        mean = np.asarray(prediction.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(getattr(prediction, "std", np.zeros_like(mean)), dtype=np.float64)
        std = std.reshape(-1) if std.size == mean.size else np.zeros_like(mean)
        if mean.size != int(valid.sum()):
            raise ScoringConfigError(
                f"activity model returned {mean.size} predictions for {int(valid.sum())} molecules"
            )
        out[valid] = mean + (self.beta or 0.0) * std
        for key, column in (("mean", mean), ("std", std)):
            extras[key] = np.full(len(batch), np.nan)
            extras[key][valid] = column
        in_domain = getattr(prediction, "in_domain", None)
        if in_domain is not None and np.size(in_domain) == mean.size:
            extras["in_domain"] = np.zeros(len(batch), dtype=bool)
            extras["in_domain"][valid] = np.asarray(in_domain, dtype=bool)
        return ComponentOutput(out, extras)
