"""``drugloop campaign …``: simulate, init, propose, import, status."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from drugloop.cli.console import console, progress_bar, user_errors

campaign_app = typer.Typer(help="Design–make–test–analyze campaigns.", no_args_is_help=True)


@campaign_app.command("simulate")
@user_errors
def simulate(
    pool: Path = typer.Option(..., help="Candidate pool (CSV with a SMILES column)."),
    oracle: Path = typer.Option(..., help="Look-up 'lab': measured value per pool molecule."),
    smiles_col: str = typer.Option("smiles", help="SMILES column in both files."),
    score_col: str = typer.Option("score", help="Value column in the oracle file."),
    minimize: bool = typer.Option(False, help="Lower values are better (e.g. docking scores)."),
    init_frac: float = typer.Option(0.01, help="Initial random batch, fraction of the pool."),
    batch_frac: float = typer.Option(0.01, help="Each later batch, fraction of the pool."),
    rounds: int = typer.Option(5, help="Model-guided rounds after the initial batch."),
    seed: int = typer.Option(0),
    model: str = typer.Option("rf", help="Surrogate model (registered name)."),
    acquisition: str = typer.Option("greedy", help="Acquisition function (greedy, ucb)."),
    out: Path = typer.Option(Path("simulation.json"), help="Where to write the JSON result."),
) -> None:
    """Retrospective pool-based campaign against a look-up lab (MolPAL protocol)."""
    from drugloop.campaign.simulate import (
        SimulationConfig,
        read_oracle,
        read_smiles_column,
        simulate_campaign,
    )

    config = SimulationConfig(init_frac=init_frac, batch_frac=batch_frac, rounds=rounds, seed=seed,
                              minimize=minimize, model=model, acquisition=acquisition)
    pool_smiles = read_smiles_column(pool, smiles_col)
    values = read_oracle(oracle, smiles_col, score_col)
    with progress_bar() as bar:
        task = bar.add_task("campaign rounds", total=rounds + 1)
        result = simulate_campaign(pool_smiles, values, config, progress=lambda _: bar.advance(task))
    result.write_json(out)
    console.print(simulation_table(result))
    console.print(f"wrote {out}")


def simulation_table(result) -> Table:
    table = Table(title=f"top-{result.top_k} recovery (top {result.config['top_frac']:.0%})")
    for column in ("round", "tested", "% of pool", "failed", "top found", "fraction of top", "best"):
        table.add_column(column, justify="right")
    for r in result.rounds:
        best = f"{r.best_value:.2f}" if r.best_value is not None else "-"
        table.add_row(str(r.round), str(r.n_tested), f"{r.fraction_tested:.1%}", str(r.n_failed),
                      str(r.top_found), f"{r.fraction_top_found:.3f}", best)
    return table
