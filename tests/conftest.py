from __future__ import annotations

from pathlib import Path

import pytest

from drugloop.paths import data_dir, shared_data_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def bundled_data() -> Path:
    return data_dir()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` when present; tests needing it skip cleanly otherwise."""
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data not present")
    return path


@pytest.fixture(scope="session")
def enamine_pool(bundled_data: Path) -> Path:
    return bundled_data / "molpal" / "Enamine10k.csv.gz"


@pytest.fixture(scope="session")
def enamine_scores(bundled_data: Path) -> Path:
    return bundled_data / "molpal" / "Enamine10k_scores.csv.gz"
