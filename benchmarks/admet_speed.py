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
import resource
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


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children (workers, ADMET-AI)."""
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


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
    result: dict[str, object] = {
        "n_molecules": len(smiles),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }

    from drugloop.models.admet import AdmetPanel

    t0, c0 = time.time(), _cpu_s()
    panel = AdmetPanel()
    t1 = time.time()
    frame = panel.predict(smiles)
    t2, c2 = time.time(), _cpu_s()
    result["drugloop"] = {
        "load_s": t1 - t0,
        "predict_s": t2 - t1,
        "molecules_per_s": len(smiles) / (t2 - t1),
        "cpu_s_load_and_predict": c2 - c0,
        "workers": panel.n_jobs,
        "n_endpoints": len(panel.endpoints),
        "n_columns": frame.shape[1],
    }
    if ADMETAI_PY.exists():
        with tempfile.NamedTemporaryFile("w", suffix=".smi", delete=False) as fh:
            fh.write("\n".join(smiles) + "\n")
        c0 = _cpu_s()
        proc = subprocess.run(
            [str(ADMETAI_PY), "-c", ADMETAI_SCRIPT, fh.name], capture_output=True, text=True
        )
        if proc.returncode == 0:
            ai = json.loads(proc.stdout.strip().splitlines()[-1])
            ai["molecules_per_s"] = ai["n"] / ai["predict_s"]
            ai["cpu_s_load_and_predict"] = _cpu_s() - c0
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
        "| tool | endpoints | load (s) | predict (s) | molecules/s | CPU s (load + predict) |",
        "|---|---|---|---|---|---|",
        f"| drugloop panel | {d['n_endpoints']} | {d['load_s']:.1f} | {d['predict_s']:.1f} | "
        f"{d['molecules_per_s']:.0f} | {d['cpu_s_load_and_predict']:.0f} |",
    ]
    if "molecules_per_s" in a:
        lines.append(
            f"| ADMET-AI 2.0.1 (CPU) | 41 + physchem | {a['load_s']:.1f} | "
            f"{a['predict_s']:.1f} | {a['molecules_per_s']:.0f} | "
            f"{a['cpu_s_load_and_predict']:.0f} |"
        )
        lines += [
            "",
            f"Speed-up (molecules/s, predict): {result['speedup']:.1f}x",
            "",
            "The machine is shared (Linux autogroup scheduling gives this script's "
            "session a fair share of the 2 cores); CPU seconds are the load-independent "
            "view. drugloop uses one forked featurization worker per core.",
        ]
    else:
        lines += ["", f"ADMET-AI not run: {str(a.get('error'))[:300]}"]
    (out / "admet_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
