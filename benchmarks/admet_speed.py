"""Speed of the full ADMET panel: drugloop vs ADMET-AI 2.0.1 on the same 5,000 molecules.

Both run from this script in fresh processes, back to back and ``--repeats`` times (the
table gives medians: the machine is shared), on the first 5,000 ZINC250k SMILES
(``shared/data/zinc250k``). ADMET-AI runs in its own venv (``.venv-admetai``, git-ignored):

    python3 -m venv .venv-admetai
    # reuse the main venv's torch/chemprop/rdkit (CPU builds) instead of PyPI's CUDA torch:
    .venv/bin/python -c "import site; print(site.getsitepackages()[0])" \
        > "$(.venv-admetai/bin/python -c 'import site; print(site.getsitepackages()[0])')/_main.pth"
    .venv-admetai/bin/pip install --no-deps admet-ai==2.0.1
    .venv-admetai/bin/pip install seaborn typed-argument-parser tqdm

    .venv/bin/python benchmarks/admet_speed.py [--n 5000] [--repeats 3]

``--panel DIR --name NAME`` times a candidate panel (an ``export_panel`` directory) instead of
the shipped one and writes ``results/NAME.json``/``.md``: a recipe is measured against ADMET-AI
in the same run before it ships.

drugloop runs twice per repeat: with its trees compiled to native code (what ``drugloop admet
compile`` sets up once per install; this script compiles them first if needed and reports how
long that took) and with LightGBM walking the trees (no compiled trees: an empty cache
directory). Both give identical predictions; the compiled run is the headline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from rich.progress import track

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zinc_sample import zinc_smiles  # noqa: E402

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
DRUGLOOP_SCRIPT = """
import os, sys, time, json
t0 = time.time()
from pathlib import Path
from drugloop.models.admet import AdmetPanel
panel = AdmetPanel(Path(sys.argv[2]) if len(sys.argv) > 2 else None)
t1 = time.time()
smiles = [line.strip() for line in open(sys.argv[1]) if line.strip()]
preds = panel.predict(smiles)
t2 = time.time()
preds.to_pickle(os.environ["SPEED_PREDICTIONS"])
print(json.dumps({"load_s": t1 - t0, "predict_s": t2 - t1, "n": len(smiles),
                  "n_columns": preds.shape[1], "n_endpoints": len(panel.endpoints),
                  "physchem": "ro5_violations" in preds.columns,
                  "workers": panel.n_jobs, "compiled_trees": panel.compiled is not None}))
"""
TOOLS = {
    "drugloop": (Path(sys.executable), DRUGLOOP_SCRIPT),
    "drugloop_lightgbm": (Path(sys.executable), DRUGLOOP_SCRIPT),
    "admet_ai_2.0.1": (ADMETAI_PY, ADMETAI_SCRIPT),
}
PEER = "admet_ai_2.0.1"
# a cache with no compiled trees (the LightGBM runs unpack the panel file into it, as any
# first load does; that is load time, not predict time)
EMPTY_CACHE = tempfile.mkdtemp(prefix="drugloop-no-compiled-trees-")


def _cpu_s() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(tool: str, smiles_file: str, panel: Path | None = None) -> dict:
    """One fresh process of ``tool``: load its models, predict every molecule."""
    python, script = TOOLS[tool]
    if not python.exists():
        return {"error": f"{python} missing; see this file's docstring"}
    c0 = _cpu_s()
    extra = [str(panel)] if panel is not None and tool.startswith("drugloop") else []
    cmd = [str(python), "-c", script, smiles_file, *extra]
    env = dict(os.environ)
    if tool == "drugloop_lightgbm":
        env["DRUGLOOP_CACHE_DIR"] = EMPTY_CACHE
    env["SPEED_PREDICTIONS"] = str(_predictions_path(tool))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    if run.get("compiled_trees") != (tool == "drugloop") and tool != PEER:
        return {"error": f"{tool}: compiled trees {'not ' * (tool == 'drugloop')}in use"}
    run["molecules_per_s"] = run["n"] / run["predict_s"]
    run["cpu_s_load_and_predict"] = _cpu_s() - c0
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--panel", type=Path, help="a candidate panel directory (default: shipped)")
    parser.add_argument("--name", default="admet_speed", help="results file stem")
    args = parser.parse_args()
    smiles = zinc_smiles(args.n)
    if smiles is None:
        print("shared data not found; skipping")
        return
    with tempfile.NamedTemporaryFile("w", suffix=".smi", delete=False) as fh:
        fh.write("\n".join(smiles) + "\n")
    result: dict = {
        "n_molecules": len(smiles),
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
        "panel": str(args.panel) if args.panel else "shipped",
        "repeats": [],
    }
    result["compile"] = _compile(args.panel)
    for _ in track(range(args.repeats), description="drugloop (2 ways), then ADMET-AI"):
        result["repeats"].append({tool: _run(tool, fh.name, args.panel) for tool in TOOLS})
    result["load_average_at_end"] = os.getloadavg()[0]
    result["identical_predictions"] = _identical_predictions()
    for tool in ("drugloop", "drugloop_lightgbm"):
        _predictions_path(tool).unlink(missing_ok=True)
    shutil.rmtree(EMPTY_CACHE, ignore_errors=True)
    result.update(_summary(result["repeats"]))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2))
    lines = _table(result, len(smiles), args)
    (out / f"{args.name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _predictions_path(tool: str) -> Path:
    """Where a drugloop run leaves its predictions (beside the empty cache directory)."""
    return Path(EMPTY_CACHE).parent / f"{Path(EMPTY_CACHE).name}-{tool}.pkl"


def _identical_predictions() -> bool:
    """Whether the last compiled-tree and LightGBM-tree runs predicted exactly the same."""
    import pandas as pd

    frames = [pd.read_pickle(_predictions_path(t)) for t in ("drugloop", "drugloop_lightgbm")]
    return bool(frames[0].equals(frames[1]))


def _compile(panel: Path | None) -> dict:
    """Compile the panel's trees (skipped when already compiled); seconds it took."""
    import time

    from drugloop.models.admet import AdmetPanel, compile_panel

    loaded = AdmetPanel(panel)
    if loaded.compiled is not None:
        return {"already_compiled": True}
    start = time.perf_counter()
    compile_panel(AdmetPanel(panel, compiled=False))
    return {"already_compiled": False, "compile_s": time.perf_counter() - start}


