"""Analog enumeration by medicinal-chemistry transformations (matched-molecular-pair style).

Around a lead, chemists make small, well-understood edits: a fluorine scan, an N-walk through
an aromatic ring, methyl → CF3, acid → tetrazole, ester → amide, ether ↔ amine linkers, N-
methylation. Each rule below is a reaction SMARTS; the generator applies one or two random
applicable rules to a parent drawn (rank-weighted) from the leads and the best molecules told so
far, so it climbs locally the way a lead-optimization team does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

from drugloop.design.base import GENERATORS, Generator

# (name, reaction SMARTS); every rule maps one reactant to one product.
TRANSFORMS: tuple[tuple[str, str], ...] = (
    ("H>F (aromatic)", "[cH:1]>>[c:1]F"),
    ("H>Cl (aromatic)", "[cH:1]>>[c:1]Cl"),
    ("H>Me (aromatic)", "[cH:1]>>[c:1]C"),
    ("H>OMe (aromatic)", "[cH:1]>>[c:1]OC"),
    ("H>CN (aromatic)", "[cH:1]>>[c:1]C#N"),
    ("H>CF3 (aromatic)", "[cH:1]>>[c:1]C(F)(F)F"),
    ("H>OH (aromatic)", "[cH:1]>>[c:1]O"),
    ("H>NH2 (aromatic)", "[cH:1]>>[c:1]N"),
    ("CH>N (ring walk)", "[cH;r6:1]>>[n:1]"),
    ("N>CH (ring walk)", "[n;X2;r6:1]>>[cH:1]"),
    ("F>Cl", "[c:1]F>>[c:1]Cl"),
    ("Cl>F", "[c:1]Cl>>[c:1]F"),
    ("Cl>Me", "[c:1]Cl>>[c:1]C"),
    ("Br>Cl", "[c:1]Br>>[c:1]Cl"),
    ("Me>CF3", "[CH3:1][c:2]>>FC(F)(F)[c:2]"),
    ("Me>Et", "[CH3;!$(C[O,N,S]):1]>>[CH2:1]C"),
    ("Me>cPr", "[CH3;!$(C[O,N,S]):1]>>[CH:1]1CC1"),
    ("Me>H", "[CH3;!$(C[O,N,S])][#6:1]>>[#6:1]"),
    ("OMe>OCF3", "[c:1]O[CH3]>>[c:1]OC(F)(F)F"),
    ("OMe>F", "[c:1]O[CH3]>>[c:1]F"),
    ("OMe>OH", "[c:1]O[CH3]>>[c:1]O"),
    ("NH>NMe", "[NX3;H1;!$(N-C=[O,S]);!$(N-a):1]>>[N:1]C"),
    ("amide NH>NMe", "[C:2](=O)[NH1:1][#6:3]>>[C:2](=O)[N:1](C)[#6:3]"),
    ("nH>nMe", "[nH:1]>>[n:1]C"),
    ("ester>amide", "[C:1](=O)O[CH3]>>[C:1](=O)NC"),
    ("acid>tetrazole", "[#6:2][C](=O)[OH]>>[#6:2]c1nn[nH]n1"),
    ("acid>amide", "[C:1](=O)[OH]>>[C:1](=O)N"),
    ("ether>amine linker", "[c:1][O;X2;!R][CX4:2]>>[c:1][NH][C:2]"),
    ("amine>ether linker", "[c:1][NH;!R][CX4:2]>>[c:1]O[C:2]"),
    ("CH2>O (chain)", "[CX4;H2;!R:1]([CX4:2])[CX4:3]>>[C:2]O[C:3]"),
    ("O>CH2 (chain)", "[CX4:2][O;X2;!R][CX4:3]>>[C:2]C[C:3]"),
    ("piperidine>piperazine", "[N:1]1CC[CH2]CC1>>[N:1]1CCN(C)CC1"),
    ("piperazine>morpholine", "[N:1]1CCN([CH3])CC1>>[N:1]1CCOCC1"),
    ("morpholine>piperidine", "[N:1]1CCOCC1>>[N:1]1CCCCC1"),
    ("add OH (aliphatic)", "[CX4;H2;!R:1]>>[CH:1]O"),
)


def _canonical(mol: Chem.Mol) -> str | None:
    try:
        Chem.SanitizeMol(mol)
        text = Chem.MolToSmiles(mol, isomericSmiles=False)
    except Exception:  # RDKit raises several types for impossible products
        return None
    check = Chem.MolFromSmiles(text)
    return Chem.MolToSmiles(check, isomericSmiles=False) if check is not None else None


@GENERATORS.register("mmp_analogs")
class MMPAnalogs(Generator):
    """Local search by medicinal-chemistry edits around leads and the best molecules so far."""

    name = "mmp_analogs"

    def __init__(
        self,
        leads: Sequence[str] = (),
        pool_size: int = 50,
        max_edits: int = 2,
        seed: int = 0,
        max_heavy_atoms: int = 60,
    ) -> None:
        self._rng = random.Random(seed)
        self.pool_size = pool_size
        self.max_edits = max_edits
        self.max_heavy_atoms = max_heavy_atoms
        self.rules = [(name, AllChem.ReactionFromSmarts(s)) for name, s in TRANSFORMS]
        self._pool: dict[str, float] = {}
        self._seen: set[str] = set()
        self.applied: dict[str, str] = {}  # product → rule names, for provenance
        for smiles in leads:
            mol = Chem.MolFromSmiles(smiles)
            if mol is not None:
                self._pool[Chem.MolToSmiles(mol, isomericSmiles=False)] = 1.0
        self._pending = list(self._pool)  # leads are proposed (and scored) first

    def _parent(self) -> str | None:
        if not self._pool:
            return None
        ranked = sorted(self._pool, key=lambda s: -self._pool[s])
        weights = [1.0 / (i + 5) for i in range(len(ranked))]
        return self._rng.choices(ranked, weights=weights)[0]

    def _edit(self, smiles: str) -> tuple[str, str] | None:
        mol = Chem.MolFromSmiles(smiles)
        names = []
        for _ in range(self._rng.randint(1, self.max_edits)):
            order = list(range(len(self.rules)))
            self._rng.shuffle(order)
            for index in order[:8]:
                name, rule = self.rules[index]
                products = rule.RunReactants((mol,))
                if not products:
                    continue
                product = self._rng.choice(products)[0]
                text = _canonical(Chem.Mol(product))
                if text is not None:
                    mol = Chem.MolFromSmiles(text)
                    names.append(name)
                    break
        if not names or mol.GetNumHeavyAtoms() > self.max_heavy_atoms:
            return None
        return Chem.MolToSmiles(mol, isomericSmiles=False), "; ".join(names)

    def ask(self, n: int) -> list[str]:
        RDLogger.DisableLog("rdApp.*")
        out: list[str] = []
        while self._pending and len(out) < n:
            smiles = self._pending.pop(0)
            if smiles not in self._seen:
                self._seen.add(smiles)
                out.append(smiles)
        attempts = 0
        while len(out) < n and attempts < 20 * n:
            attempts += 1
            parent = self._parent()
            if parent is None:
                break
            edited = self._edit(parent)
            if edited is None or edited[0] in self._seen:
                continue
            self._seen.add(edited[0])
            self.applied[edited[0]] = edited[1]
            out.append(edited[0])
        return out

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        for text, score in zip(smiles, np.asarray(scores, dtype=float).reshape(-1), strict=True):
            if not np.isfinite(score):
                continue
            self._seen.add(text)
            if score > self._pool.get(text, -np.inf) or text not in self._pool:
                self._pool[text] = float(score)
        if len(self._pool) > self.pool_size:
            best = sorted(self._pool.items(), key=lambda kv: -kv[1])[: self.pool_size]
            self._pool = dict(best)
