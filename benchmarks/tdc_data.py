"""TDC ADMET Benchmark Group data (``shared/data/tdc_admet_group``): loading, metrics, splits."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem
from rdkit.Chem.Scaffolds import MurckoScaffold

from drugloop.paths import shared_data_dir

# endpoint -> (task, official TDC metric). TDC: MAE for Caco2, AqSol, Lipo, PPBR, LD50;
# Spearman for VDss, Half_Life and both Clearances; AUPRC for the five CYP*_Veith inhibition
# sets and the CYP2C9/CYP2D6 substrate sets; AUROC for everything else (incl. CYP3A4 substrate).
ENDPOINTS: dict[str, tuple[str, str]] = {
    "Caco2_Wang": ("regression", "mae"),
    "HIA_Hou": ("classification", "auroc"),
    "Pgp_Broccatelli": ("classification", "auroc"),
    "Bioavailability_Ma": ("classification", "auroc"),
    "Lipophilicity_AstraZeneca": ("regression", "mae"),
    "Solubility_AqSolDB": ("regression", "mae"),
    "BBB_Martins": ("classification", "auroc"),
    "PPBR_AZ": ("regression", "mae"),
    "VDss_Lombardo": ("regression", "spearman"),
    "CYP2C9_Veith": ("classification", "auprc"),
    "CYP2D6_Veith": ("classification", "auprc"),
    "CYP3A4_Veith": ("classification", "auprc"),
    "CYP2C9_Substrate_CarbonMangels": ("classification", "auprc"),
    "CYP2D6_Substrate_CarbonMangels": ("classification", "auprc"),
    "CYP3A4_Substrate_CarbonMangels": ("classification", "auroc"),
    "Half_Life_Obach": ("regression", "spearman"),
    "Clearance_Hepatocyte_AZ": ("regression", "spearman"),
    "Clearance_Microsome_AZ": ("regression", "spearman"),
    "LD50_Zhu": ("regression", "mae"),
    "hERG": ("classification", "auroc"),
    "AMES": ("classification", "auroc"),
    "DILI": ("classification", "auroc"),
}
LOWER_IS_BETTER = {"mae"}


def tdc_dir() -> Path | None:
    shared = shared_data_dir()
    return shared / "tdc_admet_group" if shared else None


def load_endpoint(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train_val, test) with columns Drug, Y; the CYP substrate files drop the source suffix."""
    folder = tdc_dir() / name
    prefix = name.replace("_Substrate_CarbonMangels", "") if "Substrate" in name else name
    parts = {
        s: pd.read_csv(folder / f"{prefix}_{s}.csv.gz")[["Drug", "Y"]]
        for s in ("train", "valid", "test")
    }
    train_val = pd.concat([parts["train"], parts["valid"]], ignore_index=True)
    return train_val, parts["test"]


def metric(name: str, y: np.ndarray, pred: np.ndarray) -> float:
    from scipy.stats import spearmanr
    from sklearn.metrics import average_precision_score, mean_absolute_error, roc_auc_score

    if name == "mae":
        return float(mean_absolute_error(y, pred))
    if name == "spearman":
        return float(spearmanr(y, pred).statistic)
    if name == "auroc":
        return float(roc_auc_score(y, pred))
    return float(average_precision_score(y, pred))


def scaffold_split(smiles: list[str], seed: int, frac_valid: float = 0.125) -> np.ndarray:
    """TDC-style seeded scaffold split of train_val; returns a boolean 'is validation' mask.

    Bemis–Murcko scaffold groups in a seeded random order fill the validation share (TDC's
    ADMET group re-splits train_val 87.5/12.5 by scaffold with seeds 1–5).
    """
    groups: dict[str, list[int]] = defaultdict(list)
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        scaf = MurckoScaffold.MurckoScaffoldSmiles(mol=mol) if mol is not None else smi
        groups[scaf].append(i)
    sets = list(groups.values())
    random.Random(seed).shuffle(sets)
    valid = np.zeros(len(smiles), dtype=bool)
    target = frac_valid * len(smiles)
    for members in sets:
        if valid.sum() + len(members) <= target or valid.sum() == 0:
            valid[members] = True
        if valid.sum() >= target:
            break
    return valid


def run_cached(
    out: Path,
    names: Sequence[str],
    seeds: Sequence[int],
    run: Callable[[str, int], dict],
    describe: Callable[[dict], str] = json.dumps,
) -> None:
    """Run each (name, seed) not yet cached as ``out/<name>_seed<seed>.json``.

    Seeds outermost: every name's first seed comes first, so a partial run covers them all.
    """
    out.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for name in names:
            path = out / f"{name}_seed{seed}.json"
            if path.exists():
                continue
            result = run(name, seed)
            path.write_text(json.dumps(result, indent=2))
            print(describe(result), flush=True)


def describe_valid(result: dict) -> str:
    """One progress line per (endpoint, seed): its validation scores."""
    scores = {k: round(v, 3) for k, v in result.items() if k.startswith("valid")}
    return f"{result['endpoint']} {result['seed']} {scores}"


def endpoint_main(
    doc: str,
    out: Path,
    run: Callable[[str, int], dict],
    merge: Callable[[], None],
    seeds: Sequence[int] = (1, 2, 3, 4, 5),
) -> None:
    """The command line of a per-endpoint comparison: run (endpoint, seed) parts, or merge."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--endpoints", nargs="*", default=list(ENDPOINTS))
    parser.add_argument("--seeds", nargs="*", type=int, default=list(seeds))
    parser.add_argument("--merge", action="store_true")
    args = parser.parse_args()
    if args.merge:
        merge()
    else:
        run_cached(out, args.endpoints, args.seeds, run, describe_valid)


def write_summary(
    name: str, title: str, command: str, summary: dict, rows: list[dict]
) -> list[str]:
    """Write ``results/<name>.json`` and return the markdown report's opening lines."""
    results = Path(__file__).resolve().parent / "results"
    (results / f"{name}.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))
    return [f"# {title}", "", f"Command: `{command}`", "", f"Summary: {json.dumps(summary)}"]


def endpoint_runs(out: Path) -> Iterator[tuple[str, str, list[dict]]]:
    """(endpoint, metric, its cached runs) for every endpoint with at least one run in ``out``."""
    for name, (_, metric_name) in ENDPOINTS.items():
        runs = [json.loads(p.read_text()) for p in sorted(out.glob(f"{name}_seed*.json"))]
        if runs:
            yield name, metric_name, runs
