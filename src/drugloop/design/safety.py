"""Safety guard for generative design: no toxicity-seeking objectives, no chemical weapons.

Two checks, both on by default in every design run (:func:`drugloop.design.optimize`):

* :func:`check_objective` refuses an objective that *rewards* a toxicity endpoint (hERG, AMES,
  LD50, DILI, carcinogenicity…): a component whose name, type or parameters name such an
  endpoint must have a transform that does not increase with the raw value. Toxicity endpoints
  are assumed to read "higher = more toxic" (probabilities of a toxic class, pIC50 on hERG,
  TDC's LD50 in −log(mol/kg)). It also refuses required substructures and similarity
  references that match chemical-warfare agents.
* :class:`SafetyGuard` screens molecules. ``"cw"`` flags (withheld from scoring and outputs,
  counted in the run log) are: organophosphorus esters with P–F, P–C≡N, P–S–C–C–N(amine) or
  P(III)–O–C–C–N; P–halogen phosphoryl precursors and C1–C3 alkylphosphonyl compounds
  (CWC 2B04); 2-haloethyl sulfides (sulfur mustards) and thiodiglycol; bis(2-haloethyl)
  *aliphatic* amines (HN1–HN3); halo-vinyl/halo arsines (lewisites); N,N-dialkyl(C1–C3)
  aminoethyl chlorides/thiols/alcohols (2B10–2B12); exact CWC-listed compounds; and anything
  with Morgan Tanimoto ≥ 0.7 to a Schedule 1 agent.

  Nitrogen mustards whose nitrogen is aryl, acyl, phosphoryl or otherwise conjugated
  (chlorambucil, melphalan, bendamustine, cyclophosphamide, ifosfamide, estramustine) are
  approved anticancer alkylators: they get a ``"warning"`` flag ("mustard class, approved-drug
  analogue"), which is reported but not withheld. Mechlorethamine *is* HN2 and is withheld.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from rdkit import Chem, DataStructs, RDLogger
from rdkit.Chem import rdFingerprintGenerator

Severity = Literal["cw", "warning"]

_SMALL_ALKYL = "[CH3,$([CH2][CH3]),$([CH2][CH2][CH3]),$([CH]([CH3])[CH3])]"
_AMINE_N = "[NX3,NX4+;!$(N~[a]);!$(N-[C,S,P]=[O,S,N]);!$(N-[P,S]);!$(N-N);!$(N=*)]"

# (category, severity, SMARTS, why)
PATTERNS: tuple[tuple[str, Severity, str, str], ...] = (
    (
        "op_nerve_agent",
        "cw",
        "[PX4](=[O,S])(-F)-[#6,$(O[#6]),$(N=*),$([NX3]([#6])[#6])]",
        "phosphoryl fluoride ester or phosphonofluoridate (G/A-series)",
    ),
    ("op_nerve_agent", "cw", "[PX4](=[O,S])-C#N", "phosphoryl cyanide (tabun-type)"),
    (
        "op_nerve_agent",
        "cw",
        "[PX4](=[O,S])([#6,$(O[#6])])([#6,$(O[#6]),$(N([#6])[#6])])-[SX2][CX4][CX4]"
        + "[NX3,NX4+;!$(N-C=O)]",
        "phosphonothiolate S-(2-aminoethyl) ester (V-series, amiton)",
    ),
    (
        "op_nerve_agent",
        "cw",
        "[PX3]([#6])(O[#6])O[CX4][CX4][NX3]",
        "O-(2-aminoethyl) phosphonite (QL-type binary precursor)",
    ),
    ("op_precursor", "cw", "[PX4](=[O,S])-[Cl,Br,I]", "phosphoryl halide"),
    ("op_precursor", "cw", "[PX3]-[F,Cl,Br,I]", "P(III) halide"),
    (
        "op_precursor",
        "cw",
        f"[PX4](=[O,S])({_SMALL_ALKYL})([O,S,N,F,Cl])[O,S,N,F,Cl]",
        "C1-C3 alkylphosphonyl compound (CWC 2B04)",
    ),
    ("sulfur_mustard", "cw", "[Cl,Br,I][CX4][CX4][SX2]", "2-haloethyl sulfide"),
    ("sulfur_mustard", "cw", "[Cl,Br,I][CH2][SX2][CX4][CX4]", "halomethyl alkyl sulfide"),
    ("sulfur_mustard", "cw", "[OH][CH2][CH2][SX2][CH2][CH2][OH]", "thiodiglycol (2B13)"),
    (
        "nitrogen_mustard",
        "cw",
        f"{_AMINE_N}([CX4][CX4][Cl,Br,I])[CX4][CX4][Cl,Br,I]",
        "bis(2-haloethyl) aliphatic amine (HN-series)",
    ),
    (
        "nitrogen_mustard",
        "warning",
        "[#7]([CX4][CX4][Cl,Br,I])[CX4][CX4][Cl,Br,I]",
        "nitrogen mustard class (approved-drug analogue)",
    ),
    ("lewisite", "cw", "[As]-[F,Cl,Br,I]", "haloarsine"),
    ("lewisite", "cw", "[As]-[#6]=[#6]-[Cl,Br,I]", "2-chlorovinyl arsine"),
    (
        "amine_precursor",
        "cw",
        f"[NX3]({_SMALL_ALKYL})({_SMALL_ALKYL})[CH2][CH2][Cl,SH,OH]",
        "N,N-dialkyl(C1-C3)aminoethyl chloride/thiol/alcohol (2B10-2B12)",
    ),
)

# Public structures: CWC Schedule 1 agents (similarity references and exact matches).
SCHEDULE_1: dict[str, str] = {
    "sarin": "CC(C)OP(C)(=O)F",
    "soman": "CC(OP(C)(=O)F)C(C)(C)C",
    "tabun": "CCOP(=O)(C#N)N(C)C",
    "cyclosarin": "CP(=O)(F)OC1CCCCC1",
    "VX": "CCOP(C)(=O)SCCN(C(C)C)C(C)C",
    "VR": "CC(C)COP(C)(=O)SCCN(CC)CC",
    "A-230": "CCN(CC)C(C)=NP(C)(=O)F",
    "A-232": "COP(=O)(F)N=C(C)N(CC)CC",
    "A-234": "CCOP(=O)(F)N=C(C)N(CC)CC",
    "sulfur mustard": "ClCCSCCCl",
    "sesquimustard": "ClCCSCCSCCCl",
    "O-mustard": "ClCCSCCOCCSCCCl",
    "HN1": "CCN(CCCl)CCCl",
    "HN2": "CN(CCCl)CCCl",
    "HN3": "ClCCN(CCCl)CCCl",
    "lewisite 1": "ClC=C[As](Cl)Cl",
    "lewisite 2": "ClC=C[As](Cl)C=CCl",
    "lewisite 3": "ClC=C[As](C=CCl)C=CCl",
    "saxitoxin": "NC(=O)OCC1N=C(N)N2CCC(O)(O)C23NC(N)=NC13",
}
# Listed Schedule 2 compounds that no pattern above covers (exact match only).
SCHEDULE_2_EXACT: dict[str, str] = {
    "BZ": "OC(C(=O)OC1CN2CCC1CC2)(c1ccccc1)c1ccccc1",
    "PFIB": "FC(F)=C(C(F)(F)F)C(F)(F)F",
    "3-quinuclidinol": "OC1CN2CCC1CC2",
    "pinacolyl alcohol": "CC(O)C(C)(C)C",
}
TOXICITY_TERMS = (
    "herg",
    "ames",
    "ld50",
    "toxic",
    "tox21",
    "clintox",
    "dili",
    "carcino",
    "mutagen",
    "genotox",
    "cardiotox",
    "hepatotox",
    "nephrotox",
    "neurotox",
    "skin_reaction",
    "skin_sens",
    "lethal",
    "teratogen",
    "nerve_agent",
    "acetylcholinesterase",
)
SIMILARITY_THRESHOLD = 0.7


class UnsafeObjectiveError(ValueError):
    """The objective rewards toxicity or chemical-weapon structures; the run is refused."""


@dataclass(frozen=True)
class SafetyFlag:
    category: str
    severity: Severity
    reason: str

    def __str__(self) -> str:
        return f"{self.category} ({self.severity}): {self.reason}"


def _key(mol: Chem.Mol) -> str:
    return Chem.MolToSmiles(mol, isomericSmiles=False)


class SafetyGuard:
    """Screens molecules for chemical-weapon structures; ``withhold`` says which to drop."""

    def __init__(self, similarity_threshold: float = SIMILARITY_THRESHOLD) -> None:
        self.similarity_threshold = similarity_threshold
        self._patterns = [(cat, sev, Chem.MolFromSmarts(s), why) for cat, sev, s, why in PATTERNS]
        self._fpgen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
        refs = {name: Chem.MolFromSmiles(s) for name, s in SCHEDULE_1.items()}
        self._ref_names = list(refs)
        self._ref_fps = [self._fpgen.GetFingerprint(m) for m in refs.values()]
        exact = {**SCHEDULE_1, **SCHEDULE_2_EXACT}
        self._exact = {_key(Chem.MolFromSmiles(s)): name for name, s in exact.items()}
        self.n_screened = 0
        self.n_withheld = 0

    def flags(self, mol: Chem.Mol) -> list[SafetyFlag]:
        """Every flag for one molecule (empty when clean)."""
        found: list[SafetyFlag] = []
        name = self._exact.get(_key(mol))
        if name:
            found.append(SafetyFlag("cwc_listed", "cw", f"is {name}"))
        cw_mustard = False
        for category, severity, pattern, why in self._patterns:
            if category == "nitrogen_mustard" and severity == "warning" and cw_mustard:
                continue
            if mol.HasSubstructMatch(pattern):
                found.append(SafetyFlag(category, severity, why))
                cw_mustard |= category == "nitrogen_mustard" and severity == "cw"
        sims = DataStructs.BulkTanimotoSimilarity(self._fpgen.GetFingerprint(mol), self._ref_fps)
        best = int(np.argmax(sims))
        if sims[best] >= self.similarity_threshold and not name:
            found.append(
                SafetyFlag(
                    "schedule1_analogue",
                    "cw",
                    f"Tanimoto {sims[best]:.2f} to {self._ref_names[best]}",
                )
            )
        return found

    def screen_smiles(self, smiles: Sequence[str]) -> list[list[SafetyFlag]]:
        """Flags per SMILES; an unparseable SMILES has none (it cannot be scored anyway)."""
        RDLogger.DisableLog("rdApp.*")
        out = []
        for text in smiles:
            mol = Chem.MolFromSmiles(text) if isinstance(text, str) else None
            out.append(self.flags(mol) if mol is not None else [])
        return out

    def withhold(self, smiles: Sequence[str]) -> np.ndarray:
        """Boolean mask of molecules to withhold (any ``"cw"`` flag); updates the counters."""
        mask = np.array(
            [any(f.severity == "cw" for f in flags) for flags in self.screen_smiles(smiles)],
            dtype=bool,
        )
        self.n_screened += len(mask)
        self.n_withheld += int(mask.sum())
        return mask

    def is_chemical_weapon(self, smiles: str) -> bool:
        return any(f.severity == "cw" for f in self.screen_smiles([smiles])[0])


# ---------------------------------------------------------------------- objective check


def _texts(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _texts(item)


_NEGATIONS = {"non", "not", "safe", "nontoxic", "no"}


def _names_toxicity(texts: Iterable[str]) -> str | None:
    """The toxicity term a text names (word-prefix match, so '/home/james' is not 'ames')."""
    for text in texts:
        tokens = [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]
        if _NEGATIONS & set(tokens):
            continue  # "non_toxic", "safe_herg": higher is better by the name itself
        for token in tokens:
            for term in TOXICITY_TERMS:
                if token == term or (len(term) > 4 and token.startswith(term)):
                    return term
    return None


def toxicity_term(name: str) -> str | None:
    """The toxicity endpoint a name refers to (e.g. 'tox21_sr_p53' → 'tox21'), else None."""
    return _names_toxicity([name])


_PROBE = np.concatenate(
    [np.linspace(0.0, 1.0, 21), np.linspace(-10, 10, 41), np.geomspace(10, 1e4, 20)]
)


def rewards_high_values(transform: Any) -> bool:
    """True when the transform's desirability rises with the raw value over probe ranges.

    Checked separately on [0, 1] (probabilities), [−10, 10] (log units) and [10, 10⁴]: a
    transform that anywhere gives the higher raw end more desirability than the lower one
    rewards the endpoint.
    """
    for lo, hi in ((0.0, 1.0), (-10.0, 10.0), (10.0, 1e4)):
        grid = _PROBE[(lo <= _PROBE) & (hi >= _PROBE)]
        try:
            d = np.asarray(transform(grid), dtype=float)
        except Exception:  # categorical-only transforms (value_mapping) cannot be probed
            return False
        if d.size and d[-1] > d[0] + 0.05:
            return True
        if d.size and d.max() > d[0] + 0.05:
            return True  # a window that prefers higher-than-minimal toxicity
    return False


def check_objective(objective: Any, guard: SafetyGuard | None = None) -> None:
    """Raise :class:`UnsafeObjectiveError` when ``objective`` rewards toxicity or CW agents.

    ``objective`` is a :class:`drugloop.scoring.ScoringFunction` (anything with ``components``
    of ``WeightedComponent``); other objects (plain callables) cannot be inspected and pass.
    """
    components = getattr(objective, "components", None)
    if not components:
        return
    guard = guard or SafetyGuard()
    for weighted in components:
        component = getattr(weighted, "component", None)
        params: dict[str, Any] = {}
        if component is not None and hasattr(component, "model_dump"):
            try:
                params = component.model_dump(exclude={"predictor"})
            except Exception:  # a component with unusual fields: fall back to its name only
                params = {}
        texts = [weighted.name, type(component).__name__, *_texts(params)]
        term = _names_toxicity(texts)
        if term and rewards_high_values(weighted.transform):
            raise UnsafeObjectiveError(
                f"objective refused: component {weighted.name!r} names a toxicity endpoint "
                f"({term!r}) and its transform rewards higher (more toxic) values; "
                "use a reverse sigmoid or a 'low' target instead"
            )
        _check_structures(weighted, params, guard)


def _check_structures(weighted: Any, params: dict[str, Any], guard: SafetyGuard) -> None:
    for smarts in params.get("required") or []:
        as_molecule = Chem.MolFromSmiles(smarts) if isinstance(smarts, str) else None
        if (
            as_molecule is not None
            and guard.flags(as_molecule)
            and any(f.severity == "cw" for f in guard.flags(as_molecule))
        ):
            raise UnsafeObjectiveError(
                f"objective refused: component {weighted.name!r} requires {smarts!r}, "
                "a chemical-warfare motif"
            )
    for smiles in params.get("references") or []:
        if guard.is_chemical_weapon(smiles) and rewards_high_values(weighted.transform):
            raise UnsafeObjectiveError(
                f"objective refused: component {weighted.name!r} rewards similarity to "
                f"{smiles!r}, a chemical-warfare agent or precursor"
            )
