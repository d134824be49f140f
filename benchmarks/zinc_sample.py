"""The ZINC250k molecules the speed and profile benchmarks time (``shared/data/zinc250k``)."""

from __future__ import annotations

import gzip
from itertools import islice

from drugloop.paths import shared_data_dir


def zinc_smiles(n: int, skip: int = 0) -> list[str] | None:
    """SMILES of lines ``skip`` … ``skip + n - 1`` of ZINC250k; None without the shared data.

    ``skip`` keeps each benchmark on the molecules its committed figures were measured on.
    """
    shared = shared_data_dir()
    if shared is None:
        return None
    with gzip.open(shared / "zinc250k" / "zinc250k.smi.gz", "rt") as fh:
        return [line.split()[0] for line in islice(fh, skip, skip + n)]
