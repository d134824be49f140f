"""``drugloop design``: run a design from TOML, fine-tune the language model on actives."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from drugloop.cli.console import console, plain, progress_bar, user_errors

design_app = typer.Typer(help="Generative design: runs, language-model fine-tuning.")


@design_app.command("run")
@user_errors
def run_command(
    config: Path = typer.Argument(..., help="design run TOML (see examples/)"),
    fresh: bool = typer.Option(False, help="ignore an existing checkpoint and start over"),
) -> None:
    """Run (or resume after a crash) the design described by CONFIG."""
    from drugloop.design.run import RunConfig, run_design

    run_config = RunConfig.from_toml(config)
    with progress_bar() as bar:
        task = bar.add_task(f"designing ({run_config.name})", total=run_config.budget)

        def report(p) -> None:
            bar.update(task, completed=p.n_scored)

        outputs = run_design(run_config, progress=report, fresh=fresh)
    result = outputs.result
    if outputs.resumed_from:
        console.print(f"resumed from a checkpoint of {outputs.resumed_from} scored molecules")
    console.print(
        f"{result.n_oracle_calls} molecules scored ({plain(result.stop_reason)}); "
        f"{result.n_withheld} withheld by the safety guard; outputs in {plain(outputs.directory)}"
    )
    columns = ("generator", "scored", "top_k_share", "validity", "uniqueness", "novelty")
    cards = Table(title="generator scorecards")
    for column in columns:
        cards.add_column(column)
    for row in outputs.scorecard:
        cards.add_row(*(plain(row.get(c, "")) for c in columns))
    console.print(cards)
    best = Table(title="best molecules")
    for column in ("smiles", "score", "generator"):
        best.add_column(column)
    for _, row in result.top(10).iterrows():
        best.add_row(plain(row["smiles"]), plain(float(row["score"])), plain(row["generator"]))
    console.print(best)


@design_app.command("finetune")
@user_errors
def finetune_command(
    actives: Path = typer.Argument(..., help="SMILES file or CSV with a 'smiles' column"),
    out: Path = typer.Option(..., "--out", help="where to write the fine-tuned weights (.pt)"),
    epochs: int = typer.Option(10, min=1),
    prior: Path | None = typer.Option(None, help="starting weights (default: shipped prior)"),
    seed: int = 0,
) -> None:
    """Transfer learning of the SMILES language model on a user's actives."""
    from drugloop.design.clm import DEFAULT_PRIOR, finetune
    from drugloop.design.run import read_smiles_file

    smiles = read_smiles_file(actives)
    with console.status(f"fine-tuning on {len(smiles)} molecules"):
        stats = finetune(smiles, out, prior or DEFAULT_PRIOR, epochs=epochs, seed=seed)
    console.print(
        f"fine-tuned on {stats['molecules']} molecules ({stats['skipped']} skipped): "
        f"NLL {stats['nll_before']:.1f} → {stats['nll_after']:.1f}; weights in {plain(out)}"
    )
