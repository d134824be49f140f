"""Speed of the full ADMET panel: drugloop vs ADMET-AI 2.0.1 on the same 5,000 molecules.

Both run in this script, one after the other, on the first 5,000 ZINC250k SMILES
(``shared/data/zinc250k``). ADMET-AI runs in its own venv (``.venv-admetai``, git-ignored):

    python3 -m venv .venv-admetai
    # reuse the main venv's torch/chemprop/rdkit (CPU builds) instead of PyPI's CUDA torch:
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \
        > "$(.venv-admetai/bin/python -c 'import site; print(site.getsitepackages()[0])')/_main.pth"
    .venv-admetai/bin/pip install --no-deps admet-ai==2.0.1
    .venv-admetai/bin/pip install seaborn typed-argument-parser tqdm

    .venv/bin/python benchmarks/admet_speed.py [--n 5000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from drugloop.paths import shared_data_dir

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ADMETAI_PY = ROOT / ".venv-admetai" / "bin" / "python"
ADMETAI_SCRIPT = """
import sys, time, json
t0 = time.time()
from admet_ai import ADMETModel
model = ADMETModel(num_workers=0)
t1 = time.time()
smiles = [line.strip() for line in open(sys.argv[1]) if line.strip()]
preds = model.predict(smiles=smiles)
t2 = time.time()
print(json.dumps({"load_s": t1 - t0, "predict_s": t2 - t1, "n": len(smiles),
                  "n_columns": preds.shape[1]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    shared = shared_data_dir()
    if shared is None:
        print("shared data not found; skipping")
        return
    with gzip.open(shared / "zinc250k" / "zinc250k.smi.gz", "rt") as fh:
        smiles = [next(fh).split()[0] for _ in range(args.n)]
    result: dict[str, object] = {"n_molecules": len(smiles), "cpu_count": os.cpu_count(),
                                 "load_average_at_start": os.getloadavg()[0]}

    from drugloop.models.admet import AdmetPanel

    t0 = time.time()
    panel = AdmetPanel()
    t1 = time.time()
    frame = panel.predict(smiles)
    t2 = time.time()
    result["drugloop"] = {"load_s": t1 - t0, "predict_s": t2 - t1,
                          "molecules_per_s": len(smiles) / (t2 - t1),
                          "n_endpoints": len(panel.endpoints), "n_columns": frame.shape[1]}
    if ADMETAI_PY.exists():
        with tempfile.NamedTemporaryFile("w", suffix=".smi", delete=False) as fh:
            fh.write("\n".join(smiles) + "\n")
        proc = subprocess.run([str(ADMETAI_PY), "-c", ADMETAI_SCRIPT, fh.name],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            ai = json.loads(proc.stdout.strip().splitlines()[-1])
            ai["molecules_per_s"] = ai["n"] / ai["predict_s"]
            result["admet_ai_2.0.1"] = ai
            result["speedup"] = result["drugloop"]["molecules_per_s"] / ai["molecules_per_s"]
        else:
            result["admet_ai_2.0.1"] = {"error": proc.stderr[-2000:]}
    else:
        result["admet_ai_2.0.1"] = {"error": f"{ADMETAI_PY} missing; see this file's docstring"}
    result["load_average_at_end"] = os.getloadavg()[0]
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "admet_speed.json").write_text(json.dumps(result, indent=2))
    d, a = result["drugloop"], result["admet_ai_2.0.1"]
    lines = [
        "# ADMET panel speed (same script, same molecules, this machine)",
        "",
        "Command: `.venv/bin/python benchmarks/admet_speed.py`",
        "",
        f"{len(smiles)} ZINC250k molecules, {os.cpu_count()} cores (shared; load average "
        f"{result['load_average_at_start']:.1f} at start, {result['load_average_at_end']:.1f} "
        "at end).",
        "",
        "| tool | endpoints | load (s) | predict (s) | molecules/s |",
        "|---|---|---|---|---|",
        f"| drugloop panel | {d['n_endpoints']} | {d['load_s']:.1f} | {d['predict_s']:.1f} | "
        f"{d['molecules_per_s']:.0f} |",
    ]
    if "molecules_per_s" in a:
        lines.append(f"| ADMET-AI 2.0.1 (CPU) | 41 + physchem | {a['load_s']:.1f} | "
                     f"{a['predict_s']:.1f} | {a['molecules_per_s']:.0f} |")
        lines += ["", f"Speed-up: {result['speedup']:.1f}x"]
    else:
        lines += ["", f"ADMET-AI not run: {str(a.get('error'))[:300]}"]
    (out / "admet_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
