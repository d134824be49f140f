"""Can the ADMET panel do without Avalon counts? Second round of ``panel_features.py``.

After ``lean`` replaced the chi/kappa indices, Avalon counts are the dearest fingerprint left
(~0.35 CPU-ms per molecule of ~3.8, ``results/panel_profile.md``). Same machinery and folds as
``panel_features.py``, against the panel's set ``lean`` (its ``tdc_admet.py`` records, seeds
1–2, copied to ``results/panel_features_avalon/lean/``):

* ``lean_noav``: ``lean`` without Avalon counts;
* ``lean_tt``: ``lean`` with topological-torsion counts in place of Avalon counts.

The rule, fixed before the run (the first round's): a candidate is acceptable if its mean
relative validation change against ``lean`` over the 22 endpoints is at least −0.25%; the
fastest acceptable candidate would become the panel's set (then refit, re-benchmark, new
speed run). Test scores are recorded beside, and play no part.

    .venv/bin/python benchmarks/panel_features_avalon.py [--endpoints A B ...] [--seeds 1 2]
    .venv/bin/python benchmarks/panel_features_avalon.py --merge
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from panel_features import Round, main  # noqa: E402

AVALON = Round(
    "panel_features_avalon",
    "ADMET panel without Avalon counts? (validation decides)",
    "lean",
    ("lean_noav", "lean_tt"),
)

if __name__ == "__main__":
    main(AVALON, __doc__)
