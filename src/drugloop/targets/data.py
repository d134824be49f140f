"""The target-identification knowledge base: shipped tables, gene identifiers and disease names.

Everything is read from ``data/target_id/`` (see ``data/SOURCES.md``) once per process and cached;
no table is downloaded. Genes are keyed by HGNC symbol; diseases by a concept that merges the
DOID (JensenLab, PharmacotherapyDB), UMLS (DisGeNET) and OMIM/Orphanet (HPO) entries whose
normalized names agree.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from drugloop.paths import data_dir
from drugloop.targets.build import JENSEN_COLS, RAW_FILES

ID_COLUMNS = ("hgnc", "entrez", "ensembl_protein", "uniprot")
_ID_PATTERNS = {
    "hgnc": re.compile(r"^HGNC:\d+$", re.I),
    "entrez": re.compile(r"^\d+$"),
    "ensembl_protein": re.compile(r"^ENSP\d{11}$", re.I),
    "uniprot": re.compile(r"^[OPQ]\d[A-Z0-9]{3}\d$|^[A-NR-Z]\d([A-Z][A-Z0-9]{2}\d){1,2}$", re.I),
}


class DiseaseNotFoundError(ValueError):
    """No disease matches; the message carries "did you mean" suggestions."""


def name_key(name: str) -> str:
    """Order- and punctuation-insensitive name key ("Diabetes Mellitus, Type 2" = "type 2 ...")."""
    text = re.sub(r"'s\b", "", name.lower())
    tokens = re.findall(r"[a-z0-9]+", text)
    return " ".join(sorted(tokens))


def base_name_key(name: str) -> str:
    """Key of a rare-disease name without its series number/subtype ("Alzheimer disease 10")."""
    text = re.split(r"[,;]", name.lower())[0]
    text = re.sub(r"\b(type|susceptibility to|\d+[a-z]?)\b", " ", text)
    return name_key(text)


@dataclass
class Disease:
    """A resolved disease concept with the identifiers of every source that describes it."""

    id: str
    name: str
    doids: list[str] = field(default_factory=list)
    umls: list[str] = field(default_factory=list)
    rare: list[str] = field(default_factory=list)  # OMIM:/ORPHA: ids linked through HPO

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass
class GeneIndex:
    """HGNC symbol ↔ HGNC id / Entrez / Ensembl protein / UniProt, from the shipped tables.

    Coverage is whatever the sources hold: HGNC ids for the PPI genes, Entrez for DisGeNET/HPO
    genes, Ensembl protein ids for JensenLab genes, UniProt only for DrugCentral targets.
    """

    table: pd.DataFrame

    @cached_property
    def _lookup(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for col in ID_COLUMNS:
            for gene, ids in zip(self.table.gene, self.table[col], strict=True):
                if isinstance(ids, str):
                    for one in ids.split("|"):
                        out.setdefault(one.upper(), gene)
        for gene in self.table.gene:  # symbols win over any id that happens to look the same
            out[gene.upper()] = gene
        return out

    def to_symbol(self, identifier: str) -> str | None:
        """HGNC symbol for a symbol (any case), HGNC id, Entrez id, ENSP or UniProt accession."""
        return self._lookup.get(str(identifier).strip().upper())

    def ids(self, symbol: str) -> dict[str, str]:
        row = self.table[self.table.gene == symbol]
        if row.empty:
            return {}
        return {c: v for c, v in row.iloc[0][list(ID_COLUMNS)].items() if isinstance(v, str)}

    def coverage(self) -> dict[str, int]:
        return {"symbols": len(self.table), **self.table[list(ID_COLUMNS)].notna().sum().to_dict()}

    @staticmethod
    def id_type(identifier: str) -> str:
        for kind, pattern in _ID_PATTERNS.items():
            if pattern.match(identifier):
                return kind
        return "symbol"


class KnowledgeBase:
    """All shipped tables, loaded lazily; one instance per data folder (see :func:`load_kb`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        if not (folder / RAW_FILES[0]).exists():
            raise FileNotFoundError(f"target-identification tables not found in {folder}")

    def _read(self, name: str, **kwargs) -> pd.DataFrame:
        return pd.read_csv(self.folder / name, sep="\t", **kwargs)

    @cached_property
    def disgenet(self) -> pd.DataFrame:
        df = self._read(RAW_FILES[0])
        return df.rename(
            columns={
                "geneSymbol": "gene",
                "diseaseId": "umls",
                "diseaseName": "disease",
                "NumberOfPubmeds": "n_pubmed",
            }
        )

    def _jensen(self, name: str, scale: float) -> pd.DataFrame:
        df = self._read(name, header=None, names=JENSEN_COLS)
        df = df[df.doid.str.startswith("DOID:")]
        return df.assign(norm_score=df.score / scale)

    @cached_property
    def jensen_knowledge(self) -> pd.DataFrame:
        return self._jensen(RAW_FILES[1], 5.0)

    @cached_property
    def jensen_experiments(self) -> pd.DataFrame:
        return self._jensen(RAW_FILES[2], 4.0)

    @cached_property
    def ppi_edges(self) -> pd.DataFrame:
        df = self._read(
            RAW_FILES[3],
            usecols=["source_symbol", "target_symbol", "pubmed", "interaction_type", "method"],
        )
        return df.rename(columns={"source_symbol": "a", "target_symbol": "b"})

    @cached_property
    def drug_targets(self) -> pd.DataFrame:
        """DrugCentral efficacy targets, one row per (drug, gene); complexes split into genes."""
        df = self._read(RAW_FILES[4]).dropna(subset=["GENE"])
        df = df.assign(gene=df.GENE.str.split("|"), drug=df.DRUG_NAME.str.lower())
        df = df.explode("gene")
        return df.rename(columns={"TARGET_FAMILY": "family", "ACTION_TYPE": "action"})[
            ["drug", "gene", "family", "action", "TARGET_NAME"]
        ].drop_duplicates(["drug", "gene"])

    @cached_property
    def indications(self) -> pd.DataFrame:
        df = self._read(RAW_FILES[5])
        return df.assign(drug_lc=df.drug.str.lower())

    @cached_property
    def hpo_links(self) -> pd.DataFrame:
        return self._read("hpo_disease_genes.tsv.gz", dtype=str)

    @cached_property
    def severe_phenotypes(self) -> pd.DataFrame:
        return self._read("hpo_severe_phenotypes.tsv.gz")

    @cached_property
    def doid_ancestors(self) -> pd.DataFrame:
        df = self._read("doid_ancestors_inferred.tsv.gz")
        return df[df.ancestor.str.startswith("DOID:")]

    @cached_property
    def genes(self) -> GeneIndex:
        return GeneIndex(self._read("gene_ids.tsv.gz", dtype=str))

    @cached_property
    def gene_universe(self) -> list[str]:
        """Every gene a ranking covers: the union of all evidence, PPI and drug-target genes."""
        parts = pd.concat([self.genes.table.gene, self.drug_targets.gene]).dropna()
        human = parts[parts.str.match(r"^[A-Z0-9][A-Za-z0-9@.-]*$") & ~parts.str.contains(r"\.\d")]
        return sorted(set(human))

    @cached_property
    def diseases(self) -> DiseaseCatalog:
        return DiseaseCatalog(self)


class DiseaseCatalog:
    """Resolve a disease by DOID/UMLS/OMIM/Orphanet id, name or synonym; suggest on no match."""

    def __init__(self, kb: KnowledgeBase) -> None:
        entries = (
            pd.concat(
                [
                    kb.indications[["doid_id", "disease"]].set_axis(["id", "name"], axis=1),
                    kb.jensen_knowledge[["doid", "disease"]].set_axis(["id", "name"], axis=1),
                    kb.jensen_experiments[["doid", "disease"]].set_axis(["id", "name"], axis=1),
                    kb.disgenet[["umls", "disease"]].set_axis(["id", "name"], axis=1),
                    kb.hpo_links[["disease_id", "disease_name"]].set_axis(["id", "name"], axis=1),
                ]
            )
            .dropna()
            .drop_duplicates("id")
        )
        entries["key"] = entries.name.map(name_key)
        self.entries = entries
        self._by_id = {i.upper(): k for i, k in zip(entries.id, entries.key, strict=True)}
        for i, k in zip(entries.id, entries.key, strict=True):  # bare UMLS CUIs, OMIM numbers
            self._by_id.setdefault(i.split(":", 1)[1].upper(), k)
        self._by_key = entries.groupby("key")
        rare = entries[entries.id.str.match(r"^(OMIM|ORPHA):")]
        self._rare_by_base = rare.groupby(rare.name.map(base_name_key)).id.apply(list).to_dict()
        self._names = sorted(set(entries.name))

    def _concept(self, key: str) -> Disease:
        group = self._by_key.get_group(key)
        ids = list(group.id)
        doids = [i for i in ids if i.startswith("DOID:")]
        umls = [i for i in ids if i.startswith("umls:")]
        rare = [i for i in ids if i.startswith(("OMIM:", "ORPHA:"))]
        rare += [i for i in self._rare_by_base.get(key, []) if i not in rare]
        primary = (doids or umls or rare)[0]
        name = group[group.id == primary].name.iloc[0]
        return Disease(id=primary, name=name, doids=doids, umls=umls, rare=rare)

    def resolve(self, query: str) -> Disease:
        text = query.strip()
        key = self._by_id.get(text.upper())
        if key is None and text.upper().startswith("UMLS:"):
            key = self._by_id.get(text.upper())
        if key is None:
            key = name_key(text)
            if key not in self._by_key.groups:
                raise DiseaseNotFoundError(self._not_found(text))
        return self._concept(key)

    def suggestions(self, text: str, n: int = 5) -> list[str]:
        lowered = {name.lower(): name for name in self._names}
        close = difflib.get_close_matches(text.lower(), list(lowered), n=n, cutoff=0.6)
        out = [lowered[c] for c in close]
        words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3]
        if len(out) < n and words:
            hits = [name for name in self._names if all(w in name.lower() for w in words)]
            out += sorted(hits, key=len)[: n - len(out)]
        named = [self._concept(name_key(o)).name for o in out]  # one preferred name per concept
        return list(dict.fromkeys(named))[:n]

    def _not_found(self, text: str) -> str:
        hint = self.suggestions(text)
        did = f"; did you mean: {', '.join(repr(h) for h in hint)}?" if hint else ""
        return f"unknown disease {text!r} (no DOID/UMLS/OMIM/Orphanet id or name matches){did}"

    def doid_descendants(self, kb: KnowledgeBase, doids: list[str]) -> list[str]:
        anc = kb.doid_ancestors
        return sorted(set(anc[anc.ancestor.isin(doids)].doid) - set(doids))


@lru_cache(maxsize=4)
def _load(folder: str) -> KnowledgeBase:
    return KnowledgeBase(Path(folder))


def load_kb(folder: Path | None = None) -> KnowledgeBase:
    """The knowledge base from ``folder`` (default: the bundled ``data/target_id``), cached."""
    return _load(str(folder or data_dir() / "target_id"))


def zeros(genes: list[str]) -> pd.Series:
    return pd.Series(np.zeros(len(genes)), index=genes)
