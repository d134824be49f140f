"""Where the shipped ADMET panel's CPU goes, per stage, in one process.

On 2,000 ZINC250k molecules: CPU-ms per molecule of each feature block of the panel's set (and
of RDKit's full vs chi/kappa-free ``Properties`` list, which decided ``fast2d_lean``), the
nearest-neighbour search and the trees (LightGBM, and compiled when `drugloop admet compile` has
run), beside the whole in-process ``predict``. Speed against
ADMET-AI is ``benchmarks/admet_speed.py``; this says what to make cheaper next.

    .venv/bin/python benchmarks/panel_profile.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from rdkit import Chem
from threadpoolctl import threadpool_limits

from drugloop.models.admet import AdmetPanel, _featurize, _fp_generator
from drugloop.models.features import _PROPERTIES, _PROPERTIES_LEAN, BLOCKS

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zinc_sample import zinc_smiles  # noqa: E402

HERE = Path(__file__).resolve().parent


def cpu_ms(fn, n: int) -> float:
    """CPU-ms per molecule of ``fn()`` over ``n`` molecules."""
    start = time.process_time()
    fn()
    return 1000 * (time.process_time() - start) / n


def profile(smiles: list[str]) -> dict:
    n = len(smiles)
    panel = AdmetPanel(n_jobs=1, compiled=False)
    compiled = AdmetPanel(n_jobs=1)  # the trees `drugloop admet compile` made, if it ran
    mols = [Chem.MolFromSmiles(s) for s in smiles]
    out: dict = {"n_molecules": n, "features": list(panel.feature_set.blocks)}
    out["parse"] = cpu_ms(lambda: [Chem.MolFromSmiles(s) for s in smiles], n)
    for block in panel.feature_set.blocks:
        fn = BLOCKS[block][1]
        out[f"block {block}"] = cpu_ms(lambda fn=fn: [fn(m) for m in mols], n)
    for label, props in (("full", _PROPERTIES), ("without chi/kappa", _PROPERTIES_LEAN)):
        compute = props.ComputeProperties
        out[f"Properties {label}"] = cpu_ms(lambda c=compute: [c(m) for m in mols], n)
    gen = _fp_generator()
    rows = [np.flatnonzero(gen.GetFingerprintAsNumPy(m)).astype(np.int64) for m in mols]
    with threadpool_limits(1):
        out["nearest neighbours"] = cpu_ms(lambda: panel.neighbours.max_similarity(rows), n)
        X, _, _ = _featurize(smiles, panel.feature_set, panel.neighbours)
        out["trees (LightGBM)"] = cpu_ms(lambda: panel._raw_predictions(X, 1), n)
        out["whole predict (LightGBM trees)"] = cpu_ms(lambda: panel.predict(smiles), n)
        if compiled.compiled is not None:
            out["trees (compiled)"] = cpu_ms(lambda: compiled._raw_predictions(X, 1), n)
            out["whole predict (compiled trees)"] = cpu_ms(lambda: compiled.predict(smiles), n)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    smiles = zinc_smiles(args.n, skip=1)
    if smiles is None:
        print("shared data not found; skipping")
        return
    result = profile(smiles)
    (HERE / "results" / "panel_profile.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# ADMET panel: CPU per stage (shipped panel, one process)",
        "",
        "Command: `.venv/bin/python benchmarks/panel_profile.py` (after `drugloop admet "
        "compile` for the compiled rows)",
        "",
        f"{result['n_molecules']} ZINC250k molecules; features {'+'.join(result['features'])}. "
        "CPU-ms per molecule (process time, so other load on the machine matters little).",
        "",
        "| stage | CPU-ms per molecule |",
        "|---|---|",
    ]
    for key, value in result.items():
        if isinstance(value, float):
            lines.append(f"| {key} | {value:.3f} |")
    (HERE / "results" / "panel_profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
