"""Multi-parameter objectives: components → desirability transforms → weighted aggregate."""

from drugloop.scoring.admet import AdmetEndpoint
from drugloop.scoring.components import (
    SCORING_COMPONENTS,
    ActivityComponent,
    AlertsComponent,
    ComponentOutput,
    MoleculeBatch,
    PredictionLike,
    Predictor,
    ScoringComponent,
    Substructure,
    TanimotoSimilarity,
    create_component,
)
from drugloop.scoring.config import (
    ComponentConfig,
    ScoringConfig,
    build_scoring_function,
    default_config,
    default_objective,
)
from drugloop.scoring.diversity import DiversityFilter
from drugloop.scoring.docking import Docking, dockstring_targets
from drugloop.scoring.errors import ScoringConfigError
from drugloop.scoring.external import ExternalProcess, ExternalProcessError
from drugloop.scoring.scorer import ScoreResult, ScoringFunction, WeightedComponent, aggregate
from drugloop.scoring.transforms import (
    TRANSFORMS,
    DoubleSigmoid,
    Identity,
    ReverseSigmoid,
    Sigmoid,
    Step,
    Transform,
    ValueMapping,
    parse_transform,
)

__all__ = [
    "AdmetEndpoint",
    "SCORING_COMPONENTS",
    "TRANSFORMS",
    "ActivityComponent",
    "AlertsComponent",
    "ComponentConfig",
    "ComponentOutput",
    "DiversityFilter",
    "Docking",
    "DoubleSigmoid",
    "ExternalProcess",
    "ExternalProcessError",
    "Identity",
    "MoleculeBatch",
    "PredictionLike",
    "Predictor",
    "ReverseSigmoid",
    "ScoreResult",
    "ScoringComponent",
    "ScoringConfig",
    "ScoringConfigError",
    "ScoringFunction",
    "Sigmoid",
    "Step",
    "Substructure",
    "TanimotoSimilarity",
    "Transform",
    "ValueMapping",
    "WeightedComponent",
    "aggregate",
    "build_scoring_function",
    "create_component",
    "default_config",
    "default_objective",
    "dockstring_targets",
    "parse_transform",
]
