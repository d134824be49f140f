"""Calibration of drugloop's regression uncertainty on the regression benchmarks.

Reads the per-run results of ``tdc_admet.py`` (9 regression endpoints × seeds) and
``moleculeace.py`` (20 targets) and reports, per dataset, the test coverage of the 90%
conformal intervals (goal 0.88–0.92) and Spearman(uncertainty, |error|). Run those two
benchmarks first; this one only aggregates (no figures typed in).

    .venv/bin/python benchmarks/calibration.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main() -> None:
    rows = []
    by_endpoint: dict[str, list[dict]] = {}
    for path in sorted((RESULTS / "tdc_admet").glob("*_seed*.json")):
        r = json.loads(path.read_text())
        if r["task"] == "regression":
            by_endpoint.setdefault(r["endpoint"], []).append(r)
    for name, runs in by_endpoint.items():
        rows.append(
            {
                "benchmark": "TDC ADMET",
                "dataset": name,
                "runs": len(runs),
                "coverage_90": float(np.mean([r["coverage_90"] for r in runs])),
                "spearman_uncertainty_abs_error": float(
                    np.mean([r["spearman_uncertainty_abs_error"] for r in runs])
                ),
            }
        )
    for path in sorted((RESULTS / "moleculeace").glob("*.json")):
        r = json.loads(path.read_text())
        rows.append(
            {
                "benchmark": "MoleculeACE",
                "dataset": r["target"],
                "runs": 1,
                "coverage_90": r["coverage_90"],
                "spearman_uncertainty_abs_error": r["spearman_uncertainty_abs_error"],
            }
        )
    cov = np.array([r["coverage_90"] for r in rows])
    rho = np.array([r["spearman_uncertainty_abs_error"] for r in rows])
    summary = {
        "datasets": len(rows),
        "mean_coverage_90": float(cov.mean()) if rows else None,
        "median_coverage_90": float(np.median(cov)) if rows else None,
        "datasets_in_0.88_0.92": int(((cov >= 0.88) & (cov <= 0.92)).sum()),
        "mean_spearman_uncertainty_abs_error": float(rho.mean()) if rows else None,
    }
    (RESULTS / "calibration.json").write_text(
        json.dumps({"summary": summary, "datasets": rows}, indent=2)
    )
    lines = [
        "# Calibration of regression uncertainty (90% conformal intervals)",
        "",
        "Command: `.venv/bin/python benchmarks/calibration.py` (after `tdc_admet.py` and "
        "`moleculeace.py`). Goal: coverage 0.88–0.92.",
        "",
        f"Summary: {json.dumps(summary)}",
        "",
        "| benchmark | dataset | runs | 90% coverage | Spearman(unc., abs. error) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['benchmark']} | {r['dataset']} | {r['runs']} | "
            f"{r['coverage_90']:.3f} | {r['spearman_uncertainty_abs_error']:.3f} |"
        )
    (RESULTS / "calibration.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
