"""Table-level workflows behind ``drugloop model train/predict/evaluate``.

Rows are never shifted or dropped in predictions: an unparseable molecule keeps its row, with
an ``error`` and empty predictions. Training tables may hold censored values (``>10``, ``<0.5``)
which become bounds for models that support them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop import jsonio
from drugloop.chem.io import RecordError, read_table, write_rejects
from drugloop.chem.molecule import invalid_smiles_message
from drugloop.data.assays import (
    Qualifier,
    is_missing_value,
    parse_binary_label,
    parse_qualified_value,
)
from drugloop.models.base import Model, Prediction, create_model
from drugloop.models.chemprop_model import parses
from drugloop.models.cv_ensemble import CVEnsembleModel
from drugloop.models.multitask import MultiTaskChempropModel

_CENSOR_OF = {Qualifier.GT: 1, Qualifier.LT: -1}


def parse_target(text: object) -> tuple[float, int]:
    """'7.2' → (7.2, 0); '>10' → (10, +1) (true value at least 10); '<5' → (5, -1).

    The same reading as assay import (:func:`drugloop.data.assays.parse_qualified_value`), so
    ``>=``, ``<<``, ``~`` and ChEMBL's quoting mean the same everywhere.
    """
    if isinstance(text, int | float | np.number) and not isinstance(text, bool):
        return float(text), 0
    qualifier, value = parse_qualified_value(str(text))
    return value, _CENSOR_OF.get(qualifier, 0)


def _label_column(cells: list[str]) -> list[str]:
    """A column of outcome words (active/inactive, true/false, yes/no) as '1'/'0' cells.

    Only a column made entirely of such words is mapped: in a potency column "inactive" means
    "weaker than tested", not 0, so there it stays a word and its row is skipped by name.
    """
    present = [c for c in cells if not is_missing_value(c)]
    if not present or any(parse_binary_label(c) is None for c in present):
        return cells
    if all(c.strip() in ("0", "1", "0.0", "1.0") for c in present):
        return cells
    return ["" if is_missing_value(c) else str(parse_binary_label(c)) for c in cells]


def _read(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        # blank lines stay rows (an empty SMILES gets an error row), so outputs line up with
        # the input's lines; only blank lines after the last record are dropped
        frame = read_table(path, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read as a table ({exc})") from None
    filled = np.flatnonzero((frame != "").any(axis=1).to_numpy())
    return frame.iloc[: filled[-1] + 1 if len(filled) else 0]


def _column(frame: pd.DataFrame, name: str, path: str | Path, what: str) -> pd.Series:
    """The named column; else the one column equal to it ignoring case and outer spaces
    (spreadsheets write "SMILES " as readily as "smiles")."""
    if name in frame.columns:
        return frame[name]
    loose = [c for c in frame.columns if str(c).strip().lower() == name.strip().lower()]
    if len(loose) == 1:
        return frame[loose[0]]
    raise ValueError(f"{path}: no {what} column {name!r}; columns are: {', '.join(frame.columns)}")


@dataclass
class TrainingTable:
    smiles: list[str]
    y: np.ndarray
    censor: np.ndarray
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    rejects: list[RecordError] = field(default_factory=list)  # the same rows, for a report


def read_training_table(
    path: str | Path, smiles_col: str, target_col: str, min_rows: int = 10
) -> TrainingTable:
    """Valid rows for training; each skipped row is named by its file line and reason."""
    table = read_multitask_table(path, smiles_col, [target_col], min_rows)
    return TrainingTable(
        table.smiles, table.Y[:, 0], table.censor[:, 0], table.skipped, table.rejects
    )


@dataclass
class MultiTaskTable:
    smiles: list[str]
    Y: np.ndarray  # (molecules, tasks); NaN = not measured
    censor: np.ndarray  # same shape: +1 lower bound, -1 upper bound, 0 exact
    tasks: list[str]
    skipped: list[str] = field(default_factory=list)  # "line N: reason"
    rejects: list[RecordError] = field(default_factory=list)  # the same rows, for a report


def read_multitask_table(
    path: str | Path, smiles_col: str, target_cols: list[str], min_rows: int = 10
) -> MultiTaskTable:
    """Rows with at least one target; an empty cell means "not measured" for that endpoint.

    A row with an invalid SMILES or an unreadable value is skipped whole and named by its line,
    so a typo in one column never trains the others on a misread compound.
    """
    frame = _read(path)
    smiles_in = _column(frame, smiles_col, path, "SMILES")
    columns = [_column(frame, c, path, "target") for c in target_cols]
    smiles, rows, censors, skipped, rejects = [], [], [], [], []
    cells_by_column = [_label_column([str(v).strip() for v in col]) for col in columns]
    rows_of_cells = zip(*cells_by_column, strict=True)
    for i, (smi, cells) in enumerate(zip(smiles_in, rows_of_cells, strict=True)):
        try:
            values = _parse_row(smi, list(cells))
        except ValueError as exc:
            skipped.append(f"line {i + 2}: {exc}")  # header is line 1
            raw = " | ".join([str(smi), *(str(col.iloc[i]) for col in columns)])
            rejects.append(RecordError(str(path), i + 2, raw, str(exc)))
            continue
        smiles.append(smi)
        rows.append([v for v, _ in values])
        censors.append([c for _, c in values])
    if len(smiles) < min_rows:
        shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        why = f" (skipped {len(skipped)}: {shown})" if skipped else ""
        raise ValueError(f"{path}: only {len(smiles)} usable rows; need at least {min_rows}{why}")
    Y = np.asarray(rows, dtype=np.float64).reshape(len(smiles), len(target_cols))
    censor = np.asarray(censors, dtype=np.int8).reshape(Y.shape)
    return MultiTaskTable(smiles, Y, censor, list(target_cols), skipped, rejects)


def _parse_row(smi: str, cells: list[str]) -> list[tuple[float, int]]:
    """(value, censor) per target cell (NaN for an empty one); ValueError says what is wrong."""
    from rdkit import Chem

    if all(is_missing_value(cell) for cell in cells):
        raise ValueError("empty target")
    values = []
    for cell in cells:
        if is_missing_value(cell):
            values.append((np.nan, 0))
            continue
        try:
            value, c = parse_target(cell)
        except ValueError as exc:
            raise ValueError(f"target {exc}") from None
        if not np.isfinite(value):
            raise ValueError(f"target {cell!r} is not finite")
        values.append((value, c))
    if not smi or Chem.MolFromSmiles(smi) is None:
        raise ValueError(invalid_smiles_message(smi))
    return values


def train_multitask_from_table(
    path: str | Path, smiles_col: str, target_cols: list[str], task: str = "auto", **params: object
) -> tuple[MultiTaskChempropModel, MultiTaskTable]:
    """One multi-task D-MPNN over several target columns of one table."""
    table = read_multitask_table(path, smiles_col, target_cols)
    for j, name in enumerate(table.tasks):
        require_two_values(table.Y[:, j], path, name)
    model = MultiTaskChempropModel(task=task, **params)
    model.fit(table.smiles, table.Y, tasks=table.tasks, censor=table.censor)
    if model.card is not None:
        for j, name in enumerate(table.tasks):
            exact = np.isfinite(table.Y[:, j]) & (table.censor[:, j] == 0)
            y = model.model_scale(j, table.Y[exact, j])  # as single-task: on the fitted scale
            metrics = compute_metrics(model.fitted_task, y, model.oof[exact, j])
            model.card.metrics.update({f"cv_{name}_{k}": v for k, v in metrics.items()})
        model.card.params["source_file"] = Path(path).name
    return model, table


def require_two_values(y: np.ndarray, path: str | Path, column: str) -> None:
    """A target with one value (all 1s, every compound ">10 µM") has nothing to learn.

    Fitting it anyway gave a "classifier" of one class whose cross-validated accuracy was 0.
    """
    values = np.unique(y[np.isfinite(y)])
    if len(values) < 2:
        shown = f" ({values[0]:g})" if len(values) else ""
        raise ValueError(
            f"{path}: column {column!r} has one value{shown} in every usable row; "
            "a model needs at least two different values (both classes for a classifier)"
        )


def train_from_table(
    path: str | Path,
    smiles_col: str,
    target_col: str,
    task: str = "auto",
    model_name: str = "gbm",
    **params: object,
) -> tuple[Model, TrainingTable]:
    table = read_training_table(path, smiles_col, target_col)
    require_two_values(table.y, path, target_col)
    if model_name in ("gbm", "chemprop"):
        params.setdefault("task", task)
    elif task == "classification":
        raise ValueError(f"model {model_name!r} is regression-only; use gbm or chemprop")
    model = create_model(model_name, **params)
    model.fit(table.smiles, table.y, censor=table.censor if table.censor.any() else None)
    if model.card is not None:
        model.card.metrics.update(training_metrics(model, table))
        model.card.params["target_col"] = target_col
        model.card.params["source_file"] = Path(path).name
    return model, table


def training_metrics(model: Model, table: TrainingTable) -> dict[str, float]:
    """Out-of-fold (cross-validated) metrics where the model keeps OOF predictions."""
    oof = getattr(model, "oof", None)
    if oof is None or getattr(model, "fitted_task", "") == "":
        return {}
    task = model.fitted_task
    exact = table.censor == 0
    y = model._transform_y(table.y) if task == "regression" else table.y
    return {f"cv_{k}": v for k, v in compute_metrics(task, y[exact], oof[exact]).items()}


def predict_table(model: Model, path: str | Path, smiles_col: str) -> pd.DataFrame:
    """One output row per input row: smiles, prediction, uncertainty, in_domain (+ error).

    Regression CV ensembles add their conformal interval (``lower_90``, ``upper_90`` at the
    default level): on a log-scaled target it is asymmetric, which ``uncertainty`` cannot say.
    """
    from rdkit import Chem

    frame = _read(path)
    smiles = _column(frame, smiles_col, path, "SMILES").tolist()
    errors = [
        "" if smi and Chem.MolFromSmiles(smi) is not None else invalid_smiles_message(smi)
        for smi in smiles
    ]
    ok = [i for i, e in enumerate(errors) if not e]
    out = pd.DataFrame(
        {
            "smiles": smiles,
            "prediction": np.nan,
            "uncertainty": np.nan,
            "in_domain": pd.array([pd.NA] * len(smiles), dtype="boolean"),
            "nearest_similarity": np.nan,
            "error": errors,
        }
    )
    if ok:
        pred = model.predict([smiles[i] for i in ok])
        out.loc[ok, "prediction"] = pred.mean
        out.loc[ok, "uncertainty"] = pred.std
        out.loc[ok, "in_domain"] = pred.in_domain
        out.loc[ok, "nearest_similarity"] = pred.similarity
    if isinstance(model, CVEnsembleModel) and model.fitted_task == "regression":
        level = round(100 * (1 - model.alpha))  # columns even when no row parses
        lower, upper = np.full(len(smiles), np.nan), np.full(len(smiles), np.nan)
        if ok:
            lower[ok], upper[ok] = pred.lower, pred.upper
        out.insert(5, f"lower_{level}", lower)  # after the contract columns
        out.insert(6, f"upper_{level}", upper)
    return out


def predict_multitask_table(
    model: MultiTaskChempropModel, path: str | Path, smiles_col: str
) -> pd.DataFrame:
    """One output row per input row: smiles, error, then per endpoint its prediction columns."""
    frame = _read(path)
    smiles = _column(frame, smiles_col, path, "SMILES").tolist()
    out = model.predict_frame(smiles)
    valid = parses(smiles)
    errors = [invalid_smiles_message(smi) for smi in smiles]
    out.insert(1, "error", np.where(valid, "", errors))
    for name in model.tasks:
        domain = pd.array(out[f"{name}_in_domain"], dtype="boolean")
        domain[~valid] = pd.NA
        out[f"{name}_in_domain"] = domain
    return out


def evaluate_multitask_table(
    model: MultiTaskChempropModel,
    path: str | Path,
    smiles_col: str,
    target_cols: list[str],
    rejects_path: str | Path | None = None,
) -> dict[str, object]:
    """Per-endpoint metrics on the rows where that endpoint was measured exactly.

    Skipped rows go to ``rejects_path`` (when given and any were skipped).
    """
    unknown = [c for c in target_cols if c not in model.tasks]
    if unknown:
        raise ValueError(f"model has no endpoint {unknown[0]!r}; it has {', '.join(model.tasks)}")
    table = read_multitask_table(path, smiles_col, target_cols, min_rows=1)
    preds = model.predict(table.smiles)
    result: dict[str, object] = {"task": model.fitted_task, "file": str(path)}
    result["skipped_rows"] = len(table.skipped)
    result.update(_report_rejects(table.rejects, rejects_path))
    for j, name in enumerate(table.tasks):
        rows = np.isfinite(table.Y[:, j]) & (table.censor[:, j] == 0)
        p = preds[name]
        metrics = compute_metrics(model.fitted_task, table.Y[rows, j], p.mean[rows])
        metrics["fraction_in_domain"] = float(np.mean(p.in_domain[rows])) if rows.any() else 0.0
        if model.fitted_task == "regression" and rows.any():
            metrics.update(uncertainty_metrics(p, rows, table.Y[rows, j]))
        result[name] = metrics
    return result


def compute_metrics(task: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from scipy.stats import pearsonr, spearmanr
    from sklearn import metrics as skm

    if len(y) < 2:
        return {"n": float(len(y))}
    if task == "classification":
        label = pred >= 0.5
        out = {"n": float(len(y)), "accuracy": float(skm.accuracy_score(y, label))}
        out["brier"] = float(skm.brier_score_loss(y, pred))
        if len(np.unique(y)) == 2:
            out["auroc"] = float(skm.roc_auc_score(y, pred))
            out["auprc"] = float(skm.average_precision_score(y, pred))
            # at P = 0.5; for imbalanced screens (Tox21, hERG) accuracy alone flatters
            out["balanced_accuracy"] = float(skm.balanced_accuracy_score(y, label))
            out["f1"] = float(skm.f1_score(y, label, zero_division=0.0))
            out["mcc"] = float(skm.matthews_corrcoef(y, label))
        return out
    return {
        "n": float(len(y)),
        "rmse": float(np.sqrt(np.mean((y - pred) ** 2))),
        "mae": float(np.mean(np.abs(y - pred))),
        "r2": float(skm.r2_score(y, pred)),
        "pearson": float(pearsonr(y, pred).statistic),
        "spearman": float(spearmanr(y, pred).statistic),
    }


def evaluate_table(
    model: Model,
    path: str | Path,
    smiles_col: str,
    target_col: str,
    rejects_path: str | Path | None = None,
) -> dict[str, object]:
    """Metrics on a labelled table (exact values only; censored rows are counted, not scored).

    Skipped rows go to ``rejects_path`` (when given and any were skipped).
    """
    table = read_training_table(path, smiles_col, target_col, min_rows=1)
    task = getattr(model, "fitted_task", "") or "regression"
    if task == "classification" and not set(np.unique(table.y)) <= {0.0, 1.0}:
        other = next(v for v in table.y if v not in (0.0, 1.0))
        raise ValueError(
            f"{path}: the model is a classifier, but column {target_col!r} holds values other "
            f"than 0/1 (e.g. {other:g}); evaluate it on labels, or train a regression model"
        )
    pred = model.predict(table.smiles)
    exact = table.censor == 0
    result: dict[str, object] = {
        "task": task,
        "file": str(path),
        "skipped_rows": len(table.skipped),
        **_report_rejects(table.rejects, rejects_path),
        "censored_rows": int((~exact).sum()),
        **compute_metrics(task, table.y[exact], pred.mean[exact]),
        "fraction_in_domain": float(np.mean(pred.in_domain)),
    }
    if task == "regression":
        result.update(uncertainty_metrics(pred, exact, table.y[exact]))
    return result


def uncertainty_metrics(pred: Prediction, rows: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Coverage of the 90% interval and Spearman(uncertainty, |error|) on ``rows`` of ``pred``.

    The interval is the model's own where it has one (asymmetric on a log scale), else
    ``mean ± 1.645 σ``.
    """
    from scipy.stats import spearmanr

    mean, std = pred.mean[rows], pred.std[rows]
    if pred.lower is not None:
        inside = (y >= pred.lower[rows]) & (y <= pred.upper[rows])
    else:
        inside = np.abs(y - mean) <= 1.6449 * std
    spearman = spearmanr(std, np.abs(y - mean)).statistic if len(y) > 1 else np.nan
    return {"coverage_90": float(np.mean(inside)), "spearman_uncertainty_error": float(spearman)}


def write_rejects_report(rejects: list[RecordError], path: str | Path) -> Path | None:
    """The skipped rows (file line, raw cells, reason) at ``path``, so none leaves no trace.

    A report left there by an earlier run is removed first: it would name rows of other data.
    """
    Path(path).unlink(missing_ok=True)
    return write_rejects(rejects, path) if rejects else None


def _report_rejects(rejects: list[RecordError], path: str | Path | None) -> dict[str, str]:
    report = write_rejects_report(rejects, path) if path is not None else None
    return {"rejects_report": str(report)} if report else {}


def write_json(data: dict, path: str | Path) -> Path:
    """Metrics as strict JSON (an undefined metric is null, not NaN)."""
    return jsonio.write_json(data, path)
