"""``drugloop ingest``: assay files into the project store."""

from __future__ import annotations

import typer


def register_data_commands(app: typer.Typer) -> None:
    pass
