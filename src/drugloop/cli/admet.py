"""``drugloop admet predict/columns/compile``: the shipped ADMET panel (35 endpoints), offline."""

from __future__ import annotations

from pathlib import Path

import typer

from drugloop.cli.console import console, plain, user_errors

admet_app = typer.Typer(help="ADMET predictions from the bundled panel.", no_args_is_help=True)


@admet_app.command("predict")
@user_errors
def predict(
    input: Path = typer.Argument(..., help="Molecules (CSV/TSV with a SMILES column)."),
    smiles_col: str = typer.Option("smiles", help="SMILES column."),
    out: Path = typer.Option(..., help="Output CSV (see `drugloop admet columns`)."),
    batch_size: int = typer.Option(2000, help="Molecules per batch."),
    jobs: int = typer.Option(0, help="Featurization worker processes (0: all available CPUs)."),
) -> None:
    """Predict all 22 ADMET endpoints; one output row per input row."""
    import pandas as pd

    from drugloop.cli.console import progress_bar
    from drugloop.models import compiled_trees
    from drugloop.models.admet import AdmetPanel
    from drugloop.models.workflow import _column, _read

    smiles = _column(_read(input), smiles_col, input, "SMILES").tolist()
    panel = AdmetPanel(n_jobs=jobs or None)
    parts = []
    with progress_bar() as bar:
        task = bar.add_task("ADMET panel", total=len(smiles))
        for start in range(0, len(smiles), batch_size):
            chunk = smiles[start : start + batch_size]
            parts.append(panel.predict(chunk))
            bar.advance(task, len(chunk))
    frame = pd.concat(parts, ignore_index=True) if parts else panel.predict([])
    frame.to_csv(out, index=False)
    n_err = int((frame["error"] != "").sum())
    console.print(f"{plain(out)}: {len(frame)} rows, {n_err} invalid SMILES")
    if panel.compiled is None and len(smiles) >= 5000 and compiled_trees.available():
        console.print("tip: `drugloop admet compile` (once, 2-3 min) makes this 1.2-1.3x faster")


@admet_app.command("compile")
@user_errors
def compile_trees() -> None:
    """Compile the panel's trees to native code (needs gcc; a few minutes, once per install).

    Predictions stay exactly the same (checked before the compiled trees are kept); predicting
    gets faster. Stored under $DRUGLOOP_CACHE_DIR (default ~/.cache/drugloop).
    """
    import time

    from drugloop.cli.console import progress_bar
    from drugloop.models.admet import AdmetPanel, compile_panel, n_boosters

    start = time.perf_counter()
    panel = AdmetPanel(compiled=False)
    with progress_bar() as bar:
        task = bar.add_task("compiling trees", total=n_boosters(panel))
        out = compile_panel(panel, on_done=lambda: bar.advance(task))
    elapsed = time.perf_counter() - start
    console.print(f"compiled {n_boosters(panel)} boosters in {elapsed:.0f} s: {plain(out)}")


@admet_app.command("columns")
@user_errors
def columns() -> None:
    """The output columns with units and a one-line meaning."""
    from rich.table import Table

    from drugloop.models.admet import columns_frame

    table = Table("column", "units", "meaning", title="drugloop admet predict columns")
    for row in columns_frame().itertuples():
        table.add_row(plain(row.column), plain(row.units), plain(row.meaning))
    console.print(table)
