"""``drugloop demo``: the whole loop on real data in a few minutes."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from drugloop.cli.console import console, plain, progress_bar, user_errors


def register_demo_command(app: typer.Typer) -> None:
    @app.command("demo")
    @user_errors
    def demo(
        out_dir: Path = typer.Option(Path("demo_output"), help="Where the demo writes its files."),
        budget: int = typer.Option(800, help="Molecules the generator may score."),
    ) -> None:
        """Simulated campaign on Enamine 10k + a de novo design round for PIM1 kinase."""
        from drugloop.demo import run_demo

        console.rule("[bold]drugloop demo")
        console.print(
            "1. Simulated campaign: MolPAL Enamine 10k docking library, look-up lab, "
            f"1% random start + five 1% batches ({_default_strategy()})"
        )
        console.print(
            "2. De novo design: PIM1 kinase Ki data from ChEMBL (MoleculeACE), "
            "graph GA under the multi-parameter objective\n"
        )
        with progress_bar() as bar:
            sim = bar.add_task("simulated campaign rounds", total=6)
            design = bar.add_task("designing PIM1 molecules", total=budget)

            def progress(stage: str, event: object) -> None:
                if stage == "simulation":
                    bar.advance(sim)
                else:
                    bar.update(design, completed=event.n_scored)

            result = run_demo(out_dir, budget=budget, progress=progress)
        console.print(_simulation_table(result))
        console.print("\nPIM1: " + plain(result.import_report))
        console.print(_design_table(result))
        files = Table(title="files written", show_header=False)
        for label, path in result.files.items():
            files.add_row(label, plain(path))
        console.print(files)
        console.print(f"Everything is in [bold]{plain(out_dir.resolve())}[/].")


def _default_strategy() -> str:
    from drugloop.campaign.simulate import SimulationConfig

    config = SimulationConfig()
    return f"{config.model} + {config.acquisition}"


def _simulation_table(result) -> Table:
    table = Table(
        title=f"Enamine 10k: fraction of the true top-1% ({result.guided.top_k} molecules) found"
    )
    for column in (
        "round",
        "tested",
        "% of library",
        f"drugloop ({_default_strategy()})",
        "random",
    ):
        table.add_column(column, justify="right")
    for g, r in zip(result.guided.rounds, result.random.rounds, strict=True):
        table.add_row(
            str(g.round),
            str(g.n_tested),
            f"{g.fraction_tested:.1%}",
            f"{g.fraction_top_found:.3f}",
            f"{r.fraction_top_found:.3f}",
        )
    return table


def _design_table(result) -> Table:
    orders = result.proposal.orders
    table = Table(
        title=f"PIM1 round {result.proposal.round}: {len(orders)} novel molecules "
        f"proposed from {result.proposal.n_candidates} generated"
    )
    for column in (
        "reg id",
        "SMILES",
        "pred. pKi ± unc.",
        "QED",
        "SA",
        "alerts ok",
        "nearest train sim.",
        "score",
    ):
        table.add_column(column, overflow="fold")
    for row in orders.itertuples(index=False):
        table.add_row(
            row.reg_id,
            row.smiles,
            f"{row.predicted_mean:.2f} ± {row.predicted_std:.2f}",
            f"{row.qed:.2f}",
            f"{row.sa_score:.2f}",
            "yes" if row.alerts_ok else "no",
            f"{row.nearest_similarity:.2f}",
            f"{row.acquisition_score:.3f}",
        )
    return table
