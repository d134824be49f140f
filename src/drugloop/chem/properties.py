"""Drug-likeness, synthesizability and structural alerts.

QED (Bickerton 2012), SA score (Ertl & Schuffenhauer 2009, RDKit Contrib) and FilterCatalog
alerts (PAINS, Brenk, NIH) — the alerts report *which* pattern matched, so a chemist can judge.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rdkit import Chem
from rdkit.Chem import QED, RDConfig
from rdkit.Chem import FilterCatalog as _fc
from rdkit.Chem.FilterCatalog import FilterCatalog, FilterCatalogParams


def qed(mol: Chem.Mol) -> float:
    return float(QED.qed(mol))


@lru_cache(maxsize=1)
def _sascorer():
    path = os.path.join(RDConfig.RDContribDir, "SA_Score")
    if path not in sys.path:
        sys.path.append(path)
    import sascorer  # type: ignore[import-not-found]

    return sascorer


def sa_score(mol: Chem.Mol) -> float:
    """Synthetic accessibility, 1 (easy) … 10 (hard)."""
    return float(_sascorer().calculateScore(mol))


@dataclass(frozen=True)
class Alert:
    catalog: str
    description: str

    def __str__(self) -> str:
        return f"{self.catalog}: {self.description}"


ALERT_CATALOGS = {
    "PAINS": FilterCatalogParams.FilterCatalogs.PAINS,
    "BRENK": FilterCatalogParams.FilterCatalogs.BRENK,
    "NIH": FilterCatalogParams.FilterCatalogs.NIH,
}


class StructuralAlerts:
    """Matches molecules against RDKit's PAINS/Brenk/NIH catalogs.

    PAINS alone is ~500 SMARTS (several ms a molecule), so batch matching runs RDKit's
    multithreaded ``RunFilterCatalog`` and remembers results by SMILES: generators and
    campaigns score the same molecules again and again.
    """

    def __init__(self, catalogs: tuple[str, ...] = ("PAINS", "BRENK", "NIH")) -> None:
        unknown = set(catalogs) - set(ALERT_CATALOGS)
        if unknown:
            raise ValueError(
                f"unknown alert catalogs {sorted(unknown)}; known: {sorted(ALERT_CATALOGS)}"
            )
        self._catalogs: dict[str, FilterCatalog] = {}
        for name in catalogs:
            params = FilterCatalogParams()
            params.AddCatalog(ALERT_CATALOGS[name])
            self._catalogs[name] = FilterCatalog(params)
        self._cache: dict[str, list[Alert]] = {}

    def match(self, mol: Chem.Mol) -> list[Alert]:
        alerts = []
        for name, catalog in self._catalogs.items():
            for entry in catalog.GetMatches(mol):
                alerts.append(Alert(name, entry.GetDescription()))
        return alerts

    def has_alert(self, mol: Chem.Mol) -> bool:
        return any(catalog.HasMatch(mol) for catalog in self._catalogs.values())

    def match_smiles(self, smiles: Sequence[str], n_threads: int = 2) -> list[list[Alert] | None]:
        """Alerts per SMILES (None for unparseable ones), multithreaded and cached."""
        todo = [s for s in dict.fromkeys(smiles) if s not in self._cache]
        if todo:
            valid = [s for s in todo if isinstance(s, str) and Chem.MolFromSmiles(s) is not None]
            found: dict[str, list[Alert]] = {s: [] for s in valid}
            for name, catalog in self._catalogs.items():
                results = _fc.RunFilterCatalog(catalog, valid, numThreads=n_threads)
                for smi, entries in zip(valid, results, strict=True):
                    found[smi].extend(Alert(name, e.GetDescription()) for e in entries)
            if len(self._cache) > 200_000:
                self._cache.clear()
            self._cache.update(found)
        return [self._cache.get(s) for s in smiles]


@lru_cache(maxsize=1)
def default_alerts() -> StructuralAlerts:
    return StructuralAlerts()
