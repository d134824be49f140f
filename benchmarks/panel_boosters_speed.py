"""What CatBoost members cost the ADMET panel: the shipped (LightGBM) panel vs the paired one.

``benchmarks/tdc_boosters.py`` chose LightGBM + CatBoost pairs on validation folds; this
measures the price before the panel switches. The paired panel is exported (once, to the
git-ignored ``.cache/panel_both``) from the seed-1 models that ``tdc_boosters.py`` and
``tox21.py --booster both --seeds 1`` keep; each panel then predicts the same 2,000 ZINC250k
molecules in a fresh one-worker process, ``--repeats`` times back to back (medians reported),
beside its file size and the trees per member.

    .venv/bin/python benchmarks/panel_boosters_speed.py [--n 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tdc_admet import models_dir  # noqa: E402
from tdc_data import ENDPOINTS, load_endpoint  # noqa: E402
from zinc_sample import zinc_smiles  # noqa: E402

from drugloop.models.admet import PANEL_FILE, panel_dir  # noqa: E402
from drugloop.paths import shared_data_dir  # noqa: E402

HERE = Path(__file__).resolve().parent
PAIRED_PANEL = HERE / ".cache" / "panel_both"
TIMER = """
import sys, time, json
from pathlib import Path
from drugloop.models.admet import AdmetPanel
panel = AdmetPanel(Path(sys.argv[1]), n_jobs=1)
smiles = [line.strip() for line in open(sys.argv[2]) if line.strip()]
t = time.time()
panel.predict(smiles)
print(json.dumps({"predict_s": time.time() - t}))
"""


def export_paired() -> Path:
    import joblib
    from tox21 import panel_members

    from drugloop.models.admet import export_panel

    if (PAIRED_PANEL / PANEL_FILE).exists():
        return PAIRED_PANEL
    models, smiles = {}, {}
    for name in ENDPOINTS:
        models[name] = joblib.load(models_dir("both") / f"{name}_seed1.joblib")
        smiles[name] = load_endpoint(name)[0].Drug.tolist()
    for name, (model, train) in panel_members(1, "both").items():
        models[name], smiles[name] = model, train
    return export_panel(models, smiles, PAIRED_PANEL)


def trees_per_member(directory: Path) -> dict[str, float]:
    import lzma

    with lzma.open(directory / PANEL_FILE, "rt") as fh:
        specs = json.load(fh)["endpoints"].values()
    out = {"lightgbm": float(np.mean([i for s in specs for i in s["iterations"] if i]))}
    cat = [i for s in specs for i in s.get("cb_iterations", []) if i]
    if cat:
        out["catboost"] = float(np.mean(cat))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if shared_data_dir() is None:
        print("shared data not found; skipping")
        return
    panels = {"lightgbm (shipped)": panel_dir(), "both (LightGBM + CatBoost)": export_paired()}
    smiles = zinc_smiles(args.n, skip=1)
    rows = []
    with tempfile.NamedTemporaryFile("w", suffix=".smi") as tmp:
        tmp.write("\n".join(smiles) + "\n")
        tmp.flush()
        times = {name: [] for name in panels}
        for _ in range(args.repeats):
            for name, directory in panels.items():
                proc = subprocess.run(
                    [sys.executable, "-c", TIMER, str(directory), tmp.name],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                times[name].append(json.loads(proc.stdout.strip().splitlines()[-1])["predict_s"])
    for name, directory in panels.items():
        rows.append(
            {
                "panel": name,
                "predict_s_median": float(np.median(times[name])),
                "predict_s_runs": times[name],
                "panel_file_mb": (directory / PANEL_FILE).stat().st_size / 1e6,
                "mean_trees_per_member": trees_per_member(directory),
            }
        )
    slowdown = rows[1]["predict_s_median"] / rows[0]["predict_s_median"]
    result = {"n_molecules": len(smiles), "workers": 1, "slowdown": slowdown, "panels": rows}
    (HERE / "results" / "panel_boosters_speed.json").write_text(json.dumps(result, indent=2))
    lines = [
        "# ADMET panel: shipped LightGBM members vs LightGBM + CatBoost pairs",
        "",
        "Command: `.venv/bin/python benchmarks/panel_boosters_speed.py`",
        "",
        f"{len(smiles)} ZINC250k molecules, one worker process, median of {args.repeats} "
        f"fresh-process runs. The paired panel is **{slowdown:.1f}× slower**.",
        "",
        "| panel | predict s (median) | runs | file MB | mean trees per member |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        runs = ", ".join(f"{t:.1f}" for t in r["predict_s_runs"])
        trees = ", ".join(f"{k} {v:.0f}" for k, v in r["mean_trees_per_member"].items())
        lines.append(
            f"| {r['panel']} | {r['predict_s_median']:.1f} | {runs} | "
            f"{r['panel_file_mb']:.1f} | {trees} |"
        )
    (HERE / "results" / "panel_boosters_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
