"""The shipped ADMET panel: 22 TDC ADMET endpoints, offline, with units and uncertainty.

Each endpoint is a LightGBM model of the ``gbm`` recipe (Morgan + Avalon counts, ErG, fast 2D
descriptors) trained on the TDC ADMET Benchmark Group ``train_val`` data (never the test sets),
stored as plain LightGBM model text plus its calibration (Platt scaling for classifiers,
split-conformal quantile for regressors) in ``data/admet/panel.json.gz``. Features are computed
once per molecule and shared by all 22 models; nearest-neighbour similarities come from one
Tanimoto pass against the union of the training sets.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from drugloop.models.features import FeatureSet


@dataclass(frozen=True)
class Endpoint:
    name: str  # TDC dataset name
    column: str  # output column
    task: str  # regression | classification
    units: str
    meaning: str


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("Caco2_Wang", "caco2", "regression", "log10(Papp / cm/s)",
             "Caco-2 cell permeability (intestinal absorption proxy); higher = more permeable"),
    Endpoint("HIA_Hou", "hia", "classification", "P(absorbed)",
             "probability of good human intestinal absorption"),
    Endpoint("Pgp_Broccatelli", "pgp_inhibitor", "classification", "P(inhibitor)",
             "probability of inhibiting P-glycoprotein efflux"),
    Endpoint("Bioavailability_Ma", "bioavailability", "classification", "P(F >= 20%)",
             "probability of oral bioavailability of at least 20%"),
    Endpoint("Lipophilicity_AstraZeneca", "logd74", "regression", "log D (pH 7.4)",
             "octanol/water distribution coefficient at pH 7.4"),
    Endpoint("Solubility_AqSolDB", "solubility", "regression", "log10(mol/L)",
             "aqueous solubility"),
    Endpoint("BBB_Martins", "bbb", "classification", "P(penetrant)",
             "probability of crossing the blood-brain barrier"),
    Endpoint("PPBR_AZ", "ppbr", "regression", "% bound",
             "human plasma protein binding rate"),
    Endpoint("VDss_Lombardo", "vdss", "regression", "L/kg",
             "volume of distribution at steady state (human)"),
    Endpoint("CYP2C9_Veith", "cyp2c9_inhibitor", "classification", "P(inhibitor)",
             "probability of inhibiting CYP2C9"),
    Endpoint("CYP2D6_Veith", "cyp2d6_inhibitor", "classification", "P(inhibitor)",
             "probability of inhibiting CYP2D6"),
    Endpoint("CYP3A4_Veith", "cyp3a4_inhibitor", "classification", "P(inhibitor)",
             "probability of inhibiting CYP3A4"),
    Endpoint("CYP2C9_Substrate_CarbonMangels", "cyp2c9_substrate", "classification",
             "P(substrate)", "probability of being a CYP2C9 substrate"),
    Endpoint("CYP2D6_Substrate_CarbonMangels", "cyp2d6_substrate", "classification",
             "P(substrate)", "probability of being a CYP2D6 substrate"),
    Endpoint("CYP3A4_Substrate_CarbonMangels", "cyp3a4_substrate", "classification",
             "P(substrate)", "probability of being a CYP3A4 substrate"),
    Endpoint("Half_Life_Obach", "half_life", "regression", "h",
             "human elimination half-life"),
    Endpoint("Clearance_Hepatocyte_AZ", "clearance_hepatocyte", "regression",
             "uL/min/10^6 cells", "intrinsic clearance in human hepatocytes"),
    Endpoint("Clearance_Microsome_AZ", "clearance_microsome", "regression", "uL/min/mg",
             "intrinsic clearance in human liver microsomes"),
    Endpoint("LD50_Zhu", "ld50", "regression", "-log10(mol/kg)",
             "rat acute oral toxicity; higher = more toxic"),
    Endpoint("hERG", "herg", "classification", "P(blocker)",
             "probability of blocking the hERG channel (cardiotoxicity risk)"),
    Endpoint("AMES", "ames", "classification", "P(mutagenic)",
             "probability of a positive Ames mutagenicity test"),
    Endpoint("DILI", "dili", "classification", "P(DILI)",
             "probability of drug-induced liver injury"),
)
BY_NAME = {e.name: e for e in ENDPOINTS}
ALPHA = 0.1
FORMAT = 1


def panel_dir() -> Path:
    from drugloop.paths import data_dir

    return data_dir() / "admet"


def columns_frame() -> pd.DataFrame:
    """Output columns of ``drugloop admet predict`` with units and meaning."""
    rows = [
        {"column": "smiles", "units": "", "meaning": "input SMILES, verbatim"},
        {"column": "error", "units": "", "meaning": "why a row has no predictions (else empty)"},
        {"column": "nearest_train_similarity", "units": "Tanimoto",
         "meaning": "max Morgan Tanimoto to any panel training molecule"},
        {"column": "in_domain", "units": "bool",
         "meaning": "nearest_train_similarity >= 0.35 (else treat predictions with caution)"},
    ]
    for e in ENDPOINTS:
        rows.append({"column": e.column, "units": e.units, "meaning": e.meaning})
        unc = (
            "half-width of the 90% conformal interval / 1.645 (σ-equivalent)"
            if e.task == "regression"
            else "Bernoulli std of the outcome, sqrt(p(1-p))"
        )
        rows.append({"column": f"{e.column}_uncertainty", "units": e.units, "meaning": unc})
    return pd.DataFrame(rows)


# -- building the panel from trained gbm models ------------------------------------------------
def export_panel(models: dict[str, object], train_smiles: dict[str, Sequence[str]],
                 out: Path | None = None) -> Path:
    """Write fitted ``GBMModel``s (one per endpoint) as a version-independent panel file."""
    out = out or panel_dir()
    out.mkdir(parents=True, exist_ok=True)
    union: dict[str, int] = {}
    payload: dict[str, object] = {"format": FORMAT, "features": None, "endpoints": {}}
    for name, model in models.items():
        idx = [union.setdefault(s, len(union)) for s in train_smiles[name]]
        payload["features"] = list(model.feature_set.blocks)
        payload["endpoints"][name] = {
            "task": model.fitted_task,
            "boosters": [m.booster_.model_to_string() for m in model.members],
            "iterations": [_iterations(m) for m in model.members],
            "platt": list(model.platt),
            "conformal_q": model.conformal_q,
            "log_scale": model.log_scale,
            "train_index": idx,
        }
    with gzip.open(out / "panel.json.gz", "wt") as fh:
        json.dump(payload, fh)
    with gzip.open(out / "train_smiles.smi.gz", "wt") as fh:
        fh.write("\n".join(union) + "\n")
    return out


def _iterations(est: object) -> int:
    from drugloop.models.gbm import MIN_ROUNDS

    return max(est.best_iteration_ or 0, min(MIN_ROUNDS, est.booster_.current_iteration()))


# -- prediction -----------------------------------------------------------------------------------
class AdmetPanel:
    """All 22 endpoints; ``predict(smiles)`` returns one row per input, never dropping one."""

    def __init__(self, directory: Path | None = None) -> None:
        import lightgbm as lgb

        directory = directory or panel_dir()
        path = directory / "panel.json.gz"
        if not path.exists():
            raise FileNotFoundError(f"{path}: ADMET panel not found (reinstall drugloop)")
        try:
            with gzip.open(path, "rt") as fh:
                payload = json.load(fh)
        except (OSError, json.JSONDecodeError, EOFError) as exc:
            raise ValueError(f"{path}: corrupted ADMET panel ({exc})") from None
        if payload.get("format") != FORMAT:
            raise ValueError(f"{path}: panel format {payload.get('format')}, expected {FORMAT}")
        self.feature_set = FeatureSet(tuple(payload["features"]))
        self.specs = payload["endpoints"]
        self.boosters = {
            name: [lgb.Booster(model_str=s) for s in spec["boosters"]]
            for name, spec in self.specs.items()
        }
        with gzip.open(directory / "train_smiles.smi.gz", "rt") as fh:
            train = [line.strip() for line in fh if line.strip()]
        from rdkit import DataStructs

        from drugloop.chem.features import bit_vectors

        empty = DataStructs.ExplicitBitVect(2048)  # keeps positions for unparseable entries
        self.train_fps = [fp if fp is not None else empty for fp in bit_vectors(train)]
        self.index = {name: np.asarray(spec["train_index"]) for name, spec in self.specs.items()}

    @property
    def endpoints(self) -> list[Endpoint]:
        return [e for e in ENDPOINTS if e.name in self.specs]

    def _ref_matrix(self):
        """Training fingerprints as a sparse bit matrix (built once, on first use)."""
        if getattr(self, "_refs", None) is None:
            from scipy import sparse

            rows = [list(fp.GetOnBits()) for fp in self.train_fps]
            indptr = np.cumsum([0] + [len(r) for r in rows])
            indices = np.fromiter((b for r in rows for b in r), dtype=np.int32, count=indptr[-1])
            data = np.ones(len(indices), dtype=np.float32)
            refs = sparse.csr_matrix((data, indices, indptr), shape=(len(rows), 2048))
            self._refs = (refs.T.tocsr(), np.diff(indptr).astype(np.float32))
        return self._refs

    def _similarities(self, smiles: Sequence[str], batch: int = 256) -> np.ndarray:
        """(n_query, n_endpoints) nearest-neighbour Tanimoto to each endpoint's training set.

        Exact Tanimoto as a sparse product (shared bits / (|a| + |b| - shared)): one pass over
        the union of training sets, ~10x faster than per-query BulkTanimotoSimilarity.
        """
        from scipy import sparse

        from drugloop.chem.features import bit_vectors

        names = [e.name for e in self.endpoints]
        out = np.zeros((len(smiles), len(names)))
        refs_t, ref_counts = self._ref_matrix()
        fps = bit_vectors(smiles)
        for start in range(0, len(fps), batch):
            chunk = fps[start : start + batch]
            rows = [list(fp.GetOnBits()) if fp is not None else [] for fp in chunk]
            indptr = np.cumsum([0] + [len(r) for r in rows])
            indices = np.fromiter((b for r in rows for b in r), dtype=np.int32, count=indptr[-1])
            q = sparse.csr_matrix(
                (np.ones(len(indices), dtype=np.float32), indices, indptr),
                shape=(len(rows), 2048),
            )
            shared = (q @ refs_t).toarray()
            union = np.diff(indptr)[:, None].astype(np.float32) + ref_counts[None, :] - shared
            sim = np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
            for j, name in enumerate(names):
                out[start : start + len(chunk), j] = sim[:, self.index[name]].max(axis=1)
        return out

    def predict(self, smiles: Sequence[str], domain_threshold: float = 0.35) -> pd.DataFrame:
        smiles = list(smiles)
        X, valid = self.feature_set.transform(smiles)
        out = pd.DataFrame({"smiles": smiles})
        out["error"] = ["" if v else f"invalid SMILES {s!r}" for s, v in zip(smiles, valid,
                                                                          strict=True)]
        sims = self._similarities(smiles)
        out["nearest_train_similarity"] = np.where(valid, sims.max(axis=1), np.nan)
        in_domain = pd.array(sims.max(axis=1) >= domain_threshold, dtype="boolean")
        in_domain[~valid] = pd.NA
        out["in_domain"] = in_domain
        z = norm.ppf(1 - ALPHA / 2)
        for j, e in enumerate(self.endpoints):
            spec = self.specs[e.name]
            preds = np.stack([
                b.predict(X, num_iteration=it)
                for b, it in zip(self.boosters[e.name], spec["iterations"], strict=True)
            ])
            if spec["task"] == "classification":
                a, b0 = spec["platt"]
                p = np.clip(preds, 1e-6, 1 - 1e-6)
                probs = 1 / (1 + np.exp(-(a * np.log(p / (1 - p)) + b0)))
                mean = probs.mean(axis=0)
                unc = np.sqrt(mean * (1 - mean))
            else:
                t = preds.mean(axis=0)
                half = spec["conformal_q"] * ((1 - sims[:, j]) + 0.1)
                scale = spec["log_scale"]
                if scale is None:
                    mean, unc = t, half / z
                else:
                    mean = np.expm1(t) * scale
                    unc = (np.expm1(t + half) - np.expm1(t - half)) * scale / (2 * z)
            out[e.column] = np.where(valid, mean, np.nan)
            out[f"{e.column}_uncertainty"] = np.where(valid, unc, np.nan)
        return out
