"""``drugloop demo``."""

from __future__ import annotations

import typer


def register_demo_command(app: typer.Typer) -> None:
    pass
