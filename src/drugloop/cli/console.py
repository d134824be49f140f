"""Shared Rich console, progress bars and user-error handling for the CLI."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console(width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(func: F) -> F:
    """Turn the errors a user can cause (bad files, names, values) into one clear line + exit 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from drugloop.chem.io import InputFileError
        from drugloop.registry import UnknownPluginError

        try:
            return func(*args, **kwargs)
        except (InputFileError, UnknownPluginError, FileNotFoundError, ValueError, KeyError) as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(code=2) from None
        except RuntimeError as exc:
            from drugloop.scoring.external import ExternalProcessError

            if not isinstance(exc, ExternalProcessError):
                raise
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}")  # the user's oracle
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def plain(value: object) -> str:
    """Data shown as-is: SMILES such as ``c[nH]c`` must not be read as Rich markup."""
    return escape(f"{value:.3f}" if isinstance(value, float) else str(value))


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
