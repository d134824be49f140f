"""PMO oracle server for the external_process component (runs in benchmarks/.pmo-venv).

Reads SMILES one per line, writes one float per line (``nan`` when RDKit 2022.09 cannot parse
the SMILES, which then is not counted as an oracle call). Scores with ``tdc.Oracle`` exactly as
the published PMO numbers did, including the older ``_prev`` scoring of four tasks.
"""

import math
import sys

from rdkit import Chem, RDLogger

PREV = {"zaleplon_mpo": "zaleplon_mpo_prev", "sitagliptin_mpo": "sitagliptin_mpo_prev"}
ISOMERS_PREV = ("isomers_c7h8n2o2", "isomers_c9h10n2o2pf2cl")


def make_oracle(task):
    if task in ISOMERS_PREV:
        from tdc.chem_utils.oracle import oracle as tdc_oracles

        return getattr(tdc_oracles, task + "_prev")
    from tdc import Oracle

    oracle = Oracle(name=PREV.get(task, task))
    return lambda smiles: oracle(smiles)


def main():
    RDLogger.DisableLog("rdApp.*")
    score = make_oracle(sys.argv[1])
    for line in sys.stdin:
        mol = Chem.MolFromSmiles(line.strip())
        value = math.nan
        if mol is not None:
            try:
                value = float(score(Chem.MolToSmiles(mol)))
            except Exception:  # a TDC oracle failing on one molecule is a failed call
                value = math.nan
        sys.stdout.write(f"{value}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
