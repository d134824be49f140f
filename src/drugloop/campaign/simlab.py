"""A simulated lab that behaves like a CRO: reads order files, returns results files late.

Truth is a look-up table (SMILES → value in the lab's unit). Each ordered compound may fail
synthesis (``failure_rate``), is measured with log-normal noise (``noise_log10`` in log10 units,
as assay replicates scatter), and only ``return_fraction`` of a shipment comes back per
:meth:`SimulatedLab.deliver`; the rest arrives with a later delivery. Compounds absent from the
truth table fail, as a compound nobody could make. Deterministic given the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.chem.io import InputFileError, read_table
from drugloop.chem.molecule import try_canonical


@dataclass
class SimulatedLab:
    truth: dict[str, float]  # canonical SMILES → value (in ``unit``)
    unit: str = "nM"
    noise_log10: float = 0.1
    failure_rate: float = 0.05
    return_fraction: float = 1.0
    seed: int = 0
    pending: list[tuple[str, str]] = field(default_factory=list)  # (reg_id, smiles)
    _rng: np.random.Generator | None = None

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self.truth = {try_canonical(k) or k: v for k, v in self.truth.items()}

    def receive(self, order_csv: str | Path) -> int:
        """Accept an order file (reg_id, smiles columns); returns how many compounds it holds."""
        frame = read_table(order_csv)
        missing = {"reg_id", "smiles"} - set(frame.columns)
        if missing:
            raise InputFileError(f"{order_csv}: order lacks columns {sorted(missing)}")
        self.pending += list(zip(frame["reg_id"], frame["smiles"], strict=True))
        return len(frame)

    def deliver(self, out_csv: str | Path, everything: bool = False) -> Path:
        """Write a results file for part (or all) of the pending compounds."""
        n = len(self.pending)
        if not everything:
            n = int(np.ceil(self.return_fraction * n))
        shipped, self.pending = self.pending[:n], self.pending[n:]
        rows = []
        for reg_id, smiles in shipped:
            value = self.truth.get(try_canonical(smiles) or smiles)
            if value is None or self._rng.random() < self.failure_rate:
                rows.append({"reg_id": reg_id, "value": "", "unit": self.unit, "status": "failed"})
                continue
            noisy = value * 10 ** (self.noise_log10 * self._rng.standard_normal())
            rows.append(
                {"reg_id": reg_id, "value": f"{noisy:.4g}", "unit": self.unit, "status": "ok"}
            )
        out_csv = Path(out_csv)
        out_csv.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows, columns=["reg_id", "value", "unit", "status"]).to_csv(
            out_csv, index=False
        )
        return out_csv