def _summary(repeats: list[dict]) -> dict:
    """Median over repeats per tool, and the medians of the back-to-back speed-up ratios."""
    ok = [r for r in repeats if all("molecules_per_s" in r[t] for t in TOOLS)]
    if not ok:
        return {"error": next(r[t]["error"] for r in repeats for t in TOOLS if "error" in r[t])}
    keys = ("load_s", "predict_s", "molecules_per_s", "cpu_s_load_and_predict")
    medians = {t: {k: float(np.median([r[t][k] for r in ok])) for k in keys} for t in TOOLS}
    ratios = [r["drugloop"]["molecules_per_s"] / r[PEER]["molecules_per_s"] for r in ok]
    lgb = [r["drugloop_lightgbm"]["molecules_per_s"] / r[PEER]["molecules_per_s"] for r in ok]
    return {
        "median": medians,
        "speedups": ratios,
        "speedup": float(np.median(ratios)),
        "speedups_lightgbm_trees": lgb,
        "speedup_lightgbm_trees": float(np.median(lgb)),
        "n_endpoints": ok[0]["drugloop"]["n_endpoints"],
        "physchem": ok[0]["drugloop"].get("physchem", False),
        "workers": ok[0]["drugloop"]["workers"],
    }


def _table(result: dict, n: int, args: argparse.Namespace) -> list[str]:
    command = ".venv/bin/python benchmarks/admet_speed.py"
    if args.panel:
        command += f" --panel {args.panel} --name {args.name}"
    lines = [
        "# ADMET panel speed (same script, same molecules, this machine)",
        "",
        f"Command: `{command}`",
        "",
        f"Panel: {result['panel']}.",
        "",
        f"{n} ZINC250k molecules, {result['cpu_count']} cores (shared; load average "
        f"{result['load_average_at_start']:.1f} at start, {result['load_average_at_end']:.1f} "
        "at end).",
        "",
    ]
    if "error" in result:
        return [*lines, f"Not run: {str(result['error'])[:300]}"]
    med = result["median"]
    ratios = ", ".join(f"{x:.1f}x" for x in result["speedups"])
    lgb = ", ".join(f"{x:.1f}x" for x in result["speedups_lightgbm_trees"])
    comp = result.get("compile", {})
    compiled = (
        "already compiled before this run"
        if comp.get("already_compiled")
        else f"compiled by this run in {comp.get('compile_s', float('nan')):.0f} s"
    )
    names = {
        "drugloop": "drugloop panel, compiled trees",
        "drugloop_lightgbm": "drugloop panel, LightGBM trees",
        PEER: "ADMET-AI 2.0.1 (CPU)",
    }
    rows = []
    for tool, label in names.items():
        m = med[tool]
        ours = f"{result['n_endpoints']}" + (" + physchem" if result.get("physchem") else "")
        endpoints = "41 + physchem" if tool == PEER else ours
        rows.append(
            f"| {label} | {endpoints} | {m['load_s']:.1f} | {m['predict_s']:.1f} | "
            f"{m['molecules_per_s']:.0f} | {m['cpu_s_load_and_predict']:.0f} |"
        )
    return [
        *lines,
        f"Each tool ran {len(result['speedups'])} times in a fresh process, back to back "
        "(drugloop with compiled trees, drugloop with LightGBM's, then ADMET-AI); the table "
        f"gives the medians. The trees were {compiled} (`drugloop admet compile`, once per "
        "install). The two drugloop runs' predictions are "
        f"{'identical' if result['identical_predictions'] else 'NOT identical'}.",
        "",
        "| tool | endpoints | load (s) | predict (s) | molecules/s | CPU s (load + predict) |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"Speed-up (molecules/s, predict; median of the pairs {ratios}): {result['speedup']:.1f}x",
        "",
        f"With LightGBM walking the trees (pairs {lgb}): {result['speedup_lightgbm_trees']:.1f}x",
        "",
        "The machine is shared (Linux autogroup scheduling gives this script's session a fair "
        "share of the 2 cores); CPU seconds are the load-independent view. drugloop uses "
        f"{result['workers']} forked workers, each featurizing a chunk and running the trees "
        "on it.",
    ]


if __name__ == "__main__":
    sys.exit(main())
