"""``drugloop model train/predict/evaluate``: predictive models from CSV files."""

from __future__ import annotations

from pathlib import Path

import typer

from drugloop.cli.console import console, plain, user_errors

model_app = typer.Typer(help="Train, apply and evaluate predictive models.", no_args_is_help=True)


@model_app.command("train")
@user_errors
def train(
    data: Path = typer.Argument(..., help="Training table (CSV/TSV, optionally .gz)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    target_col: str = typer.Option(..., help="Target column; '>10' / '<5' are censored bounds."),
    task: str = typer.Option("auto", help="regression | classification | auto (0/1 → class.)."),
    out: Path = typer.Option(..., help="Directory to save the model in."),
    model: str = typer.Option("gbm", help="Model family: gbm (default), chemprop, rf, lgbm."),
    seed: int = typer.Option(0, help="Random seed."),
    project: str | None = typer.Option(
        None, help="Also register the model in this project store (its out-of-fold predictions)."
    ),
) -> None:
    """Train a model (with uncertainty and applicability domain) and save it."""
    from drugloop.models.workflow import train_from_table

    if task not in ("auto", "regression", "classification"):
        raise ValueError(f"--task must be regression, classification or auto, not {task!r}")
    with console.status(f"training {model} on {plain(data)}"):
        fitted, table = train_from_table(data, smiles_col, target_col, task, model, seed=seed)
    fitted.save(out)
    n_cens = int((table.censor != 0).sum())
    console.print(
        f"{plain(data)}: trained {fitted.name} ({getattr(fitted, 'fitted_task', 'regression')}) "
        f"on {len(table.smiles)} molecules ({n_cens} censored), {len(table.skipped)} rows skipped"
    )
    for line in table.skipped[:10]:
        console.print(f"  skipped {plain(line)}")
    metrics = fitted.card.metrics if fitted.card else {}
    if metrics:
        console.print("cross-validated: " + ", ".join(f"{k}={v:.3f}" for k, v in metrics.items()))
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


@model_app.command("predict")
@user_errors
def predict(
    model_dir: Path = typer.Argument(..., help="Saved model directory."),
    input: Path = typer.Argument(..., help="Molecules to predict (CSV/TSV)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    out: Path = typer.Option(..., help="Output CSV: smiles, prediction, uncertainty, in_domain."),
) -> None:
    """Predict; every input row gets an output row (invalid SMILES: error, empty prediction)."""
    from drugloop.models.base import Model
    from drugloop.models.workflow import predict_table

    model = Model.load(model_dir)
    with console.status(f"predicting {plain(input)}"):
        frame = predict_table(model, input, smiles_col)
    frame.to_csv(out, index=False)
    n_err = int((frame["error"] != "").sum())
    n_out = int((frame["in_domain"] == False).sum())  # noqa: E712  (nullable boolean)
    console.print(
        f"{plain(out)}: {len(frame)} rows, {n_err} invalid, {n_out} outside the model's domain"
    )


@model_app.command("evaluate")
@user_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="Saved model directory."),
    test: Path = typer.Argument(..., help="Labelled test table (CSV/TSV)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    target_col: str = typer.Option(..., help="Target column."),
    out: Path | None = typer.Option(None, help="Metrics JSON (default: <test>.metrics.json)."),
) -> None:
    """Metrics on a labelled table, printed and written as JSON."""
    from rich.table import Table

    from drugloop.models.base import Model
    from drugloop.models.workflow import evaluate_table, write_json

    model = Model.load(model_dir)
    with console.status(f"evaluating on {plain(test)}"):
        metrics = evaluate_table(model, test, smiles_col, target_col)
    out = out or test.with_name(test.name.split(".")[0] + ".metrics.json")
    write_json(metrics, out)
    table = Table("metric", "value", title=f"{model.name} on {plain(test.name)}")
    for key, value in metrics.items():
        table.add_row(key, plain(value))
    console.print(table)
    console.print(f"metrics written to {plain(out)}")
