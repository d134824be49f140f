"""Where drugloop finds its bundled data (``data/`` at the repository root)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """Bundled data: ``$DRUGLOOP_DATA_DIR`` if set, else the repository's ``data/`` folder."""
    override = os.environ.get("DRUGLOOP_DATA_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "data"


def shared_data_dir() -> Path | None:
    """The team's ``../shared/data`` beside the checkout (benchmarks/tests), if present."""
    candidate = Path(__file__).resolve().parents[3] / "shared" / "data"
    return candidate if candidate.is_dir() else None
