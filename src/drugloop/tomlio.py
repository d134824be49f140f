"""Reading TOML config files with errors that name the file (shared by every config model)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


def read_toml(path: str | Path, error: type[Exception] = ValueError) -> dict[str, Any]:
    """Parse ``path``; a missing file or bad TOML raises ``error`` with the path and reason."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {exc}") from None
