"""Graph edits for the genetic algorithm: crossover at ring / non-ring bonds and mutations.

Operators work on Kekulé forms with implicit hydrogens recomputed, so that cutting and joining
aromatic rings does not leave half-aromatic fragments; every product is re-sanitized and
round-tripped through SMILES, and :class:`ProductFilter` rejects chemically silly results
(odd charges, new 3/4- or >7-membered rings, cumulated double bonds, peroxides...).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from rdkit import Chem
from rdkit.rdBase import BlockLogs

SINGLE, DOUBLE, TRIPLE = Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE
ORDER = {SINGLE: 1, DOUBLE: 2, TRIPLE: 3}
BOND_OF_ORDER = {1: SINGLE, 2: DOUBLE, 3: TRIPLE}

# Element choices for new atoms (weighted towards what medicinal chemists actually add).
APPEND_ELEMENTS = (
    ("C", 0.45),
    ("N", 0.15),
    ("O", 0.15),
    ("F", 0.08),
    ("Cl", 0.07),
    ("S", 0.05),
    ("Br", 0.05),
)
INSERT_ELEMENTS = (("C", 0.6), ("N", 0.2), ("O", 0.15), ("S", 0.05))
SWAP_ELEMENTS = (
    ("C", 0.4),
    ("N", 0.25),
    ("O", 0.15),
    ("S", 0.08),
    ("F", 0.05),
    ("Cl", 0.05),
    ("Br", 0.02),
)
_PREPARED = "_drugloop_kekule"
MAX_VALENCE = {"C": 4, "N": 3, "O": 2, "S": 2, "F": 1, "Cl": 1, "Br": 1}

_SILLY_PATTERNS = tuple(
    Chem.MolFromSmarts(s)
    for s in (
        "[#6,#7]=[#6]=[#6,#7,#8,#16]",  # allenes, ketenes, ketenimines
        "[OX2]-[OX2]",  # peroxides
        "[SX2]-[SX2]",  # disulfides
        "[#7]-[#8]-[#7]",  # N-O-N chains
        "[#8]-[#7;!+]-[#8]",  # O-N-O outside nitro groups
        "[#6;R]#[#6,#7]",  # triple bonds in rings
        "[#7;X2;!R]=[#7;X2;!R]",  # azo groups
        "[#9,#17,#35,#53]-[!#6]",  # heteroatom halides (N-Cl, O-Br...)
    )
)


def atoms(mol: Chem.Mol) -> list[Chem.Atom]:
    """Atoms by index (much faster than iterating ``GetAtoms()`` in hot loops)."""
    return [mol.GetAtomWithIdx(i) for i in range(mol.GetNumAtoms())]


def bonds(mol: Chem.Mol) -> list[Chem.Bond]:
    return [mol.GetBondWithIdx(i) for i in range(mol.GetNumBonds())]


def prepare(mol: Chem.Mol) -> Chem.RWMol | None:
    """Editable Kekulé copy without stereo; neutral atoms get their H counts recomputed.

    The result is flagged, so preparing a prepared molecule again only copies it (the GA
    prepares each population member once).
    """
    if mol.HasProp(_PREPARED):
        return Chem.RWMol(mol)
    rw = Chem.RWMol(mol)
    Chem.RemoveStereochemistry(rw)
    try:
        Chem.Kekulize(rw, clearAromaticFlags=True)
    except Chem.KekulizeException:
        return None
    for atom in atoms(rw):
        if atom.GetFormalCharge() == 0 and atom.GetNumRadicalElectrons() == 0:
            atom.SetNumExplicitHs(0)
            atom.SetNoImplicit(False)
    rw.UpdatePropertyCache(strict=False)
    rw.SetBoolProp(_PREPARED, True)
    return rw


def finish(mol: Chem.Mol) -> Chem.Mol | None:
    """Sanitized molecule parsed back from its SMILES, or None if it is not a valid molecule.

    Writing the edited graph to SMILES and parsing it back both sanitizes it (valence,
    aromaticity) and guarantees that what the GA proposes round-trips.
    """
    if any(atom.GetAtomicNum() == 0 for atom in atoms(mol)):
        return None  # a dummy atom left over from an unfinished join
    with BlockLogs():
        try:
            mol = Chem.Mol(mol)
            mol.UpdatePropertyCache(strict=False)
            smiles = Chem.MolToSmiles(mol)
        except Exception:  # RDKit raises several exception types on broken graphs
            return None
        if not smiles or "." in smiles:
            return None
        return Chem.MolFromSmiles(smiles)


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


# --------------------------------------------------------------------------- crossover


def _pieces(mol: Chem.Mol, cut_bonds: list[int]) -> list[Chem.Mol]:
    """Cut ``bonds`` (dummy label i+1 on both sides of bond i) and return the pieces."""
    labels = [(i + 1, i + 1) for i in range(len(cut_bonds))]
    cut = Chem.FragmentOnBonds(mol, cut_bonds, addDummies=True, dummyLabels=labels)
    pieces = list(Chem.GetMolFrags(cut, asMols=True, sanitizeFrags=False))
    for piece in pieces:
        for atom in atoms(piece):
            if atom.GetAtomicNum() == 0:
                atom.SetAtomMapNum(atom.GetIsotope())
                atom.SetIsotope(0)
    return pieces


def _labels(piece: Chem.Mol) -> list[int]:
    return sorted(a.GetAtomMapNum() for a in atoms(piece) if a.GetAtomicNum() == 0)


def _zip(a: Chem.Mol, b: Chem.Mol) -> Chem.Mol | None:
    try:
        return Chem.molzip(Chem.CombineMols(a, b))
    except Exception:  # molzip rejects mismatched dummies
        return None


def _non_ring_pieces(mol: Chem.RWMol, rng: random.Random) -> list[Chem.Mol]:
    cuttable = [b.GetIdx() for b in bonds(mol) if not b.IsInRing() and b.GetBondType() == SINGLE]
    if not cuttable:
        return []
    return [p for p in _pieces(mol, [rng.choice(cuttable)]) if _labels(p) == [1]]


def _ring_pieces(mol: Chem.RWMol, rng: random.Random) -> list[Chem.Mol]:
    """Cut one ring at two non-adjacent bonds: two arcs, each with dummies 1 and 2."""
    rings = [list(r) for r in mol.GetRingInfo().BondRings() if len(r) >= 4]
    if not rings:
        return []
    ring = rng.choice(rings)
    n = len(ring)
    i = rng.randrange(n)
    j = (i + rng.randint(2, n - 2)) % n  # leave at least one atom on each arc
    pieces = _pieces(mol, [ring[i], ring[j]])
    return [p for p in pieces if _labels(p) == [1, 2]] if len(pieces) == 2 else []


def _swap_labels(piece: Chem.Mol) -> Chem.Mol:
    piece = Chem.Mol(piece)
    for atom in atoms(piece):
        if atom.GetAtomicNum() == 0:
            atom.SetAtomMapNum(3 - atom.GetAtomMapNum())
    return piece


def crossover(a: Chem.Mol, b: Chem.Mol, rng: random.Random, tries: int = 10) -> Chem.Mol | None:
    """A child joining a piece of ``a`` to a piece of ``b``, cut at ring or non-ring bonds."""
    ka, kb = prepare(a), prepare(b)
    if ka is None or kb is None:
        return None
    for _ in range(tries):
        ring_mode = rng.random() < 0.5
        cutter = _ring_pieces if ring_mode else _non_ring_pieces
        pieces_a, pieces_b = cutter(ka, rng), cutter(kb, rng)
        if not pieces_a or not pieces_b:
            continue
        piece_a, piece_b = rng.choice(pieces_a), rng.choice(pieces_b)
        if ring_mode and rng.random() < 0.5:
            piece_b = _swap_labels(piece_b)
        child = _zip(piece_a, piece_b)
        child = finish(child) if child is not None else None
        if child is not None:
            return child
    return None


# --------------------------------------------------------------------------- mutations


def _h_atoms(mol: Chem.RWMol) -> list[int]:
    return [a.GetIdx() for a in atoms(mol) if a.GetTotalNumHs() > 0 and a.GetAtomicNum() > 1]


def _append_atom(mol: Chem.RWMol, rng: random.Random) -> bool:
    anchors = _h_atoms(mol)
    if not anchors:
        return False
    anchor = rng.choice(anchors)
    element = _weighted(rng, APPEND_ELEMENTS)
    order = 1
    if element in ("C", "N", "O") and mol.GetAtomWithIdx(anchor).GetTotalNumHs() >= 2:
        order = 2 if rng.random() < 0.2 else 1
    new = mol.AddAtom(Chem.Atom(element))
    mol.AddBond(anchor, new, BOND_OF_ORDER[order])
    return True


def _insert_atom(mol: Chem.RWMol, rng: random.Random) -> bool:
    candidates = [b for b in bonds(mol) if b.GetBondType() == SINGLE]
    if not candidates:
        return False
    bond = rng.choice(candidates)
    begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
    mol.RemoveBond(begin, end)
    new = mol.AddAtom(Chem.Atom(_weighted(rng, INSERT_ELEMENTS)))
    mol.AddBond(begin, new, SINGLE)
    mol.AddBond(new, end, SINGLE)
    return True


def _delete_atom(mol: Chem.RWMol, rng: random.Random) -> bool:
    candidates = [a.GetIdx() for a in atoms(mol) if a.GetDegree() in (1, 2)]
    if not candidates:
        return False
    atom = mol.GetAtomWithIdx(rng.choice(candidates))
    neighbours = [n.GetIdx() for n in atom.GetNeighbors()]
    if len(neighbours) == 2:
        if mol.GetBondBetweenAtoms(*neighbours) is not None:
            return False
        mol.AddBond(neighbours[0], neighbours[1], SINGLE)
    mol.RemoveAtom(atom.GetIdx())
    return True


def _change_element(mol: Chem.RWMol, rng: random.Random) -> bool:
    candidates = [
        a for a in atoms(mol) if a.GetFormalCharge() == 0 and a.GetSymbol() in MAX_VALENCE
    ]
    if not candidates:
        return False
    atom = rng.choice(candidates)
    used = sum(ORDER.get(b.GetBondType(), 1) for b in atom.GetBonds())
    options = tuple(
        (e, w) for e, w in SWAP_ELEMENTS if e != atom.GetSymbol() and MAX_VALENCE[e] >= used
    )
    if not options:
        return False
    atom.SetAtomicNum(Chem.Atom(_weighted(rng, options)).GetAtomicNum())
    return True


def _change_bond_order(mol: Chem.RWMol, rng: random.Random) -> bool:
    candidates = [b for b in bonds(mol) if b.GetBondType() in ORDER]
    if not candidates:
        return False
    bond = rng.choice(candidates)
    current = ORDER[bond.GetBondType()]
    free = min(bond.GetBeginAtom().GetTotalNumHs(), bond.GetEndAtom().GetTotalNumHs())
    highest = min(current + free, 2 if bond.IsInRing() else 3)
    options = [o for o in range(1, highest + 1) if o != current]
    if not options:
        return False
    bond.SetBondType(BOND_OF_ORDER[rng.choice(options)])
    return True


def _delete_ring_bond(mol: Chem.RWMol, rng: random.Random) -> bool:
    candidates = [b for b in bonds(mol) if b.IsInRing()]
    if not candidates:
        return False
    bond = rng.choice(candidates)
    mol.RemoveBond(bond.GetBeginAtomIdx(), bond.GetEndAtomIdx())
    return True


def _add_ring_bond(mol: Chem.RWMol, rng: random.Random) -> bool:
    """Close a 5-, 6- or 7-membered ring between two atoms that still carry hydrogens."""
    anchors = _h_atoms(mol)
    distances = Chem.GetDistanceMatrix(mol)
    pairs = [
        (i, j) for k, i in enumerate(anchors) for j in anchors[k + 1 :] if 4 <= distances[i][j] <= 6
    ]
    if not pairs:
        return False
    i, j = rng.choice(pairs)
    mol.AddBond(i, j, SINGLE)
    return True


MUTATIONS = (
    _append_atom,
    _insert_atom,
    _delete_atom,
    _change_element,
    _change_bond_order,
    _delete_ring_bond,
    _add_ring_bond,
)


def mutate(mol: Chem.Mol, rng: random.Random, tries: int = 10) -> Chem.Mol | None:
    """One random graph edit that leaves a valid molecule, or None after ``tries`` failures."""
    for _ in range(tries):
        editable = prepare(mol)
        if editable is None:
            return None
        operator = rng.choice(MUTATIONS)
        if not operator(editable, rng):
            continue
        child = finish(editable.GetMol())
        if child is not None:
            return child
    return None


# --------------------------------------------------------------------------- filter


@dataclass(frozen=True)
class RingProfile:
    """Ring sizes of a molecule, so children may keep unusual rings only if a parent had them."""

    sizes: frozenset[int]
    small: int  # number of 3- and 4-membered rings

    @classmethod
    def of(cls, mol: Chem.Mol) -> RingProfile:
        counts = Counter(len(r) for r in mol.GetRingInfo().AtomRings())
        return cls(frozenset(counts), counts[3] + counts[4])

    def __or__(self, other: RingProfile) -> RingProfile:
        return RingProfile(self.sizes | other.sizes, max(self.small, other.small))


@dataclass(frozen=True)
class ProductFilter:
    """Keeps GA products drug-like in shape: size window, neutral, ordinary rings."""

    min_heavy_atoms: int = 10
    max_heavy_atoms: int = 60

    def accepts(self, mol: Chem.Mol, parents: RingProfile) -> bool:
        heavy = mol.GetNumHeavyAtoms()
        if not self.min_heavy_atoms <= heavy <= self.max_heavy_atoms:
            return False
        charge = 0
        for atom in atoms(mol):
            formal = atom.GetFormalCharge()
            if atom.GetNumRadicalElectrons() or (formal and atom.GetSymbol() not in ("N", "O")):
                return False
            if abs(formal) > 1:
                return False
            charge += formal
        if charge != 0:
            return False
        rings = RingProfile.of(mol)
        usual = {5, 6, 7}
        if not rings.sizes <= usual | parents.sizes or rings.small > parents.small:
            return False
        return not any(mol.HasSubstructMatch(p) for p in _SILLY_PATTERNS)
