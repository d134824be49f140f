"""The ``drugloop`` command line: thin commands over the library API."""

from __future__ import annotations

import typer

from drugloop.cli.admet import admet_app
from drugloop.cli.campaign import campaign_app
from drugloop.cli.data import register_data_commands
from drugloop.cli.demo import register_demo_command
from drugloop.cli.design import design_app
from drugloop.cli.model import model_app
from drugloop.cli.targets import targets_app

app = typer.Typer(
    name="drugloop",
    help="AI-driven small-molecule discovery: data, models, design and closed-loop campaigns.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(campaign_app, name="campaign")
app.add_typer(design_app, name="design")
app.add_typer(model_app, name="model")
app.add_typer(admet_app, name="admet")
app.add_typer(targets_app, name="targets")
register_data_commands(app)
register_demo_command(app)


@app.callback()
def _main() -> None:
    """drugloop — chemists in charge, AI as the tool."""
