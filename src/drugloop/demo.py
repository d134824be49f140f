"""The end-to-end demo: a simulated campaign and a real de novo design round, on real data.

1. MolPAL's Enamine 10k docking library: 1% random start, then five model-guided 1% batches,
   against a look-up lab; shows how much of the true top-1% each round has found, beside
   random selection.
2. PIM1 kinase (ChEMBL, MoleculeACE CHEMBL2147 Ki): ingest the measurements into a project
   store, start a campaign whose candidates come from the graph GA, and propose novel
   molecules scored on predicted pKi, QED, SA score and structural alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from drugloop.campaign.campaign import Campaign, Proposal
from drugloop.campaign.config import CampaignConfig, GeneratorSettings
from drugloop.campaign.simulate import (
    SimulationConfig,
    SimulationResult,
    read_oracle,
    read_smiles_column,
    simulate_campaign,
)
from drugloop.data.store import ImportReport, ProjectStore
from drugloop.paths import data_dir

PIM1_FILE = "CHEMBL2147_Ki.csv.gz"


@dataclass
class DemoResult:
    guided: SimulationResult
    random: SimulationResult
    import_report: ImportReport
    proposal: Proposal
    designs: pd.DataFrame
    files: dict[str, Path]


def run_simulation_part(
    out_dir: Path, seed: int = 0, progress: Callable | None = None
) -> tuple[SimulationResult, SimulationResult]:
    pool = read_smiles_column(data_dir() / "molpal" / "Enamine10k.csv.gz")
    oracle = read_oracle(data_dir() / "molpal" / "Enamine10k_scores.csv.gz")
    guided = simulate_campaign(pool, oracle, SimulationConfig(minimize=True, seed=seed), progress)
    baseline = simulate_campaign(
        pool, oracle, SimulationConfig(minimize=True, seed=seed, acquisition="random")
    )
    guided.write_json(out_dir / "enamine10k_simulation.json")
    baseline.write_json(out_dir / "enamine10k_random.json")
    return guided, baseline


def pim1_assay_file(out_dir: Path) -> Path:
    """The MoleculeACE PIM1 training split as an assay table (Ki in nM, as measured)."""
    source = pd.read_csv(data_dir() / "moleculeace" / PIM1_FILE)
    train = source[source["split"] == "train"]
    table = pd.DataFrame(
        {
            "smiles": train["smiles"],
            "value": train["exp_mean [nM]"],
            "unit": "nM",
            "assay": "PIM1_Ki",
        }
    )
    path = out_dir / "pim1_ki_chembl.csv"
    table.to_csv(path, index=False)
    return path


def run_design_part(
    out_dir: Path,
    budget: int = 800,
    batch_size: int = 10,
    seed: int = 0,
    progress: Callable | None = None,
) -> tuple[ImportReport, Proposal, pd.DataFrame]:
    store_path = out_dir / "pim1_project.db"
    store_path.unlink(missing_ok=True)  # the demo starts a fresh project each run
    with ProjectStore(store_path) as store:
        report = store.import_assay_file(pim1_assay_file(out_dir), assay_col="assay")
        config = CampaignConfig(
            assay_id="PIM1_Ki",
            batch_size=batch_size,
            seed=seed,
            generator=GeneratorSettings(name="graph_ga", budget=budget, n_candidates=200),
        )
        campaign = Campaign.create(store, "pim1-denovo", config)
        proposal = campaign.propose(out_dir, progress=progress)
        designs = store.designs_frame("pim1-denovo")
    return report, proposal, designs


def run_demo(
    out_dir: str | Path = "demo_output",
    budget: int = 800,
    progress: Callable[[str, object], None] | None = None,
) -> DemoResult:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    guided, baseline = run_simulation_part(
        out_dir, progress=(lambda r: progress("simulation", r)) if progress else None
    )
    report, proposal, designs = run_design_part(
        out_dir, budget=budget, progress=(lambda p: progress("design", p)) if progress else None
    )
    designs_path = out_dir / "pim1_designs.csv"
    designs.to_csv(designs_path, index=False)
    files = {
        "simulation (JSON)": out_dir / "enamine10k_simulation.json",
        "random baseline (JSON)": out_dir / "enamine10k_random.json",
        "project store (SQLite)": out_dir / "pim1_project.db",
        "order (CSV)": proposal.csv_path,
        "order (SDF)": proposal.sdf_path,
        "all designed molecules": designs_path,
    }
    return DemoResult(guided, baseline, report, proposal, designs, files)
