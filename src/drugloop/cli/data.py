"""``drugloop ingest``: assay files into the project store."""

from __future__ import annotations

from pathlib import Path

import typer

from drugloop.cli.console import console, plain, user_errors

PROJECT_OPTION = typer.Option(
    "drugloop.db",
    "--project",
    "-p",
    envvar="DRUGLOOP_PROJECT",
    help="Project store: a SQLite file path or a database URL (postgresql+psycopg://…).",
)


def open_store(project: str):
    from drugloop.data.store import ProjectStore

    return ProjectStore(str(project))


def register_data_commands(app: typer.Typer) -> None:
    @app.command("ingest")
    @user_errors
    def ingest(
        path: Path = typer.Argument(..., help="Assay table (CSV/TSV, optionally .gz)."),
        project: str = PROJECT_OPTION,
        smiles_col: str | None = typer.Option(None, help="SMILES column (guessed if omitted)."),
        value_col: str = typer.Option("value", help="Measured value column (may hold '>10')."),
        unit_col: str = typer.Option("unit", help="Unit column (nM, uM, µM, M, pX…)."),
        default_unit: str | None = typer.Option(
            None, help="Unit when the file has no unit column."
        ),
        qualifier_col: str | None = typer.Option(None, help="Qualifier column (=, <, >, ~)."),
        assay_col: str | None = typer.Option(None, help="Assay/target id column."),
        assay: str = typer.Option("assay", help="Assay id when the file has no assay column."),
        replicate_col: str | None = typer.Option(None),
        date_col: str | None = typer.Option(None),
    ) -> None:
        """Import an assay table: actives, inactives and censored values, with provenance."""
        with open_store(project) as store:
            report = store.import_assay_file(
                path,
                smiles_col=smiles_col,
                value_col=value_col,
                unit_col=unit_col,
                default_unit=default_unit,
                qualifier_col=qualifier_col,
                assay_col=assay_col,
                default_assay=assay,
                replicate_col=replicate_col,
                date_col=date_col,
            )
        console.print(plain(report))
