"""The model interface every predictor in drugloop follows.

scikit-learn-style ``fit``/``predict`` on SMILES, where ``predict`` always returns an
uncertainty and an applicability-domain verdict with the mean: a number without them is not a
prediction a chemist can act on.
"""

from __future__ import annotations

import json
import platform
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from drugloop import jsonio
from drugloop.registry import Registry


@dataclass
class Prediction:
    """Per-molecule predictions: mean, uncertainty (std), and applicability domain."""

    mean: np.ndarray
    std: np.ndarray
    in_domain: np.ndarray  # bool: nearest training neighbour at least `domain_threshold` similar
    similarity: np.ndarray  # max Tanimoto to the training set
    # the calibrated interval at coverage `level`, where the model has one (regression CV
    # ensembles: conformal, asymmetric on a log-scaled target); None elsewhere
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    level: float | None = None

    def __len__(self) -> int:
        return len(self.mean)

    def to_frame(self, smiles: Sequence[str]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "smiles": list(smiles),
                "prediction": self.mean,
                "uncertainty": self.std,
                "in_domain": self.in_domain,
                "nearest_similarity": self.similarity,
            }
        )


class NotFittedError(RuntimeError):
    pass


@dataclass
class ModelCard:
    """What a saved model carries so its predictions can be traced and reproduced."""

    model: str
    params: dict[str, Any]
    n_train: int = 0
    training_data_sha256: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)


