"""``drugloop model train/predict/evaluate``: predictive models from CSV files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from drugloop.cli.console import console, plain, user_errors

model_app = typer.Typer(help="Train, apply and evaluate predictive models.", no_args_is_help=True)


@model_app.command("train")
@user_errors
def train(
    data: Path = typer.Argument(..., help="Training table (CSV/TSV, optionally .gz)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    target_col: list[str] = typer.Option(
        ...,
        help="Target column; '>10' / '<5' are censored bounds. Repeat it for a multi-task "
        "model (one D-MPNN for endpoints measured on overlapping compounds).",
    ),
    task: str = typer.Option("auto", help="regression | classification | auto (0/1 → class.)."),
    out: Path = typer.Option(..., help="Directory to save the model in."),
    model: str | None = typer.Option(
        None, help="Model family: gbm (default), chemprop, rf, lgbm; several targets: chemprop."
    ),
    seed: int = typer.Option(0, help="Random seed."),
    project: str | None = typer.Option(
        None, help="Also register the model in this project store (its out-of-fold predictions)."
    ),
    booster: str | None = typer.Option(
        None, help="gbm only: lightgbm (default), catboost, or both (a pair per member)."
    ),
    features: str | None = typer.Option(
        None,
        help="gbm only: feature set — default, lean (the ADMET panel's: no chi/kappa "
        "indices, ~30% faster to featurize), rich, maplight or morgan.",
    ),
    kernel_blend: bool | None = typer.Option(
        None,
        "--kernel-blend/--no-kernel-blend",
        help="gbm regression only: blend the trees with a Tanimoto-kernel SVR where the "
        "out-of-fold rows say so (default: on, up to 10,000 molecules).",
    ),
) -> None:
    """Train a model (with uncertainty and applicability domain) and save it."""
    from drugloop.models.workflow import train_from_table

    if task not in ("auto", "regression", "classification"):
        raise ValueError(f"--task must be regression, classification or auto, not {task!r}")
    if len(target_col) > 1:
        _train_multitask(data, smiles_col, target_col, task, out, model, seed, project)
        return
    target_col, model = target_col[0], model or "gbm"
    gbm_options = {"booster": booster, "features": features, "kernel_blend": kernel_blend}
    extra = {name: value for name, value in gbm_options.items() if value is not None}
    for name in extra:
        if model != "gbm":
            option = name.replace("_", "-")
            raise ValueError(f"--{option} applies to the gbm model, not {model!r}")
    with console.status(f"training {model} on {plain(data)}"):
        fitted, table = train_from_table(
            data, smiles_col, target_col, task, model, seed=seed, **extra
        )
    fitted.save(out)
    n_cens = int((table.censor != 0).sum())
    console.print(
        f"{plain(data)}: trained {fitted.name} ({getattr(fitted, 'fitted_task', 'regression')}) "
        f"on {len(table.smiles)} molecules ({n_cens} censored), {len(table.skipped)} rows skipped"
    )
    _show_skipped(table.skipped, table.rejects, out)
    kernel = getattr(fitted, "kernel", None)
    if kernel is not None:
        console.print(
            f"trees blended with a Tanimoto-kernel SVR (weight {kernel.weight:g}, C {kernel.C:g}),"
            " chosen on out-of-fold rows"
        )
    metrics = fitted.card.metrics if fitted.card else {}
    if metrics:
        console.print("cross-validated: " + ", ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
    scale = getattr(fitted, "log_scale", None)
    if scale is not None:  # the metrics above are on the fitted scale, not in the file's units
        console.print(
            f"  (skewed target fitted as log1p(y / {scale:.4g}); cross-validated errors are on "
            "that natural-log scale, predictions are in the file's units)"
        )
    console.print(f"model saved to {plain(out)}")
    oof = getattr(fitted, "oof", None)
    if project and oof is not None and fitted.card is not None:
        from drugloop.data.store import ProjectStore

        # the store's predictions table is the registry: model name = directory, version =
        # training-data hash, one cross-validated prediction per training compound
        mean = fitted._inverse_y(oof) if fitted.fitted_task == "regression" else oof
        with ProjectStore(project) as store:
            n = store.add_predictions(
                f"model:{out.resolve()}", fitted.card.training_data_sha256[:12], table.smiles, mean
            )
        console.print(f"registered in {plain(project)} ({n} cross-validated predictions)")


def _train_multitask(
    data: Path,
    smiles_col: str,
    target_cols: list[str],
    task: str,
    out: Path,
    model: str | None,
    seed: int,
    project: str | None,
) -> None:
    from drugloop.models.workflow import train_multitask_from_table

    if model not in (None, "chemprop"):
        raise ValueError(
            f"several --target-col train one multi-task chemprop model; {model!r} trains one "
            "endpoint per model (run it once per column)"
        )
    with console.status(f"training a multi-task chemprop model on {plain(data)}"):
        fitted, table = train_multitask_from_table(data, smiles_col, target_cols, task, seed=seed)
    fitted.save(out)
    counts = np.isfinite(table.Y).sum(axis=0)
    labels = ", ".join(f"{t}: {int(n)}" for t, n in zip(table.tasks, counts, strict=True))
    console.print(
        f"{plain(data)}: trained {fitted.name} ({fitted.fitted_task}) on {len(table.smiles)} "
        f"molecules (labels {plain(labels)}), {len(table.skipped)} rows skipped"
    )
    _show_skipped(table.skipped, table.rejects, out)
    console.print(f"model saved to {plain(out)}")
    if project and fitted.card is not None:
        from drugloop.data.store import ProjectStore

        # one registry entry per endpoint: model:<dir>:<endpoint>, its OOF predictions
        version = fitted.card.training_data_sha256[:12]
        with ProjectStore(project) as store:
            n = sum(
                store.add_predictions(
                    f"model:{out.resolve()}:{name}",
                    version,
                    table.smiles,
                    fitted.from_model_scale(j, fitted.oof[:, j]),
                )
                for j, name in enumerate(fitted.tasks)
            )
        console.print(f"registered in {plain(project)} ({n} cross-validated predictions)")


REJECTS_FILE = "rejects.csv"


def _show_skipped(skipped: list[str], rejects: list, out: Path) -> None:
    """The first skipped rows on screen; all of them in ``OUT/rejects.csv``."""
    from drugloop.models.workflow import write_rejects_report

    for line in skipped[:10]:
        console.print(f"  skipped {plain(line)}")
    report = write_rejects_report(rejects, out / REJECTS_FILE)
    if report:
        console.print(f"  all skipped rows: {plain(report)}")


@model_app.command("predict")
@user_errors
def predict(
    model_dir: Path = typer.Argument(..., help="Saved model directory."),
    input: Path = typer.Argument(..., help="Molecules to predict (CSV/TSV)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    out: Path = typer.Option(..., help="Output CSV: smiles, prediction, uncertainty, in_domain."),
) -> None:
    """Predict; every input row gets an output row (invalid SMILES: error, empty prediction)."""
    from drugloop.models.multitask import MultiTaskChempropModel
    from drugloop.models.workflow import predict_multitask_table, predict_table

    model = _load(model_dir)
    with console.status(f"predicting {plain(input)}"):
        if isinstance(model, MultiTaskChempropModel):
            frame = predict_multitask_table(model, input, smiles_col)
        else:
            frame = predict_table(model, input, smiles_col)
    frame.to_csv(out, index=False)
    n_err = int((frame["error"] != "").sum())
    domain = frame.filter(regex=r"(^|_)in_domain$")
    n_out = int((domain == False).any(axis=1).sum())  # noqa: E712  (nullable boolean)
    console.print(
        f"{plain(out)}: {len(frame)} rows, {n_err} invalid, {n_out} outside the model's domain"
    )


@model_app.command("evaluate")
@user_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="Saved model directory."),
    test: Path = typer.Argument(..., help="Labelled test table (CSV/TSV)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    target_col: list[str] = typer.Option(..., help="Target column (repeat for multi-task)."),
    out: Path | None = typer.Option(None, help="Metrics JSON (default: <test>.metrics.json)."),
) -> None:
    """Metrics on a labelled table, printed and written as JSON."""
    from rich.table import Table

    from drugloop.models.multitask import MultiTaskChempropModel
    from drugloop.models.workflow import evaluate_multitask_table, evaluate_table, write_json

    model = _load(model_dir)
    out = out or test.with_name(test.name.split(".")[0] + ".metrics.json")
    rejects = out.with_name(out.name.split(".")[0] + ".rejects.csv")
    with console.status(f"evaluating on {plain(test)}"):
        if isinstance(model, MultiTaskChempropModel):
            metrics = evaluate_multitask_table(model, test, smiles_col, target_col, rejects)
        elif len(target_col) > 1:
            raise ValueError(f"{model_dir} predicts one endpoint; give one --target-col")
        else:
            metrics = evaluate_table(model, test, smiles_col, target_col[0], rejects)
    write_json(metrics, out)
    table = Table("metric", "value", title=f"{model.name} on {plain(test.name)}")
    for key, value in metrics.items():
        if isinstance(value, dict):  # one endpoint of a multi-task model
            for metric, v in value.items():
                table.add_row(f"{key}.{metric}", plain(v))
        else:
            table.add_row(key, plain(value))
    console.print(table)
    console.print(f"metrics written to {plain(out)}")


def _load(model_dir: Path):
    """A saved single-endpoint model or multi-task model, whichever the directory holds."""
    from drugloop.models.base import Model, load_model
    from drugloop.models.multitask import MultiTaskChempropModel

    return load_model(model_dir, (Model, MultiTaskChempropModel))
