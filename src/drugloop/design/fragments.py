"""Fragment-based generators: BRICS/RECAP recombination and R-group decoration of a scaffold.

* ``brics`` cuts known molecules (the user's actives, then the best molecules told) at BRICS
  bonds (Degen et al. 2008: bonds a chemist could make) and joins fragments at compatible
  BRICS attachment types, favouring fragments that came from high scorers.
* ``recap`` cuts at RECAP bonds (Lewell et al. 1998: the eleven bond types of common
  reactions — amide, ester, amine, urea, ether, sulfonamide…) and rejoins fragments at their
  open valences, never forming N–N, N–O, O–O or S–heteroatom bonds, nor joining two acyl ends
  (joins RECAP's reactions cannot make). RECAP cuts fewer bonds than BRICS, so it keeps larger, more
  drug-like building blocks.
* ``scaffold_decoration`` keeps a user scaffold with attachment points ``[*:1]``, ``[*:2]``…
  and fills each point with an R-group from a medicinal-chemistry list (plus R-groups cut from
  the user's molecules); R-groups that scored well at a position are chosen more often.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import BRICS, Recap

from drugloop.design.base import GENERATORS, Generator


def _canonical(mol: Chem.Mol | None) -> str | None:
    if mol is None:
        return None
    try:
        text = Chem.MolToSmiles(mol, isomericSmiles=False)
    except Exception:  # unsanitizable products
        return None
    check = Chem.MolFromSmiles(text) if text and "*" not in text and "." not in text else None
    return Chem.MolToSmiles(check, isomericSmiles=False) if check is not None else None


@GENERATORS.register("brics")
class BRICSRecombination(Generator):
    """Recombines BRICS fragments of good molecules (fragment weights follow their scores)."""

    name = "brics"

    def __init__(
        self,
        molecules: Sequence[str],
        seed: int = 0,
        max_fragments: int = 3,
        min_heavy_atoms: int = 10,
        max_heavy_atoms: int = 50,
        refresh_top: int = 50,
    ) -> None:
        self._rng = random.Random(seed)
        self.max_fragments = max_fragments
        self.min_heavy_atoms = min_heavy_atoms
        self.max_heavy_atoms = max_heavy_atoms
        self.refresh_top = refresh_top
        self.fragment_weight: dict[str, float] = {}
        self._fragmented: set[str] = set()
        self._seen: set[str] = set()
        self._scores: dict[str, float] = {}
        for smiles in molecules:
            self._add_fragments(smiles, 1.0)
        if not self.fragment_weight:
            raise ValueError("brics: no BRICS fragments could be cut from the given molecules")

    def _add_fragments(self, smiles: str, weight: float) -> None:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or smiles in self._fragmented:
            return
        self._fragmented.add(smiles)
        for fragment in BRICS.BRICSDecompose(mol, keepNonLeafNodes=False):
            if "*" in fragment:
                old = self.fragment_weight.get(fragment, 0.0)
                self.fragment_weight[fragment] = max(old, weight)

    def _build(self) -> str | None:
        fragments = list(self.fragment_weight)
        weights = [self.fragment_weight[f] + 0.05 for f in fragments]
        k = min(len(fragments), self._rng.randint(4, 12))
        chosen = {self._rng.choices(fragments, weights=weights)[0] for _ in range(k)}
        mols = [Chem.MolFromSmiles(f) for f in chosen]
        mols = [m for m in mols if m is not None]
        if not mols:
            return None
        built = BRICS.BRICSBuild(mols, scrambleReagents=True, maxDepth=self.max_fragments - 1)
        for _, product in zip(range(3), built, strict=False):
            try:
                product.UpdatePropertyCache(strict=False)
                Chem.SanitizeMol(product)
            except Exception:  # BRICS can build unsanitizable products; skip them
                continue
            if self.min_heavy_atoms <= product.GetNumHeavyAtoms() <= self.max_heavy_atoms:
                text = _canonical(product)
                if text and text not in self._seen:
                    return text
        return None

    def ask(self, n: int) -> list[str]:
        RDLogger.DisableLog("rdApp.*")
        out: list[str] = []
        attempts = 0
        while len(out) < n and attempts < 10 * n:
            attempts += 1
            text = self._build()
            if text is not None:
                self._seen.add(text)
                out.append(text)
        return out

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        for text, score in zip(smiles, np.asarray(scores, dtype=float).reshape(-1), strict=True):
            self._seen.add(text)
            if np.isfinite(score):
                self._scores[text] = max(float(score), self._scores.get(text, -np.inf))
        best = sorted(self._scores.items(), key=lambda kv: -kv[1])[: self.refresh_top]
        top = best[0][1] if best else 1.0
        for text, score in best:
            self._add_fragments(text, score / top if top > 0 else 1.0)


_HETERO = {7, 8, 16}


@GENERATORS.register("recap")
class RECAPRecombination(BRICSRecombination):
    """Recombines RECAP fragments of good molecules (fragment weights follow their scores)."""

    name = "recap"

    def _add_fragments(self, smiles: str, weight: float) -> None:
        mol = Chem.MolFromSmiles(smiles)
        if mol is None or smiles in self._fragmented:
            return
        self._fragmented.add(smiles)
        for fragment in Recap.RecapDecompose(mol).GetLeaves():
            if "*" in fragment:
                old = self.fragment_weight.get(fragment, 0.0)
                self.fragment_weight[fragment] = max(old, weight)

    def _pick(self) -> Chem.Mol | None:
        fragments = list(self.fragment_weight)
        weights = [self.fragment_weight[f] + 0.05 for f in fragments]
        return Chem.MolFromSmiles(self._rng.choices(fragments, weights=weights)[0])

    def _build(self) -> str | None:
        """A core fragment whose open valences are filled by other fragments (up to
        ``max_fragments`` in all); open valences left over are capped with hydrogen."""
        product = self._pick()
        for _ in range(self.max_fragments - 1):
            if product is None:
                return None
            dummies = [a for a in product.GetAtoms() if a.GetAtomicNum() == 0]
            if not dummies:
                break
            product = _join(product, self._rng.choice(dummies).GetIdx(), self._pick(), self._rng)
        product = _cap(product) if product is not None else None
        if product is None or not (
            self.min_heavy_atoms <= product.GetNumHeavyAtoms() <= self.max_heavy_atoms
        ):
            return None
        text = _canonical(product)
        return text if text and text not in self._seen else None


def _join(
    core: Chem.Mol, dummy: int, other: Chem.Mol | None, rng: random.Random
) -> Chem.Mol | None:
    """Bond the atoms behind ``core``'s dummy and one of ``other``'s, dropping both dummies."""
    if other is None:
        return None
    candidates = [a.GetIdx() for a in other.GetAtoms() if a.GetAtomicNum() == 0]
    if not candidates:
        return None
    theirs = rng.choice(candidates)
    left = core.GetAtomWithIdx(dummy).GetNeighbors()[0]
    right = other.GetAtomWithIdx(theirs).GetNeighbors()[0]
    if left.GetAtomicNum() in _HETERO and right.GetAtomicNum() in _HETERO:
        return None  # N–N, N–O, O–O, S–X: not a bond RECAP's reactions make
    if _acyl(left) and _acyl(right):
        return None  # two acyl ends (1,2-dicarbonyl): each wanted an N or O partner
    combined = Chem.RWMol(Chem.CombineMols(core, other))
    offset = core.GetNumAtoms()
    combined.AddBond(left.GetIdx(), right.GetIdx() + offset, Chem.BondType.SINGLE)
    for idx in sorted((dummy, theirs + offset), reverse=True):
        combined.RemoveAtom(idx)
    try:
        mol = combined.GetMol()
        Chem.SanitizeMol(mol)
    except Exception:  # valence or aromaticity problems: not a molecule
        return None
    return mol


def _acyl(atom: Chem.Atom) -> bool:
    """A carbonyl or sulfonyl atom: RECAP cut it from an amide, ester, urea or sulfonamide."""
    return atom.GetAtomicNum() in (6, 16) and any(
        b.GetBondType() == Chem.BondType.DOUBLE and b.GetOtherAtom(atom).GetAtomicNum() == 8
        for b in atom.GetBonds()
    )


def _cap(mol: Chem.Mol) -> Chem.Mol | None:
    """Replace open valences (dummy atoms) with hydrogen."""
    editable = Chem.RWMol(mol)
    for atom in sorted((a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0), reverse=True):
        editable.RemoveAtom(atom)
    try:
        out = editable.GetMol()
        for atom in out.GetAtoms():
            atom.SetNoImplicit(False)
        Chem.SanitizeMol(out)
    except Exception:
        return None
    return out


# Common medicinal-chemistry substituents; ``*`` marks the attachment atom.
DEFAULT_RGROUPS: tuple[str, ...] = (
    "[H]*",
    "C*",
    "CC*",
    "CC(C)*",
    "C1CC1*",
    "FC(F)(F)*",
    "F*",
    "Cl*",
    "Br*",
    "N#C*",
    "O*",
    "CO*",
    "CCO*",
    "FC(F)(F)O*",
    "N*",
    "CN*",
    "CN(C)*",
    "CC(=O)N*",
    "CS(=O)(=O)*",
    "CS(=O)(=O)N*",
    "NC(=O)*",
    "CNC(=O)*",
    "OC(=O)*",
    "COC(=O)*",
    "c1ccccc1*",
    "Fc1ccc(*)cc1",
    "Clc1ccc(*)cc1",
    "COc1ccc(*)cc1",
    "c1ccncc1*",
    "c1ccc(*)nc1",
    "c1cnccc1*",
    "c1cn[nH]c1*",
    "Cn1cc(*)cn1",
    "c1cscc1*",
    "c1ccoc1*",
    "C1CCNCC1*",
    "C1CCN(*)CC1",
    "C1COCCN1*",
    "CN1CCN(*)CC1",
    "C1CCOCC1*",
    "OCC*",
    "NCC*",
    "CN(C)CC*",
    "c1ccc2[nH]ccc2c1*",
    "C1CCCC1*",
    "c1ncncc1*",
    "OC1CCN(*)C1",
    "N#Cc1ccc(*)cc1",
    "CC(C)(C)*",
    "FC(F)*",
)


def _attach(scaffold: Chem.Mol, rgroups: dict[int, str]) -> str | None:
    """Fill each ``[*:i]`` of the scaffold with R-group SMILES (``*`` = attachment)."""
    pieces = [scaffold]
    for label, rgroup in rgroups.items():
        if rgroup == "[H]*":
            continue
        mol = Chem.MolFromSmiles(rgroup)
        if mol is None:
            return None
        for atom in mol.GetAtoms():
            if atom.GetAtomicNum() == 0:
                atom.SetAtomMapNum(label)
        pieces.append(mol)
    combined = pieces[0]
    for piece in pieces[1:]:
        combined = Chem.CombineMols(combined, piece)
    try:
        zipped = Chem.molzip(combined)
    except Exception:  # mismatched attachment points
        return None
    zipped = Chem.RWMol(zipped)
    for atom in sorted(
        (a for a in zipped.GetAtoms() if a.GetAtomicNum() == 0),
        key=lambda a: -a.GetIdx(),
    ):
        zipped.RemoveAtom(atom.GetIdx())  # hydrogen at unfilled points
    return _canonical(zipped.GetMol())


@GENERATORS.register("scaffold_decoration")
class ScaffoldDecoration(Generator):
    """R-groups on a fixed scaffold; per-position R-group choice follows their scores."""

    name = "scaffold_decoration"

    def __init__(
        self,
        scaffold: str,
        rgroups: Sequence[str] = DEFAULT_RGROUPS,
        molecules: Sequence[str] = (),
        seed: int = 0,
    ) -> None:
        mol = Chem.MolFromSmiles(scaffold)
        if mol is None:
            raise ValueError(f"scaffold_decoration: invalid scaffold SMILES {scaffold!r}")
        self.labels = sorted(
            {a.GetAtomMapNum() for a in mol.GetAtoms() if a.GetAtomicNum() == 0} - {0}
        )
        if not self.labels:
            raise ValueError(
                f"scaffold_decoration: scaffold {scaffold!r} has no attachment points like [*:1]"
            )
        self.scaffold = mol
        self.rgroups = list(dict.fromkeys([*rgroups, *self._cut_rgroups(molecules)]))
        self._rng = random.Random(seed)
        self._seen: set[str] = set()
        self._choice: dict[str, dict[int, str]] = {}
        self._value: dict[tuple[int, str], list[float]] = defaultdict(list)

    def _cut_rgroups(self, molecules: Sequence[str]) -> list[str]:
        from rdkit.Chem import rdRGroupDecomposition as rgd

        mols = [Chem.MolFromSmiles(s) for s in molecules]
        mols = [m for m in mols if m is not None]
        if not mols:
            return []
        core = Chem.Mol(self.scaffold)
        groups, _ = rgd.RGroupDecompose([core], mols, asSmiles=True)
        out = []
        for row in groups:
            for key, value in row.items():
                if key.startswith("R") and value:
                    text = Chem.MolFromSmiles(value.split(".")[0])
                    if text is not None:
                        smiles = Chem.MolToSmiles(text)
                        out.append(_strip_maps(smiles))
        return out

    def _pick(self, label: int) -> str:
        weights = []
        for rgroup in self.rgroups:
            seen = self._value.get((label, rgroup))
            weights.append(0.2 + (max(seen) if seen else 0.5))  # optimistic for untried
        return self._rng.choices(self.rgroups, weights=weights)[0]

    def ask(self, n: int) -> list[str]:
        RDLogger.DisableLog("rdApp.*")
        out: list[str] = []
        attempts = 0
        while len(out) < n and attempts < 20 * n:
            attempts += 1
            choice = {label: self._pick(label) for label in self.labels}
            text = _attach(self.scaffold, choice)
            if text is None or text in self._seen:
                continue
            self._seen.add(text)
            self._choice[text] = choice
            out.append(text)
        return out

    def tell(self, smiles: Sequence[str], scores: np.ndarray | Sequence[float]) -> None:
        for text, score in zip(smiles, np.asarray(scores, dtype=float).reshape(-1), strict=True):
            self._seen.add(text)
            choice = self._choice.get(text)
            if choice and np.isfinite(score):
                for label, rgroup in choice.items():
                    self._value[(label, rgroup)].append(float(score))


def _strip_maps(smiles: str) -> str:
    mol = Chem.MolFromSmiles(smiles)
    for atom in mol.GetAtoms():
        atom.SetAtomMapNum(0)
    return Chem.MolToSmiles(mol)
