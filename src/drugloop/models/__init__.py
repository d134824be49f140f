"""Predictive models: one fit/predict interface with uncertainty and applicability domain."""

import os

# OpenMP threads (LightGBM) spin while waiting by default; on a shared or oversubscribed
# machine that made training 10-20x slower. Passive waiting costs little on an idle one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from drugloop.models import chemprop_model as _chemprop  # noqa: F401  (registers chemprop)
from drugloop.models import ensembles as _ensembles  # noqa: F401  (registers rf, lgbm)
from drugloop.models import gbm as _gbm  # noqa: F401  (registers gbm)
from drugloop.models import gp as _gp  # noqa: F401  (registers gp, mlp, gp_rf)
from drugloop.models.base import MODELS, Model, ModelCard, NotFittedError, Prediction, create_model

__all__ = ["MODELS", "Model", "ModelCard", "NotFittedError", "Prediction", "create_model"]