class Model(ABC):
    """Base class: subclasses implement ``_fit`` and ``_predict_mean_std``."""

    name: str = "model"

    def __init__(self, domain_threshold: float = 0.35) -> None:
        self.domain_threshold = domain_threshold
        self._train_fps: list | None = None
        self.card: ModelCard | None = None

    supports_censoring: bool = False

    @abstractmethod
    def _fit(self, smiles: Sequence[str], y: np.ndarray) -> None: ...

    @abstractmethod
    def _predict_mean_std(self, smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]: ...

    def params(self) -> dict[str, Any]:
        return {"domain_threshold": self.domain_threshold}

    def fit(
        self,
        smiles: Sequence[str],
        y: Sequence[float] | np.ndarray,
        censor: Sequence[int] | np.ndarray | None = None,
    ) -> Model:
        """Train on SMILES and targets.

        ``censor`` (optional, per row): 0 exact, +1 the true value is at least ``y``, -1 at most
        ``y`` (in the model's direction, e.g. pIC50). Models that cannot use bounds
        (``supports_censoring = False``) train on the bound itself.
        """
        from drugloop.chem.features import bit_vectors

        y = np.asarray(y, dtype=np.float64)
        if len(smiles) != len(y):
            raise ValueError(f"{len(smiles)} molecules but {len(y)} target values")
        if len(smiles) < 2:
            raise ValueError("need at least 2 training molecules")
        if not np.all(np.isfinite(y)):
            raise ValueError("target values must be finite")
        if censor is not None and self.supports_censoring:
            self._fit(list(smiles), y, censor=np.asarray(censor, dtype=np.int8))
        else:
            self._fit(list(smiles), y)
        self._train_fps = [fp for fp in bit_vectors(smiles) if fp is not None]
        self.card = ModelCard(
            model=self.name,
            params=self.params(),
            n_train=len(smiles),
            training_data_sha256=hash_training_data(smiles, y),
            versions=library_versions(),
        )
        return self

    def _predict_given_similarity(
        self, smiles: Sequence[str], similarity: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std; models whose uncertainty uses the similarity override this."""
        return self._predict_mean_std(smiles)

    def _similarity(self, smiles: Sequence[str]) -> np.ndarray:
        """Max Tanimoto (Morgan r=2 bits) of each molecule to the training set."""
        from drugloop.chem.features import bit_vectors, max_tanimoto

        return max_tanimoto(bit_vectors(smiles), self._train_fps or [])

    def predict(self, smiles: Sequence[str]) -> Prediction:
        if self._train_fps is None:
            raise NotFittedError(f"{self.name} model is not fitted")
        mean, std, similarity = self._predict_with_similarity(list(smiles))
        return Prediction(
            mean=mean, std=std, in_domain=similarity >= self.domain_threshold, similarity=similarity
        )

    def _predict_with_similarity(
        self, smiles: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, std and nearest-neighbour similarity; a model that computes the similarities
        anyway (a Tanimoto-kernel blend) overrides this to compute them once."""
        similarity = self._similarity(smiles)
        mean, std = self._predict_given_similarity(smiles, similarity)
        return mean, std, similarity

    def save(self, directory: str | Path) -> Path:
        return save_model(self, directory, self.card, self.name)

    @staticmethod
    def load(directory: str | Path) -> Model:
        """Load a saved model; a corrupted file or incompatible libraries give one clear error."""
        return load_model(directory, Model)


def save_model(obj: object, directory: str | Path, card: ModelCard | None, name: str) -> Path:
    """The model pickled (``model.joblib``) beside its human-readable ``model_card.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    joblib.dump(obj, directory / "model.joblib", compress=3)
    payload = card.__dict__ if card else {"model": name}
    jsonio.write_json(payload, directory / "model_card.json")
    return directory


def load_model(directory: str | Path, kind: type | tuple[type, ...]) -> Any:
    """Load what :func:`save_model` wrote, checking library versions and the object's type."""
    directory = Path(directory)
    path = directory / "model.joblib"
    if not path.exists():
        raise FileNotFoundError(f"{directory}: no saved drugloop model (model.joblib) found")
    _check_versions(directory)
    try:
        model = joblib.load(path)
    except Exception as exc:  # unpickling can fail in many ways; all mean "unusable file"
        raise ValueError(
            f"{path}: corrupted or incompatible model file ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(model, kind):
        raise TypeError(f"{path} does not hold a drugloop model")
    return model


def _check_versions(directory: Path) -> None:
    """Refuse models pickled by a different major/minor of the libraries that pickle them."""
    card_path = directory / "model_card.json"
    if not card_path.exists():
        return
    try:
        saved = json.loads(card_path.read_text()).get("versions", {})
    except (json.JSONDecodeError, AttributeError):
        raise ValueError(f"{card_path}: corrupted model card (not valid JSON)") from None
    current = library_versions()
    for lib in ("scikit-learn", "lightgbm", "catboost", "numpy"):
        old, new = saved.get(lib), current.get(lib)
        if old and new and old.split(".")[:2] != new.split(".")[:2]:
            raise ValueError(
                f"{directory}: model saved with {lib} {old}, but {new} is installed; "
                "retrain it (drugloop model train) or install the saved version"
            )


MODELS: Registry[Model] = Registry("model")


def create_model(name: str = "rf", **params: Any) -> Model:
    """Instantiate a registered model by name (``rf``, ``lgbm``, …)."""
    return MODELS.create(name, **params)


def library_versions() -> dict[str, str]:
    import lightgbm
    import rdkit
    import sklearn

    return {
        "python": platform.python_version(),
        "rdkit": rdkit.__version__,
        "scikit-learn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "catboost": _installed_version("catboost"),
        "numpy": np.__version__,
    }


def _installed_version(package: str) -> str:
    """Version from the package metadata, without importing it ("" when absent)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return ""


def hash_training_data(smiles: Sequence[str], y: np.ndarray) -> str:
    """SHA-256 of the (SMILES, target) rows; a row of several targets for multi-task data."""
    import hashlib

    digest = hashlib.sha256()
    for smi, value in zip(smiles, y, strict=True):
        text = ",".join(f"{v:.6g}" for v in value) if np.ndim(value) else f"{value:.6g}"
        digest.update(f"{smi}\t{text}\n".encode())
    return digest.hexdigest()
