#!/usr/bin/env bash
# The README's tour, section 2 ("Your own data, round by round"), as one script: builds the
# inputs from the bundled PIM1 Ki data (MoleculeACE CHEMBL2147; train split = measured, test
# split = candidate pool), adds a censored value, an invalid SMILES and an unknown unit, then
# runs ingest -> campaign init -> propose -> lab results -> import -> status in a temp folder.
#
#     bash examples/tour_own_data.sh            # uses .venv/bin/drugloop
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRUGLOOP="${DRUGLOOP:-$ROOT/.venv/bin/drugloop}"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d)"
cd "$WORK"
export COLUMNS=140

"$PYTHON" - "$ROOT/data/moleculeace/CHEMBL2147_Ki.csv.gz" <<'EOF'
import sys

import pandas as pd

data = pd.read_csv(sys.argv[1])
train = data[data.split == "train"]
assay = pd.DataFrame({"smiles": train.smiles, "Ki": train["exp_mean [nM]"], "unit": "nM"})
extra = pd.DataFrame(
    {
        "smiles": ["CC(=O)Nc1ccc(O)cc1", "not_a_smiles", "Cc1ccc(N)cc1"],
        "Ki": [">10000", "50", "3"],
        "unit": ["nM", "nM", "mg/L"],
    }
)
pd.concat([assay, extra]).to_csv("pim1_ki.csv", index=False)
data.loc[data.split == "test", ["smiles"]].to_csv("candidates.csv", index=False)
EOF

run() {
    echo "\$ drugloop $*"
    "$DRUGLOOP" "$@"
}
run ingest pim1_ki.csv --assay PIM1 --value-col Ki --project pim1.db
run ingest pim1_ki.csv --assay PIM1 --value-col Ki --project pim1.db
echo "\$ cat pim1_ki.rejects.csv" && cat pim1_ki.rejects.csv
run campaign init pim1-r1 --assay PIM1 --pool candidates.csv --batch-size 4 --project pim1.db
run campaign propose pim1-r1 --out-dir orders --project pim1.db

# The lab answers: two measured, one inactive (censored), one failed synthesis, one unknown id.
"$PYTHON" - <<'EOF'
import pandas as pd

ids = pd.read_csv("orders/pim1-r1_round0_order.csv")["reg_id"].tolist()
rows = [(ids[0], "35", ""), (ids[1], ">10000", ""), (ids[2], "", "failed"), (ids[3], "120", "")]
rows.append(("DL-0099999", "8", ""))
pd.DataFrame(
    [(r, v, "nM", s) for r, v, s in rows], columns=["reg_id", "value", "unit", "status"]
).to_csv("lab_results.csv", index=False)
EOF
echo "\$ cat lab_results.csv" && cat lab_results.csv
run campaign import pim1-r1 lab_results.csv --project pim1.db
echo "\$ cat lab_results.rejects.csv" && cat lab_results.rejects.csv
run campaign status pim1-r1 --project pim1.db
echo "(files in $WORK)"
